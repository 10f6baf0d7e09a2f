package analytics

import (
	"fmt"
	"math"
)

// Pt is a point of the plane the rules live in (pixels or metres).
type Pt = [2]float64

// cross returns (b−a)×(p−a): > 0 when p is on the left of a→b (counter-
// clockwise with x right, y up), < 0 on the right, 0 on the line.
func cross(a, b, p Pt) float64 {
	return (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
}

func sign(v float64) int8 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// Side returns on which side of the line a→b point p lies: +1 left
// (the positive side), −1 right, 0 on the line.
func Side(a, b, p Pt) int8 { return sign(cross(a, b, p)) }

// SegmentsTouch reports whether the closed segments p0–p1 and a–b share a
// point (end points and collinear overlaps included).
func SegmentsTouch(p0, p1, a, b Pt) bool {
	d1, d2 := sign(cross(a, b, p0)), sign(cross(a, b, p1))
	d3, d4 := sign(cross(p0, p1, a)), sign(cross(p0, p1, b))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	return (d1 == 0 && onSegment(a, b, p0)) || (d2 == 0 && onSegment(a, b, p1)) ||
		(d3 == 0 && onSegment(p0, p1, a)) || (d4 == 0 && onSegment(p0, p1, b))
}

// onSegment reports whether p, collinear with a–b, lies between them.
func onSegment(a, b, p Pt) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// Polygon is a simple polygon with its bounding box, for fast rejection,
// and its edges as (a, b) pairs, each the edge from P[i−1] to P[i], so
// Contains reads one contiguous array.
type Polygon struct {
	P                      []Pt
	minX, minY, maxX, maxY float64
	edges                  []edge
}

type edge struct{ a, b Pt }

// NewPolygon checks pts and returns the polygon: at least 3 points, all
// finite, no two consecutive equal, no two edges crossing or touching
// except consecutive edges at their shared vertex, and a non-zero area.
func NewPolygon(pts []Pt) (Polygon, error) {
	n := len(pts)
	if n < 3 {
		return Polygon{}, fmt.Errorf("polygon of %d points, want at least 3", n)
	}
	for i, p := range pts {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			return Polygon{}, fmt.Errorf("point %d (%g, %g) is not finite", i, p[0], p[1])
		}
		if q := pts[(i+1)%n]; p == q {
			return Polygon{}, fmt.Errorf("points %d and %d are the same (%g, %g)", i, (i+1)%n, p[0], p[1])
		}
	}
	collinear := true
	for _, p := range pts[2:] {
		if Side(pts[0], pts[1], p) != 0 {
			collinear = false
			break
		}
	}
	if collinear {
		return Polygon{}, fmt.Errorf("polygon has zero area: all its points lie on one line")
	}
	for i := range n {
		prev, v, next := pts[(i+n-1)%n], pts[i], pts[(i+1)%n]
		if Side(prev, v, next) == 0 && dot(sub(prev, v), sub(next, v)) > 0 {
			return Polygon{}, fmt.Errorf("self-crossing: the edges at point %d (%g, %g) fold back onto each other", i, v[0], v[1])
		}
	}
	for i := range n {
		a0, a1 := pts[i], pts[(i+1)%n]
		for j := i + 2; j < n; j++ {
			if i == 0 && j == n-1 {
				continue // consecutive through the closing edge
			}
			if SegmentsTouch(a0, a1, pts[j], pts[(j+1)%n]) {
				return Polygon{}, fmt.Errorf("self-crossing: edge %d (point %d to %d) meets edge %d (point %d to %d)",
					i, i, (i+1)%n, j, j, (j+1)%n)
			}
		}
	}
	if area := SignedArea(pts); math.Abs(area) <= 1e-12*bboxArea(pts) {
		return Polygon{}, fmt.Errorf("polygon has zero area")
	}
	pg := Polygon{P: pts, minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for _, p := range pts {
		pg.minX, pg.maxX = math.Min(pg.minX, p[0]), math.Max(pg.maxX, p[0])
		pg.minY, pg.maxY = math.Min(pg.minY, p[1]), math.Max(pg.maxY, p[1])
	}
	for i := range n {
		pg.edges = append(pg.edges, edge{a: pts[i], b: pts[(i+n-1)%n]})
	}
	return pg, nil
}

func sub(a, b Pt) Pt      { return Pt{a[0] - b[0], a[1] - b[1]} }
func dot(a, b Pt) float64 { return a[0]*b[0] + a[1]*b[1] }
func bboxArea(pts []Pt) float64 {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, p := range pts {
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	return (maxX - minX) * (maxY - minY)
}

// SignedArea is the shoelace area: > 0 for counter-clockwise vertices.
func SignedArea(pts []Pt) float64 {
	var s float64
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

// Contains reports whether p is inside the polygon or on its boundary: a
// point on an edge counts as inside, so an object standing on a zone's
// border is in it.
func (pg *Polygon) Contains(p Pt) bool {
	x, y := p[0], p[1]
	if x < pg.minX || x > pg.maxX || y < pg.minY || y > pg.maxY {
		return false
	}
	in := false
	for k := range pg.edges {
		e := &pg.edges[k]
		ay, by := e.a[1], e.b[1]
		// Crossing number: edges straddling the horizontal through p, half-
		// open in y so a vertex is counted once. Only an edge whose y range
		// holds y can have p on it; the exact test runs for those alone.
		if (ay > y) != (by > y) {
			if cross(e.a, e.b, p) == 0 {
				return true // on the edge (y strictly inside its range)
			}
			if xi := e.a[0] + (y-ay)*(e.b[0]-e.a[0])/(by-ay); x < xi {
				in = !in
			}
		} else if (ay == y || by == y) && cross(e.a, e.b, p) == 0 && onSegment(e.a, e.b, p) {
			return true
		}
	}
	return in
}

// Line is a directed segment A→B; its positive side is the left of A→B.
type Line struct {
	A, B   Pt
	dx, dy float64 // B − A
	length float64
}

// NewLine checks that the segment is finite and of non-zero length.
func NewLine(pts []Pt) (Line, error) {
	if len(pts) != 2 {
		return Line{}, fmt.Errorf("line of %d points, want 2 (from, to)", len(pts))
	}
	for i, p := range pts {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.IsInf(p[0], 0) || math.IsInf(p[1], 0) {
			return Line{}, fmt.Errorf("point %d (%g, %g) is not finite", i, p[0], p[1])
		}
	}
	if pts[0] == pts[1] {
		return Line{}, fmt.Errorf("line of zero length: both points are (%g, %g)", pts[0][0], pts[0][1])
	}
	d := sub(pts[1], pts[0])
	return Line{A: pts[0], B: pts[1], dx: d[0], dy: d[1], length: math.Hypot(d[0], d[1])}, nil
}

// Crossing is the line-crossing rule of one step of a track from prev to
// cur. st is the track's state for the line: its last strict side (±1,
// 0 never) and whether its path has met the segment since it was last
// there. A point within margin of the line (distance, in the plane's
// units) counts as on it. It returns the crossing's direction (+1 ending on
// the positive side, −1 on the negative, 0 no crossing).
//
// So a track that touches the line (or comes within margin of it) and goes
// back does not cross; one that goes over it in several steps crosses once,
// on the step that takes it beyond the margin on the other side, provided
// its path met the segment itself on the way, not the line's extension.
func (l *Line) Crossing(st *LineState, prev, cur Pt, margin float64) int8 {
	c := l.dx*(cur[1]-l.A[1]) - l.dy*(cur[0]-l.A[0])
	s := sign(c)
	if margin > 0 && math.Abs(c) <= margin*l.length {
		s = 0
	}
	if s != 0 && s == st.Last {
		// Back (or still) on its side: whatever the path met, no crossing.
		st.Met = false
		return 0
	}
	if !st.Met && SegmentsTouch(prev, cur, l.A, l.B) {
		st.Met = true
	}
	if s == 0 {
		return 0
	}
	var dir int8
	if st.Last != 0 && st.Met {
		dir = s
	}
	st.Last, st.Met = s, false
	return dir
}

// LineState is a track's state for one line (see Line.Crossing).
type LineState struct {
	Last int8
	Met  bool
}

// Start sets the state of a track first seen at p.
func (l *Line) Start(p Pt, margin float64) LineState {
	c := cross(l.A, l.B, p)
	if margin > 0 && math.Abs(c) <= margin*l.length {
		return LineState{}
	}
	return LineState{Last: sign(c)}
}

// Distance returns the distance from p to the polygon's boundary.
func (pg *Polygon) Distance(p Pt) float64 {
	d := math.Inf(1)
	n := len(pg.P)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		d = math.Min(d, segDist(pg.P[j], pg.P[i], p))
	}
	return d
}

func segDist(a, b, p Pt) float64 {
	ab, ap := sub(b, a), sub(p, a)
	t := dot(ab, ap) / dot(ab, ab)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(ap[0]-t*ab[0], ap[1]-t*ab[1])
}
