package lidar

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

const (
	kitti0   = "kitti-object/training/velodyne/000000.bin"
	nuscenes = "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin"
)

// pooledFrame returns a frame from a pool sized for a KITTI scan, as a
// lidar_file_loader holds them.
func pooledFrame(b *testing.B) *ds3d.Frame {
	pool, err := ds3d.NewFramePool(1, func() *ds3d.Frame { return ds3d.NewLidarFrame(130000) })
	if err != nil {
		b.Fatal(err)
	}
	return pool.TryGet()
}

// benchDecode times DecodeInto of in-memory bytes into a pooled frame.
func benchDecode(b *testing.B, name string, data []byte, opts ReadOptions) {
	f := pooledFrame(b)
	defer f.Release()
	if err := DecodeInto(f, name, data, opts); err != nil {
		b.Fatal(err)
	}
	n := f.Points()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := DecodeInto(f, name, data, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

// benchReadFile times ReadFileInto (open, read, decode) into a pooled frame.
func benchReadFile(b *testing.B, path string) {
	f := pooledFrame(b)
	defer f.Release()
	if err := ReadFileInto(f, path, ReadOptions{}); err != nil {
		b.Fatal(err)
	}
	n := f.Points()
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if err := ReadFileInto(f, path, ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func BenchmarkLoadBin(b *testing.B) {
	b.Run("kitti-000000", func(b *testing.B) { benchDecode(b, "000000.bin", readShared(b, kitti0), ReadOptions{}) })
	b.Run("kitti-000000-file", func(b *testing.B) { benchReadFile(b, sampledata.Shared(b, kitti0)) })
	b.Run("nuscenes-stride5", func(b *testing.B) { benchDecode(b, "x.pcd.bin", readShared(b, nuscenes), ReadOptions{}) })
}

// BenchmarkMemcpyFloor copies the same bytes as BenchmarkLoadBin's KITTI
// scan between the same buffers: no loader can beat it.
func BenchmarkMemcpyFloor(b *testing.B) {
	b.Run("kitti-000000", func(b *testing.B) {
		data := readShared(b, kitti0)
		f := pooledFrame(b)
		defer f.Release()
		f.Resize(len(data)/16, 4)
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			copy(f.Data, data)
		}
		b.ReportMetric(float64(len(data)/16)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
	})
}

func BenchmarkPCDBinaryCompressed(b *testing.B) {
	for _, tc := range []struct{ name, rel string }{
		{"cturtle", "pcd-ply/pcl/cturtle.pcd"},
		{"five_people", "pcd-ply/pcl/five_people.pcd"},
		{"dair-001366", "v2x-roadside/dair-v2x-c-pair/infrastructure-side/velodyne/001366.pcd"},
	} {
		b.Run(tc.name, func(b *testing.B) { benchDecode(b, tc.name+".pcd", readShared(b, tc.rel), ReadOptions{}) })
	}
	b.Run("cturtle-file", func(b *testing.B) { benchReadFile(b, sampledata.Shared(b, "pcd-ply/pcl/cturtle.pcd")) })
}

// kittiPCD writes KITTI 000000 as a binary PCD of x y z intensity float32,
// the file shared/peers/bin2pcd.py gives PCL's loadPCDFile.
func kittiPCD(b *testing.B) []byte {
	c, err := ReadFile(sampledata.Shared(b, kitti0), ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WritePCD(&buf, &Cloud{Points: c.Points}, "binary"); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkPCDBinary(b *testing.B) {
	b.Run("kitti-000000", func(b *testing.B) { benchDecode(b, "000000.pcd", kittiPCD(b), ReadOptions{}) })
	b.Run("kitti-000000-file", func(b *testing.B) {
		p := filepath.Join(b.TempDir(), "000000.pcd")
		if err := os.WriteFile(p, kittiPCD(b), 0o644); err != nil {
			b.Fatal(err)
		}
		benchReadFile(b, p)
	})
	b.Run("vlp16-mixed-types", func(b *testing.B) {
		benchDecode(b, "vlp16.pcd", readShared(b, "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd"), ReadOptions{})
	})
}

func BenchmarkWritePCD(b *testing.B) {
	c, err := ReadFile(sampledata.Shared(b, "pcd-ply/pcl/cturtle.pcd"), ReadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []string{"binary", "binary_compressed"} {
		b.Run("cturtle-"+enc, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := WritePCD(&buf, c, enc); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.Len())*float64(b.N)/b.Elapsed().Seconds(), "points/s")
		})
	}
}
