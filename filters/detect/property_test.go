package detect

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func readInto(t testing.TB, f *ds3d.Frame, path string) {
	t.Helper()
	if err := lidar.ReadFileInto(f, path, lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestDetectProperties: random clouds with NaN/Inf, empty and tiny clouds,
// and a synthetic car never panic, and every box is finite.
func TestDetectProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0}
	d := New(DefaultParams)
	for it := 0; it < 40; it++ {
		n := []int{0, 1, 3, 50, 5000}[r.IntN(5)]
		f := ds3d.NewLidarFrame(n)
		s := ds3d.AsFloat32(f)
		for i := 0; i < n; i++ {
			s[4*i], s[4*i+1], s[4*i+2] = float32(r.Float64()*70), float32(r.NormFloat64()*15), float32(r.NormFloat64()-1)
			if r.IntN(10) == 0 {
				s[4*i+r.IntN(3)] = special[r.IntN(len(special))]
			}
		}
		for _, b := range d.Detect(nil, f) {
			for _, v := range []float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ, b.Yaw, b.Score} {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("non-finite box %+v", b)
				}
			}
		}
	}
}

// TestDetectSyntheticCar: an L of points (the rear and right side of a
// 4.2 × 1.8 × 1.5 m car at (15, −3), heading 0.3 rad) on a flat ground
// grid is one Car whose BEV centre is within 0.3 m and yaw within 3°.
func TestDetectSyntheticCar(t *testing.T) {
	var pts []float32
	for x := float32(2); x < 40; x += 0.2 {
		for y := float32(-12); y < 12; y += 0.2 {
			pts = append(pts, x, y, -1.73, 0)
		}
	}
	yaw := 0.3
	sn, cs := math.Sincos(yaw)
	add := func(lx, ly, z float64) {
		pts = append(pts, float32(15+lx*cs-ly*sn), float32(-3+lx*sn+ly*cs), float32(z), 0.5)
	}
	for z := -1.5; z < -0.23; z += 0.1 {
		for l := -2.1; l <= 2.1; l += 0.05 {
			add(l, -0.9, z) // right side
		}
		for w := -0.9; w <= 0.9; w += 0.05 {
			add(-2.1, w, z) // rear
		}
	}
	f := ds3d.NewLidarFrame(len(pts) / 4)
	copy(ds3d.AsFloat32(f), pts)
	boxes := New(DefaultParams).Detect(nil, f)
	if len(boxes) != 1 || boxes[0].ClassID != Car {
		t.Fatalf("boxes %+v", boxes)
	}
	b := boxes[0]
	if math.Hypot(float64(b.CX-15), float64(b.CY+3)) > 0.3 {
		t.Errorf("centre (%v, %v), want (15, −3)", b.CX, b.CY)
	}
	dy := math.Mod(math.Abs(float64(b.Yaw)-yaw), math.Pi)
	if math.Min(dy, math.Pi-dy) > 3*math.Pi/180 {
		t.Errorf("yaw %v, want %v (mod π)", b.Yaw, yaw)
	}
}

// TestFitLShapeRectangle: a full rectangle outline at 37° gives its centre,
// size and heading (mod π) under both criteria.
func TestFitLShapeRectangle(t *testing.T) {
	yaw := 37 * math.Pi / 180
	sn, cs := math.Sincos(yaw)
	var x, y []float64
	for l := -2.0; l <= 2.0; l += 0.05 {
		for _, w := range []float64{-0.8, 0.8} {
			x, y = append(x, 5+l*cs-w*sn), append(y, 1+l*sn+w*cs)
		}
	}
	for _, crit := range []string{"closeness", "area"} {
		r := FitLShape(x, y, 1, crit, 0)
		if math.Abs(r.CX-5) > 0.02 || math.Abs(r.CY-1) > 0.02 || math.Abs(r.Length-4) > 0.05 || math.Abs(r.Width-1.6) > 0.05 || math.Abs(r.Yaw-yaw) > 0.01 {
			t.Errorf("%s: %+v", crit, r)
		}
	}
	if r := FitLShape(nil, nil, 1, "closeness", 0); r != (Rect{}) {
		t.Errorf("empty: %+v", r)
	}
}
