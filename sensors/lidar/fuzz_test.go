package lidar

import (
	"bytes"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// Seeds are real files cut to 8 KiB — the fuzzer minimises every new
// input it finds, which with large inputs stalls it for up to a minute —
// and small whole clouds written from the first points of real ones.

func seedHead(f *testing.F, rel string) []byte {
	b := readShared(f, rel)
	if len(b) > 8<<10 {
		b = b[:8<<10]
	}
	return b
}

// checkDecoded fuzzes one input through both decode paths and checks what
// a successful decode promises.
func checkDecoded(t *testing.T, name string, data []byte, opts ReadOptions) {
	var c Cloud
	err := Decode(&c, name, data, opts)
	frame := ds3d.NewLidarFrame(0)
	ferr := DecodeInto(frame, name, data, opts)
	if (err == nil) != (ferr == nil) {
		t.Fatalf("Decode err %v, DecodeInto err %v", err, ferr)
	}
	if err != nil {
		return
	}
	n := c.Len()
	if len(c.Points.Data) != 16*n || c.Width*c.Height != n || c.NaNs > n {
		t.Fatalf("%d points in %d bytes, %d×%d, %d NaN", n, len(c.Points.Data), c.Width, c.Height, c.NaNs)
	}
	for _, f := range c.Fields {
		if f.Data != nil && len(f.Data) != n*f.Count*f.Type.Size() {
			t.Fatalf("field %s: %d bytes for %d points", f.Name, len(f.Data), n)
		}
	}
	if !sameFloats(ds3d.AsFloat32(frame), ds3d.AsFloat32(c.Points)) {
		t.Fatal("DecodeInto and Decode differ")
	}
	// What was read can be written and read back (PCD keeps everything).
	var buf bytes.Buffer
	if err := WritePCD(&buf, &c, "binary_compressed"); err != nil {
		return // e.g. a field name PCD cannot carry
	}
	var back Cloud
	if err := Decode(&back, "back.pcd", buf.Bytes(), ReadOptions{IntensityField: opts.IntensityField}); err != nil {
		t.Fatalf("re-reading written cloud: %v", err)
	}
	// A kept field named like the intensity becomes it on re-reading, so
	// column 3 is compared only when both reads agree on the intensity.
	p, q := ds3d.AsFloat32(back.Points), ds3d.AsFloat32(c.Points)
	for i := range q {
		if (i%4 < 3 || back.Intensity == c.Intensity) && !sameFloats(p[i:i+1], q[i:i+1]) {
			t.Fatalf("written cloud reads back differently at point %d", i/4)
		}
	}
}

func FuzzPCD(f *testing.F) {
	for _, rel := range []string{"pcd-ply/pcl/bunny.pcd", "pcd-ply/pcl/octants.pcd", "pcd-ply/pcl/nhood_test.pcd",
		"pcd-ply/pcl/colored_cloud.pcd",
		"lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd"} {
		f.Add(seedHead(f, rel))
	}
	c, err := ReadFile(sampledata.Shared(f, "pcd-ply/pcl/cturtle.pcd"), ReadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	small := &Cloud{Points: ds3d.NewLidarFrame(200)}
	copy(small.Points.Data, c.Points.Data)
	for _, enc := range []string{"binary_compressed", "ascii"} {
		var buf bytes.Buffer
		if err := WritePCD(&buf, small, enc); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoded(t, "fuzz.pcd", data, ReadOptions{})
	})
}

func FuzzPLY(f *testing.F) {
	for _, rel := range []string{"pcd-ply/pcl/cube.ply", "pcd-ply/open3d/color.ply"} {
		f.Add(seedHead(f, rel))
	}
	c, err := ReadFile(sampledata.Shared(f, "pcd-ply/open3d/color.ply"), ReadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	small := &Cloud{Points: ds3d.NewLidarFrame(64)}
	copy(small.Points.Data, c.Points.Data)
	for _, enc := range []string{"ascii", "binary_little_endian"} {
		var buf bytes.Buffer
		if err := WritePLY(&buf, small, enc); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecoded(t, "fuzz.ply", data, ReadOptions{})
	})
}

func FuzzBin(f *testing.F) {
	f.Add(seedHead(f, "kitti-object/training/velodyne/000000.bin")[:1024], 0, 0)
	f.Add(seedHead(f, "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin")[:1000], 4, 5)
	f.Add(seedHead(f, "kitti-object/mmdet3d-demo/000008.bin")[:800], 3, 4)
	f.Fuzz(func(t *testing.T, data []byte, size, stride int) {
		checkDecoded(t, "fuzz.bin", data, ReadOptions{ElementSize: size, ElementStride: stride})
	})
}

func FuzzLZF(f *testing.F) {
	_, stream, _, _ := milkStream(f)
	f.Add(stream[:1000], 3000)
	f.Fuzz(func(t *testing.T, stream []byte, n int) {
		if n < 0 || n > 1<<20 {
			return
		}
		out := make([]byte, n)
		if lzfDecompress(out, stream) == nil {
			back := make([]byte, n)
			if err := lzfDecompress(back, lzfCompress(nil, out)); err != nil || !bytes.Equal(back, out) {
				t.Fatalf("recompressed stream: %v", err)
			}
		}
	})
}
