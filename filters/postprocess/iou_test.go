package postprocess

import (
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func box(cx, cy, cz, dx, dy, dz, yaw float32) ds3d.Box3D {
	return ds3d.Box3D{CX: cx, CY: cy, CZ: cz, DX: dx, DY: dy, DZ: dz, Yaw: yaw, TrackID: -1}
}

// TestIoUHandComputed checks BEV and 3D IoU against areas worked out by hand.
func TestIoUHandComputed(t *testing.T) {
	oct := 8*math.Sqrt2 - 8 // square [-1,1]² ∩ the same square turned 45°: 4 − 4·(2−√2)²/2
	cases := []struct {
		name      string
		a, b      ds3d.Box3D
		inter     float64
		bev, iou3 float64
	}{
		{"identical", box(3, 4, 0, 4, 2, 1.5, 0.3), box(3, 4, 0, 4, 2, 1.5, 0.3), 8, 1, 1},
		{"axis-aligned half", box(0, 0, 0, 2, 2, 2, 0), box(1, 0, 0, 2, 2, 2, 0), 2, 2.0 / 6, 2.0 / 6},
		{"axis-aligned quarter", box(0, 0, 0, 2, 2, 2, 0), box(1, 1, 0, 2, 2, 2, 0), 1, 1.0 / 7, 1.0 / 7},
		{"45° squares", box(0, 0, 0, 2, 2, 1, 0), box(0, 0, 0, 2, 2, 1, math.Pi/4), oct, oct / (8 - oct), oct / (8 - oct)},
		{"45° squares, z half", box(0, 0, 0, 2, 2, 2, 0), box(0, 0, 1, 2, 2, 2, math.Pi/4), oct, oct / (8 - oct), oct / (16 - oct)},
		{"yaw π is the same footprint", box(5, -2, 0, 4, 1.8, 1.5, 0.2), box(5, -2, 0, 4, 1.8, 1.5, 0.2+math.Pi), 7.2, 1, 1},
		{"disjoint", box(0, 0, 0, 2, 2, 2, 0), box(10, 0, 0, 2, 2, 2, 0.5), 0, 0, 0},
		{"touching edge", box(0, 0, 0, 2, 2, 2, 0), box(2, 0, 0, 2, 2, 2, 0), 0, 0, 0},
		{"containment", box(0, 0, 0, 4, 4, 2, 0.5), box(0.2, 0.1, 0, 1, 1, 2, 1.1), 1, 1.0 / 16, 1.0 / 16},
		{"z disjoint", box(0, 0, 0, 2, 2, 1, 0), box(0, 0, 3, 2, 2, 1, 0), 4, 1, 0},
		{"cross", box(0, 0, 0, 4, 1, 1, 0), box(0, 0, 0, 4, 1, 1, math.Pi/2), 1, 1.0 / 7, 1.0 / 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > 1e-6*math.Max(1, want) {
					t.Errorf("%s = %.9g, want %.9g", what, got, want)
				}
			}
			near("intersection", BEVIntersection(&c.a, &c.b), c.inter)
			near("BEV IoU", BEVIoU(&c.a, &c.b), c.bev)
			near("BEV IoU swapped", BEVIoU(&c.b, &c.a), c.bev)
			near("3D IoU", IoU3D(&c.a, &c.b), c.iou3)
		})
	}
}

// TestIoUDegenerate: zero, negative, NaN and Inf sizes and centres give a
// finite IoU in [0, 1] and never panic.
func TestIoUDegenerate(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	ok := box(0, 0, 0, 2, 2, 2, 0)
	bad := []ds3d.Box3D{
		box(0, 0, 0, 0, 2, 2, 0), box(0, 0, 0, 2, 0, 2, 0), box(0, 0, 0, 2, 2, 0, 0),
		box(nan, 0, 0, 2, 2, 2, 0), box(0, 0, 0, nan, 2, 2, 0), box(0, 0, 0, 2, 2, 2, nan),
		box(inf, 0, 0, 2, 2, 2, 0), box(0, 0, 0, inf, 2, 2, 0), box(0, 0, inf, 2, 2, 2, 0),
		box(0, 0, 0, -2, 2, 2, 0),
	}
	for i, b := range bad {
		for _, v := range []float64{BEVIoU(&ok, &b), BEVIoU(&b, &ok), IoU3D(&ok, &b), IoU3D(&b, &b)} {
			if !(v >= 0 && v <= 1) {
				t.Errorf("box %d %+v: IoU %v", i, b, v)
			}
		}
	}
	// A negative size is its absolute value.
	if v := BEVIoU(&ok, &bad[len(bad)-1]); math.Abs(v-1) > 1e-12 {
		t.Errorf("negative length: IoU %v, want 1", v)
	}
}

func TestIoUAllocs(t *testing.T) {
	a, b := box(0, 0, 0, 4, 2, 2, 0.3), box(1, 0.5, 0, 4, 2, 2, -0.4)
	if n := testing.AllocsPerRun(100, func() { BEVIoU(&a, &b); IoU3D(&a, &b) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
