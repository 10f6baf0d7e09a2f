package infer

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
)

func init() {
	register("MaxPool", func(b *bctx) (kernel, error) { return buildPool(b, false) })
	register("AveragePool", func(b *bctx) (kernel, error) { return buildPool(b, true) })
	register("GlobalAveragePool", buildGlobalAvg)
	register("Resize", buildResize)
	register("Upsample", buildResize)
	requireInputs(1, "MaxPool", "AveragePool", "GlobalAveragePool", "Resize", "Upsample")
}

// poolKernel is a 2-D max or average pool over NCHW.
type poolKernel struct {
	kernels.ConvGeom
	x, y         *value
	avg, inclPad bool
	padB, padR   int
	e            *engine
}

func buildPool(b *bctx, avg bool) (kernel, error) {
	x := b.in[0]
	if len(x.shape) != 4 {
		return nil, b.errf("only 2-D pooling on NCHW is supported, input %v", x.shape)
	}
	if len(b.out) > 1 && b.n.out[1] != "" {
		return nil, b.errf("the Indices output is not supported")
	}
	ks := attrInts(b, "kernel_shape", nil)
	k := &poolKernel{x: x, y: b.out[0], avg: avg, inclPad: attrInt(b, "count_include_pad", 0) != 0}
	g := &k.ConvGeom
	g.N, g.C, g.H, g.W = x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	s, d, pads, OH, OW, err := poolGeom(b, g.H, g.W, ks)
	if err != nil {
		return nil, err
	}
	g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PT, g.PL, g.OH, g.OW = ks[0], ks[1], s[0], s[1], d[0], d[1], pads[0], pads[1], OH, OW
	k.padB, k.padR = pads[2], pads[3]
	g.M = g.C
	k.y.shape = []int{g.N, g.C, OH, OW}
	if !avg {
		b.c.scratch.perWorker = max(b.c.scratch.perWorker, k.sepScratch(), k.unitScratch())
	}
	return k, nil
}

func (k *poolKernel) run(e *engine) {
	k.e = e
	e.parallel(k, k.N*k.C*k.OH*k.OW*k.KH*k.KW >= 1<<16)
}

// maxSeparable max-pools planes c0..c1 as a row pass (max over kx into
// tmp, H×OW) then a column pass (max over ky): KH+KW comparisons per
// output instead of KH·KW. Padding never wins a max, so windows are clipped.
func (k *poolKernel) maxSeparable(c0, c1 int, scratch []float32) {
	tmp := scratch[:k.H*k.OW]
	// stride 2: a row's even and odd elements, so that every tap is a
	// shifted contiguous run of one of them (ResNet's 3×3/2 stem pool)
	ev := scratch[k.H*k.OW : k.H*k.OW+(k.W+1)/2]
	od := scratch[k.H*k.OW+(k.W+1)/2 : k.H*k.OW+k.W]
	for nc := c0; nc < c1; nc++ {
		in := k.x.data[nc*k.H*k.W : (nc+1)*k.H*k.W]
		out := k.y.data[nc*k.OH*k.OW : (nc+1)*k.OH*k.OW]
		for y := 0; y < k.H; y++ {
			src := in[y*k.W : (y+1)*k.W]
			dst := tmp[y*k.OW : (y+1)*k.OW]
			if k.SW == 1 && k.DW == 1 { // running max of shifted runs
				for i := range dst {
					dst[i] = float32(math.Inf(-1))
				}
				for kx := 0; kx < k.KW; kx++ {
					off := kx - k.PL // ix = ox + off
					lo, hi := max(0, -off), min(k.OW, k.W-off)
					if lo < hi {
						kernels.MaxInto(dst[lo:hi], src[lo+off:hi+off])
					}
				}
				continue
			}
			if k.SW == 2 && k.DW == 1 {
				kernels.Deinterleave2(ev[:k.W/2], od, src[:k.W/2*2])
				if k.W%2 == 1 {
					ev[k.W/2] = src[k.W-1]
				}
				for i := range dst {
					dst[i] = float32(math.Inf(-1))
				}
				for kx := 0; kx < k.KW; kx++ {
					// ix = 2·ox + off is ev[ox+sh] (off even) or od[ox+sh]
					off := kx - k.PL
					arr, sh := ev, off>>1
					if off&1 != 0 {
						arr = od
					}
					lo, hi := max(0, -sh), min(k.OW, len(arr)-sh)
					if lo < hi {
						kernels.MaxInto(dst[lo:hi], arr[lo+sh:hi+sh])
					}
				}
				continue
			}
			for ox := range dst {
				m := float32(math.Inf(-1))
				for kx := 0; kx < k.KW; kx++ {
					if ix := ox*k.SW - k.PL + kx*k.DW; ix >= 0 && ix < k.W && src[ix] > m {
						m = src[ix]
					}
				}
				dst[ox] = m
			}
		}
		for i := range out {
			out[i] = float32(math.Inf(-1))
		}
		if k.SH == 1 && k.DH == 1 { // one run over all output rows per ky
			for ky := 0; ky < k.KH; ky++ {
				off := ky - k.PT // iy = oy + off
				lo, hi := max(0, -off), min(k.OH, k.H-off)
				if lo < hi {
					kernels.MaxInto(out[lo*k.OW:hi*k.OW], tmp[(lo+off)*k.OW:(hi+off)*k.OW])
				}
			}
			continue
		}
		for oy := 0; oy < k.OH; oy++ {
			dst := out[oy*k.OW : (oy+1)*k.OW]
			for ky := 0; ky < k.KH; ky++ {
				iy := oy*k.SH - k.PT + ky*k.DH
				if iy < 0 || iy >= k.H {
					continue
				}
				kernels.MaxInto(dst, tmp[iy*k.OW:(iy+1)*k.OW])
			}
		}
	}
}

// sepScratch is the scratch of maxSeparable: the H×OW row maxima and a
// row split into its even and odd elements.
func (k *poolKernel) sepScratch() int { return k.H*k.OW + k.W }

// unitScratch is the scratch of maxUnitStride: the padded plane and its
// row maxima; 0 when the pool has strides or dilations.
func (k *poolKernel) unitScratch() int {
	if k.SH != 1 || k.SW != 1 || k.DH != 1 || k.DW != 1 {
		return 0
	}
	return 3 * (k.OH + k.KH - 1) * (k.OW + k.KW - 1)
}

// slidingMax computes dst[i] = max_{j<k} src[i+j·step] for i < len(dst)
// (src holds len(dst)+(k−1)·step values) by doubling windows: maxima over
// 2, 4, 8, … taps (in place in tmp, which holds len(src) values and must
// not overlap dst), then two overlapping power-of-two windows cover k —
// ⌈log2 k⌉ passes instead of k−1 (SPP's 13-wide pool: 4 per axis, not
// 12). Max is exact, so the result does not depend on the grouping.
func slidingMax(dst, src []float32, k, step int, tmp []float32) {
	n := len(dst)
	if k == 1 {
		copy(dst, src[:n])
		return
	}
	cur, w := src, 1 // cur[i] = max over w taps for i < len(src)−(w−1)·step
	for 2*w < k {
		m := len(src) - (2*w-1)*step
		kernels.MaxOf(tmp[:m], cur[:m], cur[w*step:w*step+m])
		cur, w = tmp, 2*w
	}
	// w < k ≤ 2w: windows [i, i+w) and [i+k−w, i+k)
	kernels.MaxOf(dst, cur[:n], cur[(k-w)*step:(k-w)*step+n])
}

// maxUnitStride max-pools planes c0..c1 for stride and dilation 1 (SPP's
// 5/9/13 "same" pools): each plane is copied into a −Inf-padded buffer of
// row length Wp = OW+KW−1, so that both separable passes are KW (then KH)
// long vector maxima over the whole flat plane, shifted by 1 (then by
// Wp), instead of many short per-row runs.
func (k *poolKernel) maxUnitStride(c0, c1 int, scratch []float32) {
	hp, wp := k.OH+k.KH-1, k.OW+k.KW-1
	pad, rows, tmp := scratch[:hp*wp], scratch[hp*wp:2*hp*wp], scratch[2*hp*wp:3*hp*wp]
	inf := float32(math.Inf(-1))
	for nc := c0; nc < c1; nc++ {
		in := k.x.data[nc*k.H*k.W : (nc+1)*k.H*k.W]
		out := k.y.data[nc*k.OH*k.OW : (nc+1)*k.OH*k.OW]
		for py := 0; py < hp; py++ {
			row := pad[py*wp : (py+1)*wp]
			iy := py - k.PT
			if iy < 0 || iy >= k.H {
				for i := range row {
					row[i] = inf
				}
				continue
			}
			lo := min(k.PL, wp)
			n := copy(row[lo:], in[iy*k.W:(iy+1)*k.W])
			for i := range row[:lo] {
				row[i] = inf
			}
			for i := lo + n; i < wp; i++ {
				row[i] = inf
			}
		}
		// rows[i] = max_kx pad[i+kx] for i < hp·wp−KW+1
		nr := hp*wp - k.KW + 1
		slidingMax(rows[:nr], pad[:hp*wp], k.KW, 1, tmp)
		// col[i] = max_ky rows[i+ky·wp] for i < (OH−1)·wp+OW, into pad
		nc2 := (k.OH-1)*wp + k.OW
		col := pad[:nc2]
		slidingMax(col, rows[:nr], k.KH, wp, tmp)
		for oy := 0; oy < k.OH; oy++ {
			copy(out[oy*k.OW:(oy+1)*k.OW], col[oy*wp:oy*wp+k.OW])
		}
	}
}

func (k *poolKernel) do(w, part, parts int) {
	c0, c1 := split(k.N*k.C, 1, part, parts)
	if !k.avg && k.unitScratch() > 0 {
		k.maxUnitStride(c0, c1, k.e.workerScratch(w, k.unitScratch()))
		return
	}
	if !k.avg {
		k.maxSeparable(c0, c1, k.e.workerScratch(w, k.sepScratch()))
		return
	}
	for nc := c0; nc < c1; nc++ {
		in := k.x.data[nc*k.H*k.W : (nc+1)*k.H*k.W]
		out := k.y.data[nc*k.OH*k.OW : (nc+1)*k.OH*k.OW]
		for oy := 0; oy < k.OH; oy++ {
			for ox := 0; ox < k.OW; ox++ {
				acc := float32(math.Inf(-1))
				if k.avg {
					acc = 0
				}
				cnt := 0
				for ky := 0; ky < k.KH; ky++ {
					iy := oy*k.SH - k.PT + ky*k.DH
					if iy < 0 || iy >= k.H {
						continue
					}
					for kx := 0; kx < k.KW; kx++ {
						ix := ox*k.SW - k.PL + kx*k.DW
						if ix < 0 || ix >= k.W {
							continue
						}
						v := in[iy*k.W+ix]
						cnt++
						if k.avg {
							acc += v
						} else if v > acc {
							acc = v
						}
					}
				}
				if k.avg {
					if k.inclPad {
						// windows are clipped to the padded input
						hy := min(oy*k.SH-k.PT+(k.KH-1)*k.DH, k.H+k.padB-1) - max(oy*k.SH-k.PT, -k.PT)
						hx := min(ox*k.SW-k.PL+(k.KW-1)*k.DW, k.W+k.padR-1) - max(ox*k.SW-k.PL, -k.PL)
						cnt = (hy/k.DH + 1) * (hx/k.DW + 1)
					}
					if cnt > 0 {
						acc /= float32(cnt)
					}
				}
				out[oy*k.OW+ox] = acc
			}
		}
	}
}

type globalAvgKernel struct {
	x, y  *value
	inner int
}

func buildGlobalAvg(b *bctx) (kernel, error) {
	x := b.in[0]
	if len(x.shape) < 3 {
		return nil, b.errf("input %v has no spatial axes", x.shape)
	}
	shape := []int{x.shape[0], x.shape[1]}
	for range x.shape[2:] {
		shape = append(shape, 1)
	}
	b.out[0].shape = shape
	return &globalAvgKernel{x: x, y: b.out[0], inner: numel(x.shape[2:])}, nil
}

func (k *globalAvgKernel) run(*engine) {
	for i := range k.y.data {
		var s float32
		for _, v := range k.x.data[i*k.inner : (i+1)*k.inner] {
			s += v
		}
		k.y.data[i] = s / float32(k.inner)
	}
}

// resizeKernel is Resize/Upsample in nearest mode (any rank, index tables
// per axis) or linear mode (bilinear on the last two axes of NCHW).
type resizeKernel struct {
	x, y    *value
	in, out []int
	idx     [][]int // nearest: input index per output index, per axis
	linear  bool
	// linear: per output row/col the two source indices and the weight of the second
	y0, y1, x0, x1 []int
	wy, wx         []float32
}

func buildResize(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	var scales []float64
	var sizes []int64
	if b.n.OpType == "Upsample" || (b.c.opset < 11 && len(b.in) == 2) {
		if len(b.in) > 1 && b.in[1] != nil {
			if !b.in[1].konst {
				return nil, b.errf("scales must be constant")
			}
			scales = b.in[1].floats()
		} else if a := b.n.Attr("scales"); a != nil {
			for _, f := range a.Floats {
				scales = append(scales, float64(f))
			}
		}
	} else {
		if len(b.in) > 2 && b.in[2] != nil && b.in[2].numel() > 0 {
			if !b.in[2].konst {
				return nil, b.errf("scales must be constant")
			}
			scales = b.in[2].floats()
		}
		if len(b.in) > 3 && b.in[3] != nil && b.in[3].numel() > 0 {
			s, _, err := constInts(b, 3, "sizes")
			if err != nil {
				return nil, err
			}
			sizes = s
		}
	}
	if scales == nil && sizes == nil {
		return nil, b.errf("needs scales or sizes")
	}
	if (scales != nil && len(scales) != r) || (sizes != nil && len(sizes) != r) {
		return nil, b.errf("scales %v / sizes %v do not match rank %d", scales, sizes, r)
	}
	if r > 8 {
		return nil, b.errf("rank %d above 8", r)
	}
	k := &resizeKernel{x: x, y: b.out[0], in: x.shape, out: make([]int, r)}
	for i := 0; i < r; i++ {
		if sizes != nil {
			k.out[i] = int(sizes[i])
		} else {
			k.out[i] = int(math.Floor(float64(x.shape[i]) * scales[i]))
		}
		if k.out[i] <= 0 {
			return nil, b.errf("output dim %d is %d", i, k.out[i])
		}
	}
	scale := func(i int) float64 {
		if scales != nil && sizes == nil {
			return scales[i]
		}
		return float64(k.out[i]) / float64(x.shape[i])
	}
	// length is the resized length the coordinate transforms use: with
	// scales it is the unrounded in·scale, as in the ONNX reference
	// implementation (so a 4→2 downsample by 0.6 maps with 2.4, not 2).
	length := func(i int) float64 {
		if scales != nil && sizes == nil {
			return float64(x.shape[i]) * scales[i]
		}
		return float64(k.out[i])
	}
	ctm := attrString(b, "coordinate_transformation_mode", "half_pixel")
	if b.n.OpType == "Upsample" || b.c.opset < 11 {
		ctm = "asymmetric"
	}
	orig := func(i, o int) (float64, error) {
		s := scale(i)
		switch ctm {
		case "half_pixel":
			return (float64(o)+0.5)/s - 0.5, nil
		case "pytorch_half_pixel":
			if length(i) <= 1 {
				return 0, nil
			}
			return (float64(o)+0.5)/s - 0.5, nil
		case "asymmetric":
			return float64(o) / s, nil
		case "align_corners":
			if length(i) == 1 {
				return 0, nil
			}
			return float64(o) * float64(x.shape[i]-1) / (length(i) - 1), nil
		case "tf_half_pixel_for_nn":
			return (float64(o) + 0.5) / s, nil
		}
		return 0, b.errf("coordinate_transformation_mode %q is not supported", ctm)
	}
	mode := attrString(b, "mode", "nearest")
	switch mode {
	case "nearest":
		nm := attrString(b, "nearest_mode", "round_prefer_floor")
		if b.c.opset < 11 {
			nm = "floor"
		}
		for i := 0; i < r; i++ {
			t := make([]int, k.out[i])
			for o := range t {
				f, err := orig(i, o)
				if err != nil {
					return nil, err
				}
				var v float64
				switch nm {
				case "floor":
					v = math.Floor(f)
				case "ceil":
					v = math.Ceil(f)
				case "round_prefer_ceil":
					v = math.Floor(f + 0.5)
				case "round_prefer_floor":
					v = math.Ceil(f - 0.5)
				default:
					return nil, b.errf("nearest_mode %q is not supported", nm)
				}
				t[o] = min(max(int(v), 0), x.shape[i]-1)
			}
			k.idx = append(k.idx, t)
		}
	case "linear", "bilinear":
		if r != 4 || k.out[0] != x.shape[0] || k.out[1] != x.shape[1] {
			return nil, b.errf("linear resize only on the last two axes of a 4-D input")
		}
		k.linear = true
		axis := func(i int) (lo, hi []int, w []float32, err error) {
			for o := 0; o < k.out[i]; o++ {
				f, err := orig(i, o)
				if err != nil {
					return nil, nil, nil, err
				}
				f = min(max(f, 0), float64(x.shape[i]-1))
				l := int(math.Floor(f))
				h := min(l+1, x.shape[i]-1)
				lo, hi, w = append(lo, l), append(hi, h), append(w, float32(f-float64(l)))
			}
			return lo, hi, w, nil
		}
		var err error
		if k.y0, k.y1, k.wy, err = axis(2); err != nil {
			return nil, err
		}
		if k.x0, k.x1, k.wx, err = axis(3); err != nil {
			return nil, err
		}
	default:
		return nil, b.errf("mode %q is not supported", mode)
	}
	b.out[0].shape = append([]int(nil), k.out...)
	return k, nil
}

func (k *resizeKernel) run(*engine) {
	x, y := k.x.data, k.y.data
	r := len(k.out)
	if k.linear {
		H, W, OH, OW := k.in[2], k.in[3], k.out[2], k.out[3]
		for p := 0; p < k.out[0]*k.out[1]; p++ {
			in, out := x[p*H*W:(p+1)*H*W], y[p*OH*OW:(p+1)*OH*OW]
			for oy := 0; oy < OH; oy++ {
				r0, r1, wy := in[k.y0[oy]*W:(k.y0[oy]+1)*W], in[k.y1[oy]*W:(k.y1[oy]+1)*W], k.wy[oy]
				for ox := 0; ox < OW; ox++ {
					a := r0[k.x0[ox]] + (r0[k.x1[ox]]-r0[k.x0[ox]])*k.wx[ox]
					c := r1[k.x0[ox]] + (r1[k.x1[ox]]-r1[k.x0[ox]])*k.wx[ox]
					out[oy*OW+ox] = a + (c-a)*wy
				}
			}
		}
		return
	}
	// nearest: walk output rows; the input offset of each output row comes
	// from the per-axis tables.
	if r == 0 {
		copy(y, x)
		return
	}
	last := k.out[r-1]
	lastIdx := k.idx[r-1]
	var cnt [8]int
	var stride [8]int
	s := 1
	for i := r - 1; i >= 0; i-- {
		stride[i] = s
		s *= k.in[i]
	}
	for o := 0; o < len(y); o += last {
		off := 0
		for d := 0; d < r-1; d++ {
			off += k.idx[d][cnt[d]] * stride[d]
		}
		row := y[o : o+last]
		src := x[off : off+k.in[r-1]]
		for i, j := range lastIdx {
			row[i] = src[j]
		}
		for d := r - 2; d >= 0; d-- {
			cnt[d]++
			if cnt[d] < k.out[d] {
				break
			}
			cnt[d] = 0
		}
	}
}
