package infer

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Elementwise math beyond the basic arithmetic of ops_elementwise.go:
// activations, Clip, variadic Max/Min, Where and Softmax/LogSoftmax.

func init() {
	register("HardSigmoid", buildHardSigmoid)
	register("HardSwish", unary(func(dst, x []float32) { kernels.HardSwish(dst, x) }))
	register("Erf", unary(func(dst, x []float32) { kernels.Erf(dst, x) }))
	register("Log", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Log(float64(v)))
		}
	}))
	register("Abs", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Abs(float64(v)))
		}
	}))
	register("Floor", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Floor(float64(v)))
		}
	}))
	register("Ceil", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Ceil(float64(v)))
		}
	}))
	register("Clip", buildClip)
	register("Max", func(b *bctx) (kernel, error) { return buildVariadic(b, opMax) })
	register("Min", func(b *bctx) (kernel, error) { return buildVariadic(b, opMin) })
	register("Sum", func(b *bctx) (kernel, error) { return buildVariadic(b, opAdd) })
	register("Where", buildWhere)
	register("Softmax", func(b *bctx) (kernel, error) { return buildSoftmax(b, false) })
	register("LogSoftmax", func(b *bctx) (kernel, error) { return buildSoftmax(b, true) })
	requireInputs(1, "Erf", "HardSigmoid", "HardSwish", "Log", "Abs", "Floor", "Ceil", "Clip", "Max", "Min", "Sum", "Softmax", "LogSoftmax")
	requireInputs(3, "Where")
}

// requireInputs wraps the builders of the named ops so that a node with
// fewer than n inputs, an omitted one among them, or no output is an error
// rather than a nil dereference in the builder.
func requireInputs(n int, names ...string) {
	for _, name := range names {
		build := ops[name].build
		ops[name] = opDef{build: func(b *bctx) (kernel, error) {
			if len(b.out) == 0 {
				return nil, b.errf("no outputs")
			}
			if len(b.in) < n {
				return nil, b.errf("needs %d inputs, has %d", n, len(b.in))
			}
			for i, v := range b.in[:n] {
				if v == nil {
					return nil, b.errf("input %d is missing", i)
				}
			}
			return build(b)
		}}
	}
}

func buildHardSigmoid(b *bctx) (kernel, error) {
	alpha, beta := attrFloat(b, "alpha", 0.2), attrFloat(b, "beta", 0.5)
	return unary(func(dst, x []float32) { kernels.HardSigmoid(dst, x, alpha, beta) })(b)
}

// buildActKernel is an element-wise activation made of several nodes
// (fuseGates): act of the single input.
func buildActKernel(b *bctx, act kernels.Activation) (kernel, error) {
	if len(b.in) != 1 || b.in[0] == nil || b.in[0].isInt || b.in[0].rtInt() != onnx.Undefined {
		return nil, b.errf("fused %s needs one float input", act)
	}
	b.out[0].shape = append([]int(nil), b.in[0].shape...)
	return &unaryKernel{x: b.in[0], y: b.out[0], f: func(dst, x []float32) { kernels.ActInto(act, dst, x) }}, nil
}

// roundHalf rounds x to the nearest IEEE binary16 value (ties to even), as
// a Cast to float16 does; the result is widened back to float32.
func roundHalf(x float32) float32 {
	a := math.Abs(float64(x))
	switch {
	case a != a || math.IsInf(a, 0):
		return x
	case a < 1.0/(1<<14): // subnormal half: multiples of 2^-24
		return float32(math.Copysign(math.RoundToEven(a*(1<<24))/(1<<24), float64(x)))
	}
	bits := math.Float32bits(x)
	bits += 0x0fff + (bits>>13)&1
	bits &^= 0x1fff
	r := math.Float32frombits(bits)
	if math.Abs(float64(r)) > 65504 {
		return float32(math.Copysign(math.Inf(1), float64(x)))
	}
	return r
}

// clipKernel clamps to [lo, hi]; bounds given as inputs (opset ≥ 11) are
// read at run time, so they may be computed tensors.
type clipKernel struct {
	x, y, lo, hi *value
	flo, fhi     float32
}

func buildClip(b *bctx) (kernel, error) {
	if len(b.in) < 1 || b.in[0] == nil || b.in[0].isInt {
		return nil, b.errf("needs a float input (integer tensors are not supported)")
	}
	k := &clipKernel{x: b.in[0], y: b.out[0], flo: float32(math.Inf(-1)), fhi: float32(math.Inf(1))}
	if b.c.opset < 11 {
		k.flo = attrFloat(b, "min", k.flo)
		k.fhi = attrFloat(b, "max", k.fhi)
	}
	for i, p := range []**value{&k.lo, &k.hi} {
		if len(b.in) > i+1 && b.in[i+1] != nil {
			v := b.in[i+1]
			if v.numel() != 1 {
				return nil, b.errf("bound %q must be a scalar, has shape %v", v.name, v.shape)
			}
			if v.isInt {
				if v = intToFloatConst(v); v == nil {
					return nil, b.errf("integer bound must be constant")
				}
			}
			*p = v
		}
	}
	k.y.shape = append([]int(nil), k.x.shape...)
	return k, nil
}

func (k *clipKernel) run(*engine) {
	lo, hi := k.flo, k.fhi
	if k.lo != nil {
		lo = k.lo.data[0]
	}
	if k.hi != nil {
		hi = k.hi.data[0]
	}
	kernels.Clamp(k.y.data, k.x.data, lo, hi)
}

// naryKernel folds a broadcasting binary op over any number of inputs
// (Max, Min, Sum).
type naryKernel struct {
	ins []*value
	idx [][]int32 // per input: broadcast index, nil when the shape is the output's
	y   *value
	op  binop
}

func buildVariadic(b *bctx, op binop) (kernel, error) {
	if len(b.in) == 0 {
		return nil, b.errf("needs at least one input")
	}
	var shape []int
	for i, v := range b.in {
		if v == nil || v.isInt {
			return nil, b.errf("input %d must be a float tensor (integer tensors are not supported)", i)
		}
		s, ok := broadcastShape(shape, v.shape)
		if i == 0 {
			s, ok = append([]int(nil), v.shape...), true
		}
		if !ok {
			return nil, b.errf("shapes %v and %v do not broadcast", shape, v.shape)
		}
		shape = s
	}
	k := &naryKernel{ins: b.in, y: b.out[0], op: op}
	for _, v := range b.in {
		var t []int32
		if !equalShape(v.shape, shape) {
			t = broadcastIndex(shape, v.shape)
		}
		k.idx = append(k.idx, t)
	}
	k.y.shape = shape
	return k, nil
}

func (k *naryKernel) run(*engine) {
	y := k.y.data
	for i, v := range k.ins {
		x, t := v.data, k.idx[i]
		switch {
		case i == 0 && t == nil:
			copy(y, x)
		case i == 0:
			for j := range y {
				y[j] = x[t[j]]
			}
		case t == nil:
			for j := range y {
				y[j] = k.op.f32(y[j], x[j])
			}
		default:
			for j := range y {
				y[j] = k.op.f32(y[j], x[t[j]])
			}
		}
	}
}

// whereKernel is Where(cond, X, Y) with broadcasting; cond holds 0/1.
type whereKernel struct {
	c, a, b, y *value
	ic, ia, ib []int32
}

func buildWhere(b *bctx) (kernel, error) {
	if len(b.in) != 3 || b.in[0] == nil || b.in[1] == nil || b.in[2] == nil {
		return nil, b.errf("needs condition, X and Y")
	}
	in := append([]*value(nil), b.in...)
	for i, v := range in {
		if v.isInt {
			if in[i] = intToFloatConst(v); in[i] == nil {
				return nil, b.errf("integer input %q must be constant", v.name)
			}
		}
	}
	shape, ok := broadcastShape(in[0].shape, in[1].shape)
	if ok {
		shape, ok = broadcastShape(shape, in[2].shape)
	}
	if !ok {
		return nil, b.errf("shapes %v, %v and %v do not broadcast", in[0].shape, in[1].shape, in[2].shape)
	}
	b.out[0].shape = shape
	return &whereKernel{c: in[0], a: in[1], b: in[2], y: b.out[0],
		ic: broadcastIndex(shape, in[0].shape), ia: broadcastIndex(shape, in[1].shape), ib: broadcastIndex(shape, in[2].shape)}, nil
}

func (k *whereKernel) run(*engine) {
	c, a, bb := k.c.data, k.a.data, k.b.data
	for i := range k.y.data {
		if c[k.ic[i]] != 0 {
			k.y.data[i] = a[k.ia[i]]
		} else {
			k.y.data[i] = bb[k.ib[i]]
		}
	}
}

// softmaxKernel normalises over dim elements of stride inner, for each of
// outer×inner lines. Opset < 13 flattens the input to 2-D at axis (so one
// line is everything from axis on: dim = ∏shape[axis:], inner = 1); opset
// ≥ 13 normalises along the single axis.
type softmaxKernel struct {
	x, y              *value
	outer, dim, inner int
	log               bool
}

func buildSoftmax(b *bctx, log bool) (kernel, error) {
	x := b.in[0]
	if x.isInt {
		return nil, b.errf("needs a float input")
	}
	r := len(x.shape)
	def := -1
	if b.c.opset < 13 {
		def = 1
	}
	axis := normAxis(attrInt(b, "axis", def), r)
	if r == 0 {
		axis = 0
	} else if axis < 0 || axis >= r {
		return nil, b.errf("axis %d out of range for %v", attrInt(b, "axis", def), x.shape)
	}
	k := &softmaxKernel{x: x, y: b.out[0], log: log, outer: numel(x.shape[:min(axis, r)])}
	if b.c.opset < 13 {
		k.dim, k.inner = numel(x.shape[min(axis, r):]), 1
	} else if r > 0 {
		k.dim, k.inner = x.shape[axis], numel(x.shape[axis+1:])
	} else {
		k.dim, k.inner = 1, 1
	}
	k.y.shape = append([]int(nil), x.shape...)
	return k, nil
}

func (k *softmaxKernel) run(e *engine) { e.parallel(k, len(k.y.data) >= 1<<15) }

func (k *softmaxKernel) do(_, part, parts int) {
	lo, hi := split(k.outer*k.inner, 1, part, parts)
	if k.inner == 1 && !k.log { // rows along the last axis (attention)
		for o := lo; o < hi; o++ {
			kernels.SoftmaxRow(k.y.data[o*k.dim:(o+1)*k.dim], k.x.data[o*k.dim:(o+1)*k.dim])
		}
		return
	}
	for l := lo; l < hi; l++ {
		o, in := l/k.inner, l%k.inner
		base := o*k.dim*k.inner + in
		x, y := k.x.data, k.y.data
		m := float32(math.Inf(-1))
		for d := 0; d < k.dim; d++ {
			m = max(m, x[base+d*k.inner])
		}
		var s float64
		for d := 0; d < k.dim; d++ {
			v := math.Exp(float64(x[base+d*k.inner] - m))
			s += v
			if !k.log {
				y[base+d*k.inner] = float32(v)
			}
		}
		if k.log {
			ls := float32(math.Log(s))
			for d := 0; d < k.dim; d++ {
				y[base+d*k.inner] = x[base+d*k.inner] - m - ls
			}
			continue
		}
		inv := 1 / s
		for d := 0; d < k.dim; d++ {
			y[base+d*k.inner] = float32(float64(y[base+d*k.inner]) * inv)
		}
	}
}
