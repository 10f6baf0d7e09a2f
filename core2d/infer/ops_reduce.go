package infer

import (
	"math"
	"slices"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
)

// Reductions over a set of axes, and ArgMax/ArgMin along one axis.

type reduceOp uint8

const (
	redSum reduceOp = iota
	redMean
	redMax
	redMin
	redProd
	redSumSquare
	redL1
	redL2
	redLogSum
	redLogSumExp
)

func init() {
	for name, op := range map[string]reduceOp{
		"ReduceSum": redSum, "ReduceMean": redMean, "ReduceMax": redMax, "ReduceMin": redMin,
		"ReduceProd": redProd, "ReduceSumSquare": redSumSquare, "ReduceL1": redL1, "ReduceL2": redL2,
		"ReduceLogSum": redLogSum, "ReduceLogSumExp": redLogSumExp,
	} {
		register(name, func(b *bctx) (kernel, error) { return buildReduce(b, op) })
	}
	register("ArgMax", func(b *bctx) (kernel, error) { return buildArg(b, true) })
	register("ArgMin", func(b *bctx) (kernel, error) { return buildArg(b, false) })
	register("LayerNormalization", buildLayerNormalization)
	requireInputs(2, "LayerNormalization")
	requireInputs(1, "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
		"ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin")
}

// reduceKernel: output element o reduces x[outOff[o] + r] for r in redOff.
// Both tables hold input offsets, so any set of axes reduces without
// transposing.
type reduceKernel struct {
	x, y           *value
	op             reduceOp
	outOff, redOff []int32
}

// axisOffsets lists, in row-major order over the given axes of shape, the
// input offsets (strides from the full shape).
func axisOffsets(shape []int, axes []int) []int32 {
	strides := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	offs := []int32{0}
	for _, a := range axes {
		next := make([]int32, 0, len(offs)*shape[a])
		for _, o := range offs {
			for i := 0; i < shape[a]; i++ {
				next = append(next, o+int32(i*strides[a]))
			}
		}
		offs = next
	}
	return offs
}

func buildReduce(b *bctx, op reduceOp) (kernel, error) {
	x := b.in[0]
	if x.isInt {
		return nil, b.errf("integer input %q is not supported", x.name)
	}
	if x.numel() >= 1<<31 {
		return nil, b.errf("input %v too large", x.shape)
	}
	r := len(x.shape)
	var axes []int64
	if a := b.n.Attr("axes"); a != nil {
		axes = a.Ints
	} else if ax, ok, err := constInts(b, 1, "axes"); err != nil {
		return nil, err
	} else if ok {
		axes = ax
	}
	keep := attrInt(b, "keepdims", 1) != 0
	if len(axes) == 0 {
		if attrInt(b, "noop_with_empty_axes", 0) != 0 {
			return reshapeTo(b, x.shape)
		}
		for i := 0; i < r; i++ {
			axes = append(axes, int64(i))
		}
	}
	red := make([]bool, r)
	for _, a := range axes {
		i := normAxis(int(a), r)
		if i < 0 || i >= r {
			return nil, b.errf("axis %d out of range for %v", a, x.shape)
		}
		red[i] = true
	}
	var kept, reduced, shape []int
	for i, d := range x.shape {
		switch {
		case !red[i]:
			kept = append(kept, i)
			shape = append(shape, d)
		case keep:
			reduced = append(reduced, i)
			shape = append(shape, 1)
		default:
			reduced = append(reduced, i)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	b.out[0].shape = shape
	return &reduceKernel{x: x, y: b.out[0], op: op, outOff: axisOffsets(x.shape, kept), redOff: axisOffsets(x.shape, reduced)}, nil
}

func (k *reduceKernel) run(e *engine) { e.parallel(k, len(k.x.data) >= 1<<15) }

func (k *reduceKernel) do(_, part, parts int) {
	lo, hi := split(len(k.outOff), 1, part, parts)
	x, n := k.x.data, float64(len(k.redOff))
	for o := lo; o < hi; o++ {
		src := x[k.outOff[o]:]
		var v float64
		switch k.op {
		case redMax, redMin:
			m := float32(math.Inf(1))
			if k.op == redMax {
				m = float32(math.Inf(-1))
			}
			for _, r := range k.redOff {
				xv := src[r]
				if xv != xv { // NaN propagates
					m = xv
					break
				}
				if k.op == redMax && xv > m || k.op == redMin && xv < m {
					m = xv
				}
			}
			k.y.data[o] = m
			continue
		case redProd:
			v = 1
			for _, r := range k.redOff {
				v *= float64(src[r])
			}
		case redSumSquare, redL2:
			for _, r := range k.redOff {
				v += float64(src[r]) * float64(src[r])
			}
		case redL1:
			for _, r := range k.redOff {
				v += math.Abs(float64(src[r]))
			}
		case redLogSumExp:
			m := math.Inf(-1)
			for _, r := range k.redOff {
				m = max(m, float64(src[r]))
			}
			for _, r := range k.redOff {
				v += math.Exp(float64(src[r]) - m)
			}
			v = math.Log(v) + m
		default:
			for _, r := range k.redOff {
				v += float64(src[r])
			}
		}
		switch k.op {
		case redMean:
			v /= n
		case redL2:
			v = math.Sqrt(v)
		case redLogSum:
			v = math.Log(v)
		}
		k.y.data[o] = float32(v)
	}
}

// argKernel finds the index of the largest (smallest) element along one
// axis; the int64 result is carried as exact float32 values.
type argKernel struct {
	x, y              *value
	outer, dim, inner int
	isMax, last       bool
}

func buildArg(b *bctx, isMax bool) (kernel, error) {
	x := b.in[0]
	if x.isInt {
		return nil, b.errf("integer input %q is not supported", x.name)
	}
	r := len(x.shape)
	axis := normAxis(attrInt(b, "axis", 0), r)
	if axis < 0 || axis >= r {
		return nil, b.errf("axis %d out of range for %v", attrInt(b, "axis", 0), x.shape)
	}
	if x.shape[axis] >= 1<<24 {
		return nil, b.errf("axis of %d elements: indices not exact in float32", x.shape[axis])
	}
	k := &argKernel{x: x, y: b.out[0], outer: numel(x.shape[:axis]), dim: x.shape[axis], inner: numel(x.shape[axis+1:]),
		isMax: isMax, last: attrInt(b, "select_last_index", 0) != 0}
	var shape []int
	for i, d := range x.shape {
		switch {
		case i != axis:
			shape = append(shape, d)
		case attrInt(b, "keepdims", 1) != 0:
			shape = append(shape, 1)
		}
	}
	if shape == nil {
		shape = []int{}
	}
	k.y.shape = shape
	return k, nil
}

func (k *argKernel) run(*engine) {
	x, y := k.x.data, k.y.data
	for o := 0; o < k.outer; o++ {
		for in := 0; in < k.inner; in++ {
			base := o*k.dim*k.inner + in
			best, bi := x[base], 0
			for d := 1; d < k.dim; d++ {
				v := x[base+d*k.inner]
				better := v > best
				if !k.isMax {
					better = v < best
				}
				if better || (k.last && v == best) {
					best, bi = v, d
				}
			}
			y[o*k.inner+in] = float32(bi)
		}
	}
}

// layerNormKernel is a fused LayerNorm over the last axis (compile.go
// fuseLayerNorm): one kernels.LayerNorm call per row, rows split across
// the workers.
type layerNormKernel struct {
	x, y        *value
	gamma, beta *value // nil for none; read per Run (LayerNormalization's may be inputs)
	eps         float32
	c           int
	// mean, invStd: LayerNormalization's optional per-row outputs (nil
	// when not asked for)
	mean, invStd *value
}

// buildLayerNormalization is the opset-17 LayerNormalization: rows are the
// flattened dims from axis on, Scale and B (optional) hold one value per
// row element; the optional Mean and InvStdDev outputs have the input's
// shape with 1 from axis on.
func buildLayerNormalization(b *bctx) (kernel, error) {
	x := b.in[0]
	if x == nil || x.isInt || len(x.shape) == 0 {
		return nil, b.errf("X must be a float tensor of rank ≥ 1")
	}
	rank := len(x.shape)
	axis := normAxis(attrInt(b, "axis", -1), rank)
	if axis < 0 || axis >= rank {
		return nil, b.errf("axis %d out of range for X %v", attrInt(b, "axis", -1), x.shape)
	}
	if st := attrInt(b, "stash_type", 1); st != 1 {
		return nil, b.errf("stash_type %d: only 1 (float32) is supported", st)
	}
	k := &layerNormKernel{x: x, y: b.out[0], eps: attrFloat(b, "epsilon", 1e-5), c: numel(x.shape[axis:])}
	for i, p := range []**value{&k.gamma, &k.beta} {
		if i+1 >= len(b.in) || b.in[i+1] == nil {
			continue
		}
		v := b.in[i+1]
		if v.isInt || v.numel() != k.c {
			return nil, b.errf("%q has shape %v; want %d float values (X %v from axis %d)", v.name, v.shape, k.c, x.shape, axis)
		}
		*p = v
	}
	b.out[0].shape = append([]int(nil), x.shape...)
	stat := append([]int(nil), x.shape...)
	for i := axis; i < rank; i++ {
		stat[i] = 1
	}
	for i := 1; i < len(b.out) && i < 3; i++ {
		if b.n.out[i] == "" {
			continue
		}
		b.out[i].shape = slices.Clone(stat)
		if i == 1 {
			k.mean = b.out[i]
		} else {
			k.invStd = b.out[i]
		}
	}
	return k, nil
}

func buildLayerNorm(b *bctx, eps float32) (kernel, error) {
	x := b.in[0]
	if x == nil || x.isInt || len(x.shape) == 0 {
		return nil, b.errf("fused LayerNorm needs a float input with a last axis")
	}
	k := &layerNormKernel{x: x, y: b.out[0], eps: eps, c: x.shape[len(x.shape)-1]}
	for i, p := range []**value{&k.gamma, &k.beta} {
		v := b.in[i+1]
		if v == nil {
			continue
		}
		if v.isInt || !v.konst || v.numel() != k.c {
			return nil, b.errf("fused LayerNorm: %q has shape %v, want %d values", v.name, v.shape, k.c)
		}
		*p = v
	}
	b.out[0].shape = append([]int(nil), x.shape...)
	return k, nil
}

func (k *layerNormKernel) run(e *engine) { e.parallel(k, len(k.y.data) >= 1<<14) }

func (k *layerNormKernel) do(_, part, parts int) {
	rows := len(k.y.data) / max(k.c, 1)
	r0, r1 := split(rows, 1, part, parts)
	var gamma, beta []float32
	if k.gamma != nil {
		gamma = k.gamma.data
	}
	if k.beta != nil {
		beta = k.beta.data
	}
	for r := r0; r < r1; r++ {
		x := k.x.data[r*k.c : (r+1)*k.c]
		if k.mean != nil || k.invStd != nil {
			k.stats(r, x)
		}
		kernels.LayerNorm(k.y.data[r*k.c:(r+1)*k.c], x, gamma, beta, k.eps)
	}
}

// stats writes row r's Mean and InvStdDev = 1/√(var + eps), the sums in
// float64 as kernels.LayerNorm's.
func (k *layerNormKernel) stats(r int, x []float32) {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	mean := float32(s / float64(len(x)))
	var q float64
	for _, v := range x {
		d := float64(v - mean)
		q += d * d
	}
	if k.mean != nil {
		k.mean.data[r] = mean
	}
	if k.invStd != nil {
		k.invStd.data[r] = float32(1 / math.Sqrt(float64(float32(q/float64(len(x)))+k.eps)))
	}
}
