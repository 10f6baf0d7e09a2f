package track3d

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/fusion/eval"
)

// arc is the CTRV motion written the textbook way, independently of
// ctrvMotion's chord form: the box runs on a circle of radius R = v/ω about
// the centre (x − R sin ψ, y + R cos ψ); ω = 0 is the straight line.
func arc(x, y, yaw, v, w, t float64) (float64, float64, float64) {
	if w == 0 {
		return x + v*t*math.Cos(yaw), y + v*t*math.Sin(yaw), yaw + w*t
	}
	r := v / w
	cx, cy := x-r*math.Sin(yaw), y+r*math.Cos(yaw)
	return cx + r*math.Sin(yaw+w*t), cy - r*math.Cos(yaw+w*t), yaw + w*t
}

func TestCTRVPredictArc(t *testing.T) {
	for _, c := range []struct{ yaw, v, w, dt, tol float64 }{
		{0.4, 10, 0.3, 0.1, 1e-12},
		{0.4, 10, 0.3, 1.5, 1e-12},
		{-2.9, 7, -0.8, 0.5, 1e-12},
		{1, 12, 0.2 / 0.1, 0.1, 1e-12},          // ωdt/2 = 0.1: the series/closed-form seam
		{1, 12, 0.2/0.1 - 1e-9, 0.1, 1e-12},     // just below it
		{3.1, 5, 0.01, 0.1, 1e-12},              // series side
		{0.7, 10, 0, 0.1, 1e-12},                // straight line
		{0.7, -4, 0, 2, 1e-12},                  // reversing, straight
		{-1.2, 15, math.Pi / 2, 2, 1e-12},       // a half turn
		{0.5, 10, 2 * math.Pi / 3, 3, 1e-12},    // a full circle: back where it started
		{0.5, 10, -2 * math.Pi / 3, 1.5, 1e-12}, // a half circle the other way
	} {
		s := [nCTRV]float64{3, -2, c.yaw, c.v, c.w}
		got, _ := ctrvMotion(&s, c.dt)
		wx, wy, wyaw := arc(3, -2, c.yaw, c.v, c.w, c.dt)
		if math.Abs(got[iX]-wx) > c.tol || math.Abs(got[iY]-wy) > c.tol || math.Abs(got[iYaw]-wyaw) > 1e-12 ||
			got[iV] != c.v || got[iW] != c.w {
			t.Errorf("%+v: got (%.12g, %.12g, %.12g), circle (%.12g, %.12g, %.12g)", c, got[iX], got[iY], got[iYaw], wx, wy, wyaw)
		}
	}
	// A full circle by hand: 10 m/s at ω = 2π/3 rad/s closes it in 3 s.
	s := [nCTRV]float64{3, -2, 0.5, 10, 2 * math.Pi / 3}
	if got, _ := ctrvMotion(&s, 3); math.Hypot(got[iX]-3, got[iY]+2) > 1e-12 {
		t.Errorf("full circle ends at (%v, %v), want (3, -2)", got[iX], got[iY])
	}
	// Near-straight (R = 1e8 m, where the circle form itself loses digits):
	// the arc's expansion in ω, x = v t cos ψ − v ω t² sin ψ / 2,
	// y = v t sin ψ + v ω t² cos ψ / 2, is exact to O(ω²) = 1e-14.
	for _, w := range []float64{1e-7, -3e-6} {
		s := [nCTRV]float64{3, -2, 0.7, 10, w}
		got, _ := ctrvMotion(&s, 0.1)
		wx := 3 + 10*0.1*math.Cos(0.7) - 10*w*0.01*math.Sin(0.7)/2
		wy := -2 + 10*0.1*math.Sin(0.7) + 10*w*0.01*math.Cos(0.7)/2
		if math.Abs(got[iX]-wx) > 1e-12 || math.Abs(got[iY]-wy) > 1e-12 {
			t.Errorf("ω = %v: got (%.15g, %.15g), expansion (%.15g, %.15g)", w, got[iX], got[iY], wx, wy)
		}
	}
	// The straight-line limit is continuous: ω = 1e-12 moves as ω = 0 does.
	a := [nCTRV]float64{0, 0, 0.7, 10, 1e-12}
	b := [nCTRV]float64{0, 0, 0.7, 10, 0}
	ga, _ := ctrvMotion(&a, 0.1)
	gb, _ := ctrvMotion(&b, 0.1)
	if math.Abs(ga[iX]-gb[iX]) > 1e-12 || math.Abs(ga[iY]-gb[iY]) > 1e-12 {
		t.Errorf("ω = 1e-12 moved to %v, ω = 0 to %v", ga, gb)
	}
}

// TestCTRVJacobian checks F against central differences of the motion.
func TestCTRVJacobian(t *testing.T) {
	for _, s := range [][nCTRV]float64{
		{3, -2, 0.4, 10, 0.3},
		{3, -2, 0.4, 10, 0},
		{3, -2, 0.4, 10, 1e-9},
		{0, 0, -2.5, -6, -1.3},
		{0, 0, 1, 12, 2 - 1e-6}, // seam of sincd at dt = 0.1
		{0, 0, 1, 12, 2 + 1e-6},
		{0, 0, 3.1, 0, 0.5}, // standing still: x' does not depend on ψ or ω
	} {
		for _, dt := range []float64{0.1, 0.7} {
			_, f := ctrvMotion(&s, dt)
			const h = 1e-6
			for j := range nCTRV {
				sp, sm := s, s
				sp[j] += h
				sm[j] -= h
				fp, _ := ctrvMotion(&sp, dt)
				fm, _ := ctrvMotion(&sm, dt)
				for i := range nCTRV {
					num := (fp[i] - fm[i]) / (2 * h)
					if math.Abs(num-f[i][j]) > 1e-7*math.Max(1, math.Abs(num)) {
						t.Errorf("s %v dt %v: ∂f%d/∂s%d = %.10g, finite difference %.10g", s, dt, i, j, f[i][j], num)
					}
				}
			}
		}
	}
}

// turningRun tracks a car at 10 m/s turning at 0.3 rad/s for 10 s at 10 Hz,
// detected with 0.2 m centre noise and 0.05 rad heading noise (seed 3), and
// returns the position RMSE, the RMS heading error and the RMS velocity
// error from frame 30 on (after the filters have converged), the track ids
// seen and the CLEAR-MOT score.
func turningRun(t *testing.T, model string) (posRMSE, yawRMSE, velRMSE float64, ids map[int64]bool, mot string) {
	c := DefaultConfig()
	c.MotionModel = model
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	tk := New(c.Params())
	r := rand.New(rand.NewSource(3))
	const v, w, dt, frames, from = 10.0, 0.3, 0.1, 100, 30
	ids = map[int64]bool{}
	var gt, pred [][]ds3d.Box3D
	var se, ye, ve float64
	n := 0
	for k := range frames {
		tt := float64(k) * dt
		x, y, yaw := arc(0, 0, 0, v, w, tt)
		det := ds3d.Box3D{CX: float32(x + 0.2*r.NormFloat64()), CY: float32(y + 0.2*r.NormFloat64()), CZ: -1,
			DX: 4.5, DY: 1.9, DZ: 1.6, Yaw: float32(wrap(yaw + 0.05*r.NormFloat64())), ClassID: 1, Label: "Car"}
		out := tk.Update(int64(k)*int64(dt*1e9), []ds3d.Box3D{det})
		truth := det
		truth.CX, truth.CY, truth.TrackID = float32(x), float32(y), 0
		gt = append(gt, []ds3d.Box3D{truth})
		pred = append(pred, append([]ds3d.Box3D(nil), out...))
		if k >= 3 && len(out) != 1 {
			t.Fatalf("%s frame %d: %d tracks, want 1", model, k, len(out))
		}
		for _, b := range out {
			ids[b.TrackID] = true
			if k < from {
				continue
			}
			dx, dy := float64(b.CX)-x, float64(b.CY)-y
			se += dx*dx + dy*dy
			dyaw := wrap(float64(b.Yaw) - yaw)
			ye += dyaw * dyaw
			vx, vy := float64(b.VX)-v*math.Cos(yaw), float64(b.VY)-v*math.Sin(yaw)
			ve += vx*vx + vy*vy
			n++
		}
	}
	m, err := eval.MOT3D(gt, pred, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	mot = fmt.Sprintf("MOTA %.3f MOTP %.3f m IDF1 %.3f switches %d", m.MOTA, m.MOTP, m.IDF1, m.NumSwitches)
	if m.NumSwitches != 0 {
		t.Errorf("%s: %s", model, mot)
	}
	return math.Sqrt(se / float64(n)), math.Sqrt(ye / float64(n)), math.Sqrt(ve / float64(n)), ids, mot
}

// TestCTRVTurningVehicle: on a car driving a circle CTRV follows the arc
// where CV lags inside it, so CTRV's position, heading and velocity errors
// are all lower; each model keeps one id throughout.
func TestCTRVTurningVehicle(t *testing.T) {
	cvPos, cvYaw, cvVel, cvIDs, cvMOT := turningRun(t, "cv")
	ctPos, ctYaw, ctVel, ctIDs, ctMOT := turningRun(t, "ctrv")
	t.Logf("cv:   position RMSE %.3f m, heading RMS %.4f rad, velocity RMS %.3f m/s; %s", cvPos, cvYaw, cvVel, cvMOT)
	t.Logf("ctrv: position RMSE %.3f m, heading RMS %.4f rad, velocity RMS %.3f m/s; %s", ctPos, ctYaw, ctVel, ctMOT)
	if len(cvIDs) != 1 || len(ctIDs) != 1 {
		t.Errorf("track ids cv %v, ctrv %v: want one each", cvIDs, ctIDs)
	}
	if !(ctPos < cvPos && ctYaw < cvYaw && ctVel < cvVel) {
		t.Errorf("CTRV not better than CV on a turning car")
	}
	// Absolute sanity: the detections' own noise is 0.2·√2 = 0.28 m and
	// 0.05 rad; a filter that follows the arc averages below both.
	if ctPos > 0.2 || ctYaw > 0.04 {
		t.Errorf("CTRV errors %.3f m, %.4f rad are not below the raw detections'", ctPos, ctYaw)
	}
}

// TestClassMotion: class_motion picks the model by label, then class id,
// then motion_model.
func TestClassMotion(t *testing.T) {
	c := DefaultConfig()
	c.ClassMotion = map[string]string{"Car": "ctrv", "2": "ctrv", "Pedestrian": "cv"}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	p := c.Params()
	for _, tc := range []struct {
		d    ds3d.Box3D
		want Model
	}{
		{ds3d.Box3D{Label: "Car", ClassID: 0}, ModelCTRV},
		{ds3d.Box3D{Label: "Pedestrian", ClassID: 2}, ModelCV}, // label first
		{ds3d.Box3D{Label: "Cyclist", ClassID: 2}, ModelCTRV},
		{ds3d.Box3D{Label: "Van", ClassID: 7}, ModelCV},
	} {
		if got := p.modelOf(&tc.d); got != tc.want {
			t.Errorf("%s/%d: %v, want %v", tc.d.Label, tc.d.ClassID, got, tc.want)
		}
	}
	for key, mutate := range map[string]func(*Config){
		"motion_model":              func(c *Config) { c.MotionModel = "ctra" },
		"class_motion.Car":          func(c *Config) { c.ClassMotion = map[string]string{"Car": "CTRV"} },
		"ctrv_yaw_accel_noise":      func(c *Config) { c.CTRVYawAccelNoise = 0 },
		"ctrv_yaw_noise":            func(c *Config) { c.CTRVYawNoise = -1 },
		"ctrv_initial_yaw_rate_std": func(c *Config) { c.CTRVInitYawRate = math.Inf(1) },
	} {
		c := DefaultConfig()
		mutate(c)
		var ce *ds3d.ConfigError
		if err := ds3d.CheckConfig(c); !errors.As(err, &ce) || ce.Key != key {
			t.Errorf("%s: got %v", key, err)
		}
	}
}

// mixedScene is n boxes in three classes, 4 m apart on a grid, all moving
// 0.5 m per frame along x.
func mixedScene(n int) []ds3d.Box3D {
	dets := make([]ds3d.Box3D, n)
	labels := []string{"Car", "Pedestrian", "Cyclist"}
	for i := range dets {
		dets[i] = ds3d.Box3D{CX: float32(i%10) * 8, CY: float32(i/10)*8 - 40, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.1,
			ClassID: int32(i % 3), Label: labels[i%3]}
	}
	return dets
}

func ctrvConfig(all bool) Params {
	c := DefaultConfig()
	if all {
		c.MotionModel = "ctrv"
	} else {
		c.ClassMotion = map[string]string{"Car": "ctrv", "Cyclist": "ctrv"}
	}
	return c.Params()
}

// TestSteadyStateAllocs: once the tracks exist, a frame allocates nothing,
// with either model.
func TestSteadyStateAllocs(t *testing.T) {
	for _, all := range []bool{false, true} {
		tk := New(ctrvConfig(all))
		dets := mixedScene(100)
		k := int64(0)
		frame := func() {
			for i := range dets {
				dets[i].CX += 0.5
			}
			tk.Update(k*1e8, dets)
			k++
		}
		for range 5 {
			frame()
		}
		if a := testing.AllocsPerRun(20, frame); a != 0 {
			t.Errorf("all ctrv %v: %v allocs per frame", all, a)
		}
		if out := tk.Update(k*1e8, dets); len(out) != 100 {
			t.Errorf("%d tracks, want 100", len(out))
		}
	}
}

// BenchmarkTrack100: 100 boxes per frame, every track CV or every track CTRV.
func BenchmarkTrack100(b *testing.B) {
	for _, model := range []string{"cv", "ctrv"} {
		b.Run(model, func(b *testing.B) {
			c := DefaultConfig()
			c.MotionModel = model
			tk := New(c.Params())
			dets := mixedScene(100)
			b.ReportAllocs()
			k := int64(0)
			for b.Loop() {
				for i := range dets {
					dets[i].CX += 0.5
				}
				tk.Update(k*1e8, dets)
				k++
			}
		})
	}
}
