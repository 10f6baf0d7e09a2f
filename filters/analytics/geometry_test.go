package analytics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// windingNumber is an independent point-in-polygon test (the winding
// number, by signed angle sums) for points off the boundary.
func windingNumber(pts []Pt, p Pt) bool {
	var sum float64
	for i := range pts {
		a, b := sub(pts[i], p), sub(pts[(i+1)%len(pts)], p)
		sum += math.Atan2(a[0]*b[1]-a[1]*b[0], a[0]*b[0]+a[1]*b[1])
	}
	return math.Abs(sum) > math.Pi
}

// randomStar returns a simple polygon: vertices at sorted random angles and
// random radii around a centre.
func randomStar(r *rand.Rand, n int) []Pt {
	ang := make([]float64, n)
	for i := range ang {
		ang[i] = 2 * math.Pi * (float64(i) + 0.8*r.Float64()) / float64(n)
	}
	pts := make([]Pt, n)
	for i, a := range ang {
		// Whole even coordinates: edge midpoints are exact, and so is every
		// cross product of them, whatever the order of its points.
		rad := 20 + 80*r.Float64()
		pts[i] = Pt{2 * math.Round(rad*math.Cos(a)/2), 2 * math.Round(rad*math.Sin(a)/2)}
	}
	return pts
}

// TestPolygonContainsProperty compares Contains with the winding number on
// random star polygons (either orientation) and random points, and checks
// that vertices and edge midpoints count as inside.
func TestPolygonContainsProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		pts := randomStar(r, 3+r.IntN(10))
		if r.IntN(2) == 0 {
			for i, j := 0, len(pts)-1; i < j; i, j = i+1, j-1 {
				pts[i], pts[j] = pts[j], pts[i]
			}
		}
		pg, err := NewPolygon(pts)
		if err != nil {
			continue // rounding made it degenerate (two vertices on one point)
		}
		for range 200 {
			p := Pt{240*r.Float64() - 120, 240*r.Float64() - 120}
			if got, want := pg.Contains(p), windingNumber(pts, p); got != want && pg.Distance(p) > 1e-9 {
				t.Fatalf("polygon %v, point %v: Contains %v, winding number %v", pts, p, got, want)
			}
		}
		for i := range pts {
			a, b := pts[i], pts[(i+1)%len(pts)]
			if !pg.Contains(a) {
				t.Fatalf("vertex %v not inside", a)
			}
			if m := (Pt{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}); !pg.Contains(m) {
				t.Fatalf("edge midpoint %v not inside", m)
			}
		}
	}
}

// TestPolygonValidation checks the refusals: too few points, repeated
// points, self-crossing (bow tie, and an edge touching a vertex), a fold
// back, zero area, NaN.
func TestPolygonValidation(t *testing.T) {
	bad := map[string][]Pt{
		"two points": {{0, 0}, {1, 0}},
		"repeated":   {{0, 0}, {1, 0}, {1, 0}, {0, 1}},
		"bow tie":    {{0, 0}, {10, 10}, {10, 0}, {0, 10}},
		"touching":   {{0, 0}, {10, 0}, {10, 10}, {5, 0}, {0, 10}},
		"fold back":  {{0, 0}, {10, 0}, {5, 0}, {5, 5}},
		"collinear":  {{0, 0}, {1, 1}, {2, 2}},
		"NaN":        {{0, 0}, {math.NaN(), 1}, {1, 0}},
	}
	for name, pts := range bad {
		if _, err := NewPolygon(pts); err == nil {
			t.Errorf("%s: %v accepted", name, pts)
		}
	}
	if _, err := NewPolygon([]Pt{{0, 0}, {10, 0}, {10, 10}, {5, 2}, {0, 10}}); err != nil {
		t.Errorf("concave polygon refused: %v", err)
	}
}

// TestCrossingProperties walks random tracks past a line far longer than
// the walk (so only the line's sides matter) and checks: crossings
// alternate in direction, the last one's direction is the side the walk
// ends on, their number is what the sign changes of the side sequence
// say, and reversing the line's points flips every direction.
func TestCrossingProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		// Whole coordinates and a whole direction: points put on the line
		// are exactly on it for both orders of its end points.
		dir := Pt{float64(1 + r.IntN(5)), float64(r.IntN(11) - 5)}
		a := Pt{float64(-2000 + r.IntN(11)), float64(r.IntN(41) - 20)}
		a = Pt{a[0] - 1000*dir[0], a[1] - 1000*dir[1]}
		b := Pt{a[0] + 4000*dir[0], a[1] + 4000*dir[1]}
		fwd, _ := NewLine([]Pt{a, b})
		rev, _ := NewLine([]Pt{b, a})
		p := Pt{40*r.Float64() - 20, 40*r.Float64() - 20}
		sf, sr := fwd.Start(p, 0), rev.Start(p, 0)
		var dirs []int8
		last, changes := Side(a, b, p), 0
		for range 50 {
			q := Pt{p[0] + 10*r.NormFloat64(), p[1] + 10*r.NormFloat64()}
			if r.IntN(10) == 0 { // now and then exactly on the line, near the walk
				k := math.Round((q[0] - a[0]) / dir[0])
				q = Pt{a[0] + k*dir[0], a[1] + k*dir[1]}
			}
			d := fwd.Crossing(&sf, p, q, 0)
			if dr := rev.Crossing(&sr, p, q, 0); dr != -d {
				t.Fatalf("reversed line: %d, forward %d", dr, d)
			}
			if d != 0 {
				dirs = append(dirs, d)
			}
			if s := Side(a, b, q); s != 0 {
				if last != 0 && s != last {
					changes++
				}
				last = s
			}
			p = q
		}
		if len(dirs) != changes {
			t.Fatalf("%d crossings for %d side changes", len(dirs), changes)
		}
		for i := 1; i < len(dirs); i++ {
			if dirs[i] == dirs[i-1] {
				t.Fatalf("crossings %v do not alternate", dirs)
			}
		}
		if len(dirs) > 0 && dirs[len(dirs)-1] != last {
			t.Fatalf("last crossing %d, walk ends on side %d", dirs[len(dirs)-1], last)
		}
	}
}

// TestCrossingTouch checks the cases the semantics name: touching and
// going back is no crossing, going over in two steps is one, going around
// the segment's end is none, and a margin absorbs jitter on the line.
func TestCrossingTouch(t *testing.T) {
	l, _ := NewLine([]Pt{{0, 0}, {10, 0}}) // positive side: y > 0
	walk := func(margin float64, pts ...Pt) []int8 {
		st := l.Start(pts[0], margin)
		var out []int8
		for i := 1; i < len(pts); i++ {
			if d := l.Crossing(&st, pts[i-1], pts[i], margin); d != 0 {
				out = append(out, d)
			}
		}
		return out
	}
	eq := func(a []int8, b ...int8) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if d := walk(0, Pt{5, -1}, Pt{5, 0}, Pt{5, -1}); !eq(d) {
		t.Errorf("touch and back: %v", d)
	}
	if d := walk(0, Pt{5, -1}, Pt{5, 0}, Pt{6, 0}, Pt{5, 1}); !eq(d, 1) {
		t.Errorf("over in three steps: %v", d)
	}
	if d := walk(0, Pt{12, -1}, Pt{12, 0}, Pt{12, 1}); !eq(d) {
		t.Errorf("past the end, through the line's extension: %v", d)
	}
	if d := walk(0, Pt{5, -1}, Pt{15, 0}, Pt{5, 1}); !eq(d) {
		t.Errorf("around the end: %v", d)
	}
	if d := walk(0, Pt{10, -1}, Pt{10, 1}); !eq(d, 1) {
		t.Errorf("through the end point: %v", d)
	}
	if d := walk(0.5, Pt{5, -1}, Pt{5, 0.3}, Pt{5, -0.3}, Pt{5, 0.4}, Pt{5, -2}); !eq(d) {
		t.Errorf("jitter within the margin: %v", d)
	}
	if d := walk(0.5, Pt{5, -1}, Pt{5, 0.3}, Pt{5, 0.6}); !eq(d, 1) {
		t.Errorf("past the margin: %v", d)
	}
}
