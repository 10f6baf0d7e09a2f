package infer

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func init() { register("ConvTranspose", buildConvTranspose) }

// convTKernel is a 1-D or 2-D ConvTranspose (NCHW; a 1-D one runs as H = 1)
// computed as GEMM + col2im: for each group, col = Wᵀ·X with Wᵀ the
// [M/G·KH·KW, C/G] transposed weights (packed once) and X the group's
// [C/G, H·W] input, then every col element (co, ky, kx | iy, ix) is added
// to y[co][iy·SH − PT + ky·DH][ix·SW − PL + kx·DW] when that lies inside
// the output. Work is split by output channels, so parts never write the
// same output plane and need no locks; each part walks its channels in
// row tiles and the input pixels in column tiles, with the col tile in the
// worker's scratch (the full col matrix is never materialized).
type convTKernel struct {
	N, C, H, W     int
	M, OH, OW      int
	KH, KW, SH, SW int
	PT, PL, DH, DW int
	G              int
	x, y, w, bv    *value             // bv: run-time bias, else nil
	bias           []float32          // M values (zeros when absent)
	packed         [][]float32        // per group: Wᵀ packed in mr-row panels
	kk             int                // KH·KW
	chunk          int                // output channels per unit of work (chunk·kk is a multiple of mr)
	tileCh         int                // output channels per row tile
	act            kernels.Activation // fused activation, applied to finished planes

	// per-call state read by do
	xn, yn []float32
	gi     int
	e      *engine
}

// convT tiles: at most tileRows GEMM rows × tileCols input pixels of col
// per worker.
const (
	tileRows = 256
	tileCols = kernels.NCBlock
)

func buildConvTranspose(b *bctx) (kernel, error) {
	if len(b.in) < 2 || b.in[0] == nil || b.in[1] == nil {
		return nil, b.errf("needs X and W")
	}
	x, w := b.in[0], b.in[1]
	if w.isInt || x.isInt {
		return nil, b.errf("integer inputs are not supported")
	}
	rank := len(x.shape)
	if (rank != 3 && rank != 4) || len(w.shape) != rank {
		return nil, b.errf("only 1-D and 2-D ConvTranspose are supported: X %v, W %v", x.shape, w.shape)
	}
	sp := rank - 2
	// lift a 1-D case to 2-D with a leading spatial dim of 1
	lift := func(v []int, one int) []int {
		if v == nil || sp == 2 {
			return v
		}
		return append([]int{one}, v...)
	}
	liftPads := func(v []int) []int {
		if v == nil || sp == 2 {
			return v
		}
		return []int{0, v[0], 0, v[1]}
	}
	xs, ws := lift(x.shape[2:], 1), lift(w.shape[2:], 1)
	k := &convTKernel{x: x, y: b.out[0], w: w}
	k.N, k.C, k.H, k.W = x.shape[0], x.shape[1], xs[0], xs[1]
	k.G = attrInt(b, "group", 1)
	if k.G <= 0 || k.C%k.G != 0 || w.shape[0] != k.C {
		return nil, b.errf("X %v, W %v and group %d do not fit (W dim 0 must be C)", x.shape, w.shape, k.G)
	}
	k.M = w.shape[1] * k.G
	k.KH, k.KW = ws[0], ws[1]
	if ks := lift(attrInts(b, "kernel_shape", nil), 1); ks != nil && (len(ks) != 2 || ks[0] != k.KH || ks[1] != k.KW) {
		return nil, b.errf("kernel_shape %v disagrees with W %v", attrInts(b, "kernel_shape", nil), w.shape)
	}
	s := lift(attrInts(b, "strides", nil), 1)
	if s == nil {
		s = []int{1, 1}
	}
	d := lift(attrInts(b, "dilations", nil), 1)
	if d == nil {
		d = []int{1, 1}
	}
	op := lift(attrInts(b, "output_padding", nil), 0)
	if op == nil {
		op = []int{0, 0}
	}
	pads := liftPads(attrInts(b, "pads", nil))
	if pads == nil {
		pads = []int{0, 0, 0, 0}
	}
	if len(s) != 2 || len(d) != 2 || len(op) != 2 || len(pads) != 4 {
		return nil, b.errf("attributes of the wrong length for %d-D: strides %v dilations %v output_padding %v pads %v",
			sp, attrInts(b, "strides", nil), attrInts(b, "dilations", nil), attrInts(b, "output_padding", nil), attrInts(b, "pads", nil))
	}
	for i := 0; i < 2; i++ {
		if s[i] <= 0 || d[i] <= 0 || op[i] < 0 || pads[i] < 0 || pads[i+2] < 0 {
			return nil, b.errf("bad attributes: strides %v dilations %v output_padding %v pads %v", s, d, op, pads)
		}
		if op[i] >= s[i] && op[i] >= d[i] {
			return nil, b.errf("output_padding %v must be smaller than the stride or the dilation", op)
		}
	}
	in := []int{k.H, k.W}
	kern := []int{k.KH, k.KW}
	full := func(i int) int { return s[i]*(in[i]-1) + op[i] + (kern[i]-1)*d[i] + 1 }
	outShape := lift(attrInts(b, "output_shape", nil), 1)
	autoPad := attrString(b, "auto_pad", "NOTSET")
	if outShape == nil && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
		outShape = []int{in[0] * s[0], in[1] * s[1]}
	}
	switch {
	case outShape != nil:
		if len(outShape) != 2 {
			return nil, b.errf("output_shape %v does not match a %d-D input", attrInts(b, "output_shape", nil), sp)
		}
		// ONNX: total padding = full size − output_shape, split with the
		// extra pixel at the end for SAME_UPPER, at the start otherwise
		// (floor halves, as the reference implementation's Python). A
		// negative total grows the output with zeros: negative pads.
		for i := 0; i < 2; i++ {
			if outShape[i] <= 0 {
				return nil, b.errf("output_shape %v must be positive", outShape)
			}
			total := full(i) - outShape[i]
			half := floorDiv(total, 2)
			if autoPad == "SAME_UPPER" {
				pads[i], pads[i+2] = half, total-half
			} else {
				pads[i], pads[i+2] = total-half, half
			}
		}
	case autoPad == "VALID":
		pads = []int{0, 0, 0, 0}
	case autoPad == "NOTSET" || autoPad == "":
	default:
		return nil, b.errf("unknown auto_pad %q", autoPad)
	}
	k.SH, k.SW, k.DH, k.DW, k.PT, k.PL = s[0], s[1], d[0], d[1], pads[0], pads[1]
	k.OH, k.OW = full(0)-pads[0]-pads[2], full(1)-pads[1]-pads[3]
	if k.OH <= 0 || k.OW <= 0 {
		return nil, b.errf("pads %v leave no output", pads)
	}
	if sp == 2 {
		k.y.shape = []int{k.N, k.M, k.OH, k.OW}
	} else {
		k.y.shape = []int{k.N, k.M, k.OW}
	}
	k.bias = make([]float32, k.M)
	if len(b.in) > 2 && b.in[2] != nil {
		bv := b.in[2]
		if bv.isInt || bv.numel() != k.M {
			return nil, b.errf("bias %q must be float with %d values, is %v", bv.name, k.M, bv.shape)
		}
		if bv.konst {
			copy(k.bias, bv.data)
		} else {
			k.bv = bv
		}
	}
	cg, mg := k.C/k.G, k.M/k.G
	if bn := b.n.bn; bn != nil {
		if err := k.foldBN(b, bn); err != nil {
			return nil, err
		}
	}
	k.act = b.n.act
	k.kk = k.KH * k.KW
	rows := mg * k.kk
	panels := (rows + kernels.MR - 1) / kernels.MR
	for gi := 0; gi < k.G; gi++ {
		k.packed = append(k.packed, make([]float32, panels*cg*kernels.MR))
	}
	if w.konst {
		k.pack()
	}
	k.chunk = kernels.MR / gcdInt(k.kk, kernels.MR)
	k.tileCh = max(k.chunk, tileRows/k.kk/k.chunk*k.chunk)
	b.c.scratch.perWorker = max(b.c.scratch.perWorker, k.tileCh*k.kk*tileCols+kernels.MR*tileCols)
	b.c.macs += int64(k.N) * int64(k.C) * int64(k.H*k.W) * int64(mg*k.kk)
	return k, nil
}

// foldBN folds an inference BatchNormalization into constant weights and
// bias: output channel m is scaled by f = γ/√(var+ε) and shifted to
// (bias−mean)·f + β. W is [C, M/G, KH, KW], so channel m = g·M/G + co
// owns W[ci][co] for the input channels ci of group g.
func (k *convTKernel) foldBN(b *bctx, bn *onnx.Node) error {
	if !k.w.konst || k.bv != nil {
		return b.errf("BatchNormalization %s: weights and bias must be constant to fold", bn.Label())
	}
	eps := float32(1e-5)
	if a := bn.Attr("epsilon"); a != nil {
		eps = a.F
	}
	var p [4][]float32
	for i, name := range bn.Inputs[1:5] {
		v := b.c.vals[name]
		if v.isInt || v.numel() != k.M {
			return b.errf("BatchNormalization %s: %q has shape %v, want [%d]", bn.Label(), name, v.shape, k.M)
		}
		p[i] = v.data
	}
	f := make([]float32, k.M)
	for m := range f {
		f[m] = p[0][m] / float32(math.Sqrt(float64(p[3][m]+eps)))
		k.bias[m] = (k.bias[m]-p[2][m])*f[m] + p[1][m]
	}
	cg, mg, kk := k.C/k.G, k.M/k.G, k.KH*k.KW
	w := append([]float32(nil), k.w.data...)
	for ci := 0; ci < k.C; ci++ {
		g := ci / cg
		for co := 0; co < mg; co++ {
			s := f[g*mg+co]
			row := w[(ci*mg+co)*kk : (ci*mg+co+1)*kk]
			for i := range row {
				row[i] *= s
			}
		}
	}
	k.w = &value{name: k.w.name, shape: k.w.shape, konst: true, producer: -1, lastUse: -1, buf: -1, data: w}
	return nil
}

// pack writes Wᵀ of every group — row (co, ky, kx), column ci, W being
// [C, M/G, KH, KW] — into mr-row panels as kernels.PackA lays them out:
// a[(p·K + ci)·mr + r] = Wᵀ[p·mr + r][ci]. Run-time weights are repacked
// on every run into the same buffers.
func (k *convTKernel) pack() {
	cg, rows := k.C/k.G, k.M/k.G*k.KH*k.KW
	for gi := 0; gi < k.G; gi++ {
		a := k.packed[gi]
		for ci := 0; ci < cg; ci++ {
			src := k.w.data[(gi*cg+ci)*rows : (gi*cg+ci+1)*rows]
			for row, v := range src {
				p, r := row/kernels.MR, row%kernels.MR
				a[(p*cg+ci)*kernels.MR+r] = v
			}
		}
	}
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func gcdInt(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (k *convTKernel) run(e *engine) {
	k.e = e
	if !k.w.konst {
		k.pack()
	}
	if k.bv != nil {
		copy(k.bias, k.bv.data)
	}
	inSz, outSz := k.C*k.H*k.W, k.M*k.OH*k.OW
	mg := k.M / k.G
	for n := 0; n < k.N; n++ {
		k.xn = k.x.data[n*inSz : (n+1)*inSz]
		k.yn = k.y.data[n*outSz : (n+1)*outSz]
		for k.gi = 0; k.gi < k.G; k.gi++ {
			e.parallel(k, int64(mg)*int64(k.kk)*int64(k.H*k.W)*int64(k.C/k.G) >= 1<<16)
		}
	}
}

// do computes the output channels of chunks split(part) of group gi.
func (k *convTKernel) do(w, part, parts int) {
	cg, mg := k.C/k.G, k.M/k.G
	c0, c1 := split(mg, k.chunk, part, parts)
	if c0 >= c1 {
		return
	}
	hw, ohw := k.H*k.W, k.OH*k.OW
	xg := k.xn[k.gi*cg*hw : (k.gi+1)*cg*hw]
	for co := c0; co < c1; co++ { // start from the bias
		m := k.gi*mg + co
		plane := k.yn[m*ohw : (m+1)*ohw]
		bv := k.bias[m]
		for i := range plane {
			plane[i] = bv
		}
	}
	scratch := k.e.workerScratch(w, k.tileCh*k.kk*tileCols+kernels.MR*tileCols)
	for t0 := c0; t0 < c1; t0 += k.tileCh {
		t1 := min(t0+k.tileCh, c1)
		r0, rows := t0*k.kk, (t1-t0)*k.kk
		for j0 := 0; j0 < hw; j0 += tileCols {
			nc := min(tileCols, hw-j0)
			tile := scratch[:rows*nc]
			g := kernels.GEMM{M: rows, N: nc, K: cg, A: k.packed[k.gi][r0/kernels.MR*cg*kernels.MR:], B: xg[j0:], LDB: hw, C: tile, LDC: nc}
			g.Run(0, nc, k.e.packB[w])
			k.col2im(tile, t0, t1, j0, nc)
		}
		if k.act != kernels.ActNone { // planes t0..t1 are complete
			m0 := k.gi*mg + t0
			kernels.ApplyAct(k.act, k.yn[m0*ohw:(m0+t1-t0)*ohw])
		}
	}
}

// col2im adds the col tile (rows: channels t0..t1 × kernel taps; columns:
// input pixels j0..j0+nc) into the output planes of group gi.
func (k *convTKernel) col2im(tile []float32, t0, t1, j0, nc int) {
	ohw := k.OH * k.OW
	mg := k.M / k.G
	for co := t0; co < t1; co++ {
		plane := k.yn[(k.gi*mg+co)*ohw : (k.gi*mg+co+1)*ohw]
		for ky := 0; ky < k.KH; ky++ {
			for kx := 0; kx < k.KW; kx++ {
				r := (co-t0)*k.kk + ky*k.KW + kx
				src := tile[r*nc : (r+1)*nc]
				iy, ix := j0/k.W, j0%k.W
				for j := 0; j < nc; {
					seg := min(nc-j, k.W-ix)
					oy := iy*k.SH - k.PT + ky*k.DH
					if oy >= 0 && oy < k.OH {
						row := plane[oy*k.OW : (oy+1)*k.OW]
						ox := ix*k.SW - k.PL + kx*k.DW
						// the run's pixels land at ox, ox+SW, …; clip to [0, OW)
						lo := 0
						if ox < 0 {
							lo = (-ox + k.SW - 1) / k.SW
						}
						hi := 0
						if room := k.OW - ox; room > 0 {
							hi = min(seg, (room+k.SW-1)/k.SW)
						}
						s := src[j : j+seg]
						if k.SW == 1 && lo < hi {
							dst := row[ox+lo : ox+hi]
							for i, v := range s[lo:hi] {
								dst[i] += v
							}
						} else {
							for i := lo; i < hi; i++ {
								row[ox+i*k.SW] += s[i]
							}
						}
					}
					j += seg
					ix = 0
					iy++
				}
			}
		}
	}
}
