package track

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestKalman8MatchesDeepSORT runs the filter against a numpy transcription
// of nwojke/deep_sort's kalman_filter.py (initiate, predict, update,
// gating_distance), written out in the test: the same measurements must
// give the same state, covariance and gating distance to 1e-9 relative
// (numpy multiplies with BLAS and solves with LAPACK, whose last float64
// bits depend on the CPU's kernel; we use our own 8×8 code).
func TestKalman8MatchesDeepSORT(t *testing.T) {
	script := `import json, numpy as np
wp, wv = 1/20, 1/160
F = np.eye(8); F[:4, 4:] = np.eye(4)
H = np.eye(4, 8)
def initiate(z):
    m = np.r_[z, np.zeros(4)]
    s = [2*wp*z[3], 2*wp*z[3], 1e-2, 2*wp*z[3], 10*wv*z[3], 10*wv*z[3], 1e-5, 10*wv*z[3]]
    return m, np.diag(np.square(s))
def predict(m, P):
    q = np.diag(np.square([wp*m[3], wp*m[3], 1e-2, wp*m[3], wv*m[3], wv*m[3], 1e-5, wv*m[3]]))
    return F @ m, F @ P @ F.T + q
def project(m, P):
    r = np.diag(np.square([wp*m[3], wp*m[3], 1e-1, wp*m[3]]))
    return H @ m, H @ P @ H.T + r
def update(m, P, z):
    pm, S = project(m, P)
    K = np.linalg.solve(S, (P @ H.T).T).T
    return m + K @ (z - pm), P - K @ S @ K.T
def gating(m, P, z):
    pm, S = project(m, P)
    d = z - pm
    return float(d @ np.linalg.solve(S, d))
zs = [[100, 200, 0.45, 120], [104, 201, 0.46, 121], [109, 203, 0.44, 123], [113, 204, 0.45, 122]]
m, P = initiate(np.array(zs[0], float))
for z in zs[1:]:
    m, P = predict(m, P)
    m, P = update(m, P, np.array(z, float))
m, P = predict(m, P)
print(json.dumps({"x": m.tolist(), "p": P.tolist(), "d": [gating(m, P, np.array([118, 206, 0.45, 123.0])), gating(m, P, np.array([150, 206, 0.45, 123.0]))]}))
`
	out := testenv.RunPython(t, []string{"numpy"}, "-c", script)
	var ref struct {
		X []float64
		P [][]float64
		D []float64
	}
	if err := json.Unmarshal(out, &ref); err != nil || len(ref.X) != 8 || len(ref.P) != 8 || len(ref.D) != 2 {
		t.Fatalf("the deep_sort reference printed %q: %v", out, err)
	}
	zs := [][4]float64{{100, 200, 0.45, 120}, {104, 201, 0.46, 121}, {109, 203, 0.44, 123}, {113, 204, 0.45, 122}}
	var k kalman8
	wp, wv := 1.0/20, 1.0/160
	k.init(zs[0], wp, wv)
	for _, z := range zs[1:] {
		k.predict(wp, wv)
		k.project(wp)
		k.update(z)
	}
	k.predict(wp, wv)
	if !k.project(wp) {
		t.Fatal("S not positive definite")
	}
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for i := 0; i < 8; i++ {
		if !close(k.x[i], ref.X[i]) {
			t.Errorf("x[%d] = %v, deep_sort %v", i, k.x[i], ref.X[i])
		}
		for j := 0; j < 8; j++ {
			if !close(k.p[i][j], ref.P[i][j]) {
				t.Errorf("P[%d][%d] = %v, deep_sort %v", i, j, k.p[i][j], ref.P[i][j])
			}
		}
	}
	for i, z := range [][4]float64{{118, 206, 0.45, 123}, {150, 206, 0.45, 123}} {
		if d := k.mahalanobis(z); !close(d, ref.D[i]) {
			t.Errorf("gating distance %d: %v, deep_sort %v", i, d, ref.D[i])
		}
	}
	t.Logf("gating distances %.4f and %.4f (gate 9.4877)", ref.D[0], ref.D[1])
}

// fixedEmbedder returns preset features: detection i gets feats[i].
type fixedEmbedder struct{ feats [][]float32 }

func (e *fixedEmbedder) Dim() int { return 2 }
func (e *fixedEmbedder) Embed(_ *ds3d.Frame, dets []ds3d.Object2D, out []float32) error {
	for i := range dets {
		copy(out[i*2:], e.feats[i])
	}
	return nil
}

// TestDeepSORTAppearance: two people stand side by side, then trade
// places (both stay inside each other's Mahalanobis gate). Motion alone
// keeps the ids with the positions; with appearance the ids follow the
// people. The gate still keeps a detection far from every prediction from
// being matched however similar it looks.
func TestDeepSORTAppearance(t *testing.T) {
	red, blue := []float32{1, 0}, []float32{0.1, 1}
	person := func(x float32) ds3d.Object2D {
		return ds3d.Object2D{Left: x, Top: 100, Width: 40, Height: 100, Score: 1}
	}
	frame, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 8, 8, 0)
	for _, reid := range []int{ReIDExternal, ReIDNone} {
		c := DefaultDeepSORT()
		c.ReID.ReIDType = reid
		c.TargetManagement.ProbationAge = 0
		c.StateEstimator.OutputDetectionBox = true // boxes tell which detection a target got
		tr := mustNew(t, c)
		emb := &fixedEmbedder{}
		if reid == ReIDExternal {
			tr.SetEmbedder(emb)
		}
		var idRed, idBlue int64
		for f := 0; f < 6; f++ {
			emb.feats = [][]float32{red, blue}
			dets := []ds3d.Object2D{person(100), person(110)}
			if f == 5 { // they trade places
				dets = []ds3d.Object2D{person(110), person(100)}
			}
			out, err := tr.UpdateFrame(frame, dets)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 2 {
				t.Fatalf("frame %d: %v", f, out)
			}
			// out follows the targets; find which id got the red detection.
			got := map[float32]int64{}
			for _, o := range out {
				got[float32(math.Round(float64(o.Left)))] = o.TrackID
			}
			redX := float32(100)
			if f == 5 {
				redX = 110
			}
			blueX := 210 - redX
			if f == 0 {
				idRed, idBlue = got[redX], got[blueX]
				continue
			}
			if f < 5 {
				continue
			}
			followsPeople := got[redX] == idRed && got[blueX] == idBlue
			t.Logf("reidType %d: after the swap red has id %d (was %d), blue %d (was %d); boxes %v", reid, got[redX], idRed, got[blueX], idBlue, out)
			if reid == ReIDExternal && !followsPeople {
				t.Errorf("with appearance the ids did not follow the people")
			}
			if reid == ReIDNone && followsPeople {
				t.Errorf("without appearance the ids followed the people: the test does not test appearance")
			}
		}
		if reid == ReIDExternal {
			// Gate: a red detection 300 px from red's prediction starts a
			// new target.
			emb.feats = [][]float32{red}
			out, _ := tr.UpdateFrame(frame, []ds3d.Object2D{person(410)})
			for _, o := range out {
				if o.TrackID == idRed {
					t.Errorf("a detection 300 px from the prediction passed the Mahalanobis gate")
				}
			}
		}
	}
}

// TestDeepSORTCascadeOrder: a target matched last frame wins a detection
// over one that has been missing for a while (the matching cascade), even
// when the older one's appearance is as close.
func TestDeepSORTCascadeOrder(t *testing.T) {
	c := DefaultDeepSORT()
	c.ReID.ReIDType = ReIDExternal
	c.TargetManagement.ProbationAge = 0
	tr := mustNew(t, c)
	emb := &fixedEmbedder{}
	tr.SetEmbedder(emb)
	frame, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 8, 8, 0)
	f := []float32{1, 0}
	a := ds3d.Object2D{Left: 100, Top: 100, Width: 40, Height: 100, Score: 1}
	b := ds3d.Object2D{Left: 104, Top: 100, Width: 40, Height: 100, Score: 1}
	emb.feats = [][]float32{f, f}
	out, _ := tr.UpdateFrame(frame, []ds3d.Object2D{a, b}) // two targets, 1 and 2
	idB := out[1].TrackID
	emb.feats = [][]float32{f}
	tr.UpdateFrame(frame, []ds3d.Object2D{a}) // target 2 missed
	tr.UpdateFrame(frame, []ds3d.Object2D{a}) // missed again
	emb.feats = [][]float32{f}
	out, _ = tr.UpdateFrame(frame, []ds3d.Object2D{b})
	if len(out) != 1 || out[0].TrackID == idB {
		t.Errorf("the detection went to the older target %d: %v", idB, out)
	}
}

func TestDeepSORTNoAllocs(t *testing.T) {
	frames := synthetic(100, 80)
	tr := mustNew(t, DefaultDeepSORT())
	frame, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 1920, 1080, 0)
	for i := range frame.Data {
		frame.Data[i] = byte(i * 7 % 251)
	}
	for _, d := range frames[:40] {
		if _, err := tr.UpdateFrame(frame, d); err != nil {
			t.Fatal(err)
		}
	}
	f := 40
	if a := testing.AllocsPerRun(20, func() {
		tr.UpdateFrame(frame, frames[f])
		f++
	}); a != 0 {
		t.Errorf("%v allocations per frame in steady state", a)
	}
	out, _ := tr.UpdateFrame(frame, frames[f])
	if len(out) < 95 {
		t.Errorf("%d of 100 objects tracked in steady state", len(out))
	}
	// A frame that is not RGB is an error, not a panic.
	depth, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 8, 8, 0)
	if _, err := tr.UpdateFrame(depth, frames[0]); err == nil {
		t.Error("depth frame accepted for colour histograms")
	}
}

func TestDeepSORTConfig(t *testing.T) {
	for _, c := range []struct {
		key string
		f   func(*Config)
	}{
		{"DataAssociator.thresholdMahalanobis", func(c *Config) { c.DataAssociator.ThresholdMahalanobis = 0 }},
		{"DataAssociator.minMatchingScore4ReidSimilarity", func(c *Config) { c.DataAssociator.MinMatchingScore4ReidSimilarity = 2 }},
		{"DataAssociator.matchingScoreWeight4Mahalanobis", func(c *Config) { c.DataAssociator.MatchingScoreWeight4Mahalanobis = -1 }},
		{"DataAssociator.associationMatcherType", func(c *Config) { c.StateEstimator.StateEstimatorType = EstimatorSORT }},
		{"StateEstimator.noiseWeightVar4Loc", func(c *Config) { c.StateEstimator.NoiseWeightVar4Loc = math.NaN() }},
		{"ReID.reidType", func(c *Config) { c.ReID.ReIDType = 7 }},
		{"ReID.reidHistorySize", func(c *Config) { c.ReID.ReIDHistorySize = 0 }},
	} {
		cfg := DefaultDeepSORT()
		c.f(&cfg)
		var ce *ds3d.ConfigError
		if err := ds3d.CheckConfig(&cfg); !errors.As(err, &ce) || ce.Key != c.key {
			t.Errorf("%s: %v", c.key, err)
		}
	}
	if c := DefaultDeepSORT(); ds3d.CheckConfig(&c) != nil {
		t.Error(ds3d.CheckConfig(&c))
	}
}
