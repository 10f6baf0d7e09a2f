// Package eval scores detections and tracks against ground truth: KITTI
// object AP exactly as the KITTI devkit computes it (this file,
// overlap.go), nuScenes detection AP, DAIR-V2X recall within a distance
// (centre.go, nuscenes.go), 2D CLEAR-MOT, MT/PT/ML and IDF1 as
// py-motmetrics computes them (mot.go) and the same for 3D tracks (mot3d.go).
// It reads ground truth through the dataset readers (datasets/...) and so
// sits above them; the flag-parsing `ds3d eval KIND` commands that drive it
// are in apps/cli.
//
// KITTI reproduces the KITTI object devkit's evaluator
// (evaluate_object_3d_offline.cpp, kept as a test reference in
// ../shared/peers/kitti_eval and run against this code by
// TestMatchesDevkit): 2D, orientation (AOS), bird's-eye-view ("bev") and 3D
// AP per class and difficulty, R11 and R40, from the same label files. Per
// class C (case-insensitive: Car, Pedestrian, Cyclist by default), metric
// and difficulty D:
//
//   - Difficulties (MIN_HEIGHT, MAX_OCCLUSION, MAX_TRUNCATION): Easy: 2D
//     box height ≥ 40 px, occlusion 0, truncation ≤ 0.15; Moderate: ≥ 25 px,
//     occlusion ≤ 1, truncation ≤ 0.3; Hard: ≥ 25 px, occlusion ≤ 2,
//     truncation ≤ 0.5.
//   - Ground truth of class C that meets D is counted (a TP or a FN). Ground
//     truth of the neighbouring class (Van for Car, Person_sitting for
//     Pedestrian) and of class C outside D is ignored: a detection may be
//     assigned to it, which is then neither TP nor FP, and a miss is no FN.
//     Other ground truth plays no part, except DontCare (below).
//   - A detection of any class whose 2D box is lower than D's minimum
//     height (the height truncated to whole pixels, as the devkit's int32
//     does) is an ignored detection; other detections of class C are
//     valid; the rest play no part.
//   - Overlaps, in float64 from the label values: 2D is the image-box IoU;
//     bev the IoU of the rotated (x, z) footprints (ry turns (l, w) by the
//     matrix [cos ry, sin ry; −sin ry, cos ry], as the devkit's toPolygon);
//     3d that footprint intersection times the overlap of the [y−h, y]
//     height ranges over the union of the volumes. A match needs an
//     overlap strictly above the class's minimum (0.7 Car, 0.5 Pedestrian
//     and Cyclist for all three metrics; Options.MinOverlap changes it).
//   - Recall sampling (computeStatistics and getThresholds): first every
//     counted GT takes the unassigned matching detection of highest score;
//     those TP scores, sorted, give up to 41 score thresholds at recall
//     steps of 1/40 of the counted GT. At each threshold, every GT in file
//     order takes, among the detections scoring at least the threshold, the
//     valid match of greatest overlap (or, failing one, the first ignored
//     detection that matches); unassigned valid detections are FP, except
//     those whose overlap with a DontCare region, divided by the
//     detection's own area or volume, exceeds the minimum overlap. The
//     DontCare test uses the metric's own overlap: for bev and 3d it is the
//     DontCare row's 3D box, which KITTI fills with −1000, so it only
//     excuses detections in 2D.
//   - precision[i] = TP/(TP+FP) at threshold i (0 beyond the last
//     threshold), replaced by its maximum over i..40. AP R11 is the mean of
//     positions 0, 4, …, 40 (what the devkit prints); AP R40 the mean of
//     positions 1..40 (the rows 2–41 of its plot file, KITTI's metric since
//     2019). AOS does the same with the summed orientation similarity
//     (1+cos Δα)/2 of the TPs; it is computed only when no detection has
//     alpha −10, as the devkit does.
//   - A class is evaluated for a metric only when some detection of it has
//     x1 ≥ 0 (2D, AOS), x ≠ −1000 (bev) or y ≠ −1000 (3d); otherwise the
//     devkit prints nothing and Entry.Evaluated is false (AP NaN). A class
//     with detections but no counted GT has AP 0, as the devkit prints.
//   - Only frames with a prediction file are scored (the devkit reads the
//     frames listed in its result folder); a frame where nothing was
//     detected needs an empty file.
//
// With few counted GT the sampling is coarse: one pedestrian, found, gives
// R11 1/11 and R40 0. Options.Curve = CurveExact keeps the same matching
// and ignore rules but evaluates every detection score, giving the exact
// precision/recall curve (recall TP/(TP+FN)); its AP is the maximum
// precision at recall ≥ r averaged over r ∈ {0, 0.1, …, 1} (R11) and
// {1/40, …, 1} (R40). It is not what published KITTI numbers use.
//
// Boxes are the label files' values in the rectified camera frame (x
// right, y down, z forward; (x, y, z) the bottom centre), read as float64
// like the devkit's fscanf.
package eval

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
)

// Rect is a 2D box in image pixels, as a label file's left, top, right,
// bottom columns.
type Rect struct{ X1, Y1, X2, Y2 float64 }

// CamBox is a label file's 3D box: height, width, length in metres, the
// bottom centre (X, Y, Z) in the rectified camera frame (x right, y down, z
// forward) and the rotation RotY about the camera y axis.
type CamBox struct{ H, W, L, X, Y, Z, RotY float64 }

// Object is one ground-truth or predicted object: one label file row.
type Object struct {
	Type      string  // KITTI type: Car, Van, Pedestrian, …, DontCare
	Truncated float64 // ground truth only
	Occluded  int     // ground truth only
	Alpha     float64 // observation angle; −10 in a detection turns AOS off
	BBox      Rect
	Box       CamBox
	Score     float64 // predictions: the confidence (16th column)
}

// FrameBoxes is the objects of one frame; frames of GT and predictions pair
// up by ID.
type FrameBoxes struct {
	ID      string
	Objects []Object
}

// Difficulty is one of KITTI's three difficulty levels.
type Difficulty struct {
	Name          string
	MinHeight     float64 // 2D box height in px
	MaxOcclusion  int
	MaxTruncation float64
}

// Difficulties are KITTI's Easy, Moderate and Hard.
var Difficulties = []Difficulty{
	{"easy", 40, 0, 0.15},
	{"moderate", 25, 1, 0.3},
	{"hard", 25, 2, 0.5},
}

// Metrics are the measures scored, in the devkit's order: 2D boxes,
// orientation similarity of the 2D matches, bird's-eye view, 3D.
var Metrics = []string{"2d", "aos", "bev", "3d"}

// DefaultClasses are the classes KITTI ranks.
var DefaultClasses = []string{"Car", "Pedestrian", "Cyclist"}

// DefaultMinOverlap is the devkit's MIN_OVERLAP, the same for 2D, bev and 3d.
var DefaultMinOverlap = map[string]float64{"Car": 0.7, "Pedestrian": 0.5, "Cyclist": 0.5}

// Neighbours are the ground-truth types ignored (not counted, not penalised)
// for a class.
var Neighbours = map[string]string{"Car": "Van", "Pedestrian": "Person_sitting"}

// Curves: how recall is sampled.
const (
	CurveDevkit = "devkit" // the devkit's 41 score thresholds (the default)
	CurveExact  = "exact"  // every detection score: the exact precision/recall curve
)

// Options configure KITTI. The zero value scores DefaultClasses with
// DefaultMinOverlap and the devkit's sampling.
type Options struct {
	Classes    []string           // classes to score; nil: DefaultClasses
	MinOverlap map[string]float64 // per class; missing classes take DefaultMinOverlap, else 0.5
	Curve      string             // "" or CurveDevkit, or CurveExact
}

// Entry is the AP of one class, metric and difficulty.
type Entry struct {
	Class      string  `json:"class"`
	Metric     string  `json:"metric"` // "2d", "aos", "bev" or "3d"
	Difficulty string  `json:"difficulty"`
	Evaluated  bool    `json:"evaluated"` // false where the devkit prints nothing (see the package doc)
	AP11       float64 `json:"-"`         // NaN when not Evaluated
	AP40       float64 `json:"-"`
	NumGT      int     `json:"num_gt"` // counted GT objects
	TP         int     `json:"tp"`     // with every detection (the lowest threshold)
	FP         int     `json:"fp"`
	// Precision is the devkit's 41 filtered precision (or AOS) values, the
	// columns of its plot file; nil for CurveExact.
	Precision []float64 `json:"-"`
}

// Result holds one Entry per class × metric × difficulty, in that order.
type Result struct {
	Curve   string
	Entries []Entry
}

// Get returns the entry for class, metric and difficulty.
func (r Result) Get(class, metric, difficulty string) (Entry, bool) {
	for _, e := range r.Entries {
		if e.Class == class && e.Metric == metric && e.Difficulty == difficulty {
			return e, true
		}
	}
	return Entry{}, false
}

func (o *Options) overlap(class string) float64 {
	if v, ok := o.MinOverlap[class]; ok {
		return v
	}
	for k, v := range DefaultMinOverlap {
		if strings.EqualFold(k, class) {
			return v
		}
	}
	return 0.5
}

// nSample is the devkit's N_SAMPLE_PTS.
const nSample = 41

// frame is one scored frame with its overlaps, per metric (2D, bev, 3d):
// ov[m][i][j] is the IoU of GT i and detection j (criterion −1),
// dc[m][k][j] the overlap of DontCare k and detection j over the
// detection's size (criterion 0).
type frame struct {
	gt, det []Object
	dcIdx   []int
	ov, dc  [3][][]float64
}

func newFrame(gt, det []Object) *frame {
	f := &frame{gt: gt, det: det}
	for i := range gt {
		if strings.EqualFold(gt[i].Type, "DontCare") {
			f.dcIdx = append(f.dcIdx, i)
		}
	}
	for m := 0; m < 3; m++ {
		f.ov[m] = make([][]float64, len(gt))
		for i := range gt {
			row := make([]float64, len(det))
			for j := range det {
				row[j] = overlap(m, &det[j], &gt[i], -1)
			}
			f.ov[m][i] = row
		}
		f.dc[m] = make([][]float64, len(f.dcIdx))
		for k, i := range f.dcIdx {
			row := make([]float64, len(det))
			for j := range det {
				row[j] = overlap(m, &det[j], &gt[i], 0)
			}
			f.dc[m][k] = row
		}
	}
	return f
}

// overlap is the devkit's imageBoxOverlap, groundBoxOverlap or
// box3DOverlap for metric index 0, 1 or 2.
func overlap(m int, d, g *Object, criterion int) float64 {
	switch m {
	case 0:
		return ImageOverlap(d.BBox, g.BBox, criterion)
	case 1:
		return GroundOverlap(d.Box, g.Box, criterion)
	}
	return Box3DOverlap(d.Box, g.Box, criterion)
}

// ignores is cleanData's output for one frame: per GT 0 counted, 1 ignored,
// −1 no part; per detection 0 valid, 1 ignored, −1 no part.
type ignores struct {
	gt, det []int
}

func cleanData(f *frame, class string, d Difficulty) (ignores, int) {
	ig := ignores{gt: make([]int, len(f.gt)), det: make([]int, len(f.det))}
	n := 0
	for i := range f.gt {
		g := &f.gt[i]
		valid := -1
		switch {
		case strings.EqualFold(g.Type, class):
			valid = 1
		case Neighbours[canonical(class)] != "" && strings.EqualFold(g.Type, Neighbours[canonical(class)]):
			valid = 0
		}
		height := g.BBox.Y2 - g.BBox.Y1
		ignore := g.Occluded > d.MaxOcclusion || g.Truncated > d.MaxTruncation || height < d.MinHeight
		switch {
		case valid == 1 && !ignore:
			ig.gt[i] = 0
			n++
		case valid == 0 || (ignore && valid == 1):
			ig.gt[i] = 1
		default:
			ig.gt[i] = -1
		}
	}
	for j := range f.det {
		p := &f.det[j]
		height := math.Trunc(math.Abs(p.BBox.Y1 - p.BBox.Y2)) // int32_t in the devkit
		switch {
		case height < d.MinHeight:
			ig.det[j] = 1
		case strings.EqualFold(p.Type, class):
			ig.det[j] = 0
		default:
			ig.det[j] = -1
		}
	}
	return ig, n
}

// canonical maps a class name to its DefaultClasses spelling, for the
// Neighbours lookup.
func canonical(class string) string {
	for k := range Neighbours {
		if strings.EqualFold(k, class) {
			return k
		}
	}
	return class
}

// stats is the devkit's tPrData.
type stats struct {
	v          []float64 // TP scores (threshold pass)
	similarity float64
	tp, fp, fn int
}

const noDetection = -10000000

// computeStatistics is the devkit's function of that name: m is the metric
// index, thr the minimum overlap; with computeFP it counts at score
// threshold thresh (detections below it play no part).
func computeStatistics(f *frame, ig ignores, m int, thr float64, computeFP, computeAOS bool, thresh float64) stats {
	var st stats
	assigned := make([]bool, len(f.det))
	below := make([]bool, len(f.det))
	if computeFP {
		for j := range f.det {
			below[j] = f.det[j].Score < thresh
		}
	}
	var delta []float64
	ov := f.ov[m]
	for i := range f.gt {
		if ig.gt[i] == -1 {
			continue
		}
		detIdx := -1
		valid := float64(noDetection)
		maxOverlap := 0.0
		assignedIgnored := false
		for j := range f.det {
			if ig.det[j] == -1 || assigned[j] || below[j] {
				continue
			}
			o := ov[i][j]
			switch {
			case !computeFP && o > thr && f.det[j].Score > valid:
				detIdx, valid = j, f.det[j].Score
			case computeFP && o > thr && (o > maxOverlap || assignedIgnored) && ig.det[j] == 0:
				maxOverlap, detIdx, valid, assignedIgnored = o, j, 1, false
			case computeFP && o > thr && valid == noDetection && ig.det[j] == 1:
				detIdx, valid, assignedIgnored = j, 1, true
			}
		}
		switch {
		case valid == noDetection && ig.gt[i] == 0:
			st.fn++
		case valid != noDetection && (ig.gt[i] == 1 || ig.det[detIdx] == 1):
			assigned[detIdx] = true
		case valid != noDetection:
			st.tp++
			st.v = append(st.v, f.det[detIdx].Score)
			if computeAOS {
				delta = append(delta, f.gt[i].Alpha-f.det[detIdx].Alpha)
			}
			assigned[detIdx] = true
		}
	}
	if !computeFP {
		return st
	}
	for j := range f.det {
		if !(assigned[j] || ig.det[j] == -1 || ig.det[j] == 1 || below[j]) {
			st.fp++
		}
	}
	nstuff := 0
	for k := range f.dcIdx {
		for j := range f.det {
			if assigned[j] || ig.det[j] == -1 || ig.det[j] == 1 || below[j] {
				continue
			}
			if f.dc[m][k][j] > thr {
				assigned[j] = true
				nstuff++
			}
		}
	}
	st.fp -= nstuff
	if computeAOS {
		if st.tp > 0 || st.fp > 0 {
			s := 0.0
			for _, d := range delta {
				s += (1 + math.Cos(d)) / 2
			}
			st.similarity = s
		} else {
			st.similarity = -1
		}
	}
	return st
}

// getThresholds is the devkit's function of that name: the scores at which
// recall passes each multiple of 1/40 of nGT.
func getThresholds(v []float64, nGT float64) []float64 {
	sort.Sort(sort.Reverse(sort.Float64Slice(v)))
	var t []float64
	current := 0.0
	for i := range v {
		l := float64(i+1) / nGT
		r := l
		if i < len(v)-1 {
			r = float64(i+2) / nGT
		}
		if (r-current) < (current-l) && i < len(v)-1 {
			continue
		}
		t = append(t, v[i])
		current += 1.0 / (nSample - 1.0)
	}
	return t
}

// maxFrom is *max_element(p.begin()+i, p.end()) with C++'s operator<
// semantics (a NaN compares false).
func maxFrom(p []float64, i int) float64 {
	best := p[i]
	for _, x := range p[i+1:] {
		if best < x {
			best = x
		}
	}
	return best
}

// KITTI scores pred against gt (see the package doc). Frames pair by ID;
// only frames present in pred are scored, and a prediction frame without
// GT is an error.
func KITTI(gt, pred []FrameBoxes, opt Options) (Result, error) {
	classes := opt.Classes
	if classes == nil {
		classes = DefaultClasses
	}
	curve := opt.Curve
	if curve == "" {
		curve = CurveDevkit
	}
	if curve != CurveDevkit && curve != CurveExact {
		return Result{}, fmt.Errorf("eval: curve %q, want %q or %q", opt.Curve, CurveDevkit, CurveExact)
	}
	for _, c := range classes {
		if v := opt.overlap(c); !(v >= 0 && v <= 1) {
			return Result{}, fmt.Errorf("eval: minimum overlap for %s is %g, want [0, 1]", c, v)
		}
	}
	byID := make(map[string]int, len(gt))
	for i, f := range gt {
		if _, dup := byID[f.ID]; dup {
			return Result{}, fmt.Errorf("eval: ground-truth frame %q appears twice", f.ID)
		}
		byID[f.ID] = i
	}
	seen := make(map[string]bool, len(pred))
	frames := make([]*frame, 0, len(pred))
	computeAOS := true
	for i := range pred {
		j, ok := byID[pred[i].ID]
		if !ok {
			return Result{}, fmt.Errorf("eval: prediction frame %q has no ground truth", pred[i].ID)
		}
		if seen[pred[i].ID] {
			return Result{}, fmt.Errorf("eval: prediction frame %q appears twice", pred[i].ID)
		}
		seen[pred[i].ID] = true
		for _, p := range pred[i].Objects {
			if p.Alpha == -10 {
				computeAOS = false
			}
		}
		frames = append(frames, newFrame(gt[j].Objects, pred[i].Objects))
	}
	res := Result{Curve: curve}
	for _, c := range classes {
		thr := opt.overlap(c)
		var evaluated [3]bool // 2D, bev, 3d: the devkit's eval_image/ground/3d
		for _, f := range frames {
			for _, p := range f.det {
				if strings.EqualFold(p.Type, c) {
					evaluated[0] = evaluated[0] || p.BBox.X1 >= 0
					evaluated[1] = evaluated[1] || p.Box.X != -1000
					evaluated[2] = evaluated[2] || p.Box.Y != -1000
				}
			}
		}
		for _, metric := range Metrics {
			m, aos := 0, false
			switch metric {
			case "aos":
				aos = true
			case "bev":
				m = 1
			case "3d":
				m = 2
			}
			for _, d := range Difficulties {
				e := Entry{Class: c, Metric: metric, Difficulty: d.Name, AP11: math.NaN(), AP40: math.NaN()}
				e.Evaluated = evaluated[m] && (!aos || computeAOS)
				ig := make([]ignores, len(frames))
				for i, f := range frames {
					var n int
					ig[i], n = cleanData(f, c, d)
					e.NumGT += n
				}
				for i, f := range frames {
					st := computeStatistics(f, ig[i], m, thr, true, false, math.Inf(-1))
					e.TP += st.tp
					e.FP += st.fp
				}
				if e.Evaluated {
					if curve == CurveDevkit {
						e.Precision = devkitCurve(frames, ig, m, thr, aos, e.NumGT)
						e.AP11, e.AP40 = 0, 0
						for i := 0; i < nSample; i += 4 {
							e.AP11 += e.Precision[i]
						}
						for i := 1; i < nSample; i++ {
							e.AP40 += e.Precision[i]
						}
						e.AP11 /= 11
						e.AP40 /= nSample - 1
					} else {
						e.AP11, e.AP40 = exactCurve(frames, ig, m, thr, aos)
					}
				}
				res.Entries = append(res.Entries, e)
			}
		}
	}
	return res, nil
}

// devkitCurve is the devkit's eval_class: the 41 filtered precision values
// (AOS values with aos).
func devkitCurve(frames []*frame, ig []ignores, m int, thr float64, aos bool, nGT int) []float64 {
	var v []float64
	for i, f := range frames {
		v = append(v, computeStatistics(f, ig[i], m, thr, false, false, 0).v...)
	}
	thresholds := getThresholds(v, float64(nGT))
	if len(thresholds) > nSample { // cannot happen: each threshold advances recall by 1/40
		thresholds = thresholds[:nSample]
	}
	tp := make([]int, len(thresholds))
	fp := make([]int, len(thresholds))
	sim := make([]float64, len(thresholds))
	for i, f := range frames {
		for t, th := range thresholds {
			st := computeStatistics(f, ig[i], m, thr, true, aos, th)
			tp[t] += st.tp
			fp[t] += st.fp
			if st.similarity != -1 {
				sim[t] += st.similarity
			}
		}
	}
	p := make([]float64, nSample)
	for t := range thresholds {
		if aos {
			p[t] = sim[t] / float64(tp[t]+fp[t])
		} else {
			p[t] = float64(tp[t]) / float64(tp[t]+fp[t])
		}
	}
	for t := range thresholds {
		p[t] = maxFrom(p, t)
	}
	return p
}

// exactCurve evaluates computeStatistics at every detection score and
// returns R11 and R40 AP of the exact interpolated curve. A frame's
// statistics change only at its own detections' scores, so each frame is
// evaluated at those and the differences are summed in score order.
func exactCurve(frames []*frame, ig []ignores, m int, thr float64, aos bool) (ap11, ap40 float64) {
	type step struct {
		score         float64
		dtp, dfp, dfn int
		dsim          float64
	}
	var steps []step
	base := step{score: math.Inf(1)}
	for i, f := range frames {
		var scores []float64
		for j, p := range f.det {
			if ig[i].det[j] != -1 {
				scores = append(scores, p.Score)
			}
		}
		sort.Sort(sort.Reverse(sort.Float64Slice(scores)))
		prev := computeStatistics(f, ig[i], m, thr, true, aos, math.Inf(1))
		base.dfn += prev.fn
		for k, s := range scores {
			if k > 0 && s == scores[k-1] {
				continue
			}
			st := computeStatistics(f, ig[i], m, thr, true, aos, s)
			steps = append(steps, step{s, st.tp - prev.tp, st.fp - prev.fp, st.fn - prev.fn, simOf(st) - simOf(prev)})
			prev = st
		}
	}
	sort.SliceStable(steps, func(a, b int) bool { return steps[a].score > steps[b].score })
	var rec, prec []float64
	tp, fp, fn, sim := 0, 0, base.dfn, 0.0
	for k, s := range steps {
		tp, fp, fn, sim = tp+s.dtp, fp+s.dfp, fn+s.dfn, sim+s.dsim
		if k+1 < len(steps) && steps[k+1].score == s.score {
			continue
		}
		if tp+fp == 0 || tp+fn == 0 {
			continue
		}
		rec = append(rec, float64(tp)/float64(tp+fn))
		if aos {
			prec = append(prec, sim/float64(tp+fp))
		} else {
			prec = append(prec, float64(tp)/float64(tp+fp))
		}
	}
	at := func(r float64) float64 {
		best := 0.0
		for i := range rec {
			if rec[i] >= r-1e-12 && prec[i] > best {
				best = prec[i]
			}
		}
		return best
	}
	for k := 0; k <= 10; k++ {
		ap11 += at(float64(k) / 10)
	}
	for k := 1; k <= 40; k++ {
		ap40 += at(float64(k) / 40)
	}
	return ap11 / 11, ap40 / 40
}

func simOf(s stats) float64 {
	if s.similarity == -1 {
		return 0
	}
	return s.similarity
}

// ReadLabels reads a KITTI label file (15 columns, or 16 with a score; a
// missing score is 1) with every number as float64, as the devkit reads
// it. Errors name the file, line and column.
func ReadLabels(path string) ([]Object, error) {
	ls, err := kitti.ReadLabels(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	out := make([]Object, len(ls))
	for i, l := range ls {
		out[i] = Object{
			Type: l.Type, Truncated: l.Truncated, Occluded: l.Occluded, Alpha: l.Alpha,
			BBox:  Rect{l.Rect[0], l.Rect[1], l.Rect[2], l.Rect[3]},
			Box:   CamBox{H: l.H, W: l.W, L: l.L, X: l.X, Y: l.Y, Z: l.Z, RotY: l.RotY},
			Score: l.Score,
		}
	}
	return out, nil
}

// labelFiles lists dir's %06d.txt files as IDs, sorted.
func labelFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var ids []string
	for _, e := range ents {
		n := e.Name()
		id, ok := strings.CutSuffix(n, ".txt")
		if !ok || e.IsDir() || len(id) != 6 || strings.Trim(id, "0123456789") != "" {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("eval: %s: no %%06d.txt label files", dir)
	}
	sort.Strings(ids)
	return ids, nil
}

// ReadDir reads every %06d.txt KITTI label file in dir (ground truth, or
// predictions with a score column).
func ReadDir(dir string) ([]FrameBoxes, error) {
	ids, err := labelFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]FrameBoxes, 0, len(ids))
	for _, id := range ids {
		obj, err := ReadLabels(filepath.Join(dir, id+".txt"))
		if err != nil {
			return nil, err
		}
		out = append(out, FrameBoxes{ID: id, Objects: obj})
	}
	return out, nil
}
