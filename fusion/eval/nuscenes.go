package eval

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// nuScenes detection mAP, as the nuScenes devkit computes it
// (python-sdk/nuscenes/eval/detection/algo.py accumulate and calc_ap,
// configs/detection_cvpr_2019.json):
//
//   - Per class and distance threshold d ∈ {0.5, 1, 2, 4} m: predictions of
//     the class over all samples, sorted by descending score (ties: later
//     prediction first, as Python's sorted over (score, index) reversed),
//     each take the closest untaken GT of the class in their sample by BEV
//     centre distance; a match needs distance < d (strict). TP/FP
//     cumulative sums give precision tp/(tp+fp) and recall tp/npos.
//   - Precision is resampled at recall 0, 0.01, …, 1 (101 points) with
//     numpy.interp (linear between the curve's points, the first precision
//     below the first recall, 0 beyond the last).
//   - AP = mean over the points above min_recall (index round(100·0.1)+1 =
//     11 onwards) of max(precision − 0.1, 0), divided by 1 − 0.1.
//   - A class with no GT, or with no TP at all, has AP 0 (the devkit's
//     no_predictions); the devkit's mAP averages over all ten classes.
//     NuScenesResult also gives the mean over the classes that have GT,
//     the fairer number for one keyframe that does not hold every class.
//   - Filtering (devkit filter_eval_boxes): GT and predictions farther than
//     the class range (car, truck, bus, trailer, construction_vehicle 50 m;
//     pedestrian, motorcycle, bicycle 40 m; traffic_cone, barrier 30 m)
//     from the origin in BEV are dropped, and GT with no lidar and no radar
//     point. Deviation: the devkit measures the range in the ego frame and
//     removes bicycles/motorcycles inside bike racks; here the range is
//     measured in the frame the boxes are in (the lidar frame for ours,
//     ≈ 1 m from the ego origin) and bike racks are not used.

// NuScenesClasses are the ten detection classes with their ranges in
// metres (detection_cvpr_2019).
var NuScenesClasses = []string{"car", "truck", "construction_vehicle", "bus", "trailer", "barrier", "motorcycle", "bicycle", "pedestrian", "traffic_cone"}

// NuScenesRange is the devkit's class_range.
var NuScenesRange = map[string]float64{"car": 50, "truck": 50, "bus": 50, "trailer": 50, "construction_vehicle": 50,
	"pedestrian": 40, "motorcycle": 40, "bicycle": 40, "traffic_cone": 30, "barrier": 30}

// NuScenesThresholds are the matching distances in metres.
var NuScenesThresholds = []float64{0.5, 1, 2, 4}

// ToNuScenes maps our detectors' labels (the model-free detector's Car,
// Pedestrian, Cyclist; COCO names from late fusion) to nuScenes detection
// names, case-insensitively. Labels not listed are not scored.
var ToNuScenes = map[string]string{
	"car": "car", "truck": "truck", "bus": "bus", "train": "trailer",
	"pedestrian": "pedestrian", "person": "pedestrian",
	"cyclist": "bicycle", "bicycle": "bicycle", "motorcycle": "motorcycle", "motorbike": "motorcycle",
	"traffic_cone": "traffic_cone", "barrier": "barrier", "trailer": "trailer", "construction_vehicle": "construction_vehicle",
}

// NuBox is one box of a sample with its nuScenes detection name; for GT,
// Points is its lidar + radar point count (GT without points is dropped).
type NuBox struct {
	Name   string
	Box    ds3d.Box3D
	Points int
}

// NuScenesAP is one class's AP per threshold.
type NuScenesAP struct {
	Class string    `json:"class"`
	NumGT int       `json:"num_gt"`
	AP    []float64 `json:"ap"` // per NuScenesThresholds
	Mean  float64   `json:"mean_ap"`
}

// NuScenesResult holds every class.
type NuScenesResult struct {
	Classes []NuScenesAP `json:"classes"`
	// MAP is the devkit's mAP: the mean over all ten classes (no GT: 0).
	MAP float64 `json:"map"`
	// MAPWithGT averages only the classes with GT (NaN when none has).
	MAPWithGT float64 `json:"map_classes_with_gt"`
}

// Get returns a class's entry.
func (r NuScenesResult) Get(class string) (NuScenesAP, bool) {
	for _, c := range r.Classes {
		if c.Class == class {
			return c, true
		}
	}
	return NuScenesAP{}, false
}

func inRange(b *ds3d.Box3D, class string) bool {
	r, ok := NuScenesRange[class]
	return ok && math.Hypot(float64(b.CX), float64(b.CY)) <= r
}

// NuScenes computes the detection AP of pred against gt (samples paired by
// index; see the comment above for the protocol).
func NuScenes(gt, pred [][]NuBox) (NuScenesResult, error) {
	if len(gt) != len(pred) {
		return NuScenesResult{}, fmt.Errorf("eval: %d ground-truth samples but %d prediction samples", len(gt), len(pred))
	}
	var res NuScenesResult
	nWith := 0
	for _, c := range NuScenesClasses {
		e := NuScenesAP{Class: c}
		var dets []nuDet
		gts := make([][]*ds3d.Box3D, len(gt))
		for s := range gt {
			for i := range gt[s] {
				g := &gt[s][i]
				if g.Name == c && g.Points > 0 && inRange(&g.Box, c) {
					gts[s] = append(gts[s], &g.Box)
					e.NumGT++
				}
			}
			for i := range pred[s] {
				p := &pred[s][i]
				if p.Name == c && inRange(&p.Box, c) {
					dets = append(dets, nuDet{s, len(dets), &p.Box})
				}
			}
		}
		sort.Slice(dets, func(a, b int) bool {
			if sa, sb := dets[a].box.Score, dets[b].box.Score; sa != sb {
				return sa > sb
			}
			return dets[a].idx > dets[b].idx
		})
		for _, th := range NuScenesThresholds {
			ap := 0.0
			if e.NumGT > 0 {
				ap = nuAP(gts, dets, e.NumGT, th)
			}
			e.AP = append(e.AP, ap)
			e.Mean += ap / float64(len(NuScenesThresholds))
		}
		res.MAP += e.Mean / float64(len(NuScenesClasses))
		if e.NumGT > 0 {
			nWith++
			if math.IsNaN(res.MAPWithGT) {
				res.MAPWithGT = 0
			}
			res.MAPWithGT += e.Mean
		}
		res.Classes = append(res.Classes, e)
	}
	if nWith > 0 {
		res.MAPWithGT /= float64(nWith)
	} else {
		res.MAPWithGT = math.NaN()
	}
	return res, nil
}

// nuDet is a prediction of the class: its sample, its index in the list of
// the class's predictions (sample order, then box order) and its box.
type nuDet struct {
	sample, idx int
	box         *ds3d.Box3D
}

// nuAP matches the sorted detections and returns calc_ap of the 101-point
// precision curve.
func nuAP(gts [][]*ds3d.Box3D, dets []nuDet, npos int, th float64) float64 {
	n := len(dets)
	taken := make([][]bool, len(gts))
	for s := range gts {
		taken[s] = make([]bool, len(gts[s]))
	}
	rec := make([]float64, 0, n)
	prec := make([]float64, 0, n)
	tp, fp := 0, 0
	for i := 0; i < n; i++ {
		s, b := dets[i].sample, dets[i].box
		best, bestD := -1, math.Inf(1)
		for j, g := range gts[s] {
			if taken[s][j] {
				continue
			}
			if d := CentreDist(g, b); d < bestD {
				best, bestD = j, d
			}
		}
		if bestD < th {
			taken[s][best] = true
			tp++
		} else {
			fp++
		}
		rec = append(rec, float64(tp)/float64(npos))
		prec = append(prec, float64(tp)/float64(tp+fp))
	}
	if tp == 0 {
		return 0 // the devkit's no_predictions
	}
	const minRecall, minPrecision = 0.1, 0.1
	first := int(math.Round(100*minRecall)) + 1
	sum := 0.0
	for k := first; k <= 100; k++ {
		p := interp(float64(k)/100, rec, prec) - minPrecision
		if p > 0 {
			sum += p
		}
	}
	return sum / float64(101-first) / (1 - minPrecision)
}

// interp is numpy.interp(x, xp, fp, right=0) for non-decreasing xp: fp[0]
// below xp[0], 0 above xp[len−1], fp[len−1] at it, else linear between
// xp[j] ≤ x < xp[j+1] with j the last such index.
func interp(x float64, xp, fp []float64) float64 {
	n := len(xp)
	switch {
	case x < xp[0]:
		return fp[0]
	case x > xp[n-1]:
		return 0
	case x == xp[n-1]:
		return fp[n-1]
	}
	j := sort.Search(n, func(i int) bool { return xp[i] > x }) - 1
	return fp[j] + (x-xp[j])*(fp[j+1]-fp[j])/(xp[j+1]-xp[j])
}

// NuScenesName maps a label through ToNuScenes (case-insensitive); "" when
// it has no nuScenes class.
func NuScenesName(label string) string { return ToNuScenes[strings.ToLower(label)] }

// NuScenesRecall is the recall of the scored nuScenes ground truth (points
// > 0, within the class range) within a BEV centre distance, by
// RecallWithin's greedy matching on nuScenes names, plus the class accuracy
// of the class-agnostic matches: of the predictions matched to a GT box,
// how many carry its class.
type NuScenesRecall struct {
	RecallResult
	Matched      int `json:"matched"`       // class-agnostic matches
	ClassCorrect int `json:"class_correct"` // of those, with the GT's class
}

// ClassAccuracy is ClassCorrect / Matched (NaN without matches).
func (r NuScenesRecall) ClassAccuracy() float64 { return ratio(r.ClassCorrect, r.Matched) }

// NuScenesRecallWithin scores gt against pred (samples paired by index)
// within maxDist metres.
func NuScenesRecallWithin(gt, pred [][]NuBox, maxDist float64) (NuScenesRecall, error) {
	if len(gt) != len(pred) {
		return NuScenesRecall{}, fmt.Errorf("eval: %d ground-truth samples but %d prediction samples", len(gt), len(pred))
	}
	g := make([][]ds3d.Box3D, len(gt))
	p := make([][]ds3d.Box3D, len(pred))
	same := map[string]string{}
	for _, c := range NuScenesClasses {
		same[c] = c
	}
	for s := range gt {
		for _, b := range gt[s] {
			if b.Points > 0 && inRange(&b.Box, b.Name) {
				bb := b.Box
				bb.Label = b.Name
				g[s] = append(g[s], bb)
			}
		}
		for _, b := range pred[s] {
			bb := b.Box
			bb.Label = b.Name
			p[s] = append(p[s], bb)
		}
	}
	rr, err := RecallWithin(g, p, maxDist, same)
	if err != nil {
		return NuScenesRecall{}, err
	}
	out := NuScenesRecall{RecallResult: rr}
	for s := range g {
		for i, d := range greedy(g[s], p[s], maxDist, func(*ds3d.Box3D, *ds3d.Box3D) bool { return true }) {
			if d >= 0 {
				out.Matched++
				if g[s][i].Label == p[s][d].Label {
					out.ClassCorrect++
				}
			}
		}
	}
	return out, nil
}
