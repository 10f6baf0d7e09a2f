// CLEAR-MOT and IDF1 (this file; formerly package core2d/moteval) score
// multi-object tracking results against ground truth
// with the CLEAR-MOT metrics (Bernardin and Stiefelhagen 2008: MOTA, MOTP,
// misses, false positives, ID switches, fragmentations), the track-quality
// counts MT/PT/ML (Li et al. 2009) and the identity metrics IDF1/IDP/IDR
// (Ristani et al. 2016), computed exactly as py-motmetrics computes them, so
// that its published numbers reproduce.
//
// Per frame, ground-truth objects and predicted hypotheses are paired by a
// distance (for boxes: 1 − IoU, pairs farther than 0.5 not allowed). An
// object still paired with the hypothesis it was last matched to keeps it
// (the CLEAR-MOT rule); the remaining objects and hypotheses are paired by a
// min-cost assignment (Hungarian, package assign). A match whose object was
// last matched to another hypothesis is an ID switch. MOTP is py-motmetrics'
// mean distance of the matches (1 − IoU), not MOTChallenge's percentage
// overlap. IDF1 comes from a global assignment of object ids to hypothesis
// ids maximising the number of frames in which the two are within the
// distance threshold.

package eval

import (
	"fmt"
	"math"
	"sort"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// MOTBox is an identified box in pixels: (Left, Top, Width, Height). float64,
// as MOTChallenge files and py-motmetrics use, so that pairs at exactly the
// threshold fall on the same side.
type MOTBox struct {
	ID                       int64
	Left, Top, Width, Height float64
}

// MOTBoxFromRow converts a MOTChallenge row.
func MOTBoxFromRow(r mot.Row) MOTBox {
	return MOTBox{ID: r.ID, Left: r.Left, Top: r.Top, Width: r.Width, Height: r.Height}
}

// MOTBoxFromObject converts a tracked object (ID = TrackID).
func MOTBoxFromObject(o ds3d.Object2D) MOTBox {
	return MOTBox{ID: o.TrackID, Left: float64(o.Left), Top: float64(o.Top), Width: float64(o.Width), Height: float64(o.Height)}
}

// IoU is the intersection over union of two boxes (0 when they do not
// overlap or both are empty), with py-motmetrics' convention that a box
// spans [left, left+width) — no +1 pixel.
func IoU(a, b MOTBox) float64 {
	iw := math.Min(a.Left+a.Width, b.Left+b.Width) - math.Max(a.Left, b.Left)
	ih := math.Min(a.Top+a.Height, b.Top+b.Height) - math.Max(a.Top, b.Top)
	if !(iw > 0 && ih > 0) {
		return 0
	}
	inter := iw * ih
	return inter / (a.Width*a.Height + b.Width*b.Height - inter)
}

// objState is what the accumulator remembers about one ground-truth id.
type objState struct {
	frames    int   // frames it appeared in
	tracked   int   // of which matched (MATCH or SWITCH)
	lastFrame int64 // last frame it appeared in
	prevHit   bool  // its previous event was a match
	pending   bool  // a MISS after a match, not yet followed by a match
	frags     int
	lastHyp   int64 // the hypothesis it was last matched to
	hasHyp    bool
}

// MOTAccumulator collects per-frame events, as py-motmetrics' MOTAccumulator
// does, and computes MOTMetrics at the end. Frames must be given in order. The
// zero value is not ready: use NewMOTAccumulator.
type MOTAccumulator struct {
	objs    map[int64]*objState
	objIdx  map[int64]int // first-appearance order of objects
	hypIdx  map[int64]int // first-appearance order of hypotheses
	hypFrm  []int         // frames each hypothesis appeared in
	hypLast []int64
	overlap map[[2]int]int // (object idx, hyp idx) → frames within the threshold
	frames  int64

	numObjects, numPredictions          int
	matches, switches, misses, falsePos int
	sumDist                             float64
	solver                              assign.Solver
	oMask, hMask                        []bool
	work                                []float64
	r2c                                 []int
}

// NewMOTAccumulator returns an empty accumulator.
func NewMOTAccumulator() *MOTAccumulator {
	return &MOTAccumulator{
		objs: map[int64]*objState{}, objIdx: map[int64]int{}, hypIdx: map[int64]int{},
		overlap: map[[2]int]int{},
	}
}

// Update adds one frame: ground-truth ids oids, hypothesis ids hids and the
// distance matrix dist (row-major, len(oids)×len(hids), NaN or Inf where a
// pair may not be matched). It is py-motmetrics' MOTAccumulator.update with
// an unbounded max_switch_time.
func (a *MOTAccumulator) Update(oids, hids []int64, dist []float64) error {
	no, nh := len(oids), len(hids)
	if len(dist) != no*nh {
		return fmt.Errorf("eval: distance matrix has %d entries, want %d×%d", len(dist), no, nh)
	}
	a.frames++
	frame := a.frames
	// Appearances and raw overlaps (the IDF1 counts).
	oi := a.oMaskBuf(no)
	for _, o := range oids {
		st, ok := a.objs[o]
		if !ok {
			st = &objState{lastFrame: -1}
			a.objs[o] = st
			a.objIdx[o] = len(a.objIdx)
		}
		if st.lastFrame != frame {
			st.frames++
			st.lastFrame = frame
		}
	}
	for _, h := range hids {
		k, ok := a.hypIdx[h]
		if !ok {
			k = len(a.hypIdx)
			a.hypIdx[h] = k
			a.hypFrm = append(a.hypFrm, 0)
			a.hypLast = append(a.hypLast, -1)
		}
		if a.hypLast[k] != frame {
			a.hypFrm[k]++
			a.hypLast[k] = frame
		}
	}
	for i, o := range oids {
		for j, h := range hids {
			if finite(dist[i*nh+j]) {
				a.overlap[[2]int{a.objIdx[o], a.hypIdx[h]}]++
			}
		}
	}
	a.numObjects += no
	hm := a.hMaskBuf(nh)
	if no > 0 && nh > 0 {
		// 1. Keep previous correspondences that are still allowed.
		for i, o := range oids {
			st := a.objs[o]
			if !st.hasHyp {
				continue
			}
			for j, h := range hids {
				if hm[j] || h != st.lastHyp {
					continue
				}
				if d := dist[i*nh+j]; finite(d) {
					oi[i], hm[j] = true, true
					a.match(st, h, d, false)
				}
				break
			}
		}
		// 2. Assign the rest at least total distance.
		a.work = grow(a.work, no*nh)
		for i := 0; i < no; i++ {
			for j := 0; j < nh; j++ {
				d := dist[i*nh+j]
				if oi[i] || hm[j] {
					d = math.NaN()
				}
				a.work[i*nh+j] = d
			}
		}
		a.r2c = growInt(a.r2c, no)
		if _, err := a.solver.Solve(a.work, no, nh, a.r2c); err != nil {
			return err
		}
		for i, j := range a.r2c {
			if j < 0 {
				continue
			}
			st := a.objs[oids[i]]
			a.match(st, hids[j], a.work[i*nh+j], st.hasHyp && st.lastHyp != hids[j])
			oi[i], hm[j] = true, true
		}
	}
	// 3. Misses; 4. false positives.
	for i, o := range oids {
		if oi[i] {
			continue
		}
		a.misses++
		st := a.objs[o]
		if st.prevHit {
			st.pending = true
		}
		st.prevHit = false
	}
	for j := range hids {
		if !hm[j] {
			a.falsePos++
		}
	}
	a.numPredictions += nh
	return nil
}

func (a *MOTAccumulator) match(st *objState, h int64, d float64, switched bool) {
	if switched {
		a.switches++
	} else {
		a.matches++
	}
	a.sumDist += d
	st.tracked++
	if st.pending {
		st.frags++
		st.pending = false
	}
	st.prevHit = true
	st.lastHyp, st.hasHyp = h, true
}

// UpdateBoxes adds one frame of boxes, paired by distance 1 − IoU; pairs
// with a distance above maxDist (py-motmetrics' max_iou; 0.5 in
// MOTChallenge) are not allowed.
func (a *MOTAccumulator) UpdateBoxes(gt, pred []MOTBox, maxDist float64) error {
	no, nh := len(gt), len(pred)
	d := make([]float64, no*nh)
	oids := make([]int64, no)
	hids := make([]int64, nh)
	for i, g := range gt {
		oids[i] = g.ID
		for j, p := range pred {
			x := 1 - IoU(g, p)
			if x > maxDist {
				x = math.NaN()
			}
			d[i*nh+j] = x
		}
	}
	for j, p := range pred {
		hids[j] = p.ID
	}
	return a.Update(oids, hids, d)
}

// MOTMetrics are the results, named as py-motmetrics names them.
type MOTMetrics struct {
	NumFrames         int     `json:"num_frames"`
	NumObjects        int     `json:"num_objects"`        // ground-truth boxes over all frames
	NumPredictions    int     `json:"num_predictions"`    // predicted boxes over all frames
	NumUniqueObjects  int     `json:"num_unique_objects"` // ground-truth ids
	NumMatches        int     `json:"num_matches"`        // matches that are not switches
	NumSwitches       int     `json:"num_switches"`
	NumFalsePositives int     `json:"num_false_positives"`
	NumMisses         int     `json:"num_misses"`
	NumDetections     int     `json:"num_detections"` // matches + switches
	NumFragmentations int     `json:"num_fragmentations"`
	MostlyTracked     int     `json:"mostly_tracked"`    // tracked ≥ 80 % of their frames
	PartiallyTracked  int     `json:"partially_tracked"` // 20 % to 80 %
	MostlyLost        int     `json:"mostly_lost"`       // < 20 %
	MOTA              float64 `json:"mota"`              // 1 − (misses + switches + FP) / objects
	MOTP              float64 `json:"motp"`              // mean distance (1 − IoU) of matches
	Precision         float64 `json:"precision"`
	Recall            float64 `json:"recall"`
	IDTP              int     `json:"idtp"`
	IDFP              int     `json:"idfp"`
	IDFN              int     `json:"idfn"`
	IDP               float64 `json:"idp"`
	IDR               float64 `json:"idr"`
	IDF1              float64 `json:"idf1"`
}

// Metrics computes the metrics of everything added so far.
func (a *MOTAccumulator) Metrics() MOTMetrics {
	m := MOTMetrics{
		NumFrames: int(a.frames), NumObjects: a.numObjects, NumPredictions: a.numPredictions,
		NumUniqueObjects: len(a.objs), NumMatches: a.matches, NumSwitches: a.switches,
		NumFalsePositives: a.falsePos, NumMisses: a.misses, NumDetections: a.matches + a.switches,
	}
	for _, st := range a.objs {
		m.NumFragmentations += st.frags
		r := float64(st.tracked) / float64(st.frames)
		switch {
		case r >= 0.8:
			m.MostlyTracked++
		case r >= 0.2:
			m.PartiallyTracked++
		default:
			m.MostlyLost++
		}
	}
	m.MOTA = 1 - float64(m.NumMisses+m.NumSwitches+m.NumFalsePositives)/float64(m.NumObjects)
	m.MOTP = a.sumDist / float64(m.NumDetections)
	m.Precision = float64(m.NumDetections) / float64(m.NumDetections+m.NumFalsePositives)
	m.Recall = float64(m.NumDetections) / float64(m.NumObjects)

	// IDF1: min-cost assignment of object ids to hypothesis ids with cost
	// FP + FN, which is the assignment maximising the overlapping frames of
	// matched pairs (py-motmetrics id_global_assignment).
	no, nh := len(a.objIdx), len(a.hypIdx)
	objFrames := make([]int, no)
	for o, st := range a.objs {
		objFrames[a.objIdx[o]] = st.frames
	}
	sumOC, sumHC := 0, 0
	for _, c := range objFrames {
		sumOC += c
	}
	for _, c := range a.hypFrm {
		sumHC += c
	}
	idtp := 0
	if no > 0 && nh > 0 {
		cost := make([]float64, no*nh)
		for k, n := range a.overlap {
			cost[k[0]*nh+k[1]] = -float64(n)
		}
		r2c := make([]int, no)
		var s assign.Solver
		s.Solve(cost, no, nh, r2c) // finite costs and valid sizes: no error
		for i, j := range r2c {
			if j >= 0 {
				idtp += a.overlap[[2]int{i, j}]
			}
		}
	}
	m.IDFN = sumOC - idtp
	m.IDFP = sumHC - idtp
	m.IDTP = m.NumObjects - m.IDFN
	m.IDP = float64(m.IDTP) / float64(m.IDTP+m.IDFP)
	m.IDR = float64(m.IDTP) / float64(m.IDTP+m.IDFN)
	m.IDF1 = 2 * float64(m.IDTP) / float64(m.NumObjects+m.NumPredictions)
	return m
}

// MOTOptions configure EvaluateMOT.
type MOTOptions struct {
	// MaxDist is the largest 1 − IoU at which a prediction may match a
	// ground-truth box (0.5: IoU ≥ 0.5, as MOTChallenge).
	MaxDist float64
	// GTMinConf drops ground-truth rows whose confidence column is below it
	// (py-motmetrics' eval_motchallenge loads ground truth with
	// min_confidence=1, so MOT16/17 rows marked 0 are ignored).
	GTMinConf float64
}

// DefaultMOTOptions are MOTChallenge's: IoU ≥ 0.5, ground-truth rows with
// confidence < 1 ignored.
func DefaultMOTOptions() MOTOptions { return MOTOptions{MaxDist: 0.5, GTMinConf: 1} }

// EvaluateMOT scores predicted rows against ground-truth rows over every frame
// that has either (py-motmetrics' compare_to_groundtruth with 'iou').
func EvaluateMOT(gt, pred []mot.Row, opt MOTOptions) (MOTMetrics, error) {
	keep := gt[:0:0]
	for _, r := range gt {
		if r.Conf >= opt.GTMinConf {
			keep = append(keep, r)
		}
	}
	gFrames, gBy := mot.ByFrame(keep)
	pFrames, pBy := mot.ByFrame(pred)
	frames := append(append([]int(nil), gFrames...), pFrames...)
	sort.Ints(frames)
	a := NewMOTAccumulator()
	var g, p []MOTBox
	for k, f := range frames {
		if k > 0 && frames[k-1] == f {
			continue
		}
		g, p = g[:0], p[:0]
		for _, r := range gBy[f] {
			g = append(g, MOTBoxFromRow(r))
		}
		for _, r := range pBy[f] {
			p = append(p, MOTBoxFromRow(r))
		}
		if err := a.UpdateBoxes(g, p, opt.MaxDist); err != nil {
			return MOTMetrics{}, err
		}
	}
	if a.numObjects == 0 {
		return MOTMetrics{}, fmt.Errorf("eval: ground truth has no rows")
	}
	return a.Metrics(), nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

func (a *MOTAccumulator) oMaskBuf(n int) []bool {
	a.oMask = growBool(a.oMask, n)
	return a.oMask
}

func (a *MOTAccumulator) hMaskBuf(n int) []bool {
	a.hMask = growBool(a.hMask, n)
	return a.hMask
}

func grow(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n)
	}
	return b[:n]
}

func growInt(b []int, n int) []int {
	if cap(b) < n {
		return make([]int, n)
	}
	return b[:n]
}

func growBool(b []bool, n int) []bool {
	if cap(b) < n {
		b = make([]bool, n)
	}
	b = b[:n]
	for i := range b {
		b[i] = false
	}
	return b
}

// MOTNames lists the metrics `ds3d eval mot` prints, in order, with py-motmetrics' names.
var MOTNames = []string{
	"idf1", "idp", "idr", "recall", "precision", "num_unique_objects",
	"mostly_tracked", "partially_tracked", "mostly_lost", "num_false_positives",
	"num_misses", "num_switches", "num_fragmentations", "mota", "motp",
	"num_matches", "num_detections", "num_objects", "num_predictions", "num_frames",
	"idtp", "idfp", "idfn",
}

// Value returns the metric called name (one of MOTNames).
func (m MOTMetrics) Value(name string) (float64, bool) {
	switch name {
	case "idf1":
		return m.IDF1, true
	case "idp":
		return m.IDP, true
	case "idr":
		return m.IDR, true
	case "recall":
		return m.Recall, true
	case "precision":
		return m.Precision, true
	case "num_unique_objects":
		return float64(m.NumUniqueObjects), true
	case "mostly_tracked":
		return float64(m.MostlyTracked), true
	case "partially_tracked":
		return float64(m.PartiallyTracked), true
	case "mostly_lost":
		return float64(m.MostlyLost), true
	case "num_false_positives":
		return float64(m.NumFalsePositives), true
	case "num_misses":
		return float64(m.NumMisses), true
	case "num_switches":
		return float64(m.NumSwitches), true
	case "num_fragmentations":
		return float64(m.NumFragmentations), true
	case "mota":
		return m.MOTA, true
	case "motp":
		return m.MOTP, true
	case "num_matches":
		return float64(m.NumMatches), true
	case "num_detections":
		return float64(m.NumDetections), true
	case "num_objects":
		return float64(m.NumObjects), true
	case "num_predictions":
		return float64(m.NumPredictions), true
	case "num_frames":
		return float64(m.NumFrames), true
	case "idtp":
		return float64(m.IDTP), true
	case "idfp":
		return float64(m.IDFP), true
	case "idfn":
		return float64(m.IDFN), true
	}
	return 0, false
}
