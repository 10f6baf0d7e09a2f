// Package track holds the multi-object trackers of the 2D core: per stream,
// each frame's detections are matched to the targets being tracked and come
// back with a track id that stays with the object from frame to frame, as
// DeepStream's nvtracker does.
//
// Three trackers share one Config, which mirrors
// nvtracker's low-level config sections (BaseConfig, TargetManagement,
// DataAssociator, StateEstimator) and its target life cycle (probation,
// shadow tracking, early termination):
//
//   - DefaultIOU: the IOU tracker (Bochinski et al., AVSS 2017) in online
//     form: no motion model, greedy matching of each target's last box at
//     IoU ≥ 0.5. The baseline.
//   - DefaultSORT: SORT (Bewley et al., ICIP 2016): a constant-velocity
//     Kalman filter on box centre, area and aspect ratio with the published
//     noise, Hungarian matching on IoU ≥ 0.3, min_hits 3, max_age 1.
//   - DefaultDeepSORT: DeepSORT (Wojke et al., ICIP 2017): a Kalman filter on
//     (x, y, a, h) with height-relative noise, chi-square Mahalanobis
//     gating, a matching cascade by track age on appearance (cosine
//     distance to a per-target gallery of features from an Embedder — the
//     bundled HistogramEmbedder needs no model), then IoU matching
//     (deepsort.go).
//
// A Tracker serves one stream and is not safe for concurrent use; Multi
// keeps one per source id. After warm-up a Tracker allocates nothing per
// frame. Matching splits the detection–target graph into its connected
// components of allowed pairs and solves each with the Hungarian solver of
// package assign, so a frame of well separated objects costs O(n) pairs
// after the candidate scan rather than O(n³).
package track

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Interface is what every tracker here does for one stream: Update takes a
// frame's detections and returns the tracked objects of that frame with
// TrackID set (≥ 1, unique within the stream); Reset forgets every target
// (ids keep counting). The returned slice is reused by the next Update.
type Interface interface {
	Update(dets []ds3d.Object2D) []ds3d.Object2D
	Reset()
}

// box is (x1, y1, x2, y2) in pixels, float64 for the filter's sake.
type box struct{ x1, y1, x2, y2 float64 }

func boxOf(o *ds3d.Object2D) box {
	l, t := float64(o.Left), float64(o.Top)
	return box{l, t, l + float64(o.Width), t + float64(o.Height)}
}

func iou(a, b *box) float64 {
	iw := math.Min(a.x2, b.x2) - math.Max(a.x1, b.x1)
	if !(iw > 0) {
		return 0
	}
	ih := math.Min(a.y2, b.y2) - math.Max(a.y1, b.y1)
	if !(ih > 0) {
		return 0
	}
	in := iw * ih
	return in / ((a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - in)
}

// target is one tracked object.
type target struct {
	id        int64
	kf        kalman
	pred      box // predicted box (this frame, before the update)
	out       box // box to output: filtered state, or the matched detection
	age       int // frames since creation
	shadow    int // frames in a row without a match
	confirmed bool
	det       int32 // index of the matched detection this frame, −1 when none
	class     int32
	label     string
	score     float32

	// DeepSORT-style tracker only.
	kf8     kalman8
	hits    int       // frames matched, creation included
	gal     []float32 // gallery: up to reidHistorySize normalised features, a ring
	galN    int
	galNext int
}

// pair is an allowed detection–target pair.
type pair struct {
	t, d  int32
	score float64
}

// Tracker tracks the objects of one stream. Make it with New.
type Tracker struct {
	cfg    Config
	noise  noise
	nextID int64
	frames int // frames seen since New or Reset

	targets []target
	// per-frame scratch, kept between frames
	dets    []int32 // indices of usable detections
	detBox  []box
	detT    []int32 // target matched to each usable detection, −1 if none
	pairs   []pair
	parent  []int32 // union-find over targets then detections
	compOf  []int32
	members []int32
	cost    []float64
	r2c     []int
	solver  assign.Solver
	out     []ds3d.Object2D

	// DeepSORT-style tracker only.
	embedder Embedder
	feat     []float32 // this frame's features, one per usable detection, normalised
	featOK   []bool    // whether a detection's feature is non-zero
	rawFeat  []float32 // the embedder's output for all detections
	dim      int
	freeGal  [][]float32
	rows     []int32
	cols     []int32
	sparse   sparseSolver
}

// New makes a tracker from a validated copy of cfg.
func New(cfg Config) (*Tracker, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, fmt.Errorf("track: %w", err)
	}
	return newTracker(cfg), nil
}

func newTracker(cfg Config) *Tracker {
	t := &Tracker{cfg: cfg, noise: newNoise(&cfg.StateEstimator)}
	if cfg.ReID.ReIDType == ReIDHistogram {
		t.embedder = HistogramEmbedder{}
	}
	return t
}

// crowded says whether a new target at b would overlap one of the first n
// targets by more than minIouDiff4NewTarget (nvtracker's rule against
// duplicate targets on one object).
func (t *Tracker) crowded(b *box, n int) bool {
	limit := t.cfg.TargetManagement.MinIouDiff4NewTarget
	if limit >= 1 {
		return false
	}
	for k := 0; k < n; k++ {
		if iou(&t.targets[k].out, b) > limit {
			return true
		}
	}
	return false
}

// Reset forgets every target; ids keep counting, so they stay unique.
func (t *Tracker) Reset() {
	for i := range t.targets {
		t.recycle(&t.targets[i])
	}
	t.targets, t.frames = t.targets[:0], 0
}

// Len is the number of targets held (tentative, confirmed and shadow).
func (t *Tracker) Len() int { return len(t.targets) }

// Update tracks one frame. Detections with a non-finite or empty box or a
// confidence below BaseConfig.minDetectorConfidence are ignored. It returns
// the confirmed targets matched in this frame (and, with outputShadowTracks,
// the unmatched ones at their predicted box) as objects carrying the class,
// label and score of their detection, the frame's source id and their
// TrackID. The slice is reused by the next call.
func (t *Tracker) Update(dets []ds3d.Object2D) []ds3d.Object2D {
	return t.track(dets, nil)
}

// track is one frame of either tracker: the steps SORT/IoU and DeepSORT
// share are here once, and where they differ (prediction, matching, the
// update of a matched target, a new target's state) a method of each
// variant is called: predict/matchPairs/updateMatched for SORT and IoU
// (track.go), predictDeep/matchCascade/updateMatchedDeep for DeepSORT
// (deepsort.go). feats are DeepSORT's appearance features (nil: none).
func (t *Tracker) track(dets []ds3d.Object2D, feats []float32) []ds3d.Object2D {
	deep := t.cfg.DataAssociator.AssociationMatcherType == MatcherCascaded
	tm := &t.cfg.TargetManagement
	t.frames++
	// 1. Usable detections (DeepSORT: and their normalised features).
	t.usableDetections(dets)
	if deep {
		t.normaliseFeatures(dets, feats)
	}
	nd := len(t.dets)
	// 2. Predict; drop targets whose state no longer makes a box.
	t.predictAll(deep)
	// 3. Match targets to detections (t.detT, tg.det).
	t.detT = fill(t.detT, nd, -1)
	if deep {
		t.matchCascade(dets)
	} else {
		t.matchPairs(dets)
	}
	// 4. Update matched targets, age the others, terminate.
	w := 0
	for i := range t.targets {
		tg := &t.targets[i]
		tg.age++
		keep := false
		switch {
		case tg.det < 0:
			tg.shadow++
			tg.out = tg.pred
			keep = !((!tg.confirmed && tg.shadow >= tm.EarlyTerminationAge) || tg.shadow > tm.MaxShadowTrackingAge)
		case deep:
			keep = t.updateMatchedDeep(tg, &dets[t.dets[tg.det]])
		default:
			keep = t.updateMatched(tg, &dets[t.dets[tg.det]])
		}
		if !keep {
			t.recycle(tg)
			continue
		}
		t.moveTarget(w, i)
		w++
	}
	t.targets = t.targets[:w]
	// 5. New targets from unmatched detections.
	t.newTargets(dets, deep)
	// 6. Output. SORT and IoU may also output tentative targets while the
	// stream starts (outputTentativeAtStart).
	startup := !deep && tm.OutputTentativeAtStart && t.frames <= tm.ProbationAge+1
	return t.output(dets, startup)
}

// predictAll predicts every target, dropping those whose state no longer
// makes a box, and marks them unmatched.
func (t *Tracker) predictAll(deep bool) {
	w := 0
	for i := range t.targets {
		tg := &t.targets[i]
		tg.det = -1
		ok := false
		if deep {
			ok = t.predictDeep(tg)
		} else {
			ok = t.predict(tg)
		}
		if !ok {
			t.recycle(tg)
			continue
		}
		t.moveTarget(w, i)
		w++
	}
	t.targets = t.targets[:w]
}

// newTargets starts a target for every unmatched usable detection, up to
// maxTargetsPerStream, unless it would overlap an existing target
// (crowded).
func (t *Tracker) newTargets(dets []ds3d.Object2D, deep bool) {
	tm := &t.cfg.TargetManagement
	nd := len(t.dets)
	nExisting := len(t.targets)
	for di := 0; di < nd; di++ {
		if t.detT[di] >= 0 || len(t.targets) >= tm.MaxTargetsPerStream {
			continue
		}
		db := t.detBox[di]
		if t.crowded(&db, nExisting) {
			continue
		}
		d := &dets[t.dets[di]]
		t.nextID++
		t.targets = append(t.targets, target{id: t.nextID, out: db, pred: db, det: int32(di), class: d.ClassID, label: d.Label,
			score: d.Score, confirmed: tm.ProbationAge == 0})
		tg := &t.targets[len(t.targets)-1]
		switch {
		case deep:
			tg.hits = 1
			tg.kf8.init(measure8(db), t.cfg.StateEstimator.NoiseWeightVar4Loc, t.cfg.StateEstimator.NoiseWeightVar4Vel)
			t.addFeature(tg, di)
		case t.cfg.StateEstimator.StateEstimatorType == EstimatorSORT:
			tg.kf.init(measure(db), &t.noise)
		}
	}
}

// usableDetections collects the detections with a finite, non-empty box
// and a confidence of at least minDetectorConfidence: their indices into
// t.dets and their boxes into t.detBox.
func (t *Tracker) usableDetections(dets []ds3d.Object2D) {
	t.dets, t.detBox = t.dets[:0], t.detBox[:0]
	for i := range dets {
		d := &dets[i]
		b := boxOf(d)
		if !(float64(d.Score) >= t.cfg.BaseConfig.MinDetectorConfidence) || !(b.x2 > b.x1 && b.y2 > b.y1) ||
			math.IsInf(b.x2, 0) || math.IsInf(b.y2, 0) || math.IsNaN(b.x1) || math.IsNaN(b.y1) {
			continue
		}
		t.dets = append(t.dets, int32(i))
		t.detBox = append(t.detBox, b)
	}
}

// moveTarget moves target i to position w ≤ i while the targets are
// compacted (the gallery moves with it, so position i forgets it).
func (t *Tracker) moveTarget(w, i int) {
	if w != i {
		t.targets[w] = t.targets[i]
		t.targets[i].gal = nil
	}
}

// output lists the targets to report this frame: confirmed ones (with
// startup, also tentative ones matched now), shadow ones only with
// outputShadowTracks.
func (t *Tracker) output(dets []ds3d.Object2D, startup bool) []ds3d.Object2D {
	tm := &t.cfg.TargetManagement
	t.out = t.out[:0]
	var src int32
	if len(dets) > 0 {
		src = dets[0].SourceID
	}
	for i := range t.targets {
		tg := &t.targets[i]
		if !(tg.confirmed || (startup && tg.shadow == 0)) || (tg.shadow > 0 && !tm.OutputShadowTracks) {
			continue
		}
		t.out = append(t.out, ds3d.Object2D{
			Left: float32(tg.out.x1), Top: float32(tg.out.y1),
			Width: float32(tg.out.x2 - tg.out.x1), Height: float32(tg.out.y2 - tg.out.y1),
			ClassID: tg.class, Label: tg.label, Score: tg.score, TrackID: tg.id, SourceID: src,
		})
	}
	return t.out
}

// predict is SORT's and IoU's prediction: the Kalman filter's (SORT) or
// the last output box (IoU); false when the state no longer makes a box.
func (t *Tracker) predict(tg *target) bool {
	if t.cfg.StateEstimator.StateEstimatorType != EstimatorSORT {
		tg.pred = tg.out
		return true
	}
	tg.kf.predict(&t.noise)
	b, ok := tg.kf.box()
	if !ok {
		return false
	}
	tg.pred = b
	return true
}

// matchPairs is SORT's and IoU's matching: the allowed pairs (overlapping,
// same class when checkClassMatch, each score above its minimum) scored by
// weighted IoU and size similarity, matched greedily or globally.
func (t *Tracker) matchPairs(dets []ds3d.Object2D) {
	da := &t.cfg.DataAssociator
	nd := len(t.dets)
	t.pairs = t.pairs[:0]
	for ti := range t.targets {
		tg := &t.targets[ti]
		for di := 0; di < nd; di++ {
			db := &t.detBox[di]
			if db.x1 >= tg.pred.x2 || db.x2 <= tg.pred.x1 || db.y1 >= tg.pred.y2 || db.y2 <= tg.pred.y1 {
				continue // no overlap: the common case, decided without a division
			}
			if da.CheckClassMatch && dets[t.dets[di]].ClassID != tg.class {
				continue
			}
			v := iou(&tg.pred, db)
			if !(v > 0) || v < da.MinMatchingScore4Iou {
				continue
			}
			score := da.MatchingScoreWeight4Iou * v
			if da.MinMatchingScore4SizeSimilarity > 0 || da.MatchingScoreWeight4SizeSimilarity > 0 {
				ss := sizeSimilarity(&tg.pred, db)
				if ss < da.MinMatchingScore4SizeSimilarity {
					continue
				}
				score += da.MatchingScoreWeight4SizeSimilarity * ss
			}
			if score < da.MinMatchingScore4Overall || !(score > 0) {
				continue
			}
			t.pairs = append(t.pairs, pair{int32(ti), int32(di), score})
		}
	}
	if da.AssociationMatcherType == MatcherGreedy {
		t.matchGreedy()
	} else {
		t.matchGlobal(len(t.targets), nd)
	}
}

// updateMatched is SORT's and IoU's update of a target matched to d:
// false when its Kalman state no longer makes a box (the target ends).
func (t *Tracker) updateMatched(tg *target, d *ds3d.Object2D) bool {
	se := &t.cfg.StateEstimator
	db := t.detBox[tg.det]
	tg.shadow = 0
	tg.class, tg.label, tg.score = d.ClassID, d.Label, d.Score
	tg.out = db
	if se.StateEstimatorType == EstimatorSORT {
		if !tg.kf.update(measure(db), &t.noise) {
			return false
		}
		if !se.OutputDetectionBox {
			b, ok := tg.kf.box()
			if !ok {
				return false
			}
			tg.out = b
		}
	}
	if !tg.confirmed && tg.age >= t.cfg.TargetManagement.ProbationAge {
		tg.confirmed = true
	}
	return true
}

// sizeSimilarity is min(w)/max(w) · min(h)/max(h) of two boxes.
func sizeSimilarity(a, b *box) float64 {
	wa, ha, wb, hb := a.x2-a.x1, a.y2-a.y1, b.x2-b.x1, b.y2-b.y1
	return math.Min(wa, wb) / math.Max(wa, wb) * math.Min(ha, hb) / math.Max(ha, hb)
}

// matchGreedy takes pairs in descending score order (ties: lower target,
// then lower detection index first).
func (t *Tracker) matchGreedy() {
	slices.SortFunc(t.pairs, func(a, b pair) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.d, b.d)
	})
	for _, p := range t.pairs {
		if t.targets[p.t].det < 0 && t.detT[p.d] < 0 {
			t.targets[p.t].det, t.detT[p.d] = p.d, p.t
		}
	}
}

// matchGlobal finds the set of pairs with the greatest total score: each
// connected component of the allowed-pair graph is an independent
// assignment problem, solved directly when it is one pair and with the
// Hungarian solver otherwise.
func (t *Tracker) matchGlobal(nt, nd int) {
	n := nt + nd
	t.parent = t.parent[:0]
	for i := 0; i < n; i++ {
		t.parent = append(t.parent, int32(i))
	}
	for _, p := range t.pairs {
		a, b := t.find(p.t), t.find(int32(nt)+p.d)
		if a != b {
			t.parent[a] = b
		}
	}
	// Count the pairs per component root; single-pair components match
	// directly.
	t.compOf = fill(t.compOf, n, 0)
	for _, p := range t.pairs {
		t.compOf[t.find(p.t)]++
	}
	multi := false
	for _, p := range t.pairs {
		if t.compOf[t.find(p.t)] == 1 {
			t.targets[p.t].det, t.detT[p.d] = p.d, p.t
		} else {
			multi = true
		}
	}
	if !multi {
		return
	}
	// Larger components: gather each one's targets and detections, solve a
	// dense problem on −score (0 where a pair is not allowed, dropped after).
	for _, p0 := range t.pairs {
		root := t.find(p0.t)
		if t.compOf[root] <= 1 {
			continue
		}
		t.compOf[root] = 0 // solve each component once
		t.members = t.members[:0]
		for i := 0; i < n; i++ {
			if t.find(int32(i)) == root {
				t.members = append(t.members, int32(i))
			}
		}
		var rows, cols int
		for _, m := range t.members {
			if int(m) < nt {
				rows++
			} else {
				cols++
			}
		}
		t.cost = fillF(t.cost, rows*cols)
		// members are ascending: targets first, then detections.
		tIdx, dIdx := t.members[:rows], t.members[rows:]
		for _, p := range t.pairs {
			if t.find(p.t) != root {
				continue
			}
			r, _ := slices.BinarySearch(tIdx, p.t)
			c, _ := slices.BinarySearch(dIdx, int32(nt)+p.d)
			t.cost[r*cols+c] = -p.score
		}
		t.r2c = fillInt(t.r2c, rows)
		t.solver.Solve(t.cost, rows, cols, t.r2c) // sizes are consistent: no error
		for r, c := range t.r2c {
			if c < 0 || t.cost[r*cols+c] == 0 {
				continue
			}
			ti, di := tIdx[r], dIdx[c]-int32(nt)
			t.targets[ti].det, t.detT[di] = di, ti
		}
	}
}

func (t *Tracker) find(i int32) int32 {
	for t.parent[i] != i {
		t.parent[i] = t.parent[t.parent[i]]
		i = t.parent[i]
	}
	return i
}

func fill(b []int32, n int, v int32) []int32 {
	if cap(b) < n {
		b = make([]int32, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = v
	}
	return b
}

func fillF(b []float64, n int) []float64 {
	if cap(b) < n {
		b = make([]float64, n)
	}
	b = b[:n]
	clear(b)
	return b
}

func fillInt(b []int, n int) []int {
	if cap(b) < n {
		b = make([]int, n)
	}
	return b[:n]
}
