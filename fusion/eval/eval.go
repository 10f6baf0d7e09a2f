// Package eval scores 3D object detections against KITTI ground truth with
// the KITTI object benchmark protocol: average precision in bird's-eye view
// ("bev") and 3D ("3d") per class and difficulty, as the devkit's
// cpp/evaluate_object.cpp (named in the benchmark's devkit_object/readme.txt)
// computes it, with the deviations listed below.
//
// Protocol, per class C (Car, Pedestrian, Cyclist by default) and
// difficulty D:
//
//   - Difficulties (the devkit's MIN_HEIGHT, MAX_OCCLUSION, MAX_TRUNCATION):
//     Easy: 2D box height > 40 px, occlusion 0, truncation ≤ 0.15;
//     Moderate: > 25 px, occlusion ≤ 1, truncation ≤ 0.3;
//     Hard: > 25 px, occlusion ≤ 2, truncation ≤ 0.5.
//   - Ground truth of class C that meets D counts (it is a TP or a FN).
//     Ground truth of the neighbouring class (Van for Car, Person_sitting for
//     Pedestrian) and ground truth of class C that does not meet D (height ≤
//     the minimum, as the devkit writes it) are "ignored": a detection
//     matched to it is neither TP nor FP and a missed one is no FN. Ground
//     truth of any other class plays no part.
//   - Detections of class C whose 2D box is lower than D's minimum height
//     are ignored (a GT they match is taken out of the count, as the devkit
//     does); detections of other classes play no part.
//   - A detection matches when its overlap with a GT box is strictly above
//     the class's minimum overlap (Car 0.7, Pedestrian 0.5, Cyclist 0.5 for
//     both bev and 3d; Options.MinOverlap changes it). bev overlap is the
//     rotated-footprint IoU (filters/postprocess.BEVIoU), 3d overlap the
//     upright 3D IoU (filters/postprocess.IoU3D).
//   - A detection that matches nothing and whose 2D box lies in a DontCare
//     region (2D intersection over the detection's area above the class's
//     minimum overlap, the devkit's boxoverlap(det, dc, 0)) is ignored;
//     otherwise it is a false positive.
//   - Average precision: the detections that count (TP or FP), sorted by
//     score over all frames, give a precision/recall curve (recall = TP /
//     number of counted GT); precision is interpolated as the maximum
//     precision at recall ≥ r and averaged over r ∈ {0, 0.1, …, 1} (R11, the
//     benchmark's original metric) and r ∈ {1/40, 2/40, …, 1} (R40, the
//     devkit's metric since 2019, Simonelli et al. 2019).
//
// Deviations from evaluate_object.cpp, all deliberate:
//
//   - Matching is greedy by score (as PASCAL VOC and COCO do): within a
//     frame, detections in descending score take the unmatched counted GT
//     of highest overlap, else an unmatched ignored GT. The devkit instead
//     re-matches each GT to its highest-overlap detection at every score
//     threshold; the two agree unless two detections compete for one GT.
//   - Recall points are the exact interpolated curve above. The devkit
//     samples 41 score thresholds from TP scores (getThresholds), which
//     matches this when there are many GT objects but gives far lower AP
//     when a split has fewer than ~40 counted GT (with 3 GT and all three
//     detected the devkit reports R40 AP 2/40); here such a split scores 1.
//   - No class/difficulty with zero counted GT gets a number: its AP is NaN
//     (the devkit skips it).
//
// Frames: ReadDir reads a folder of KITTI label files (%06d.txt; a 16th
// column is the score, ground truth has none and scores 1) and compares
// boxes in the rectified camera frame, as the devkit does: Object.Box holds
// camera (x, z, −y) as (CX, CY, CZ) — x right, z forward, up — with the
// bottom-centre moved up by H/2, DX = L, DY = W, DZ = H, Yaw = −rotation_y.
// That is a proper rotation of the camera frame in which KITTI boxes are
// exactly upright, so BEVIoU is the devkit's x–z overlap and IoU3D its 3D
// overlap. ReadDirLidar converts the same labels with their calibration to
// velodyne-frame boxes (datasets/kitti.LabelToBox) instead; overlaps then
// differ from the camera-frame ones only by the ≈0.6° camera tilt that
// the IoU functions' upright assumption drops.
package eval

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// Object is one ground-truth or predicted object.
type Object struct {
	Type      string        // KITTI type: Car, Van, Pedestrian, …, DontCare
	Truncated float64       // ground truth only
	Occluded  int           // ground truth only
	BBox      ds3d.Object2D // 2D box in image pixels (Height is what difficulties use)
	Box       ds3d.Box3D    // 3D box; any frame shared by GT and predictions
	Score     float64       // predictions: the confidence
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

// Metrics are the overlap measures scored.
var Metrics = []string{"bev", "3d"}

// DefaultClasses are the classes KITTI ranks.
var DefaultClasses = []string{"Car", "Pedestrian", "Cyclist"}

// DefaultMinOverlap is the devkit's MIN_OVERLAP for bev and 3d.
var DefaultMinOverlap = map[string]float64{"Car": 0.7, "Pedestrian": 0.5, "Cyclist": 0.5}

// Neighbours are the ground-truth types ignored (not counted, not penalised)
// for a class.
var Neighbours = map[string]string{"Car": "Van", "Pedestrian": "Person_sitting"}

// Options configure KITTI. The zero value scores DefaultClasses with
// DefaultMinOverlap.
type Options struct {
	Classes    []string           // classes to score; nil: DefaultClasses
	MinOverlap map[string]float64 // per class; missing classes take DefaultMinOverlap, else 0.5
}

// Entry is the AP of one class, metric and difficulty.
type Entry struct {
	Class      string  `json:"class"`
	Metric     string  `json:"metric"` // "bev" or "3d"
	Difficulty string  `json:"difficulty"`
	AP11       float64 `json:"-"` // NaN when NumGT is 0
	AP40       float64 `json:"-"`
	NumGT      int     `json:"num_gt"` // counted GT objects
	TP         int     `json:"tp"`     // at the lowest score
	FP         int     `json:"fp"`
}

// Result holds one Entry per class × metric × difficulty, in that order.
type Result struct {
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
	if v, ok := DefaultMinOverlap[class]; ok {
		return v
	}
	return 0.5
}

// KITTI scores pred against gt (see the package doc). Frames pair by ID; a
// GT frame without predictions has no detections, a prediction frame
// without GT is an error.
func KITTI(gt, pred []FrameBoxes, opt Options) (Result, error) {
	classes := opt.Classes
	if classes == nil {
		classes = DefaultClasses
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
	predOf := make([]*FrameBoxes, len(gt))
	for i := range pred {
		j, ok := byID[pred[i].ID]
		if !ok {
			return Result{}, fmt.Errorf("eval: prediction frame %q has no ground truth", pred[i].ID)
		}
		if predOf[j] != nil {
			return Result{}, fmt.Errorf("eval: prediction frame %q appears twice", pred[i].ID)
		}
		predOf[j] = &pred[i]
	}
	var res Result
	for _, c := range classes {
		thr := opt.overlap(c)
		for _, m := range Metrics {
			iou := postprocess.BEVIoU
			if m == "3d" {
				iou = postprocess.IoU3D
			}
			for _, d := range Difficulties {
				var dets []scored
				ngt := 0
				for i := range gt {
					var p []Object
					if predOf[i] != nil {
						p = predOf[i].Objects
					}
					n, s := matchFrame(gt[i].Objects, p, c, d, thr, iou)
					ngt += n
					dets = append(dets, s...)
				}
				e := Entry{Class: c, Metric: m, Difficulty: d.Name, NumGT: ngt}
				e.AP11, e.AP40, e.TP, e.FP = average(dets, ngt)
				res.Entries = append(res.Entries, e)
			}
		}
	}
	return res, nil
}

// scored is a detection that counts: its score and whether it is a TP.
type scored struct {
	score float64
	tp    bool
}

const (
	gtCounted = iota
	gtIgnored
	gtNone
)

// matchFrame matches one frame's detections of class c and returns the
// number of counted GT and the detections that count.
func matchFrame(gt, pred []Object, c string, d Difficulty, thr float64, iou func(a, b *ds3d.Box3D) float64) (int, []scored) {
	state := make([]int, len(gt))
	var dc []ds3d.Object2D
	ngt := 0
	for i, g := range gt {
		state[i] = gtNone
		switch {
		case g.Type == kitti.DontCare:
			dc = append(dc, g.BBox)
		case g.Type == c:
			if g.Occluded > d.MaxOcclusion || g.Truncated > d.MaxTruncation || float64(g.BBox.Height) <= d.MinHeight {
				state[i] = gtIgnored
			} else {
				state[i] = gtCounted
				ngt++
			}
		case Neighbours[c] != "" && g.Type == Neighbours[c]:
			state[i] = gtIgnored
		}
	}
	idx := make([]int, 0, len(pred))
	for j, p := range pred {
		if p.Type == c {
			idx = append(idx, j)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return pred[idx[a]].Score > pred[idx[b]].Score })
	used := make([]bool, len(gt))
	var out []scored
	for _, j := range idx {
		p := &pred[j]
		ignoredDet := float64(p.BBox.Height) < d.MinHeight
		best, bestIoU, bestIgn := -1, thr, -1
		for i := range gt {
			if used[i] || state[i] == gtNone {
				continue
			}
			v := iou(&gt[i].Box, &p.Box)
			if !(v > thr) {
				continue
			}
			if state[i] == gtCounted && (best < 0 || v > bestIoU) {
				best, bestIoU = i, v
			} else if state[i] == gtIgnored && bestIgn < 0 {
				bestIgn = i
			}
		}
		switch {
		case best >= 0:
			used[best] = true
			if ignoredDet { // the devkit takes this GT out of TP + FN
				ngt--
				continue
			}
			out = append(out, scored{p.Score, true})
		case bestIgn >= 0:
			used[bestIgn] = true
		case ignoredDet:
		case inDontCare(p.BBox, dc, thr):
		default:
			out = append(out, scored{p.Score, false})
		}
	}
	return ngt, out
}

// inDontCare reports whether some DontCare box covers more than thr of b.
func inDontCare(b ds3d.Object2D, dc []ds3d.Object2D, thr float64) bool {
	a := float64(b.Width) * float64(b.Height)
	if !(a > 0) {
		return false
	}
	for _, r := range dc {
		w := math.Min(float64(b.Left+b.Width), float64(r.Left+r.Width)) - math.Max(float64(b.Left), float64(r.Left))
		h := math.Min(float64(b.Top+b.Height), float64(r.Top+r.Height)) - math.Max(float64(b.Top), float64(r.Top))
		if w > 0 && h > 0 && w*h/a > thr {
			return true
		}
	}
	return false
}

// average returns R11 and R40 AP of the detections against ngt GT, and the
// TP and FP counts.
func average(dets []scored, ngt int) (ap11, ap40 float64, tp, fp int) {
	sort.SliceStable(dets, func(a, b int) bool { return dets[a].score > dets[b].score })
	rec := make([]float64, len(dets))
	prec := make([]float64, len(dets))
	for i, d := range dets {
		if d.tp {
			tp++
		} else {
			fp++
		}
		rec[i] = float64(tp) / float64(ngt)
		prec[i] = float64(tp) / float64(tp+fp)
	}
	if ngt <= 0 {
		return math.NaN(), math.NaN(), tp, fp
	}
	// interpolated precision: max precision at recall ≥ r
	for i := len(prec) - 2; i >= 0; i-- {
		prec[i] = math.Max(prec[i], prec[i+1])
	}
	at := func(r float64) float64 {
		i := sort.Search(len(rec), func(i int) bool { return rec[i] >= r-1e-12 })
		if i == len(rec) {
			return 0
		}
		return prec[i]
	}
	for k := 0; k <= 10; k++ {
		ap11 += at(float64(k) / 10)
	}
	for k := 1; k <= 40; k++ {
		ap40 += at(float64(k) / 40)
	}
	return ap11 / 11, ap40 / 40, tp, fp
}

// CameraBox is a label's box in the rectified camera frame as (x, z, −y)
// (see the package doc).
func CameraBox(l kitti.Label) ds3d.Box3D {
	return ds3d.Box3D{
		CX: float32(l.X), CY: float32(l.Z), CZ: float32(-(l.Y - l.H/2)),
		DX: float32(l.L), DY: float32(l.W), DZ: float32(l.H),
		Yaw:     float32(-l.RotY),
		ClassID: kitti.ClassID(l.Type), Label: l.Type, Score: float32(l.Score), TrackID: -1,
	}
}

// FromLabels makes one frame's objects from its labels; box converts a
// label to its 3D box (CameraBox, or a kitti.LabelToBox closure).
func FromLabels(id string, labels []kitti.Label, box func(kitti.Label) ds3d.Box3D) FrameBoxes {
	f := FrameBoxes{ID: id, Objects: make([]Object, len(labels))}
	for i, l := range labels {
		o := Object{Type: l.Type, Truncated: l.Truncated, Occluded: l.Occluded, BBox: l.BBox, Score: l.Score}
		if l.Type != kitti.DontCare {
			o.Box = box(l)
		}
		f.Objects[i] = o
	}
	return f
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

// ReadDir reads every %06d.txt KITTI label file in dir (ground truth or
// predictions with a score column) into camera-frame boxes (package doc).
func ReadDir(dir string) ([]FrameBoxes, error) {
	ids, err := labelFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]FrameBoxes, 0, len(ids))
	for _, id := range ids {
		ls, err := kitti.ReadLabels(filepath.Join(dir, id+".txt"))
		if err != nil {
			return nil, err
		}
		out = append(out, FromLabels(id, ls, CameraBox))
	}
	return out, nil
}

// ReadDirLidar is ReadDir with boxes in the velodyne frame, converted with
// calibDir/%06d.txt (datasets/kitti.LabelToBox).
func ReadDirLidar(dir, calibDir string) ([]FrameBoxes, error) {
	ids, err := labelFiles(dir)
	if err != nil {
		return nil, err
	}
	out := make([]FrameBoxes, 0, len(ids))
	for _, id := range ids {
		ls, err := kitti.ReadLabels(filepath.Join(dir, id+".txt"))
		if err != nil {
			return nil, err
		}
		c, err := calib.ReadKITTI(filepath.Join(calibDir, id+".txt"))
		if err != nil {
			return nil, err
		}
		inv, err := c.VeloToRect().Inverse()
		if err != nil {
			return nil, fmt.Errorf("eval: %s calib: %w", id, err)
		}
		out = append(out, FromLabels(id, ls, func(l kitti.Label) ds3d.Box3D { return kitti.LabelToBox(l, inv) }))
	}
	return out, nil
}
