package track

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// The DeepSORT-style tracker (Wojke, Bewley, Paulus, "Simple Online and
// Realtime Tracking with a Deep Association Metric", ICIP 2017), chosen by
// DataAssociator.associationMatcherType = 2 (CASCADED) with
// StateEstimator.stateEstimatorType = 2. Per frame:
//
//  1. every target's (x, y, a, h) Kalman filter predicts;
//  2. matching cascade: confirmed targets, those missed for the fewest
//     frames first (level n: targets last matched n frames ago), are
//     matched to the still unmatched detections by the Hungarian method on
//     the cost λ·d²/gate + (1 − λ)·(cosine distance to the target's
//     gallery), where a pair whose squared Mahalanobis distance d² exceeds
//     thresholdMahalanobis (chi-square 95 %, 4 dof: 9.4877) is forbidden
//     and a pair whose appearance similarity is below
//     minMatchingScore4ReidSimilarity is not kept;
//  3. IoU matching (Hungarian on 1 − IoU, IoU ≥ minMatchingScore4Iou) of
//     the tentative targets and the confirmed ones missed only this frame
//     to the detections left;
//  4. matched targets update their filter and add the detection's feature
//     to their gallery (the last reidHistorySize kept); TargetManagement's
//     probation, shadow tracking and termination apply as for SORT.
//
// Without features (reidType 0, or Update instead of UpdateFrame) the
// cascade's cost is the Mahalanobis term alone.

// SetEmbedder sets the appearance feature extractor (ReID.reidType 2, or
// to replace the colour histogram).
func (t *Tracker) SetEmbedder(e Embedder) { t.embedder = e }

// UpdateFrame tracks one frame with appearance: the Embedder computes a
// feature per detection from frame (which may be nil: no appearance this
// frame). Trackers other than the cascaded one ignore the frame.
func (t *Tracker) UpdateFrame(frame *ds3d.Frame, dets []ds3d.Object2D) ([]ds3d.Object2D, error) {
	if t.cfg.DataAssociator.AssociationMatcherType != MatcherCascaded || t.embedder == nil || frame == nil {
		return t.Update(dets), nil
	}
	dim := t.embedder.Dim()
	if n := len(dets) * dim; cap(t.rawFeat) < n {
		t.rawFeat = make([]float32, n)
	}
	raw := t.rawFeat[:len(dets)*dim]
	if err := t.embedder.Embed(frame, dets, raw); err != nil {
		return nil, fmt.Errorf("track: appearance features: %w", err)
	}
	return t.UpdateFeatures(dets, raw), nil
}

// UpdateFeatures tracks one frame with given appearance features:
// len(feats)/len(dets) values per detection, one after another.
func (t *Tracker) UpdateFeatures(dets []ds3d.Object2D, feats []float32) []ds3d.Object2D {
	if t.cfg.DataAssociator.AssociationMatcherType != MatcherCascaded {
		return t.Update(dets)
	}
	return t.track(dets, feats)
}

// recycle keeps a dropped target's gallery for the next new target.
func (t *Tracker) recycle(tg *target) {
	if tg.gal != nil {
		t.freeGal = append(t.freeGal, tg.gal[:0])
		tg.gal = nil
	}
}

// addFeature puts detection di's feature into tg's gallery.
func (t *Tracker) addFeature(tg *target, di int) {
	if t.dim == 0 || !t.featOK[di] {
		return
	}
	budget := t.cfg.ReID.ReIDHistorySize
	if budget < 1 {
		budget = 1
	}
	if tg.gal == nil || len(tg.gal) != budget*t.dim {
		var g []float32
		if n := len(t.freeGal); n > 0 && cap(t.freeGal[n-1]) >= budget*t.dim {
			g = t.freeGal[n-1][:budget*t.dim]
			t.freeGal = t.freeGal[:n-1]
		} else {
			g = make([]float32, budget*t.dim)
		}
		tg.gal, tg.galN, tg.galNext = g, 0, 0
	}
	copy(tg.gal[tg.galNext*t.dim:(tg.galNext+1)*t.dim], t.feat[di*t.dim:(di+1)*t.dim])
	tg.galNext = (tg.galNext + 1) % budget
	tg.galN = min(tg.galN+1, budget)
}

// cosineDist is the least cosine distance between detection di's feature
// and tg's gallery; 1 when either has none.
func (t *Tracker) cosineDist(tg *target, di int) float64 {
	if t.dim == 0 || !t.featOK[di] || tg.galN == 0 {
		return 1
	}
	f := t.feat[di*t.dim : (di+1)*t.dim]
	best := float32(-1)
	for g := 0; g < tg.galN; g++ {
		best = max(best, dot(f, tg.gal[g*t.dim:(g+1)*t.dim]))
	}
	return 1 - float64(best)
}

// dot is Σ a[k]·b[k] with four independent sums: one running sum would
// wait on each add's latency, and this is the tracker's hottest loop (a
// gallery of 100 features per gated pair).
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	k := 0
	for ; k+4 <= len(a); k += 4 {
		s0 += a[k] * b[k]
		s1 += a[k+1] * b[k+1]
		s2 += a[k+2] * b[k+2]
		s3 += a[k+3] * b[k+3]
	}
	for ; k < len(a); k++ {
		s0 += a[k] * b[k]
	}
	return (s0 + s1) + (s2 + s3)
}

// gatedInf is the cost of a forbidden pair in the dense problems: large and
// finite (nwojke/deep_sort's INFTY_COST), so the solver still completes the
// assignment and the pair is dropped afterwards.
const gatedInf = 1e5

// normaliseFeatures sets t.dim and stores the usable detections' features
// (feats holds len(feats)/len(dets) values per detection) scaled to unit
// length in t.feat; t.featOK says which were non-zero and finite.
func (t *Tracker) normaliseFeatures(dets []ds3d.Object2D, feats []float32) {
	t.dim = 0
	if len(dets) > 0 && len(feats) >= len(dets) && len(feats)%len(dets) == 0 {
		t.dim = len(feats) / len(dets)
	}
	t.feat, t.featOK = t.feat[:0], t.featOK[:0]
	if t.dim == 0 {
		return
	}
	for _, i := range t.dets {
		f := feats[int(i)*t.dim : (int(i)+1)*t.dim]
		var n float64
		for _, x := range f {
			n += float64(x) * float64(x)
		}
		ok := n > 0 && !math.IsInf(n, 0) && !math.IsNaN(n)
		inv := float32(0)
		if ok {
			inv = float32(1 / math.Sqrt(n))
		}
		for _, x := range f {
			t.feat = append(t.feat, x*inv)
		}
		t.featOK = append(t.featOK, ok)
	}
}

// predictDeep is DeepSORT's prediction: the 8-state Kalman filter, then
// its projection to measurement space; false when the state no longer
// makes a box.
func (t *Tracker) predictDeep(tg *target) bool {
	se := &t.cfg.StateEstimator
	tg.kf8.predict(se.NoiseWeightVar4Loc, se.NoiseWeightVar4Vel)
	b, ok := tg.kf8.box()
	if !ok || !tg.kf8.project(se.NoiseWeightVar4Loc) {
		return false
	}
	tg.pred = b
	return true
}

// matchCascade is DeepSORT's matching: a cascade over the confirmed
// targets by frames since matched (gated Mahalanobis distance blended with
// the appearance cosine distance), then IoU matching of the tentative
// targets and of the confirmed ones missed only now.
func (t *Tracker) matchCascade(dets []ds3d.Object2D) {
	da, tm := &t.cfg.DataAssociator, &t.cfg.TargetManagement
	lambda := da.MatchingScoreWeight4Mahalanobis
	maxCost := 1 - da.MinMatchingScore4ReidSimilarity
	if t.dim == 0 {
		lambda, maxCost = 1, 1
	}
	for level := 0; level <= tm.MaxShadowTrackingAge; level++ {
		t.rows = t.rows[:0]
		for i := range t.targets {
			if tg := &t.targets[i]; tg.confirmed && tg.shadow == level {
				t.rows = append(t.rows, int32(i))
			}
		}
		if len(t.rows) == 0 {
			continue
		}
		if !t.freeCols() {
			break
		}
		t.solveLevel(func(tg *target, di int) float64 {
			d2 := tg.kf8.mahalanobis(measure8(t.detBox[di]))
			if !(d2 <= da.ThresholdMahalanobis) {
				return gatedInf
			}
			c := lambda * d2 / da.ThresholdMahalanobis
			if lambda < 1 {
				c += (1 - lambda) * t.cosineDist(tg, di)
			}
			return c
		}, maxCost)
	}
	t.rows = t.rows[:0]
	for i := range t.targets {
		if tg := &t.targets[i]; tg.det < 0 && (!tg.confirmed || tg.shadow == 0) {
			t.rows = append(t.rows, int32(i))
		}
	}
	if len(t.rows) > 0 && t.freeCols() {
		t.solveLevel(func(tg *target, di int) float64 {
			if da.CheckClassMatch && dets[t.dets[di]].ClassID != tg.class {
				return gatedInf
			}
			return 1 - iou(&tg.pred, &t.detBox[di])
		}, 1-da.MinMatchingScore4Iou)
	}
}

// updateMatchedDeep is DeepSORT's update of a target matched to d: the
// Kalman update, the detection's feature into the gallery, confirmation
// after probationAge further hits; false when the state no longer makes a
// box (the target ends).
func (t *Tracker) updateMatchedDeep(tg *target, d *ds3d.Object2D) bool {
	db := t.detBox[tg.det]
	tg.shadow = 0
	tg.hits++
	tg.class, tg.label, tg.score = d.ClassID, d.Label, d.Score
	if !tg.kf8.update(measure8(db)) {
		return false
	}
	tg.out = db
	if !t.cfg.StateEstimator.OutputDetectionBox {
		b, ok := tg.kf8.box()
		if !ok {
			return false
		}
		tg.out = b
	}
	t.addFeature(tg, int(tg.det))
	if !tg.confirmed && tg.hits > t.cfg.TargetManagement.ProbationAge {
		tg.confirmed = true
	}
	return true
}

// freeCols collects the unmatched detections into t.cols; false when none.
func (t *Tracker) freeCols() bool {
	t.cols = t.cols[:0]
	for di, ti := range t.detT {
		if ti < 0 {
			t.cols = append(t.cols, int32(di))
		}
	}
	return len(t.cols) > 0
}

// denseCascade makes solveLevel solve the whole matrix at once, as
// nwojke/deep_sort does: the reference the tests hold the per-component
// solve to.
var denseCascade = false

// solveLevel matches targets t.rows to detections t.cols by the Hungarian
// method on cost, as nwojke/deep_sort's min_cost_matching: costs above
// maxCost are raised to just above it, and pairs above maxCost are dropped.
// The gated matrix is solved per connected component of allowed pairs
// (sparseSolver), which gives the dense solve's matching.
func (t *Tracker) solveLevel(cost func(tg *target, di int) float64, maxCost float64) {
	rows, cols := len(t.rows), len(t.cols)
	t.cost = fillF(t.cost, rows*cols)
	for r, ti := range t.rows {
		tg := &t.targets[ti]
		for c, di := range t.cols {
			v := cost(tg, int(di))
			if !(v <= maxCost) {
				v = maxCost + 1e-5
			}
			t.cost[r*cols+c] = v
		}
	}
	t.r2c = fillInt(t.r2c, rows)
	if denseCascade {
		t.solver.Solve(t.cost, rows, cols, t.r2c) // sizes are consistent: no error
	} else {
		t.sparse.solve(t.cost, rows, cols, maxCost, t.r2c)
	}
	for r, c := range t.r2c {
		if c < 0 || t.cost[r*cols+c] > maxCost {
			continue
		}
		ti, di := t.rows[r], t.cols[c]
		t.targets[ti].det, t.detT[di] = di, ti
	}
}
