package paint

import (
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
)

// KeyLidarPainted is the default key of the painted points, [N, D+C(+1)] f32.
const KeyLidarPainted ds3d.Key = "DS3D::LidarPaintedXYZI"

// Box is one 2D detection as the painter uses it: the class channel it
// paints, its score and its rectangle in continuous pixel coordinates
// (left, top inclusive; right, bottom exclusive).
type Box struct {
	Class      int
	Score      float32
	L, T, R, B float32
}

// Classes maps detection labels to class channels: entry c of the list is
// a label name or several joined by "|" ("car|truck|bus"), all painting
// channel c.
type Classes [][]string

// ParseClasses splits each entry of list at "|".
func ParseClasses(list []string) Classes {
	out := make(Classes, len(list))
	for i, s := range list {
		start := 0
		for j := 0; j <= len(s); j++ {
			if j == len(s) || s[j] == '|' {
				if j > start {
					out[i] = append(out[i], s[start:j])
				}
				start = j + 1
			}
		}
	}
	return out
}

// Of returns the channel of label, or -1 when no class lists it.
func (cs Classes) Of(label string) int {
	for c, names := range cs {
		for _, n := range names {
			if n == label {
				return c
			}
		}
	}
	return -1
}

// AppendBoxes appends to dst the detections of dets that can paint: a
// label in cs, a score in (minScore, ∞) and a finite rectangle of positive
// size. It allocates only when dst must grow.
func AppendBoxes(dst []Box, dets []ds3d.Object2D, cs Classes, minScore float32) []Box {
	for i := range dets {
		d := &dets[i]
		c := cs.Of(d.Label)
		if c < 0 || !(d.Score > minScore) || !(d.Width > 0) || !(d.Height > 0) {
			continue
		}
		b := Box{Class: c, Score: d.Score, L: d.Left, T: d.Top, R: d.Left + d.Width, B: d.Top + d.Height}
		if !finite(b.L) || !finite(b.T) || !finite(b.R) || !finite(b.B) || !finite(b.Score) {
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// PaintCamera paints the points pts ([N, stride] f32, stride ≥ 3) seen by
// camera cam into out ([N, ostride] f32; the class channels of point i
// start at out[i·ostride+off]): a point at depth > near whose projection
// (filters/align's Camera.Project: continuous pixel (u, v), inside the
// image) lies in a box raises that box's class channel to the box's score
// when it is higher. uvd is scratch of at least 3N values. It returns the
// number of points in the image and in front of near; it allocates nothing.
func PaintCamera(out []float32, ostride, off int, pts []float32, stride int, cam *align.Camera, near float32, boxes []Box, uvd []float32) int {
	n := len(pts) / stride
	uvd = uvd[:3*n]
	cam.Project(uvd, pts, stride)
	seen := 0
	for i := 0; i < n; i++ {
		q := (*[3]float32)(uvd[3*i : 3*i+3])
		if !(q[2] > near) { // NaN (not in the image) fails too
			continue
		}
		seen++
		u, v := q[0], q[1]
		row := out[i*ostride+off : (i+1)*ostride]
		for k := range boxes {
			b := &boxes[k]
			if u >= b.L && u < b.R && v >= b.T && v < b.B && b.Score > row[b.Class] {
				row[b.Class] = b.Score
			}
		}
	}
	return seen
}

// Background writes channel off+classes of each of the n points of out as
// 1 − the largest of its class channels, clamped to [0, 1].
func Background(out []float32, ostride, off, classes, n int) {
	for i := 0; i < n; i++ {
		row := out[i*ostride+off : i*ostride+off+classes+1]
		var m float32
		for _, s := range row[:classes] {
			m = max(m, s)
		}
		row[classes] = min(max(1-m, 0), 1)
	}
}
