package lidar

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestDecodeIntoZeroAlloc: a steady loader decoding KITTI scans into pooled
// frames allocates nothing per scan.
func TestDecodeIntoZeroAlloc(t *testing.T) {
	data := readShared(t, kitti0)
	pool, err := ds3d.NewFramePool(1, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		t.Fatal(err)
	}
	f, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := DecodeInto(f, "000000.bin", data, ReadOptions{}); err != nil { // grows the buffer once
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeInto(f, "000000.bin", data, ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("DecodeInto allocates %v times per KITTI scan, want 0", allocs)
	}
	if f.Points() != 115384 || f.Type != ds3d.FrameLidarXYZI {
		t.Errorf("frame %s %s", f.Type, f.Shape)
	}
	f.Release()
	// Reading from the file allocates only what opening a file costs.
	path := sampledata.Shared(t, kitti0)
	frame := ds3d.NewLidarFrame(0)
	allocs = testing.AllocsPerRun(20, func() {
		if err := ReadFileInto(frame, path, ReadOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 5 {
		t.Errorf("ReadFileInto allocates %v times per KITTI scan, want at most the file's own", allocs)
	}
	t.Logf("ReadFileInto: %v allocations per scan (os.Open)", allocs)
}

// TestBinLayouts decodes the KITTI scan with each element size against the
// raw floats, and the nuScenes sweep with its stride of 5.
func TestBinLayouts(t *testing.T) {
	data := readShared(t, kitti0)
	raw := ds3d.AsFloat32(&ds3d.Frame{Data: data})
	for _, size := range []int{3, 4} {
		f := ds3d.NewLidarFrame(0)
		if err := DecodeInto(f, "000000.bin", data, ReadOptions{ElementSize: size}); err != nil {
			t.Fatal(err)
		}
		pts := ds3d.AsFloat32(f)
		for i := 0; i < f.Points(); i++ {
			for k := 0; k < 4; k++ {
				want := raw[4*i+k]
				if k >= size {
					want = 0
				}
				if pts[4*i+k] != want {
					t.Fatalf("size %d point %d[%d] = %v, want %v", size, i, k, pts[4*i+k], want)
				}
			}
		}
	}
	nus := readShared(t, nuscenes)
	nraw := ds3d.AsFloat32(&ds3d.Frame{Data: nus})
	f := ds3d.NewLidarFrame(0)
	if err := DecodeInto(f, "sweep.pcd.bin", nus, ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	pts := ds3d.AsFloat32(f)
	if f.Points() != 34688 {
		t.Fatalf("%d points, want 34688", f.Points())
	}
	for i := 0; i < f.Points(); i++ {
		for k := 0; k < 4; k++ {
			if pts[4*i+k] != nraw[5*i+k] {
				t.Fatalf("point %d[%d] = %v, want %v", i, k, pts[4*i+k], nraw[5*i+k])
			}
		}
	}
	// The same bytes forced to stride 4 are a different (valid) reading.
	if err := DecodeInto(f, "sweep.pcd.bin", nus, ReadOptions{ElementStride: 4}); err != nil || f.Points() != 34688*5/4 {
		t.Errorf("stride 4: %d points, err %v", f.Points(), err)
	}
}
