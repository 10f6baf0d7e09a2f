package analytics

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLineSides compares the line set's side bits and slack with
// Line.Crossing's own side test and the distances to the lines, checks
// that a point moved less than the slack keeps its bits, for 11 lines and
// random points, points on the lines included.
func TestLineSides(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ls lineSet
	var lines []Line
	for i := range 11 {
		l, err := NewLine([]Pt{{rng.Float64() * 100, rng.Float64() * 100}, {rng.Float64() * 100, rng.Float64() * 100}})
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l)
		ls.add(&l, float64(i%3), 40+i)
	}
	for n := range 100000 {
		p := Pt{rng.Float64()*140 - 20, rng.Float64()*140 - 20}
		if n%10 == 0 { // on a line
			l := &lines[n/10%len(lines)]
			f := rng.Float64()
			p = Pt{l.A[0] + f*l.dx, l.A[1] + f*l.dy}
		}
		pos, neg, slack := ls.sides(p)
		// Anywhere within the slack (as the engine trusts it) the bits stay.
		if slack > 0 {
			a, d := rng.Float64()*2*math.Pi, math.Sqrt(0.999)*slack*math.Sqrt(rng.Float64())
			if n%7 == 0 {
				d = math.Sqrt(0.999) * slack * (1 - 1e-12)
			}
			q := Pt{p[0] + d*math.Cos(a), p[1] + d*math.Sin(a)}
			if qp, qn, _ := ls.sides(q); qp != pos || qn != neg {
				t.Fatalf("%v → %v (%g of slack %g): bits %b %b → %b %b", p, q, d, slack, pos, neg, qp, qn)
			}
		}
		wantSlack := math.Inf(1)
		for j := range lines {
			l := &lines[j]
			c := cross(l.A, l.B, p)
			ml := float64(j%3) * l.length
			wantPos, wantNeg := c > ml, c < -ml
			wantSlack = min(wantSlack, (math.Abs(c)-ml)/l.length)
			if (pos>>j&1 == 1) != wantPos || (neg>>j&1 == 1) != wantNeg {
				t.Fatalf("%v line %d: c = %g, margin %g: bits %v %v", p, j, c, ml, pos>>j&1, neg>>j&1)
			}
		}
		if math.Abs(slack-wantSlack) > 1e-6 || slack > wantSlack {
			t.Fatalf("%v: slack %g, want %g", p, slack, wantSlack)
		}
	}
	if ls.lane(50) != 1<<10 || ls.lane(3) != 0 || ls.all != 1<<11-1 {
		t.Errorf("lane(50) %b, lane(3) %b, all %b", ls.lane(50), ls.lane(3), ls.all)
	}
}
