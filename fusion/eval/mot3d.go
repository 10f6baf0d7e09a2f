package eval

import (
	"fmt"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// MOT3D scores 3D tracks with CLEAR-MOT, MT/PT/ML and IDF1 exactly as
// mot.go (py-motmetrics' algorithm) does for 2D boxes, with the
// pair distance replaced by the BEV centre distance in metres: a ground
// truth box and a track box may match when their centres are at most
// maxDist apart (and, with sameClass, their labels are equal ignoring
// case). MOTP is then the mean centre distance of the matches in metres.
// Frames pair by index; the ids are Box3D.TrackID (ground truth needs ids;
// a prediction with TrackID < 0 is an error, as an untracked box cannot be
// scored).
func MOT3D(gt, pred [][]ds3d.Box3D, maxDist float64, sameClass bool) (MOTMetrics, error) {
	if len(gt) != len(pred) {
		return MOTMetrics{}, fmt.Errorf("eval: %d ground-truth frames but %d prediction frames", len(gt), len(pred))
	}
	if !(maxDist > 0) || math.IsInf(maxDist, 0) {
		return MOTMetrics{}, fmt.Errorf("eval: distance %v must be positive and finite", maxDist)
	}
	acc := NewMOTAccumulator()
	var oids, hids []int64
	var dist []float64
	for f := range gt {
		oids, hids = oids[:0], hids[:0]
		for _, g := range gt[f] {
			if g.TrackID < 0 {
				return MOTMetrics{}, fmt.Errorf("eval: ground-truth frame %d has a box without a track id", f)
			}
			oids = append(oids, g.TrackID)
		}
		for _, p := range pred[f] {
			if p.TrackID < 0 {
				return MOTMetrics{}, fmt.Errorf("eval: prediction frame %d has a box without a track id", f)
			}
			hids = append(hids, p.TrackID)
		}
		dist = dist[:0]
		for i := range gt[f] {
			for j := range pred[f] {
				d := CentreDist(&gt[f][i], &pred[f][j])
				if d > maxDist || (sameClass && !strings.EqualFold(gt[f][i].Label, pred[f][j].Label)) {
					d = math.NaN()
				}
				dist = append(dist, d)
			}
		}
		if err := acc.Update(oids, hids, dist); err != nil {
			return MOTMetrics{}, fmt.Errorf("eval: frame %d: %w", f, err)
		}
	}
	return acc.Metrics(), nil
}
