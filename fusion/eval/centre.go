package eval

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// CentreDist is the bird's-eye-view distance between two box centres
// (x, y only), as nuScenes' center_distance.
func CentreDist(a, b *ds3d.Box3D) float64 {
	return math.Hypot(float64(a.CX)-float64(b.CX), float64(a.CY)-float64(b.CY))
}

// RecallClass is the recall of one ground-truth class within a centre
// distance.
type RecallClass struct {
	Class string `json:"class"` // ground-truth class (as labelled)
	// As is the detection class a box must have to count in Found
	// ("" when the class has no detector counterpart: only FoundAny
	// applies).
	As       string `json:"as,omitempty"`
	NumGT    int    `json:"num_gt"`
	Found    int    `json:"found"`     // matched to a detection of class As
	FoundAny int    `json:"found_any"` // matched to a detection of any class
}

// Recall returns Found / NumGT (NaN without ground truth).
func (r RecallClass) Recall() float64 { return ratio(r.Found, r.NumGT) }

// RecallAny returns FoundAny / NumGT (NaN without ground truth).
func (r RecallClass) RecallAny() float64 { return ratio(r.FoundAny, r.NumGT) }

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// RecallResult is the recall per ground-truth class (in first-seen order)
// plus the totals.
type RecallResult struct {
	MaxDist    float64       `json:"max_dist_m"`
	Classes    []RecallClass `json:"classes"`
	Detections int           `json:"detections"`
	// Unmatched is the number of detections matched to no ground truth in
	// the class-agnostic matching (false positives at MaxDist).
	Unmatched int `json:"unmatched"`
}

// Total sums the classes.
func (r RecallResult) Total() RecallClass {
	t := RecallClass{Class: "all"}
	for _, c := range r.Classes {
		t.NumGT += c.NumGT
		t.Found += c.Found
		t.FoundAny += c.FoundAny
	}
	return t
}

// DAIRToDetector maps DAIR-V2X types to the model-free detector's classes
// (Car, Pedestrian, Cyclist): vehicles are Car, riders Cyclist. Types not
// listed (Trafficcone) have no counterpart.
var DAIRToDetector = map[string]string{
	"Car": "Car", "Van": "Car", "Truck": "Car", "Bus": "Car",
	"Pedestrian": "Pedestrian",
	"Cyclist":    "Cyclist", "Motorcyclist": "Cyclist", "Tricyclist": "Cyclist", "Barrowlist": "Cyclist",
}

// RecallWithin scores one set of frames (gt[i] with pred[i]) by greedy
// one-to-one matching on BEV centre distance: over all (GT, detection)
// pairs of a frame at distance ≤ maxDist, the closest pair is matched
// first, then the next closest of the still free ones, and so on (ties by
// GT then detection index). It is done twice: once with any classes
// (FoundAny, Unmatched) and once only between GT of class C and detections
// labelled classMap[C] (Found; case-insensitive). GT classes come from
// Box3D.Label.
func RecallWithin(gt, pred [][]ds3d.Box3D, maxDist float64, classMap map[string]string) (RecallResult, error) {
	if len(gt) != len(pred) {
		return RecallResult{}, fmt.Errorf("eval: %d ground-truth frames but %d prediction frames", len(gt), len(pred))
	}
	if !(maxDist > 0) {
		return RecallResult{}, fmt.Errorf("eval: distance %v must be positive", maxDist)
	}
	res := RecallResult{MaxDist: maxDist}
	idx := map[string]int{}
	for f := range gt {
		for _, g := range gt[f] {
			if _, ok := idx[g.Label]; !ok {
				idx[g.Label] = len(res.Classes)
				res.Classes = append(res.Classes, RecallClass{Class: g.Label, As: classMap[g.Label]})
			}
			res.Classes[idx[g.Label]].NumGT++
		}
		res.Detections += len(pred[f])
		any := greedy(gt[f], pred[f], maxDist, func(*ds3d.Box3D, *ds3d.Box3D) bool { return true })
		for i, d := range any {
			if d >= 0 {
				res.Classes[idx[gt[f][i].Label]].FoundAny++
			}
		}
		res.Unmatched += len(pred[f])
		for _, d := range any {
			if d >= 0 {
				res.Unmatched--
			}
		}
		cls := greedy(gt[f], pred[f], maxDist, func(g, p *ds3d.Box3D) bool {
			as := classMap[g.Label]
			return as != "" && strings.EqualFold(as, p.Label)
		})
		for i, d := range cls {
			if d >= 0 {
				res.Classes[idx[gt[f][i].Label]].Found++
			}
		}
	}
	return res, nil
}

// greedy matches closest pairs first; it returns the detection index of
// each GT (−1: none).
func greedy(gt, pred []ds3d.Box3D, maxDist float64, ok func(g, p *ds3d.Box3D) bool) []int {
	type pair struct {
		d    float64
		g, p int
	}
	var pairs []pair
	for i := range gt {
		for j := range pred {
			if !ok(&gt[i], &pred[j]) {
				continue
			}
			if d := CentreDist(&gt[i], &pred[j]); d <= maxDist {
				pairs = append(pairs, pair{d, i, j})
			}
		}
	}
	sort.Slice(pairs, func(a, b int) bool {
		if pairs[a].d != pairs[b].d {
			return pairs[a].d < pairs[b].d
		}
		if pairs[a].g != pairs[b].g {
			return pairs[a].g < pairs[b].g
		}
		return pairs[a].p < pairs[b].p
	})
	out := make([]int, len(gt))
	for i := range out {
		out[i] = -1
	}
	used := make([]bool, len(pred))
	for _, q := range pairs {
		if out[q.g] < 0 && !used[q.p] {
			out[q.g], used[q.p] = q.p, true
		}
	}
	return out
}
