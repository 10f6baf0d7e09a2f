package track

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

var _ Interface = (*Tracker)(nil)

func mustNew(tb testing.TB, c Config) *Tracker {
	tb.Helper()
	tr, err := New(c)
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// TestLifeCycle walks one object through probation, shadow tracking and
// termination with probationAge 2, maxShadowTrackingAge 1.
func TestLifeCycle(t *testing.T) {
	c := DefaultSORT()
	c.TargetManagement.OutputTentativeAtStart = false
	tr := mustNew(t, c)
	det := func(x float32) []ds3d.Object2D {
		return []ds3d.Object2D{{Left: x, Top: 10, Width: 20, Height: 40, Score: 0.9, ClassID: 3, SourceID: 7}}
	}
	var ids []int64
	for f, d := range [][]ds3d.Object2D{det(0), det(2), det(4), det(6), nil, det(10), nil, nil, det(16)} {
		out := tr.Update(d)
		switch {
		case f < 2 || f == 4 || f == 6 || f == 7:
			if len(out) != 0 {
				t.Fatalf("frame %d: output %v, want none (probation or shadow)", f, out)
			}
		case f == 8:
			if len(out) != 0 || tr.Len() != 1 {
				t.Fatalf("frame %d: old target must be gone and the new one tentative: out %v len %d", f, out, tr.Len())
			}
		default:
			if len(out) != 1 || out[0].ClassID != 3 || out[0].SourceID != 7 || out[0].Score != 0.9 {
				t.Fatalf("frame %d: output %+v", f, out)
			}
			ids = append(ids, out[0].TrackID)
		}
	}
	if len(ids) != 3 || ids[0] != 1 || ids[1] != 1 || ids[2] != 1 {
		t.Errorf("ids %v, want the same id 1 through the shadow frame", ids)
	}
	if tr.Update(nil); tr.Len() != 0 {
		t.Errorf("tentative target not terminated early: %d left", tr.Len())
	}
}

func TestStartupAndMinIouDiff(t *testing.T) {
	tr := mustNew(t, DefaultSORT())
	d := []ds3d.Object2D{{Left: 0, Top: 0, Width: 10, Height: 10, Score: 1}}
	if out := tr.Update(d); len(out) != 1 {
		t.Fatalf("outputTentativeAtStart: frame 1 output %v", out)
	}
	c := DefaultIOU()
	c.TargetManagement.MinIouDiff4NewTarget = 0.3
	c.TargetManagement.ProbationAge = 0
	tr = mustNew(t, c)
	tr.Update(d)
	// Two detections on the old one: one matches, the other overlaps it by
	// IoU 0.81 > 0.3 and must not start a target.
	two := []ds3d.Object2D{d[0], {Left: 1, Top: 0, Width: 10, Height: 10, Score: 1}}
	if out := tr.Update(two); len(out) != 1 || tr.Len() != 1 {
		t.Errorf("minIouDiff4NewTarget: out %v, %d targets", out, tr.Len())
	}
}

func TestMatchers(t *testing.T) {
	// Target at x=0 and x=8 (width 10): detections at 4 and 12. Greedy
	// takes the best pair first; global maximises the total.
	for _, m := range []int{MatcherGreedy, MatcherGlobal} {
		c := DefaultIOU()
		c.DataAssociator.AssociationMatcherType = m
		c.DataAssociator.MinMatchingScore4Iou = 0.1
		c.TargetManagement.ProbationAge = 0
		tr := mustNew(t, c)
		tr.Update([]ds3d.Object2D{{Left: 0, Width: 10, Height: 10, Score: 1}, {Left: 8, Width: 10, Height: 10, Score: 1}})
		out := tr.Update([]ds3d.Object2D{{Left: 5, Width: 10, Height: 10, Score: 1}, {Left: 12, Width: 10, Height: 10, Score: 1}})
		if len(out) != 2 {
			t.Fatalf("matcher %d: %v", m, out)
		}
		got := map[float32]int64{}
		for _, o := range out {
			got[o.Left] = o.TrackID
		}
		// IoU(0,5)=1/3, IoU(8,5)=7/13, IoU(8,12)=3/7, IoU(0,12)=0.
		// Greedy: (8,5) first → 0 gets nothing at 12 → new target 3.
		// Global: (0,5)+(8,12) = 0.76 > 0.54.
		want := map[int]map[float32]int64{MatcherGreedy: {5: 2}, MatcherGlobal: {5: 1, 12: 2}}[m]
		for x, id := range want {
			if got[x] != id {
				t.Errorf("matcher %d: detection at %g got id %d, want %d (all %v)", m, x, got[x], id, got)
			}
		}
	}
}

func TestIDsUniquePerStream(t *testing.T) {
	m, err := NewMulti(DefaultSORT())
	if err != nil {
		t.Fatal(err)
	}
	d := []ds3d.Object2D{{Left: 0, Width: 10, Height: 10, Score: 1}, {Left: 50, Width: 10, Height: 10, Score: 1}}
	a := append([]ds3d.Object2D(nil), m.Update(0, d)...)
	b := m.Update(3, d)
	if len(a) != 2 || len(b) != 2 || a[0].TrackID == a[1].TrackID || b[0].SourceID != 3 || m.Streams() != 2 {
		t.Errorf("a %v b %v", a, b)
	}
	m.Remove(3)
	if m.Streams() != 1 {
		t.Error("Remove")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		key string
		f   func(*Config)
	}{
		{"TargetManagement.probationAge", func(c *Config) { c.TargetManagement.ProbationAge = -1 }},
		{"TargetManagement.earlyTerminationAge", func(c *Config) { c.TargetManagement.EarlyTerminationAge = 0 }},
		{"TargetManagement.maxTargetsPerStream", func(c *Config) { c.TargetManagement.MaxTargetsPerStream = 0 }},
		{"TargetManagement.minIouDiff4NewTarget", func(c *Config) { c.TargetManagement.MinIouDiff4NewTarget = 1.5 }},
		{"DataAssociator.associationMatcherType", func(c *Config) { c.DataAssociator.AssociationMatcherType = 2 }},
		{"DataAssociator.minMatchingScore4Iou", func(c *Config) { c.DataAssociator.MinMatchingScore4Iou = math.NaN() }},
		{"DataAssociator.matchingScoreWeight4Iou", func(c *Config) { c.DataAssociator.MatchingScoreWeight4Iou = 0 }},
		{"StateEstimator.stateEstimatorType", func(c *Config) { c.StateEstimator.StateEstimatorType = 5 }},
		{"StateEstimator.measurementNoiseVar4Size", func(c *Config) { c.StateEstimator.MeasurementNoiseVar4Size = 0 }},
	} {
		cfg := DefaultSORT()
		c.f(&cfg)
		err := ds3d.CheckConfig(&cfg)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: got %v", c.key, err)
		}
	}
	for _, c := range []Config{DefaultSORT(), DefaultIOU()} {
		if err := ds3d.CheckConfig(&c); err != nil {
			t.Error(err)
		}
	}
}

// synthetic makes frames of n boxes moving at constant velocity with
// detection jitter, bouncing inside a 1920×1080 image (fixed seed).
func synthetic(n, frames int) [][]ds3d.Object2D {
	rng := rand.New(rand.NewPCG(42, 1))
	type obj struct{ x, y, vx, vy, w, h float64 }
	objs := make([]obj, n)
	for i := range objs {
		// a grid keeps objects mostly apart, as in a real scene
		objs[i] = obj{x: float64(i%10)*180 + 20, y: float64(i/10)*100 + 10, vx: rng.NormFloat64() * 2, vy: rng.NormFloat64(),
			w: 30 + rng.Float64()*30, h: 60 + rng.Float64()*30}
	}
	out := make([][]ds3d.Object2D, frames)
	for f := range out {
		out[f] = make([]ds3d.Object2D, n)
		for i := range objs {
			o := &objs[i]
			o.x += o.vx
			o.y += o.vy
			if o.x < 0 || o.x+o.w > 1920 {
				o.vx = -o.vx
			}
			if o.y < 0 || o.y+o.h > 1080 {
				o.vy = -o.vy
			}
			out[f][i] = ds3d.Object2D{Left: float32(o.x + rng.NormFloat64()), Top: float32(o.y + rng.NormFloat64()),
				Width: float32(o.w + rng.NormFloat64()), Height: float32(o.h + rng.NormFloat64()), Score: 0.9}
		}
	}
	return out
}

func TestSyntheticNoAllocsAndIDs(t *testing.T) {
	frames := synthetic(100, 60)
	tr := mustNew(t, DefaultSORT())
	for _, d := range frames[:30] {
		tr.Update(d)
	}
	f := 30
	allocs := testing.AllocsPerRun(20, func() {
		tr.Update(frames[f])
		f++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame in steady state, want 0", allocs)
	}
	var out []ds3d.Object2D
	for ; f < len(frames); f++ {
		out = tr.Update(frames[f])
	}
	seen := map[int64]bool{}
	for _, o := range out {
		if seen[o.TrackID] {
			t.Fatalf("id %d twice in one frame", o.TrackID)
		}
		seen[o.TrackID] = true
	}
	if len(out) < 95 {
		t.Errorf("%d of 100 objects tracked in steady state", len(out))
	}
}

// FuzzTracker feeds random boxes, including NaN, Inf, zero and negative
// sizes, to the three trackers (DeepSORT with colour histograms of a
// small frame the boxes mostly leave): no panic, outputs finite with
// unique ids.
func FuzzTracker(f *testing.F) {
	f.Add(int64(1), uint8(10), uint8(0))
	f.Add(int64(2), uint8(200), uint8(1))
	f.Add(int64(3), uint8(30), uint8(2))
	img, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 160, 120, 0)
	f.Fuzz(func(t *testing.T, seed int64, n uint8, kind uint8) {
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		cfg := []Config{DefaultSORT(), DefaultIOU(), DefaultDeepSORT()}[kind%3]
		tr := mustNew(t, cfg)
		special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -5, 1e30, 1e-30}
		val := func(scale float32) float32 {
			if rng.IntN(8) == 0 {
				return special[rng.IntN(len(special))]
			}
			return rng.Float32() * scale
		}
		for frame := 0; frame < 20; frame++ {
			dets := make([]ds3d.Object2D, int(n)%40)
			for i := range dets {
				dets[i] = ds3d.Object2D{Left: val(200), Top: val(200), Width: val(60), Height: val(60), Score: val(1)}
			}
			seen := map[int64]bool{}
			out, err := tr.UpdateFrame(img, dets)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range out {
				if o.TrackID < 1 || seen[o.TrackID] {
					t.Fatalf("bad or repeated id %d", o.TrackID)
				}
				seen[o.TrackID] = true
				if math.IsNaN(float64(o.Left + o.Top + o.Width + o.Height)) {
					t.Fatalf("NaN box out: %+v", o)
				}
			}
		}
	})
}

// BenchmarkSORT/100objects: predict + associate + update of 100 targets per
// frame, single thread (deepsort: with the colour histograms of the 100
// boxes computed from a 1920×1080 frame); reports ms/frame to compare with the OpenCV+scipy
// peer (kalman_100tracks + assign_100x100 of ../shared/peers/bench_2d.py).
func BenchmarkSORT(b *testing.B) {
	img, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 1920, 1080, 0)
	for i := range img.Data {
		img.Data[i] = byte(i * 7 % 251)
	}
	for _, name := range []string{"sort", "iou", "deepsort", "deepsort-dense"} {
		b.Run(name+"/100objects", func(b *testing.B) {
			cfg := map[string]Config{"sort": DefaultSORT(), "iou": DefaultIOU(), "deepsort": DefaultDeepSORT(), "deepsort-dense": DefaultDeepSORT()}[name]
			// deepsort-dense: the cascade solved as one dense problem per
			// level (nwojke/deep_sort's way), the before of the per-component solve.
			denseCascade = name == "deepsort-dense"
			defer func() { denseCascade = false }()
			frames := synthetic(100, 1000)
			tr := mustNew(b, cfg)
			for _, d := range frames[:10] {
				tr.UpdateFrame(img, d)
			}
			b.ReportAllocs()
			i := 10
			for b.Loop() {
				tr.UpdateFrame(img, frames[i])
				if i++; i == len(frames) {
					i = 10
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/frame")
		})
	}
}
