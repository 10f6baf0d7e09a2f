package infer

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
)

func init() { register("Conv", buildConv) }

// attrInts returns an ints attribute or def.
func attrInts(b *bctx, name string, def []int) []int {
	a := b.n.Attr(name)
	if a == nil {
		return def
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

func attrInt(b *bctx, name string, def int) int {
	if a := b.n.Attr(name); a != nil {
		return int(a.I)
	}
	return def
}

func attrFloat(b *bctx, name string, def float32) float32 {
	if a := b.n.Attr(name); a != nil {
		return a.F
	}
	return def
}

func attrString(b *bctx, name, def string) string {
	if a := b.n.Attr(name); a != nil {
		return a.S
	}
	return def
}

// poolGeom resolves kernel/stride/pad/dilation attributes shared by Conv
// and the pooling ops for a 2-D NCHW input; it returns pads
// (top, left, bottom, right) and the output size.
func poolGeom(b *bctx, H, W int, kernel []int) (s, d, pads []int, OH, OW int, err error) {
	s = attrInts(b, "strides", []int{1, 1})
	d = attrInts(b, "dilations", []int{1, 1})
	pads = attrInts(b, "pads", []int{0, 0, 0, 0})
	if len(kernel) != 2 || len(s) != 2 || len(d) != 2 || len(pads) != 4 {
		return nil, nil, nil, 0, 0, b.errf("only 2-D windows are supported (kernel %v, strides %v, dilations %v, pads %v)", kernel, s, d, pads)
	}
	for i := 0; i < 2; i++ {
		if kernel[i] <= 0 || s[i] <= 0 || d[i] <= 0 || pads[i] < 0 || pads[i+2] < 0 {
			return nil, nil, nil, 0, 0, b.errf("bad window: kernel %v strides %v dilations %v pads %v", kernel, s, d, pads)
		}
	}
	in := []int{H, W}
	switch ap := attrString(b, "auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
	case "VALID":
		pads = []int{0, 0, 0, 0}
	case "SAME_UPPER", "SAME_LOWER":
		for i := 0; i < 2; i++ {
			out := (in[i] + s[i] - 1) / s[i]
			total := max(0, (out-1)*s[i]+(kernel[i]-1)*d[i]+1-in[i])
			lo := total / 2
			if ap == "SAME_LOWER" {
				lo = total - total/2
			}
			pads[i], pads[i+2] = lo, total-lo
		}
	default:
		return nil, nil, nil, 0, 0, b.errf("unknown auto_pad %q", ap)
	}
	ceil := attrInt(b, "ceil_mode", 0) != 0
	outDim := func(i int) int {
		span := in[i] + pads[i] + pads[i+2] - (kernel[i]-1)*d[i] - 1
		if span < 0 {
			return 0
		}
		if ceil {
			o := (span+s[i]-1)/s[i] + 1
			if (o-1)*s[i] >= in[i]+pads[i] { // the last window must start inside
				o--
			}
			return o
		}
		return span/s[i] + 1
	}
	OH, OW = outDim(0), outDim(1)
	if OH <= 0 || OW <= 0 {
		return nil, nil, nil, 0, 0, b.errf("window %v larger than padded input %dx%d", kernel, H, W)
	}
	return s, d, pads, OH, OW, nil
}

type convKernel struct {
	kernels.ConvGeom
	x, y      *value
	bias      []float32 // M values, never nil
	act       kernels.Activation
	depthwise bool
	dwS2      bool // 3×3 stride 2 on plain padded rows (kernels.DwPlaneS2)
	dwSame    bool // 3×3 stride 1 pad 1, read in place (kernels.DwSamePlane)
	dsDesc    []kernels.DwVec
	dsZero    []float32 // a zero input row
	dw        []float32 // depthwise weights, M×KH×KW
	// the flat depthwise path (setupFlat): SH×SW phase planes of flatR
	// rows × flatCw columns, flatN outputs (a multiple of 16), flatIn
	// floats of input buffer, one offset per tap
	flatR, flatCw, flatN, flatIn int
	flatOffs                     []int
	packed                       [][]float32 // per group: packed M/G × K weights
	direct                       bool        // 1×1, stride 1, no pad: B is the input itself
	gemv                         []float32   // 1×1 on a single pixel: M×C weights, one dot product per output
	kg                           int         // K per group = C/G·KH·KW

	// the direct (no im2col) path for small-K stride-1 convolutions such
	// as a detector's stem: see runTiles
	tiles     bool
	tw        []float32 // per 16 output channels: K taps × 16 weights
	toffs     []int     // per tap: byte offset into the band buffer
	bandRows  int       // output rows per band
	bandW     int       // padded row length of the band buffer
	bandIn    int       // input rows per band (bandRows + KH − 1)
	bandBands int
	tspan     int // floats a tile reads past its start

	// per-call state read by do
	g  kernels.GEMM
	xn []float32
	yn []float32
	e  *engine
}

func buildConv(b *bctx) (kernel, error) {
	if len(b.in) < 2 || b.in[0] == nil || b.in[1] == nil {
		return nil, b.errf("needs X and W")
	}
	x, w := b.in[0], b.in[1]
	if !w.konst || w.isInt {
		return nil, b.errf("weights %q must be a float constant", w.name)
	}
	if len(x.shape) != 4 || len(w.shape) != 4 {
		return nil, b.errf("only 2-D convolution is supported: X %v, W %v", x.shape, w.shape)
	}
	k := &convKernel{x: x, y: b.out[0], act: b.n.act}
	g := &k.ConvGeom
	g.N, g.C, g.H, g.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	g.M = w.shape[0]
	g.G = attrInt(b, "group", 1)
	g.KH, g.KW = w.shape[2], w.shape[3]
	if ks := attrInts(b, "kernel_shape", nil); ks != nil && (len(ks) != 2 || ks[0] != g.KH || ks[1] != g.KW) {
		return nil, b.errf("kernel_shape %v disagrees with W %v", ks, w.shape)
	}
	if g.G <= 0 || g.C%g.G != 0 || g.M%g.G != 0 || w.shape[1] != g.C/g.G {
		return nil, b.errf("X %v, W %v and group %d do not fit (W dim 1 must be C/group)", x.shape, w.shape, g.G)
	}
	s, d, pads, OH, OW, err := poolGeom(b, g.H, g.W, []int{g.KH, g.KW})
	if err != nil {
		return nil, err
	}
	g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, g.OH, g.OW = s[0], s[1], d[0], d[1], pads[0], pads[1], OH, OW
	k.y.shape = []int{g.N, g.M, g.OH, g.OW}
	weights := w.data
	k.bias = make([]float32, g.M)
	if len(b.in) > 2 && b.in[2] != nil {
		bv := b.in[2]
		if !bv.konst || bv.isInt || bv.numel() != g.M {
			return nil, b.errf("bias %q must be a float constant of %d values, is %v", bv.name, g.M, bv.shape)
		}
		copy(k.bias, bv.data)
	}
	if bn := b.n.bn; bn != nil { // fold BatchNormalization: y = (conv−mean)·γ/√(var+ε) + β
		eps := float32(1e-5)
		if a := bn.Attr("epsilon"); a != nil {
			eps = a.F
		}
		p := make([][]float32, 4)
		for i, name := range bn.Inputs[1:5] {
			v := b.c.vals[name]
			if v.isInt || v.numel() != g.M {
				return nil, b.errf("BatchNormalization %s: %q has shape %v, want [%d]", bn.Label(), name, v.shape, g.M)
			}
			p[i] = v.data
		}
		scale, beta, mean, vr := p[0], p[1], p[2], p[3]
		weights = append([]float32(nil), weights...)
		per := len(weights) / g.M
		for m := 0; m < g.M; m++ {
			f := scale[m] / float32(math.Sqrt(float64(vr[m]+eps)))
			for i := m * per; i < (m+1)*per; i++ {
				weights[i] *= f
			}
			k.bias[m] = (k.bias[m]-mean[m])*f + beta[m]
		}
	}
	b.c.macs += int64(g.N) * int64(g.M) * int64(g.OH*g.OW) * int64(g.C/g.G*g.KH*g.KW)
	if g.G == g.C && g.M == g.C && g.KH*g.KW <= kernels.MaxTaps {
		k.depthwise = true
		if kernels.DwSameKernel() && g.SH == 1 && g.SW == 1 && g.KH == 3 && g.KW == 3 && g.DH == 1 && g.DW == 1 &&
			g.PT == 1 && g.PL == 1 && pads[2] == 1 && pads[3] == 1 && !k.act.Piecewise() {
			k.dwSame = true
			k.dsDesc = kernels.DwSameDesc(g.W)
			k.dsZero = make([]float32, g.W)
			k.dw = weights
			return k, nil
		}
		if kernels.DwS2Kernel() && g.SH == 2 && g.SW == 2 && g.KH == 3 && g.KW == 3 && g.DH == 1 && g.DW == 1 &&
			!k.act.Piecewise() {
			k.dwS2 = true
			padH, padW := k.dwPadded()
			b.c.scratch.perWorker = max(b.c.scratch.perWorker, padH*padW+48)
			k.dw = weights
			return k, nil
		}
		k.setupFlat()
		b.c.scratch.perWorker = max(b.c.scratch.perWorker, k.flatIn+k.flatN+2*k.flatCw)
		k.dw = weights
		return k, nil
	}
	if g.G == 1 && g.SH == 1 && g.SW == 1 && g.DH == 1 && g.DW == 1 && g.KH*g.KW > 1 &&
		g.M%16 == 0 && g.OW >= 16 && g.C*g.KH*g.KW <= kernels.KCBlock {
		k.setupTiles(weights, pads)
		b.c.scratch.perWorker = max(b.c.scratch.perWorker, g.C*k.bandIn*k.bandW)
		return k, nil
	}
	if g.G == 1 && g.KH == 1 && g.KW == 1 && g.H == 1 && g.W == 1 && g.OH == 1 && g.OW == 1 {
		// one pixel (squeeze-excite): M dot products of length C
		k.gemv = weights
		return k, nil
	}
	mg := g.M / g.G
	k.kg = g.C / g.G * g.KH * g.KW
	for gi := 0; gi < g.G; gi++ {
		k.packed = append(k.packed, kernels.PackA(weights[gi*mg*k.kg:(gi+1)*mg*k.kg], mg, k.kg))
	}
	k.direct = g.KH == 1 && g.KW == 1 && g.SH == 1 && g.SW == 1 && g.PT == 0 && g.PL == 0 && pads[2] == 0 && pads[3] == 0
	return k, nil
}

func (k *convKernel) String() string {
	return fmt.Sprintf("Conv %dx%d/%d g%d %v→%v %s", k.KH, k.KW, k.SH, k.G, k.x.shape, k.y.shape, k.act)
}

// kind names the kernel variant for profiles.
func (k *convKernel) kind() string {
	s := fmt.Sprintf("Conv %dx%d/%d", k.KH, k.KW, k.SH)
	switch {
	case k.depthwise:
		s += " depthwise"
	case k.gemv != nil:
		s += " gemv"
	case k.tiles:
		s += " direct"
	case k.direct:
		s += " gemm"
	default:
		s += " im2col+gemm"
	}
	if k.act != kernels.ActNone {
		s += "+" + k.act.String()
	}
	return s
}

func (k *convKernel) run(e *engine) {
	k.e = e
	inSz, outSz := k.C*k.H*k.W, k.M*k.OH*k.OW
	for n := 0; n < k.N; n++ {
		k.xn = k.x.data[n*inSz : (n+1)*inSz]
		k.yn = k.y.data[n*outSz : (n+1)*outSz]
		if k.depthwise {
			e.parallel(k, k.M*k.OH*k.OW >= 4096)
			continue
		}
		if k.tiles {
			e.parallel(k, true)
			continue
		}
		if k.gemv != nil {
			e.parallel(k, k.M*k.C >= 1<<16)
			continue
		}
		cg, mg, ohw := k.C/k.G, k.M/k.G, k.OH*k.OW
		for gi := 0; gi < k.G; gi++ {
			xg := k.xn[gi*cg*k.H*k.W : (gi+1)*cg*k.H*k.W]
			k.g = kernels.GEMM{M: mg, N: ohw, K: k.kg, A: k.packed[gi], C: k.yn[gi*mg*ohw : (gi+1)*mg*ohw], LDC: ohw,
				Bias: k.bias[gi*mg : (gi+1)*mg], Act: k.act}
			if k.direct {
				k.g.B, k.g.LDB = xg, ohw
			} else {
				k.g.Conv, k.g.X = &k.ConvGeom, xg
			}
			e.parallel(k, int64(mg)*int64(ohw)*int64(k.kg) >= 1<<16)
		}
	}
}

func (k *convKernel) do(w, part, parts int) {
	if k.depthwise {
		c0, c1 := split(k.C, 1, part, parts)
		for c := c0; c < c1; c++ {
			k.dwChannel(c, w)
		}
		return
	}
	if k.gemv != nil {
		m0, m1 := split(k.M, 16, part, parts)
		for m := m0; m < m1; m++ {
			k.yn[m] = kernels.Dot(k.gemv[m*k.C:(m+1)*k.C], k.xn) + k.bias[m]
		}
		kernels.ApplyAct(k.act, k.yn[m0:m1])
		return
	}
	if k.tiles {
		b0, b1 := split(k.bandBands, 1, part, parts)
		for bi := b0; bi < b1; bi++ {
			k.runTiles(bi, w)
		}
		return
	}
	j0, j1 := split(k.g.N, kernels.NR, part, parts)
	if j0 < j1 {
		k.g.Run(j0, j1, k.e.packB[w])
	}
}

// dwPadded is the size of a depthwise input plane with its zero padding:
// the rows and columns the output window reaches.
func (k *convKernel) dwPadded() (padH, padW int) {
	padH = (k.OH-1)*k.SH + (k.KH-1)*k.DH + 1
	padW = (k.OW-1)*k.SW + (k.KW-1)*k.DW + 1
	return padH, padW
}

// dwChannel convolves channel c. The two 3×3 assembly paths (AVX-512)
// come first: stride 1 with one pixel of padding reads the input in place
// (kernels.DwSamePlane), stride 2 from plain padded rows (dwChannelS2).
// Every other window, stride and dilation takes the flat path
// (dwChannelFlat).
func (k *convKernel) dwChannel(c, w int) {
	if k.dwS2 {
		k.dwChannelS2(c, w)
		return
	}
	if k.dwSame {
		kernels.DwSamePlane(k.yn[c*k.OH*k.OW:(c+1)*k.OH*k.OW], k.xn[c*k.H*k.W:(c+1)*k.H*k.W], k.H, k.W, k.dsZero, k.dsDesc,
			k.dw[c*9:c*9+9], k.bias[c], k.act)
		return
	}
	k.dwChannelFlat(c, w)
}

// setupFlat lays out the flat depthwise path, which serves every window,
// stride and dilation: the padded input plane is split into SH×SW phase
// planes (plane (a,b) row r column j holds padded[SH·r+a][SW·j+b]), so
// that output (oy, ox) at flat index oy·flatCw+ox reads, for tap
// (ky, kx), the phase plane of (ky·DH mod SH, kx·DW mod SW) at the same
// flat index plus a constant offset. The whole plane is then one 1-D
// stencil (kernels.DwFlat) with no per-row edges; the flatCw−OW columns
// of each row it also computes are dropped when the rows are copied out.
func (k *convKernel) setupFlat() {
	padH, padW := k.dwPadded()
	k.flatR = (padH + k.SH - 1) / k.SH
	k.flatCw = (padW + k.SW - 1) / k.SW
	k.flatN = (k.OH*k.flatCw + 15) &^ 15
	k.flatOffs = make([]int, k.KH*k.KW)
	maxOff := 0
	for ky := 0; ky < k.KH; ky++ {
		for kx := 0; kx < k.KW; kx++ {
			ry, rx := ky*k.DH, kx*k.DW
			plane := (ry%k.SH)*k.SW + rx%k.SW
			o := (plane*k.flatR+ry/k.SH)*k.flatCw + rx/k.SW
			k.flatOffs[ky*k.KW+kx] = o
			maxOff = max(maxOff, o)
		}
	}
	k.flatIn = max(k.SH*k.SW*k.flatR*k.flatCw, maxOff+k.flatN)
}

// dwChannelFlat convolves channel c on the flat path (setupFlat). The
// padding and the columns no output reads stay zero from ownedScratch;
// only the input rows are written.
func (k *convKernel) dwChannelFlat(c, w int) {
	in := k.xn[c*k.H*k.W : (c+1)*k.H*k.W]
	R, Cw, SH, SW := k.flatR, k.flatCw, k.SH, k.SW
	buf := k.e.ownedScratch(w, k.flatIn+k.flatN+2*Cw, k)
	planes := buf[:k.flatIn]
	out := buf[k.flatIn : k.flatIn+k.flatN]
	tmp := buf[k.flatIn+k.flatN:] // SW = 2: one zero-padded input row
	// phase b, column j is padded column SW·j+b = input column
	// SW·j+b−PL, inside [0, W) for j in [lo[b], hi[b])
	var lo, hi [4]int
	if SW > 1 && SW <= 4 {
		for b := 0; b < SW; b++ {
			lo[b] = min(Cw, max(0, (k.PL-b+SW-1)/SW))
			hi[b] = max(lo[b], min(Cw, (k.W-1-b+k.PL)/SW+1))
		}
	}
	iy1 := min(k.H, R*SH-k.PT)
	for iy := max(0, -k.PT); iy < iy1; iy++ {
		py := iy + k.PT
		a, r := 0, py
		if SH > 1 {
			a, r = py%SH, py/SH
		}
		src := in[iy*k.W : (iy+1)*k.W]
		if SW == 1 {
			row := planes[(a*R+r)*Cw:][:Cw]
			if k.PL < Cw {
				copy(row[k.PL:], src)
			}
			continue
		}
		if SW == 2 && k.PL < 2*Cw {
			// the padding around the row in tmp stays zero; the two
			// phases are its even and odd columns
			copy(tmp[k.PL:2*Cw], src)
			kernels.Deinterleave2(planes[(a*2*R+r)*Cw:][:Cw], planes[((a*2+1)*R+r)*Cw:][:Cw], tmp[:2*Cw])
			continue
		}
		for b := 0; b < SW; b++ {
			ph := planes[((a*SW+b)*R+r)*Cw:][:Cw]
			l, h := 0, 0
			if SW <= 4 {
				l, h = lo[b], hi[b]
			} else {
				l = min(Cw, max(0, (k.PL-b+SW-1)/SW))
				h = max(l, min(Cw, (k.W-1-b+k.PL)/SW+1))
			}
			x := src[l*SW+b-k.PL:]
			for j := l; j < h; j++ {
				ph[j] = x[(j-l)*SW]
			}
		}
	}
	kernels.DwFlat(out, planes, k.flatOffs, k.dw[c*k.KH*k.KW:(c+1)*k.KH*k.KW], k.bias[c])
	kernels.ApplyAct(k.act, out)
	dst := k.yn[c*k.OH*k.OW : (c+1)*k.OH*k.OW]
	for oy := 0; oy < k.OH; oy++ {
		copy(dst[oy*k.OW:(oy+1)*k.OW], out[oy*Cw:oy*Cw+k.OW])
	}
}

// dwChannelS2 is dwChannel for kernels.DwPlaneS2: the channel is copied into
// plain zero-padded rows (no phase split; the kernel separates even and
// odd columns in registers).
func (k *convKernel) dwChannelS2(c, w int) {
	in := k.xn[c*k.H*k.W : (c+1)*k.H*k.W]
	padH, padW := k.dwPadded()
	buf := k.e.workerScratch(w, padH*padW+48)
	for py := 0; py < padH; py++ {
		row := buf[py*padW : (py+1)*padW]
		iy := py - k.PT
		if iy < 0 || iy >= k.H {
			clear(row)
			continue
		}
		lo := min(k.PL, padW)
		clear(row[:lo])
		n := copy(row[lo:], in[iy*k.W:(iy+1)*k.W])
		clear(row[lo+n:])
	}
	kernels.DwPlaneS2(k.yn[c*k.OH*k.OW:(c+1)*k.OH*k.OW], k.OH, k.OW, buf, padW, k.dw[c*9:c*9+9], k.bias[c], k.act)
}

// setupTiles prepares the direct path (kernels.ConvTile16): the input is copied
// band by band (bandRows output rows) into a zero-padded buffer holding
// all C channels' rows for the band, and every 16 output channels × 16
// pixels are one register tile summing over the K = C·KH·KW taps in the
// im2col order, so the result is the same FMA chain as im2col + GEMM
// without writing the K×N im2col matrix (the stem's im2col was half of
// its time).
func (k *convKernel) setupTiles(weights []float32, pads []int) {
	k.tiles = true
	taps := k.C * k.KH * k.KW
	k.tw = make([]float32, k.M*taps)
	for mb := 0; mb < k.M/16; mb++ {
		for t := 0; t < taps; t++ {
			for j := 0; j < 16; j++ {
				k.tw[(mb*taps+t)*16+j] = weights[(mb*16+j)*taps+t]
			}
		}
	}
	k.bandRows = min(8, k.OH)
	k.bandIn = k.bandRows + k.KH - 1
	k.bandW = k.PL + k.W + pads[3]
	k.bandBands = (k.OH + k.bandRows - 1) / k.bandRows
	k.toffs = make([]int, taps)
	for c := 0; c < k.C; c++ {
		for ky := 0; ky < k.KH; ky++ {
			for kx := 0; kx < k.KW; kx++ {
				k.toffs[(c*k.KH+ky)*k.KW+kx] = ((c*k.bandIn+ky)*k.bandW + kx) * 4
			}
		}
	}
	k.tspan = k.toffs[taps-1]/4 + 16
}

// runTiles computes output rows bi·bandRows… of every channel. A row's
// last tile starts at OW−16 (overlapping the previous one, which computes
// the same values) instead of storing a partial vector.
func (k *convKernel) runTiles(bi, w int) {
	oy0 := bi * k.bandRows
	oy1 := min(k.OH, oy0+k.bandRows)
	rows := oy1 - oy0 + k.KH - 1
	bw := k.bandW
	buf := k.e.workerScratch(w, k.C*k.bandIn*bw)
	for c := 0; c < k.C; c++ {
		plane := k.xn[c*k.H*k.W : (c+1)*k.H*k.W]
		for r := 0; r < rows; r++ {
			row := buf[(c*k.bandIn+r)*bw : (c*k.bandIn+r+1)*bw]
			iy := oy0 - k.PT + r
			if iy < 0 || iy >= k.H {
				clear(row)
				continue
			}
			clear(row[:k.PL])
			copy(row[k.PL:k.PL+k.W], plane[iy*k.W:(iy+1)*k.W])
			clear(row[k.PL+k.W:])
		}
	}
	taps := len(k.toffs)
	ohw := k.OH * k.OW
	last := k.OW - 16
	for oy := oy0; oy < oy1; oy++ {
		for mb := 0; mb < k.M/16; mb++ {
			wt := k.tw[mb*taps*16 : (mb+1)*taps*16]
			bias := k.bias[mb*16 : mb*16+16]
			out := k.yn[mb*16*ohw+oy*k.OW:]
			for ox := 0; ox < k.OW; ox += 16 {
				ox = min(ox, last)
				kernels.ConvTile16(wt, buf[(oy-oy0)*bw+ox:], k.toffs, k.tspan, out[ox:], ohw, bias, k.act)
			}
		}
	}
}
