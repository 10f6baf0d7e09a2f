//go:build cuda

package gpu

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
)

// shuffled is cloud ([N,4] x y z intensity) as an [N,6] frame whose
// columns are ring, intensity (named inten), z, time, x, y.
func shuffled(cloud *ds3d.Frame, inten string) *ds3d.Frame {
	n := cloud.Points()
	f := ds3d.NewTensorFrame(ds3d.DTypeF32, n, 6)
	f.Type = ds3d.FrameLidarXYZI
	f.SetColumns("ring", inten, "z", "time", "x", "y")
	from := []int{-1, 3, 2, -1, 0, 1}
	s, d := ds3d.AsFloat32(cloud), ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		for k, c := range from {
			if c < 0 {
				d[i*6+k] = float32(i%64) - 0.5
			} else {
				d[i*6+k] = s[i*4+c]
			}
		}
	}
	return f
}

// TestPillarizePointColumns: frames whose point columns are not the
// leading ones (KITTI scans shuffled among ring and time columns, the
// intensity under another name given by point_columns) pillarize on the
// GPU bit for bit as on the CPU, from a CPU frame (host gather) and from a
// device frame (strided device copies); column features are refused.
func TestPillarizePointColumns(t *testing.T) {
	for _, inten := range []string{"intensity", "reflectance"} {
		p := pointcloud.DefaultPillarParams
		p.PointColumns = []string{"x", "y", "z", inten}
		z, err := testCtx.NewPillarizer(p)
		if err != nil {
			t.Fatal(err)
		}
		for fi := 0; fi < 2; fi++ {
			src := shuffled(loadKITTI(t, fi), inten)
			what := fmt.Sprintf("%06d shuffled (%s)", fi, inten)
			P := comparePillars(t, what, p, z, src)
			t.Logf("%s: %d pillars: bit-identical", what, P)

			d, err := testCtx.NewDeviceFrame(ds3d.DTypeF32, src.Type, 0, 6)
			if err != nil {
				t.Fatal(err)
			}
			if err := testCtx.Upload(d, src); err != nil {
				t.Fatal(err)
			}
			d.SetColumns(src.Columns()...)
			df, dc, dn := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
			pd, err := z.Pillarize(df, dc, dn, d)
			if err != nil {
				t.Fatal(err)
			}
			if df.Mem != ds3d.MemGPU || pd != P {
				t.Fatalf("%s device path: mem %s, %d pillars want %d", what, df.Mem, pd, P)
			}
			cz, _ := pointcloud.NewPillarizer(p)
			wf, wc, wn := &ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}
			if _, err := cz.Pillarize(wf, wc, wn, src); err != nil {
				t.Fatal(err)
			}
			for _, pr := range [][2]*ds3d.Frame{{df, wf}, {dc, wc}, {dn, wn}} {
				back := &ds3d.Frame{}
				if err := testCtx.Download(back, pr[0]); err != nil {
					t.Fatal(err)
				}
				sameFrame(t, what+" device path", back, pr[1])
			}
			testCtx.Free(d)
		}
		// A frame without the named intensity column is an error naming it.
		bad := shuffled(loadKITTI(t, 0), "i2")
		if _, err := z.Pillarize(&ds3d.Frame{}, &ds3d.Frame{}, &ds3d.Frame{}, bad); err == nil || !strings.Contains(err.Error(), inten) {
			t.Errorf("frame without %s: %v", inten, err)
		}
		z.Close()
	}
	p := pointcloud.DefaultPillarParams
	p.PointColumns = []string{"x", "y", "z", "intensity", "time"}
	p.Features = append(append([]pointcloud.Feature(nil), pointcloud.DefaultFeatures...), pointcloud.ColumnFeature(4))
	if _, err := testCtx.NewPillarizer(p); err == nil || !strings.Contains(err.Error(), "time") {
		t.Errorf("column feature: %v", err)
	}
}
