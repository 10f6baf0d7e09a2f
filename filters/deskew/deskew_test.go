package deskew

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// integrate is the independent reference of the motion: it steps the pose
// ODE Ṙ = R·[ω]×, ṗ = R·v (body-frame twist) with RK4 over dt in n steps,
// from the identity; no closed form is shared with Exp.
func integrate(tw Twist, dt float64, n int) ds3d.Mat4 {
	type state struct {
		r [9]float64
		p [3]float64
	}
	deriv := func(s state) state {
		var d state
		w := tw.W
		k := [9]float64{0, -w[2], w[1], w[2], 0, -w[0], -w[1], w[0], 0}
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				for l := 0; l < 3; l++ {
					d.r[3*i+j] += s.r[3*i+l] * k[3*l+j]
				}
			}
			for l := 0; l < 3; l++ {
				d.p[i] += s.r[3*i+l] * tw.V[l]
			}
		}
		return d
	}
	add := func(s, d state, h float64) state {
		for i := range s.r {
			s.r[i] += h * d.r[i]
		}
		for i := range s.p {
			s.p[i] += h * d.p[i]
		}
		return s
	}
	s := state{r: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	h := dt / float64(n)
	for range n {
		k1 := deriv(s)
		k2 := deriv(add(s, k1, h/2))
		k3 := deriv(add(s, k2, h/2))
		k4 := deriv(add(s, k3, h))
		for i := range s.r {
			s.r[i] += h / 6 * (k1.r[i] + 2*k2.r[i] + 2*k3.r[i] + k4.r[i])
		}
		for i := range s.p {
			s.p[i] += h / 6 * (k1.p[i] + 2*k2.p[i] + 2*k3.p[i] + k4.p[i])
		}
	}
	m := ds3d.Identity4
	for i := 0; i < 3; i++ {
		copy(m[4*i:4*i+3], s.r[3*i:3*i+3])
		m[4*i+3] = s.p[i]
	}
	return m
}

func maxDiff(a, b ds3d.Mat4) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

// TestExpLog: Exp agrees with the integrated motion (and, in the plane,
// with the unicycle's closed form), and Log inverts it.
func TestExpLog(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		tw := Twist{V: [3]float64{rng.NormFloat64() * 15, rng.NormFloat64() * 3, rng.NormFloat64()},
			W: [3]float64{rng.NormFloat64() * 0.2, rng.NormFloat64() * 0.2, rng.NormFloat64() * 0.6}}
		if i == 0 {
			tw.W = [3]float64{} // the series branch
		}
		dt := 0.02 + rng.Float64()*0.2
		e := Exp(tw, dt)
		if d := maxDiff(e, integrate(tw, dt, 400)); d > 1e-9 {
			t.Fatalf("twist %+v dt %g: Exp differs from the integrated motion by %g", tw, dt, d)
		}
		back, err := Log(ds3d.Identity4, e, dt)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			if math.Abs(back.V[k]-tw.V[k]) > 1e-9 || math.Abs(back.W[k]-tw.W[k]) > 1e-9 {
				t.Fatalf("Log(Exp(%+v)) = %+v", tw, back)
			}
		}
		// Log of two world poses depends only on their relative motion.
		a := Exp(Twist{V: [3]float64{3, -2, 1}, W: [3]float64{0.3, -0.1, 1}}, 1)
		back, _ = Log(a, a.Mul(e), dt)
		if math.Abs(back.V[0]-tw.V[0]) > 1e-9 || math.Abs(back.W[2]-tw.W[2]) > 1e-9 {
			t.Fatalf("Log from a moved pose: %+v, want %+v", back, tw)
		}
	}
	// The unicycle: speed v along x, yaw rate w.
	v, w, dt := 20.0, 30*math.Pi/180, 0.1
	e := Exp(Twist{V: [3]float64{v, 0, 0}, W: [3]float64{0, 0, w}}, dt)
	th := w * dt
	want := ds3d.Mat4{math.Cos(th), -math.Sin(th), 0, v / w * math.Sin(th), math.Sin(th), math.Cos(th), 0, v / w * (1 - math.Cos(th)), 0, 0, 1, 0, 0, 0, 0, 1}
	if d := maxDiff(e, want); d > 1e-12 {
		t.Errorf("unicycle: Exp differs from the closed form by %g", d)
	}
	if _, err := Log(ds3d.Identity4, e, 0); err == nil {
		t.Error("Log over 0 s gave no error")
	}
}

// distorted builds a sweep of n points of a static world seen by a lidar
// moving with the ego's twist tw (ego-from-lidar x): each point is the
// world point as the lidar saw it at its time in [−0.05, 0.05] s, and the
// truth is the same point in the lidar frame at time ref. Points come in
// time order, as a sensor sends them. Poses come from
// integrate, not from Exp.
func distorted(n int, tw Twist, x ds3d.Mat4, ref float64, seed uint64) (pts, truth []float32) {
	rng := rand.New(rand.NewPCG(seed, 7))
	const steps = 1000 // pose table over the sweep, interpolated in time
	poses := make([]ds3d.Mat4, steps+1)
	xi := rigidInverse(x)
	lidarPose := func(t float64) ds3d.Mat4 { // lidar(0)-from-lidar(t)
		e := integrate(tw, math.Abs(t), 40)
		if t < 0 {
			e = rigidInverse(e)
		}
		return xi.Mul(e).Mul(x)
	}
	for k := range poses {
		poses[k] = lidarPose(-0.05 + 0.1*float64(k)/steps)
	}
	refInv := rigidInverse(lidarPose(ref))
	pts, truth = make([]float32, 6*n), make([]float32, 6*n)
	for i := 0; i < n; i++ {
		k := i * (steps + 1) / n // in firing order, as a lidar sends them
		tm := -0.05 + 0.1*float64(k)/steps
		// A world point (lidar(0) frame) at 1–100 m.
		r := 1 + rng.Float64()*99
		az, el := rng.Float64()*2*math.Pi, (rng.Float64()-0.7)*0.5
		w := [3]float64{r * math.Cos(el) * math.Cos(az), r * math.Cos(el) * math.Sin(az), r * math.Sin(el)}
		seen := rigidInverse(poses[k])
		tr := refInv
		for c := 0; c < 3; c++ {
			pts[6*i+c] = float32(seen[4*c]*w[0] + seen[4*c+1]*w[1] + seen[4*c+2]*w[2] + seen[4*c+3])
			truth[6*i+c] = float32(tr[4*c]*w[0] + tr[4*c+1]*w[1] + tr[4*c+2]*w[2] + tr[4*c+3])
		}
		pts[6*i+3], pts[6*i+4], pts[6*i+5] = float32(i%256), float32(i%64), float32(tm)
		copy(truth[6*i+3:6*i+6], pts[6*i+3:6*i+6])
	}
	return pts, truth
}

func pointErrors(t *testing.T, got, want []float32) (worst, p99 float64) {
	t.Helper()
	var d []float64
	for i := 0; i+6 <= len(got); i += 6 {
		dx, dy, dz := float64(got[i]-want[i]), float64(got[i+1]-want[i+1]), float64(got[i+2]-want[i+2])
		d = append(d, math.Sqrt(dx*dx+dy*dy+dz*dz))
		for c := 3; c < 6; c++ {
			if got[i+c] != want[i+c] {
				t.Fatalf("point %d: column %d changed: %v vs %v", i/6, c, got[i+c], want[i+c])
			}
		}
	}
	if len(d) == 0 {
		return 0, 0
	}
	for _, v := range d {
		worst = max(worst, v)
	}
	slices.Sort(d)
	return worst, d[len(d)*99/100]
}

// TestAnalyticSweeps: static worlds seen from a lidar moving up to 20 m/s
// and 30°/s (plus pitch, roll and climb in 3D, a lever arm between ego and
// lidar): corrected points lie within 2 cm of the truth (the slicing is
// set to 1 mm), for each reference time; without correction they are
// metres off.
func TestAnalyticSweeps(t *testing.T) {
	lever := ds3d.Mat4{1, 0, 0, 1.2, 0, 1, 0, 0.1, 0, 0, 1, 1.8, 0, 0, 0, 1}
	yaw := 30 * math.Pi / 180
	cases := []struct {
		name string
		mode Mode
		tw   Twist
		x    ds3d.Mat4
	}{
		{"2d", Mode2D, Twist{V: [3]float64{20, 0.5, 0}, W: [3]float64{0, 0, yaw}}, ds3d.Identity4},
		{"2d-reverse-lever", Mode2D, Twist{V: [3]float64{-8, 0, 0}, W: [3]float64{0, 0, -yaw}}, lever},
		{"3d", Mode3D, Twist{V: [3]float64{20, -1, 0.8}, W: [3]float64{0.1, -0.15, yaw}}, lever},
	}
	for _, c := range cases {
		for _, ref := range []Reference{RefStamp, RefStart, RefEnd} {
			tref := []float64{0, -0.05, 0.05}[ref]
			pts, truth := distorted(20000, c.tw, c.x, tref, uint64(ref)+3)
			// The sweep's earliest and latest times are exactly ±0.05 s.
			pts[5], pts[11] = -0.05, 0.05
			truth[5], truth[11] = -0.05, 0.05
			pts, truth = pts[12:], truth[12:]
			before, _ := pointErrors(t, pts, truth)
			co := Corrector{Mode: c.mode, Reference: ref, Extrinsic: c.x}
			got := make([]float32, len(pts))
			st, err := co.Apply(got, pts, 6, 5, c.tw)
			if err != nil {
				t.Fatal(err)
			}
			worst, p99 := pointErrors(t, got, truth)
			t.Logf("%s ref %d: %d slices; error before %.3f m, after max %.2f mm, p99 %.2f mm", c.name, ref, st.Slices, before, worst*1e3, p99*1e3)
			if worst > 0.02 || before < 0.5 {
				t.Errorf("%s ref %d: max error %.4f m after (want ≤ 0.02), %.3f m before", c.name, ref, worst, before)
			}
		}
	}
}

// TestReferencePointsStay: points whose time is the reference time are not
// moved at all; other columns are never touched; NaN times are skipped;
// in place equals out of place.
func TestReferencePointsStay(t *testing.T) {
	tw := Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 0.5}}
	pts, _ := distorted(5000, tw, ds3d.Identity4, 0, 9)
	for i := 0; i < len(pts); i += 60 {
		pts[i+5] = 0
	}
	pts[6*7+5] = float32(math.NaN())
	co := Corrector{}
	got := make([]float32, len(pts))
	st, err := co.Apply(got, pts, 6, 5, tw)
	if err != nil {
		t.Fatal(err)
	}
	if st.Skipped != 1 {
		t.Errorf("skipped %d, want the NaN one", st.Skipped)
	}
	for i := 0; i < len(pts); i += 6 {
		if pts[i+5] == 0 || i == 6*7 {
			for c := 0; c < 6; c++ {
				if got[i+c] != pts[i+c] && !(c == 5 && i == 6*7) {
					t.Fatalf("point %d at the reference time moved: %v → %v", i/6, pts[i:i+6], got[i:i+6])
				}
			}
		}
	}
	inPlace := append([]float32(nil), pts...)
	if _, err := co.Apply(inPlace, inPlace, 6, 5, tw); err != nil {
		t.Fatal(err)
	}
	for i := range inPlace {
		if inPlace[i] != got[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(inPlace[i]))) {
			t.Fatalf("in place differs at %d", i)
		}
	}
	if _, err := co.Apply(got, pts, 6, 2, tw); err == nil {
		t.Error("time column 2 (z) accepted")
	}
	if _, err := co.Apply(got[:6], pts, 6, 5, tw); err == nil {
		t.Error("short destination accepted")
	}
}

// BenchmarkApply is one 120k-point sweep at 20 m/s and 30°/s, 1 mm
// slicing, in place.
func BenchmarkApply(b *testing.B) {
	tw := Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 30 * math.Pi / 180}}
	pts, _ := distorted(120000, tw, ds3d.Identity4, 0, 5)
	work := append([]float32(nil), pts...)
	co := Corrector{}
	b.ReportAllocs()
	b.SetBytes(int64(len(pts) * 4))
	for b.Loop() {
		copy(work, pts)
		if _, err := co.Apply(work, work, 6, 5, tw); err != nil {
			b.Fatal(err)
		}
	}
}

func TestApplyAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	tw := Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 0.5}}
	pts, _ := distorted(2000, tw, ds3d.Identity4, 0, 5)
	co := Corrector{}
	co.Apply(pts, pts, 6, 5, tw)
	if n := testing.AllocsPerRun(20, func() { co.Apply(pts, pts, 6, 5, tw) }); n != 0 {
		t.Errorf("%v allocations per sweep", n)
	}
}

// TestTimeSpan: the unrolled span pass agrees with a plain loop for every
// length around its step of four, NaN left out.
func TestTimeSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for n := 0; n < 13; n++ {
		v := make([]float32, 5*n)
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		for i := 0; i < n; i++ {
			tm := float32(rng.NormFloat64())
			if i == 2 {
				tm = float32(math.NaN())
			} else {
				lo, hi = min(lo, tm), max(hi, tm)
			}
			v[5*i+4] = tm
		}
		t0, t1 := float32(math.Inf(1)), float32(math.Inf(-1))
		timeSpan(v, 5, 4, &t0, &t1)
		if t0 != lo || t1 != hi {
			t.Errorf("n=%d: span [%v, %v], want [%v, %v]", n, t0, t1, lo, hi)
		}
	}
}
