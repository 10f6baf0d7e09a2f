package track3d

import (
	"math"
	"math/rand"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestDecoupledEqualsFullFilter runs AB3DMOT's full filter — state
// (x, y, z, θ, l, w, h, vx, vy, vz), F with the velocity coupling, diagonal
// Q and R, written with gonum/mat — beside our per-axis filters on the same
// measurements: the estimates agree to 1e-9.
func TestDecoupledEqualsFullFilter(t *testing.T) {
	p := DefaultConfig().Params()
	r := rand.New(rand.NewSource(5))
	first := ds3d.Box3D{CX: 10, CY: -3, CZ: -1, DX: 4, DY: 1.8, DZ: 1.5, Yaw: 0.3}
	tr := New(p).start(&first)
	const n = 10
	f := func(v float32) float64 { return float64(v) } // the box holds float32s
	x := mat.NewVecDense(n, []float64{f(first.CX), f(first.CY), f(first.CZ), f(first.Yaw), f(first.DX), f(first.DY), f(first.DZ), 0, 0, 0})
	P := mat.NewDense(n, n, nil)
	for i, v := range []float64{p.PosNoise, p.PosNoise, p.PosNoise, p.YawNoise, p.SizeNoise, p.SizeNoise, p.SizeNoise, p.InitVelVar, p.InitVelVar, p.InitVelVar / 10} {
		P.Set(i, i, v)
	}
	dt := 0.1
	F := mat.NewDense(n, n, nil)
	for i := 0; i < n; i++ {
		F.Set(i, i, 1)
	}
	for i := 0; i < 3; i++ {
		F.Set(i, 7+i, dt)
	}
	Q := mat.NewDense(n, n, nil)
	for i, q := range []float64{p.AccelNoise, p.AccelNoise, p.AccelNoise / 10} {
		Q.Set(i, i, q*dt*dt*dt/3)
		Q.Set(i, 7+i, q*dt*dt/2)
		Q.Set(7+i, i, q*dt*dt/2)
		Q.Set(7+i, 7+i, q*dt)
	}
	Q.Set(3, 3, 0.01*dt)
	for i := 4; i < 7; i++ {
		Q.Set(i, i, 1e-4)
	}
	H := mat.NewDense(7, n, nil)
	for i := 0; i < 7; i++ {
		H.Set(i, i, 1)
	}
	R := mat.NewDense(7, 7, nil)
	for i, v := range []float64{p.PosNoise, p.PosNoise, p.PosNoise, p.YawNoise, p.SizeNoise, p.SizeNoise, p.SizeNoise} {
		R.Set(i, i, v)
	}
	tk := &Tracker{p: p}
	for step := 0; step < 40; step++ {
		// predict both
		tr.x.predict(dt, p.AccelNoise)
		tr.y.predict(dt, p.AccelNoise)
		tr.z.predict(dt, p.AccelNoise/10)
		tr.yaw.predict(0.01 * dt)
		tr.l.predict(1e-4)
		tr.w.predict(1e-4)
		tr.h.predict(1e-4)
		var xp mat.VecDense
		xp.MulVec(F, x)
		var FP, Pp mat.Dense
		FP.Mul(F, P)
		Pp.Mul(&FP, F.T())
		Pp.Add(&Pp, Q)
		// a measurement of a car at 8 m/s along x, with noise
		tt := float64(step+1) * dt
		z := []float64{10 + 8*tt + r.NormFloat64()*0.2, -3 + r.NormFloat64()*0.2, -1 + r.NormFloat64()*0.2, 0.3 + r.NormFloat64()*0.05, 4 + r.NormFloat64()*0.1, 1.8, 1.5}
		d := ds3d.Box3D{CX: float32(z[0]), CY: float32(z[1]), CZ: float32(z[2]), Yaw: float32(z[3]), DX: float32(z[4]), DY: float32(z[5]), DZ: float32(z[6])}
		for i := range z {
			z[i] = float64([]float32{d.CX, d.CY, d.CZ, d.Yaw, d.DX, d.DY, d.DZ}[i])
		}
		tk.update(tr, &d)
		// full update: K = P Hᵀ (H P Hᵀ + R)⁻¹
		var HP, S, Sinv, PHt, K mat.Dense
		HP.Mul(H, &Pp)
		S.Mul(&HP, H.T())
		S.Add(&S, R)
		if err := Sinv.Inverse(&S); err != nil {
			t.Fatal(err)
		}
		PHt.Mul(&Pp, H.T())
		K.Mul(&PHt, &Sinv)
		var hx, y, ky mat.VecDense
		hx.MulVec(H, &xp)
		y.SubVec(mat.NewVecDense(7, z), &hx)
		ky.MulVec(&K, &y)
		x = mat.NewVecDense(n, nil)
		x.AddVec(&xp, &ky)
		var KH, IKH mat.Dense
		KH.Mul(&K, H)
		I := mat.NewDiagDense(n, nil)
		for i := 0; i < n; i++ {
			I.SetDiag(i, 1)
		}
		IKH.Sub(I, &KH)
		P = mat.NewDense(n, n, nil)
		P.Mul(&IKH, &Pp)
		got := []float64{tr.x.p, tr.y.p, tr.z.p, tr.yaw.x, tr.l.x, tr.w.x, tr.h.x, tr.x.v, tr.y.v, tr.z.v}
		for i := range got {
			if math.Abs(got[i]-x.AtVec(i)) > 1e-9 {
				t.Fatalf("step %d state %d: decoupled %v, full %v", step, i, got[i], x.AtVec(i))
			}
		}
	}
	if math.Abs(tr.x.v-8) > 0.5 {
		t.Errorf("velocity %v after 4 s of a car at 8 m/s", tr.x.v)
	}
}

// TestCrossingCars: three cars at 10 Hz for 6 s, two of them crossing,
// detected with 0.15 m noise and 10 % misses. Each car keeps one id from
// confirmation on, and the velocities converge.
func TestCrossingCars(t *testing.T) {
	type car struct{ x0, y0, vx, vy float64 }
	cars := []car{{0, -10, 10, 3}, {0, 10, 10, -3}, {20, 0, -5, 0}}
	r := rand.New(rand.NewSource(9))
	tk := New(DefaultConfig().Params())
	ids := map[int]map[int64]bool{}
	var last []ds3d.Box3D
	for k := 0; k < 60; k++ {
		tt := float64(k) * 0.1
		var dets []ds3d.Box3D
		for ci, c := range cars {
			if r.Float64() < 0.1 {
				continue
			}
			yaw := math.Atan2(c.vy, c.vx)
			dets = append(dets, ds3d.Box3D{
				CX: float32(c.x0 + c.vx*tt + r.NormFloat64()*0.15), CY: float32(c.y0 + c.vy*tt + r.NormFloat64()*0.15),
				DX: 4.5, DY: 1.9, DZ: 1.6, Yaw: float32(yaw), ClassID: 1, Label: "Car", Score: float32(ci),
			})
		}
		out := tk.Update(int64(k)*100_000_000, dets)
		for _, b := range out {
			// the true car nearest to the track
			best, bd := -1, math.Inf(1)
			for ci, c := range cars {
				d := math.Hypot(float64(b.CX)-(c.x0+c.vx*tt), float64(b.CY)-(c.y0+c.vy*tt))
				if d < bd {
					best, bd = ci, d
				}
			}
			if bd > 1.5 {
				t.Errorf("frame %d: track %d is %.1f m from every car", k, b.TrackID, bd)
			}
			if ids[best] == nil {
				ids[best] = map[int64]bool{}
			}
			ids[best][b.TrackID] = true
		}
		last = append(last[:0], out...)
	}
	for ci := range cars {
		if len(ids[ci]) != 1 {
			t.Errorf("car %d had track ids %v, want one", ci, ids[ci])
		}
	}
	for _, b := range last {
		for _, c := range cars {
			if math.Hypot(float64(b.VX)-c.vx, float64(b.VY)-c.vy) < 0.7 {
				goto ok
			}
		}
		t.Errorf("track %d velocity (%.2f, %.2f) matches no car", b.TrackID, b.VX, b.VY)
	ok:
	}
}

func TestBackwardsHeadingAndShadows(t *testing.T) {
	c := DefaultConfig()
	c.ProbationAge, c.OutputShadows, c.MaxShadowAge = 1, true, 2
	tk := New(c.Params())
	b := ds3d.Box3D{CX: 5, DX: 4, DY: 2, DZ: 1.5, Yaw: 0.1, ClassID: 1}
	tk.Update(0, []ds3d.Box3D{b})
	b.Yaw = 0.1 + math.Pi // reported backwards
	out := tk.Update(1e8, []ds3d.Box3D{b})
	if len(out) != 1 || math.Abs(float64(out[0].Yaw)-0.1) > 1e-3 {
		t.Errorf("backwards heading moved the track: %+v", out)
	}
	for k := 2; k <= 3; k++ { // two missed frames: shadows
		if out := tk.Update(int64(k)*1e8, nil); len(out) != 1 {
			t.Errorf("frame %d: %d shadows, want 1", k, len(out))
		}
	}
	if out := tk.Update(4e8, nil); len(out) != 0 {
		t.Errorf("track outlived max_shadow_age: %+v", out)
	}
	bad := []ds3d.Box3D{{CX: float32(math.NaN())}, {CX: float32(math.Inf(1))}}
	tk.Update(5e8, bad) // no panic, no track
	if len(tk.tracks) != 0 {
		t.Errorf("non-finite detections made tracks")
	}
}

func BenchmarkTrack50(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	dets := make([]ds3d.Box3D, 50)
	for i := range dets {
		dets[i] = ds3d.Box3D{CX: float32(r.Float64() * 80), CY: float32(r.Float64()*80 - 40), DX: 4, DY: 2, DZ: 1.5, ClassID: int32(i % 3)}
	}
	tk := New(DefaultConfig().Params())
	b.ReportAllocs()
	k := int64(0)
	for b.Loop() {
		for i := range dets {
			dets[i].CX += 0.5
		}
		tk.Update(k*1e8, dets)
		k++
	}
}
