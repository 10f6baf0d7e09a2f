package bag_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// benchClouds is how many copies of KITTI 000000 the read benchmark's bag
// holds (docs/PERF.md scales its time by 1/benchClouds).
const benchClouds = 20

// writeBenchBag writes benchClouds copies of KITTI frame 000000 as
// PointCloud2 on /kitti/velo, 100 ms apart, with the given chunk
// compression: the bag BenchmarkReadKITTI and bag.mjs bench-read both read.
func writeBenchBag(tb testing.TB, dir, comp string) {
	tb.Helper()
	msg := cdrPointCloud2(nil, 1, "velo_link", kittiClouds(tb)[0])
	w, err := bag.Create(dir, bag.WriterOptions{Compression: comp})
	if err != nil {
		tb.Fatal(err)
	}
	id, err := w.AddTopic("/kitti/velo", ros2.PointCloud2Type, msgDef(tb, ros2.PointCloud2Type))
	if err != nil {
		tb.Fatal(err)
	}
	for i := range benchClouds {
		ts := int64(1_317_000_000_000_000_000 + i*100_000_000)
		if err := w.Write(id, ts, ts, msg); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// TestWriteBenchBag writes the read benchmark's bags (none, lz4) into
// $DS3D_BAG_BENCH_OUT/{none,lz4} for bag.mjs bench-read, the peer make perf
// runs; skipped without the variable.
func TestWriteBenchBag(t *testing.T) {
	out := os.Getenv("DS3D_BAG_BENCH_OUT")
	if out == "" {
		t.Skip("DS3D_BAG_BENCH_OUT not set (make perf sets it)")
	}
	for _, comp := range []string{"none", "lz4"} {
		dir := filepath.Join(out, comp)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		writeBenchBag(t, dir, comp)
	}
}

// BenchmarkReadKITTI reads a bag of 20 KITTI 000000 clouds (chunks
// uncompressed, or lz4) and decodes each into one reused [N,4] frame; an
// op is the whole bag, ns/op ÷ 20 the time per cloud.
func BenchmarkReadKITTI(b *testing.B) {
	for _, comp := range []string{"none", "lz4"} {
		b.Run(comp, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "bench")
			writeBenchBag(b, dir, comp)
			bg, err := bag.Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			var frame *ds3d.Frame
			var pc ros2.PointCloud2
			b.SetBytes(int64(benchClouds * len(kittiClouds(b)[0])))
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				err := bg.Messages(bag.Options{}, func(m *bag.Message) error {
					if err := pc.Unmarshal(m.Data); err != nil {
						return m.Errorf("%w", err)
					}
					var err error
					frame, err = pc.ToFrame(frame)
					n++
					return err
				})
				if err != nil || n != benchClouds {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// BenchmarkLZ4CLI is the C peer of BenchmarkWriteKITTI/lz4: liblz4's
// command at Writer's frame settings (lz4 -1, its fastest standard level,
// 256 KiB blocks, no content checksum; one thread) compressing the same
// message 20 times over from a file to /dev/null, so that its start-up
// weighs little; an op is the 20 messages.
func BenchmarkLZ4CLI(b *testing.B) {
	tool := testenv.Tool(b, "lz4", "apt-get install lz4")
	msg := cdrPointCloud2(nil, 1, "velo_link", kittiClouds(b)[0])
	in := filepath.Join(b.TempDir(), "clouds.bin")
	if err := os.WriteFile(in, bytes.Repeat(msg, benchClouds), 0o644); err != nil {
		b.Fatal(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Close()
	b.SetBytes(int64(benchClouds * len(msg)))
	for b.Loop() {
		var stderr bytes.Buffer
		cmd := exec.Command(tool, "-1", "-B5", "--no-frame-crc", "-q", "-c", in)
		cmd.Stdout, cmd.Stderr = null, &stderr
		if err := cmd.Run(); err != nil {
			b.Fatal(err, stderr.String())
		}
	}
}
