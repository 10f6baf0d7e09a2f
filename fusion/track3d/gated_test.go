package track3d

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// crowdScene is a sequence of detections of objects moving in clusters (so
// gated components hold several tracks and detections), with misses,
// births, deaths and clutter, all drawn from seed.
func crowdScene(seed int64, objects, frames int) [][]ds3d.Box3D {
	r := rand.New(rand.NewSource(seed))
	type obj struct {
		x, y, vx, vy float64
		cls          int32
		born, dies   int
	}
	labels := []string{"Car", "Pedestrian", "Cyclist"}
	objs := make([]obj, objects)
	for i := range objs {
		// Clusters of ~5 objects a few metres apart, clusters 40 m apart.
		cx, cy := float64(i/5%8)*40, float64(i/40)*40
		objs[i] = obj{x: cx + r.Float64()*6, y: cy + r.Float64()*6, vx: r.NormFloat64() * 1.5, vy: r.NormFloat64() * 1.5,
			cls: int32(r.Intn(3)), born: r.Intn(frames / 2), dies: frames/2 + r.Intn(frames)}
	}
	seq := make([][]ds3d.Box3D, frames)
	for f := range seq {
		var dets []ds3d.Box3D
		for i := range objs {
			o := &objs[i]
			o.x += o.vx * 0.1
			o.y += o.vy * 0.1
			if f < o.born || f > o.dies || r.Float64() < 0.1 {
				continue
			}
			dets = append(dets, ds3d.Box3D{CX: float32(o.x + r.NormFloat64()*0.3), CY: float32(o.y + r.NormFloat64()*0.3),
				CZ: -1, DX: 4, DY: 2, DZ: 1.5, Yaw: float32(r.Float64()), ClassID: o.cls, Label: labels[o.cls], Score: 0.9})
		}
		for range r.Intn(4) { // clutter
			dets = append(dets, ds3d.Box3D{CX: float32(r.Float64() * 320), CY: float32(r.Float64() * 200), DX: 1, DY: 1, DZ: 1,
				ClassID: int32(r.Intn(3)), Label: labels[0]})
		}
		r.Shuffle(len(dets), func(a, b int) { dets[a], dets[b] = dets[b], dets[a] })
		seq[f] = dets
	}
	return seq
}

// TestGatedEqualsDense runs the tracker with the gated association and with
// the dense reference (one assignment over the full matrix) side by side on
// crowded random scenes: every frame's output must be identical, which
// holds only if every frame's pairs are. It also checks that the scenes
// exercised multi-pair components, not just isolated pairs.
func TestGatedEqualsDense(t *testing.T) {
	multi := 0
	for seed := int64(1); seed <= 6; seed++ {
		for _, classAware := range []bool{false, true} {
			for _, gate := range []float64{0.5, 3, 8, 1e6} {
				c := DefaultConfig()
				c.ClassAware = classAware
				c.GateMeters = gate
				c.OutputTentative, c.OutputShadows = true, true
				if seed%2 == 0 {
					c.ClassMotion = map[string]string{"Car": "ctrv"}
				}
				p := c.Params()
				fast, ref := New(p), New(p)
				ref.dense = true
				for f, dets := range crowdScene(seed, 120, 40) {
					ts := int64(f) * 1e8
					a, b := fast.Update(ts, dets), ref.Update(ts, dets)
					for _, n := range fast.g.nPairs {
						if n > 2 {
							multi++
							break
						}
					}
					if len(a) != len(b) {
						t.Fatalf("seed %d class-aware %v gate %g frame %d: %d tracks, dense %d", seed, classAware, gate, f, len(a), len(b))
					}
					for i := range a {
						if a[i] != b[i] {
							t.Fatalf("seed %d class-aware %v gate %g frame %d track %d:\n%+v\ndense:\n%+v", seed, classAware, gate, f, i, a[i], b[i])
						}
					}
				}
			}
		}
	}
	if multi < 100 {
		t.Errorf("only %d frames had a component of more than two pairs: the scenes do not test the split", multi)
	}
}

// TestGatedFarAndNonFinite: tracks far away (cells clamped), a track whose
// prediction is not finite and a zero gate agree with the dense solve.
func TestGatedFarAndNonFinite(t *testing.T) {
	for _, gate := range []float64{0, 1e-300, 2, math.Inf(1)} {
		p := DefaultConfig().Params()
		p.GateMeters = gate
		p.ProbationAge = 1
		fast, ref := New(p), New(p)
		ref.dense = true
		dets := []ds3d.Box3D{{CX: 1e30, CY: 1}, {CX: 1e30, CY: 2}, {CX: -3e38, CY: 3e38}, {CX: 5, CY: 5}, {CX: 5, CY: 5}}
		for f := range 5 {
			for i := range dets {
				dets[i].CX += 0.1
			}
			a, b := fast.Update(int64(f)*1e8, dets), ref.Update(int64(f)*1e8, dets)
			if fmt.Sprint(a) != fmt.Sprint(b) {
				t.Fatalf("gate %g frame %d:\n%v\ndense:\n%v", gate, f, a, b)
			}
		}
	}
}

// gridScene is the scale benchmark's scene (apps/scale-bench): m cars on a
// 7 m grid moving 1 m per frame.
func gridScene(m, k int, dets []ds3d.Box3D) {
	side := int(math.Ceil(math.Sqrt(float64(m))))
	for i := range dets {
		dets[i] = ds3d.Box3D{CX: float32(i%side)*7 + float32(k), CY: float32(i/side) * 7, CZ: -0.8,
			DX: 4.2, DY: 1.8, DZ: 1.5, Score: 0.9, Label: "Car"}
	}
}

// TestGatedAllocs: 3,000 boxes a frame, steady state, allocate nothing.
func TestGatedAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	tk := New(DefaultConfig().Params())
	dets := make([]ds3d.Box3D, 3000)
	k := 0
	frame := func() {
		gridScene(len(dets), k, dets)
		tk.Update(int64(k)*int64(100*time.Millisecond), dets)
		k++
	}
	for range 10 {
		frame()
	}
	if a := testing.AllocsPerRun(5, frame); a != 0 {
		t.Errorf("%v allocs per frame", a)
	}
}

// BenchmarkTrackerScale: the scale benchmark's tracker curve, gated and
// dense (the dense one only up to 1,000 boxes: it is quadratic).
func BenchmarkTrackerScale(b *testing.B) {
	for _, dense := range []bool{false, true} {
		for _, m := range []int{10, 30, 100, 300, 1000, 3000} {
			if dense && m > 1000 {
				continue
			}
			name := "gated"
			if dense {
				name = "dense"
			}
			b.Run(fmt.Sprintf("%s/%d", name, m), func(b *testing.B) {
				tk := New(DefaultConfig().Params())
				tk.dense = dense
				dets := make([]ds3d.Box3D, m)
				k := 0
				for ; k < 10; k++ {
					gridScene(m, k, dets)
					tk.Update(int64(k)*int64(100*time.Millisecond), dets)
				}
				b.ReportAllocs()
				for b.Loop() {
					gridScene(m, k, dets)
					tk.Update(int64(k)*int64(100*time.Millisecond), dets)
					k++
				}
			})
		}
	}
}
