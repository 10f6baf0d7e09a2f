package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// ROS 2 bag rows: sensors/ros2/bag's writer and reader on KITTI 000000 as
// a PointCloud2, against liblz4's command and the MCAP authors' TypeScript
// library (sensors/ros2/bag/testdata/npm/bag.mjs), and PointCloud2
// decoding against a copy of the same bytes.

const (
	bagPkg      = "./sensors/ros2/bag"
	bagNPM      = "sensors/ros2/bag/testdata/npm"
	bagClouds   = 20 // clouds in BenchmarkReadKITTI's bag and per BenchmarkLZ4CLI op
	bagCloudIn  = kittiIn + " as one 1.85 MB PointCloud2"
	bagBenchDir = "bagbench" // under $WORK: TestWriteBenchBag's bags
)

func needNPMBag(e *Env) string {
	if _, err := os.Stat(filepath.Join(e.Root, bagNPM, "node_modules/@mcap/core")); err != nil {
		return "@mcap/core not installed (cd " + bagNPM + " && npm ci)"
	}
	return needExe("node")(e)
}

// benchField parses `go test -bench` output of name (run at GOMAXPROCS 1)
// into ms per unit: ns/op × scale ÷ 1e6.
func benchField(name string, scale float64) Parser {
	return func(out []byte) ([]float64, error) {
		ns := ParseBench(out)[name]
		if len(ns) == 0 {
			return nil, fmt.Errorf("no result for %s", name)
		}
		ms := make([]float64, len(ns))
		for i, v := range ns {
			ms[i] = v * scale / 1e6
		}
		return ms, nil
	}
}

// goBenchPeer runs a benchmark of pkg's test binary as a peer (one thread).
func goBenchPeer(pkg, bench, benchtime string, count int) func(*Env, int) (Cmd, error) {
	return func(e *Env, _ int) (Cmd, error) {
		bin, err := e.testBin(pkg)
		return Cmd{Dir: pkg, Args: []string{bin, "-test.cpu", "1", "-test.run", "^$", "-test.bench", bench,
			"-test.benchtime", benchtime, "-test.count", fmt.Sprint(count)}}, err
	}
}

// bagBench writes TestWriteBenchBag's bags into $WORK/bagbench and returns
// the data file of the one with compression comp.
func (e *Env) bagBench(comp string) (string, error) {
	err := e.prep("bagbench", func() error {
		bin, err := e.testBin(bagPkg)
		if err != nil {
			return err
		}
		_, _, err = e.run(Cmd{Dir: bagPkg, Env: []string{"DS3D_BAG_BENCH_OUT=" + e.work(bagBenchDir)},
			Args: []string{bin, "-test.run", "^TestWriteBenchBag$", "-test.count", "1"}})
		return err
	})
	return e.work(filepath.Join(bagBenchDir, comp, comp+"_0.mcap")), err
}

func bagRows() []Row {
	write := func(comp string) GoSide {
		return GoSide{Pkg: bagPkg, Bench: "^BenchmarkWriteKITTI$/^" + comp + "$", Name: "BenchmarkWriteKITTI/" + comp, Benchtime: "100x", Count: 5}
	}
	npmWrite := func(comp string) PeerSide {
		return PeerSide{Name: "@mcap/core McapWriter (" + map[string]string{"none": "no compression", "lz4": "lz4js", "zstd": "@foxglove/wasm-zstd"}[comp] + ")",
			Version: "@mcap/core+node", Single: true, Needs: needNPMBag,
			Cmd: func(e *Env, _ int) (Cmd, error) {
				return Cmd{Args: []string{"node", filepath.Join(bagNPM, "bag.mjs"), "bench-write", e.work("npm-" + comp + ".mcap"), comp,
					e.shared(kittiBin), "20", "5"}}, nil
			}, Parse: JSONField(map[string]string{"op": "write"}, "ms_per_msg", 1)}
	}
	read := func(comp string) Row {
		return Row{ID: "bag-read-" + comp, Op: "rosbag2 MCAP read (" + comp + " chunks) + PointCloud2 → [N,4] frame", Input: fmt.Sprintf("%d × %s", bagClouds, bagCloudIn), Unit: "cloud",
			Note: "same bag (TestWriteBenchBag); ds3d-go decodes into one reused frame, bag.mjs deserialises and copies the points into a reused buffer; both check chunk CRCs",
			Go: GoSide{Pkg: bagPkg, Bench: "^BenchmarkReadKITTI$/^" + comp + "$", Name: "BenchmarkReadKITTI/" + comp, Benchtime: "10x", Count: 5,
				Scale: 1.0 / bagClouds},
			Peer: PeerSide{Name: "@mcap/core McapIndexedReader + rosmsg2-serialization", Version: "@mcap/core+node", Single: true, Needs: needNPMBag,
				Cmd: func(e *Env, _ int) (Cmd, error) {
					p, err := e.bagBench(comp)
					return Cmd{Args: []string{"node", filepath.Join(bagNPM, "bag.mjs"), "bench-read", p, "5"}}, err
				}, Parse: JSONField(map[string]string{"op": "read"}, "ms_per_msg", 1)}}
	}
	return []Row{
		{ID: "bag-write-lz4", Op: "rosbag2 MCAP write, lz4 chunks (256 KiB blocks on GOMAXPROCS goroutines)", Input: bagCloudIn, Unit: "cloud",
			Note: "peer: liblz4's command compressing the same bytes at the same frame settings, one thread, no MCAP",
			Go:   write("lz4"),
			Peer: PeerSide{Name: "lz4 -1 -B5 --no-frame-crc (liblz4)", Version: "lz4", Single: true, Needs: needExe("lz4"),
				Cmd: goBenchPeer(bagPkg, "^BenchmarkLZ4CLI$", "5x", 3), Parse: benchField("BenchmarkLZ4CLI", 1.0/bagClouds)}},
		{ID: "bag-write-lz4-npm", Op: "rosbag2 MCAP write, lz4 chunks", Input: bagCloudIn, Unit: "cloud",
			Note: "bag.mjs bench-write: the message serialised once, 768 KiB chunks, to a file", Go: write("lz4"), Peer: npmWrite("lz4")},
		{ID: "bag-write-none", Op: "rosbag2 MCAP write, uncompressed chunks", Input: bagCloudIn, Unit: "cloud",
			Note: "bag.mjs bench-write: the message serialised once, 768 KiB chunks, to a file", Go: write("none"), Peer: npmWrite("none")},
		{ID: "bag-write-zstd", Op: "rosbag2 MCAP write, zstd chunks", Input: bagCloudIn, Unit: "cloud",
			Note: "ds3d-go: klauspost zstd default level, one goroutine; peer: libzstd (wasm) level 3", Go: write("zstd"), Peer: npmWrite("zstd")},
		read("none"),
		read("lz4"),
		{ID: "pc2-decode", Op: "PointCloud2 x y z intensity → pooled [N,4] frame", Input: "120,000 float32 points (1.92 MB)", Unit: "cloud",
			Note: "peer: a Go copy() of the same bytes, the floor; target ratio ≥ 0.77 (decode within 1.3× of the copy)",
			Go:   GoSide{Pkg: "./sensors/ros2", Bench: "^BenchmarkPointCloud2$/^xyzi-120k$", Name: "BenchmarkPointCloud2/xyzi-120k", Benchtime: "500x", Count: 5},
			Peer: PeerSide{Name: "memcpy (Go copy)", Version: "go", Single: true,
				Cmd: goBenchPeer("./sensors/ros2", "^BenchmarkPointCloud2$/^memcpy-120k$", "500x", 5), Parse: benchField("BenchmarkPointCloud2/memcpy-120k", 1)}},
	}
}
