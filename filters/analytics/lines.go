package analytics

import "math"

var posInf = math.Inf(1)

// lineSet is a stream's line rules, flat, for the per-object side test:
// the common case of a frame, every track on the same side of every line
// as before, is one pass over this array per object. Line j of the set is
// bit j of a track's line state.
type lineSet struct {
	lines []lineTest
	rule  []int32 // rule index of line j
	all   uint64  // bits of the set's lines
	scale float64 // the largest |coordinate| of the lines' points
}

// lineTest is a line's A, B − A, ± margin × length and 1 / length.
type lineTest struct {
	ax, ay, dx, dy, ml, nml, inv float64
}

func (ls *lineSet) add(l *Line, margin float64, rule int) {
	ml := margin * l.length
	ls.all |= 1 << len(ls.rule)
	ls.lines = append(ls.lines, lineTest{ax: l.A[0], ay: l.A[1], dx: l.dx, dy: l.dy, ml: ml, nml: -ml, inv: 1 / l.length})
	ls.rule = append(ls.rule, int32(rule))
	ls.scale = max(ls.scale, math.Abs(l.A[0]), math.Abs(l.A[1]), math.Abs(l.B[0]), math.Abs(l.B[1]))
}

// lane returns the set's bit of rule r.
func (ls *lineSet) lane(r int) uint64 {
	for j, k := range ls.rule {
		if int(k) == r {
			return 1 << j
		}
	}
	return 0
}

// sides returns the lines (bit j: line j of the set) that p is strictly on
// the positive side of beyond the margin, and those it is strictly on the
// negative side of: the sign of Line.Crossing's cross product, by the same
// operations. slack is how far p may move before it can come within the
// margin of any line (the smallest distance beyond the margin; ≤ 0 when it
// is within; less a bound of the rounding). A function without memory writes, so the loop runs in
// registers. (An AVX version, four lines at a time, executed fewer
// instructions but ran two to three times slower: the switches between its
// 256-bit VEX code and the compiler's SSE scalar code around it cost more
// than it saved.)
func (ls *lineSet) sides(p Pt) (pos, neg uint64, slack float64) {
	pos, neg, slack = sides(ls.lines, p)
	// Less a bound of the cross products' rounding, in distance: a few
	// ulps of the coordinates involved.
	return pos, neg, slack - 1e-9*(1+math.Abs(p[0])+math.Abs(p[1])+ls.scale)
}

func sides(lines []lineTest, p Pt) (pos, neg uint64, slack float64) {
	x, y := p[0], p[1]
	bit := uint64(1)
	slack = posInf
	for j := range lines {
		l := &lines[j]
		c := l.dx*(y-l.ay) - l.dy*(x-l.ax)
		if c > l.ml {
			pos |= bit
		} else if c < l.nml {
			neg |= bit
		}
		if d := (math.Abs(c) - l.ml) * l.inv; d < slack { // not min: its NaN and zero-sign rules cost
			slack = d
		}
		bit <<= 1
	}
	return pos, neg, slack
}
