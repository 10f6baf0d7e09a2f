package deskew

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestMoveKernels: the SIMD kernels (where built) give move3Scalar's and
// move2Scalar's results to the bit for strides 4–9 and every run length
// around the two-point step, leave the other columns alone even when they
// hold NaN or ±Inf, and match a float64 reference within float32 rounding.
func TestMoveKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	m := f32(ptr(Exp(Twist{V: [3]float64{3, -1, 0.4}, W: [3]float64{0.2, -0.1, 0.7}}, 0.3)))
	for stride := 4; stride <= 9; stride++ {
		for n := 0; n <= 7; n++ {
			v := make([]float32, n*stride)
			for i := range v {
				v[i] = float32(rng.NormFloat64() * 50)
			}
			for i := 3; i < len(v); i += stride {
				v[i] = [...]float32{float32(math.NaN()), float32(math.Inf(1)), 7}[i%3]
			}
			for _, planar := range []bool{false, true} {
				got, want := append([]float32(nil), v...), append([]float32(nil), v...)
				if planar {
					move2(got, stride, &m)
					move2Scalar(want, stride, &m)
				} else {
					move3(got, stride, &m)
					move3Scalar(want, stride, &m)
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("stride %d n %d planar %v: value %d = %v, scalar %v", stride, n, planar, i, got[i], want[i])
					}
					c := i % stride
					if (c >= 3 || (planar && c == 2)) && math.Float32bits(got[i]) != math.Float32bits(v[i]) {
						t.Fatalf("stride %d n %d planar %v: column %d changed: %v → %v", stride, n, planar, c, v[i], got[i])
					}
				}
				if planar {
					continue
				}
				for b := 0; b < len(v); b += stride {
					for r := 0; r < 3; r++ {
						ref := float64(m[4*r])*float64(v[b]) + float64(m[4*r+1])*float64(v[b+1]) + float64(m[4*r+2])*float64(v[b+2]) + float64(m[4*r+3])
						if d := math.Abs(float64(got[b+r]) - ref); d > 1e-5*(1+math.Abs(ref)) {
							t.Fatalf("stride %d point %d row %d: %v, float64 %v", stride, b/stride, r, got[b+r], ref)
						}
					}
				}
			}
		}
	}
}

func ptr(m ds3d.Mat4) *ds3d.Mat4 { return &m }

// TestTableFollowsMotion: a Corrector reused with another twist, extrinsic
// or time range gives what a fresh one gives (the cached table is rebuilt
// or extended, never reused stale), and RefStamp's T0, T1 bound the times.
func TestTableFollowsMotion(t *testing.T) {
	lever := ds3d.Mat4{1, 0, 0, 1.2, 0, 1, 0, 0.1, 0, 0, 1, 1.8, 0, 0, 0, 1}
	steps := []struct {
		tw   Twist
		x    ds3d.Mat4
		span float32 // times scaled by this
	}{
		{Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 0.5}}, ds3d.Mat4{}, 1},
		{Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 0.5}}, ds3d.Mat4{}, 3}, // wider: extends
		{Twist{V: [3]float64{5, 1, 0.2}, W: [3]float64{0.1, 0, -0.3}}, ds3d.Mat4{}, 1},
		{Twist{V: [3]float64{5, 1, 0.2}, W: [3]float64{0.1, 0, -0.3}}, lever, 1},
		{Twist{V: [3]float64{20, 0, 0}, W: [3]float64{0, 0, 0.5}}, ds3d.Mat4{}, 1},
	}
	pts, _ := distorted(3000, steps[0].tw, ds3d.Identity4, 0, 21)
	reused := Corrector{Mode: Mode3D}
	for i, s := range steps {
		in := append([]float32(nil), pts...)
		for b := 5; b < len(in); b += 6 {
			in[b] *= s.span
		}
		reused.Extrinsic = s.x
		fresh := Corrector{Mode: Mode3D, Extrinsic: s.x}
		a, b := make([]float32, len(in)), make([]float32, len(in))
		sa, err := reused.Apply(a, in, 6, 5, s.tw)
		if err != nil {
			t.Fatal(err)
		}
		sb, _ := fresh.Apply(b, in, 6, 5, s.tw)
		if sa != sb {
			t.Errorf("step %d: stats %+v, fresh %+v", i, sa, sb)
		}
		for j := range a {
			if a[j] != b[j] {
				t.Fatalf("step %d: value %d = %v, fresh corrector %v", i, j, a[j], b[j])
			}
		}
		lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
		timeSpan(in, 6, 5, &lo, &hi)
		if !(sa.T0 <= float64(lo)+1e-7 && sa.T1 >= float64(hi)-1e-7) || sa.Slices < 2 { // slices are picked in float32
			t.Errorf("step %d: T0, T1 = %v, %v do not bound the times [%v, %v] (%d slices)", i, sa.T0, sa.T1, lo, hi, sa.Slices)
		}
	}
	// Times far beyond the table's reach use its last slices.
	far := append([]float32(nil), pts[:12]...)
	far[5], far[11] = -1e6, 1e6
	st, err := reused.Apply(far, far, 6, 5, steps[0].tw)
	if err != nil || st.Slices != 2*maxSlices-1 {
		t.Errorf("times ±1e6 s: %d slices, %v; want %d", st.Slices, err, 2*maxSlices-1)
	}
	for _, v := range far {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("times ±1e6 s gave %v", far)
		}
	}
	if _, err := reused.Apply(pts, pts, 6, 5, Twist{V: [3]float64{math.NaN(), 0, 0}}); err == nil {
		t.Error("NaN twist accepted")
	}
}

// BenchmarkApplyNewTwist is BenchmarkApply with a twist that changes every
// sweep (the ego_pose source): the slice table is rebuilt each time.
func BenchmarkApplyNewTwist(b *testing.B) {
	for _, mode := range []Mode{Mode2D, Mode3D} {
		b.Run([]string{"2d", "3d"}[mode], func(b *testing.B) {
			tw := Twist{V: [3]float64{20, 0, 0.5}, W: [3]float64{0.05, 0.02, 30 * math.Pi / 180}}
			pts, _ := distorted(120000, tw, ds3d.Identity4, 0, 5)
			work := append([]float32(nil), pts...)
			co := Corrector{Mode: mode}
			b.ReportAllocs()
			b.SetBytes(int64(len(pts) * 4))
			k := 0
			for b.Loop() {
				k++
				tw.V[0] = 20 + float64(k%2)*1e-3
				if _, err := co.Apply(work, pts, 6, 5, tw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
