package mux

import (
	"fmt"
	"math"
)

// Fixed-point weights as OpenCV's INTER_LINEAR uses them
// (INTER_RESIZE_COEF_BITS = 11): a horizontal pass gives values scaled by
// 2^11, the vertical pass by 2^22, rounded back to 8 bits.
const (
	coefBits  = 11
	coefScale = 1 << coefBits
)

// Resizer resamples 8-bit interleaved images (RGB or RGBA) of one size to
// another with separable bilinear interpolation on pixel centres: output
// pixel x samples input position (x + 0.5)·sw/dw − 0.5, clamped to the
// image, which is OpenCV's cv::resize INTER_LINEAR convention (the same
// weights in 11-bit fixed point), so results match it within one level.
// The horizontal pass runs once per input row that is needed and is kept
// for the next output row, so a downscale costs one horizontal pass per
// used input row and one vertical blend per output row. The inner loops are
// plain integer slices with precomputed offsets, which the compiler keeps
// bounds-check-light. A Resizer is reused for every frame of one geometry
// and allocates nothing after NewResizer.
type Resizer struct {
	sw, sh, dw, dh, ch int
	xofs               []int32 // byte offset of the left tap per output pixel
	xa                 []int32 // weight of the left tap per output pixel
	yofs               []int32
	ya                 []int32
	rows               [2][]int32 // horizontal pass of two input rows
	rowY               [2]int     // which input row each holds (−1: none)
	vfirst             bool       // blend rows first (fewer horizontal passes)
	vrow               []int32    // vertical-first: the blended input row

	// Vector horizontal pass (hvecAvailable): output values [0, hvec) in
	// blocks of 16, each gathered from one 64-byte window of the input row
	// by a byte permute and blended by a pairwise multiply-add; the values
	// from hvec on take the scalar per-value loop.
	hvec  int
	hbase []int32 // per block: byte offset of its window in the row
	hout  []int32 // per block: index of its first output value
	hidx  []uint8 // per block: 64 permute indices, (left, right) tap per value, then unused
	hw    []int16 // per block: 32 weights, (left, right) per value
	vleft []int32 // per output value: byte offset of its left tap (the other is +ch)
	vwa   []int32 // per output value: weight of its left tap
}

// NewResizer prepares resampling from sw×sh to dw×dh with ch channels of
// one byte each.
func NewResizer(sw, sh, dw, dh, ch int) (*Resizer, error) {
	if sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0 {
		return nil, fmt.Errorf("mux: resize %dx%d to %dx%d: sizes must be positive", sw, sh, dw, dh)
	}
	if ch < 1 || ch > 4 {
		return nil, fmt.Errorf("mux: resize of %d channels: want 1 to 4", ch)
	}
	r := &Resizer{sw: sw, sh: sh, dw: dw, dh: dh, ch: ch}
	xi, xa := taps(sw, dw)
	r.xofs = make([]int32, dw)
	r.xa = xa
	for x := range xi {
		r.xofs[x] = xi[x] * int32(ch)
	}
	r.yofs, r.ya = taps(sh, dh)
	for i := range r.rows {
		r.rows[i] = make([]int32, dw*ch)
		r.rowY[i] = -1
	}
	r.prepVec()
	// The scalar horizontal passes cost about four times what a vector
	// loop costs per value (the vertical blends; the horizontal pass too
	// where hvecAvailable): blend rows first when that means fewer
	// horizontal passes (downscaling in y), i.e. when dh·(sw/4 + dw) <
	// used·dw·hc + dh·dw/4 for the used input rows, hc the horizontal
	// pass's cost (1 scalar, 1/4 vector). The vertical-first order's
	// horizontal pass (on 2^11-scaled values) stays scalar.
	used := 0
	last := -1
	for y := 0; y < dh; y++ {
		for _, yy := range [2]int{int(r.yofs[y]), min(int(r.yofs[y])+1, sh-1)} {
			if yy > last {
				used++
				last = yy
			}
		}
	}
	hc := dw
	if r.hvec == dw*ch {
		hc = dw / 4
	}
	if dh*(sw/4+dw) < used*hc+dh*dw/4 && sw > 1 {
		r.vfirst = true
		r.vrow = make([]int32, sw*ch)
	}
	return r, nil
}

// taps returns, per output coordinate, the left/top input tap i (the
// other is i+1) and the left tap's weight in 2^11. A coordinate clamped to
// the last input pixel is expressed as tap i = n−2 with weight 0, so both
// taps are always inside the image and the loops need no edge test; an
// input of one pixel gives i = 0 and the second tap is clamped by the
// caller.
func taps(sn, dn int) ([]int32, []int32) {
	idx, w := make([]int32, dn), make([]int32, dn)
	scale := float64(sn) / float64(dn)
	for d := 0; d < dn; d++ {
		f := (float64(d)+0.5)*scale - 0.5
		s := int(math.Floor(f))
		f -= float64(s)
		if s < 0 {
			s, f = 0, 0
		}
		if s >= sn-1 {
			s, f = sn-1, 0
		}
		a := int32(math.Round((1 - f) * coefScale))
		if s == sn-1 && sn > 1 {
			s, a = sn-2, 0
		}
		idx[d], w[d] = int32(s), a
	}
	return idx, w
}

// Resize writes the resampled src (rows of spitch bytes) into dst (rows of
// dpitch bytes, starting at dst[0]). It panics on buffers too small for the
// geometry the Resizer was made for, which is a programming error.
func (r *Resizer) Resize(dst []byte, dpitch int, src []byte, spitch int) {
	n := r.dw * r.ch
	_ = dst[(r.dh-1)*dpitch+n-1]
	_ = src[(r.sh-1)*spitch+r.sw*r.ch-1]
	if r.vfirst {
		r.resizeVFirst(dst, dpitch, src, spitch)
		return
	}
	r.rowY = [2]int{-1, -1}
	for y := 0; y < r.dh; y++ {
		y0 := int(r.yofs[y])
		y1 := min(y0+1, r.sh-1)
		h0 := r.hrow(src, spitch, y0)
		h1 := r.hrow(src, spitch, y1)
		b0 := r.ya[y]
		vblend(dst[y*dpitch:y*dpitch+n], h0, h1, b0, coefScale-b0)
	}
}

// vblendScalar is the vertical pass: out = (b0·h0 + b1·h1) / 2^22, rounded.
func vblendScalar(out []byte, h0, h1 []int32, b0, b1 int32) {
	h0, h1 = h0[:len(out)], h1[:len(out)]
	for i := range out {
		out[i] = uint8((b0*h0[i] + b1*h1[i] + 1<<(2*coefBits-1)) >> (2 * coefBits))
	}
}

// hrow returns the horizontal pass of input row y, computing it into the
// buffer not holding the other needed row when it is not cached.
func (r *Resizer) hrow(src []byte, spitch, y int) []int32 {
	for i := range r.rowY {
		if r.rowY[i] == y {
			return r.rows[i]
		}
	}
	// Input rows are visited in increasing order: replace the older one.
	k := 0
	if r.rowY[1] < r.rowY[0] {
		k = 1
	}
	r.rowY[k] = y
	row := src[y*spitch : y*spitch+r.sw*r.ch]
	h := r.rows[k]
	if r.sw == 1 {
		for i := range h {
			h[i] = int32(row[i%r.ch]) * coefScale
		}
		return h
	}
	if r.hvec > 0 {
		hpassVec(h, row, r.hbase, r.hout, r.hidx, r.hw)
		hpassValues(h[r.hvec:], row, r.vleft[r.hvec:], r.vwa[r.hvec:], r.ch)
		return h
	}
	switch r.ch {
	case 3:
		hpass3(h, row, r.xofs, r.xa)
	case 4:
		hpass4(h, row, r.xofs, r.xa)
	default:
		hpassN(h, row, r.xofs, r.xa, r.ch)
	}
	return h
}

// prepVec builds the vector horizontal pass's tables: every output value
// v = dw·ch values (pixel x, channel c) has taps at byte xofs[x]+c and
// +ch. A block of 16 values is vectorised when all its taps lie in a
// 64-byte window inside the row (downscales up to about 3.5× in x); the
// first block that does not fit ends the vector part.
func (r *Resizer) prepVec() {
	n := r.dw * r.ch
	r.vleft, r.vwa = make([]int32, n), make([]int32, n)
	for i := range n {
		x := i / r.ch
		r.vleft[i] = r.xofs[x] + int32(i%r.ch)
		r.vwa[i] = r.xa[x]
	}
	if !hvecAvailable || r.sw == 1 {
		return
	}
	rowLen := int32(r.sw * r.ch)
	if rowLen < 64 || n < 16 {
		return
	}
	// Blocks start every 16 values; when n is not a multiple of 16 the last
	// block overlaps the one before it (the values it recomputes are the
	// same), so the vector part can reach the end of the row.
	for b := 0; b < n; b += 16 {
		b = min(b, n-16)
		lo, hi := r.vleft[b], r.vleft[b]
		for _, l := range r.vleft[b : b+16] {
			lo, hi = min(lo, l), max(hi, l)
		}
		lo = min(lo, rowLen-64) // the window stays inside the row
		if hi+int32(r.ch)-lo >= 64 {
			break
		}
		r.hbase = append(r.hbase, lo)
		r.hout = append(r.hout, int32(b))
		var idx [64]uint8
		var w [32]int16
		for j := range 16 {
			idx[2*j] = uint8(r.vleft[b+j] - lo)
			idx[2*j+1] = uint8(r.vleft[b+j] + int32(r.ch) - lo)
			w[2*j], w[2*j+1] = int16(r.vwa[b+j]), int16(coefScale-r.vwa[b+j])
		}
		r.hidx = append(r.hidx, idx[:]...)
		r.hw = append(r.hw, w[:]...)
		r.hvec = b + 16
	}
}

// hpassValues is the horizontal pass per output value, for the values the
// vector pass leaves.
func hpassValues(h []int32, row []byte, left, wa []int32, ch int) {
	h, wa = h[:len(left)], wa[:len(left)]
	for i, l := range left {
		a := wa[i]
		h[i] = int32(row[l])*a + int32(row[int(l)+ch])*(coefScale-a)
	}
}

func hpass3(h []int32, row []byte, xofs, xa []int32) {
	for x, o := range xofs {
		p := row[o : o+6 : o+6]
		q := h[3*x : 3*x+3 : 3*x+3]
		a := xa[x]
		b := coefScale - a
		q[0] = int32(p[0])*a + int32(p[3])*b
		q[1] = int32(p[1])*a + int32(p[4])*b
		q[2] = int32(p[2])*a + int32(p[5])*b
	}
}

func hpass4(h []int32, row []byte, xofs, xa []int32) {
	for x, o := range xofs {
		p := row[o : o+8 : o+8]
		q := h[4*x : 4*x+4 : 4*x+4]
		a := xa[x]
		b := coefScale - a
		q[0] = int32(p[0])*a + int32(p[4])*b
		q[1] = int32(p[1])*a + int32(p[5])*b
		q[2] = int32(p[2])*a + int32(p[6])*b
		q[3] = int32(p[3])*a + int32(p[7])*b
	}
}

func hpassN(h []int32, row []byte, xofs, xa []int32, ch int) {
	for x, o := range xofs {
		a := xa[x]
		b := coefScale - a
		for c := 0; c < ch; c++ {
			h[x*ch+c] = int32(row[int(o)+c])*a + int32(row[int(o)+ch+c])*b
		}
	}
}

// resizeVFirst blends the two input rows of each output row first (at
// input width), then resamples the blended row horizontally straight into
// the output: the same products as the other order, rounded once.
func (r *Resizer) resizeVFirst(dst []byte, dpitch int, src []byte, spitch int) {
	n := r.sw * r.ch
	for y := 0; y < r.dh; y++ {
		y0 := int(r.yofs[y])
		y1 := min(y0+1, r.sh-1)
		b0 := r.ya[y]
		vblendRows(r.vrow, src[y0*spitch:y0*spitch+n], src[y1*spitch:y1*spitch+n], b0, coefScale-b0)
		out := dst[y*dpitch : y*dpitch+r.dw*r.ch]
		switch r.ch {
		case 3:
			hpassOut3(out, r.vrow, r.xofs, r.xa)
		default:
			hpassOutN(out, r.vrow, r.xofs, r.xa, r.ch)
		}
	}
}

// vblendRowsScalar is v = b0·s0 + b1·s1 per byte, scaled by 2^11.
func vblendRowsScalar(v []int32, s0, s1 []byte, b0, b1 int32) {
	s0, s1 = s0[:len(v)], s1[:len(v)]
	for i := range v {
		v[i] = b0*int32(s0[i]) + b1*int32(s1[i])
	}
}

const roundOut = 1 << (2*coefBits - 1)

func hpassOut3(out []byte, v []int32, xofs, xa []int32) {
	for x, o := range xofs {
		p := v[o : o+6 : o+6]
		q := out[3*x : 3*x+3 : 3*x+3]
		a := xa[x]
		b := coefScale - a
		q[0] = uint8((p[0]*a + p[3]*b + roundOut) >> (2 * coefBits))
		q[1] = uint8((p[1]*a + p[4]*b + roundOut) >> (2 * coefBits))
		q[2] = uint8((p[2]*a + p[5]*b + roundOut) >> (2 * coefBits))
	}
}

func hpassOutN(out []byte, v []int32, xofs, xa []int32, ch int) {
	for x, o := range xofs {
		a := xa[x]
		b := coefScale - a
		for c := 0; c < ch; c++ {
			out[x*ch+c] = uint8((v[int(o)+c]*a + v[int(o)+ch+c]*b + roundOut) >> (2 * coefBits))
		}
	}
}
