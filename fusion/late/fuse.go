package late

import (
	"math"

	"gonum.org/v1/gonum/spatial/r3"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Camera is one camera's calibration as the alignment keys carry it.
type Camera struct {
	Intrinsics ds3d.Intrinsics
	LidarToCam ds3d.Mat4
}

// ProjectBox returns the image rectangle (left, top, right, bottom) of a
// box's projected corners, clipped to the image when its size is known, and
// false when fewer than 2 corners lie in front of near or the rectangle is
// empty after clipping.
func ProjectBox(b *ds3d.Box3D, c *Camera, near float64) (l, t, r, bt float64, ok bool) {
	l, t, r, bt = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	seen := 0
	for _, p := range b.Corners() {
		q := c.LidarToCam.Apply(p)
		if q.Z < near {
			continue
		}
		u, v, in := c.Intrinsics.Project(r3.Vec{X: q.X, Y: q.Y, Z: q.Z})
		if !in {
			continue
		}
		seen++
		l, t, r, bt = math.Min(l, u), math.Min(t, v), math.Max(r, u), math.Max(bt, v)
	}
	if seen < 2 {
		return 0, 0, 0, 0, false
	}
	if w, h := float64(c.Intrinsics.Width), float64(c.Intrinsics.Height); w > 0 && h > 0 {
		l, t, r, bt = math.Max(l, 0), math.Max(t, 0), math.Min(r, w), math.Min(bt, h)
	}
	if r <= l || bt <= t {
		return 0, 0, 0, 0, false
	}
	return l, t, r, bt, true
}

// IoU is the intersection over union of two rectangles given as
// (left, top, right, bottom).
func IoU(a, b [4]float64) float64 {
	iw := math.Min(a[2], b[2]) - math.Max(a[0], b[0])
	ih := math.Min(a[3], b[3]) - math.Max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Params tune the fusion.
type Params struct {
	IoUThreshold float64 // least IoU of a match
	Near         float64 // metres; corners nearer are not projected
	ScoreFusion  string  // "mean", "max" or "product" of the 3D and 2D scores
}

// Match is the best 2D detection found for a 3D box.
type Match struct {
	Cam, Det int // camera and detection index; -1 when unmatched
	IoU      float64
}

// Matcher assigns boxes to detections; its scratch is reused between calls.
type Matcher struct {
	rects    []rect
	cost     []float64
	rowToCol []int
	asg      assign.Solver
}

type rect struct {
	r  [4]float64
	ok bool
}

// Match fills matches (one per box) with each box's best match over the
// cameras: per camera an optimal assignment (as many pairs at or above the
// threshold as possible, then the largest summed IoU).
func (m *Matcher) Match(matches []Match, boxes []ds3d.Box3D, cams []Camera, dets [][]ds3d.Object2D, p *Params) {
	for i := range matches {
		matches[i] = Match{Cam: -1, Det: -1}
	}
	for ci := range cams {
		if ci >= len(dets) || len(dets[ci]) == 0 {
			continue
		}
		ds := dets[ci]
		m.rects = m.rects[:0]
		for bi := range boxes {
			l, t, r, b, ok := ProjectBox(&boxes[bi], &cams[ci], p.Near)
			m.rects = append(m.rects, rect{[4]float64{l, t, r, b}, ok})
		}
		nb, nd := len(boxes), len(ds)
		if cap(m.cost) < nb*nd {
			m.cost = make([]float64, nb*nd)
		}
		cost := m.cost[:nb*nd]
		for bi := 0; bi < nb; bi++ {
			for di := 0; di < nd; di++ {
				cost[bi*nd+di] = math.NaN() // forbidden unless the IoU clears the threshold
				if !m.rects[bi].ok {
					continue
				}
				d := &ds[di]
				iou := IoU(m.rects[bi].r, [4]float64{float64(d.Left), float64(d.Top), float64(d.Left + d.Width), float64(d.Top + d.Height)})
				if iou >= p.IoUThreshold {
					cost[bi*nd+di] = -iou // minimise −IoU
				}
			}
		}
		if cap(m.rowToCol) < nb {
			m.rowToCol = make([]int, nb)
		}
		rowToCol := m.rowToCol[:nb]
		if _, err := m.asg.Solve(cost, nb, nd, rowToCol); err != nil {
			continue // cannot happen: the sizes are ours
		}
		for bi, di := range rowToCol {
			if di < 0 {
				continue
			}
			if iou := -cost[bi*nd+di]; iou > matches[bi].IoU {
				matches[bi] = Match{Cam: ci, Det: di, IoU: iou}
			}
		}
	}
}

// FusedScore combines a 3D and a 2D score.
func FusedScore(mode string, s3, s2 float32) float32 {
	switch mode {
	case "max":
		return max(s3, s2)
	case "product":
		return s3 * s2
	}
	return (s3 + s2) / 2
}
