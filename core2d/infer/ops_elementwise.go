package infer

import (
	"math"
)

func init() {
	register("Sigmoid", unary(func(dst, x []float32) { sigmoidSlice(dst, x) }))
	register("Exp", unary(func(dst, x []float32) { expSlice(dst, x) }))
	register("Relu", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = max(v, 0)
		}
	}))
	register("Tanh", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Tanh(float64(v)))
		}
	}))
	register("Sqrt", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = float32(math.Sqrt(float64(v)))
		}
	}))
	register("Neg", unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			dst[i] = -v
		}
	}))
	register("LeakyRelu", buildLeakyRelu)
	register("Add", binaryOp(opAdd))
	register("Sub", binaryOp(opSub))
	register("Mul", binaryOp(opMul))
	register("Div", binaryOp(opDiv))
	register("BatchNormalization", buildBatchNorm)
}

// unaryKernel applies f elementwise, split across workers for big tensors.
type unaryKernel struct {
	x, y *value
	f    func(dst, x []float32)
}

func unary(f func(dst, x []float32)) func(b *bctx) (kernel, error) {
	return func(b *bctx) (kernel, error) {
		if len(b.in) < 1 || b.in[0] == nil || b.in[0].isInt {
			return nil, b.errf("needs one float input")
		}
		b.out[0].shape = append([]int(nil), b.in[0].shape...)
		return &unaryKernel{x: b.in[0], y: b.out[0], f: f}, nil
	}
}

func (k *unaryKernel) run(e *engine) { e.parallel(k, len(k.y.data) >= 1<<15) }

func (k *unaryKernel) do(_, part, parts int) {
	lo, hi := split(len(k.y.data), 64, part, parts)
	k.f(k.y.data[lo:hi], k.x.data[lo:hi])
}

func buildLeakyRelu(b *bctx) (kernel, error) {
	alpha := attrFloat(b, "alpha", 0.01)
	return unary(func(dst, x []float32) {
		for i, v := range x[:len(dst)] {
			if v < 0 {
				v *= alpha
			}
			dst[i] = v
		}
	})(b)
}

type binop uint8

const (
	opAdd binop = iota
	opSub
	opMul
	opDiv
)

func (o binop) f32(a, b float32) float32 {
	switch o {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	}
	return a / b
}

func (o binop) i64(a, b int64) int64 {
	switch o {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	}
	if b == 0 {
		return 0
	}
	return a / b
}

// broadcastShape is the numpy-style broadcast of a and b.
func broadcastShape(a, b []int) ([]int, bool) {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, false
		}
	}
	return out, true
}

// broadcastIndex maps every element of out (row-major) to the element of
// in that broadcasting reads.
func broadcastIndex(out, in []int) []int32 {
	n := numel(out)
	idx := make([]int32, n)
	strides := make([]int, len(out))
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(in))
		if j >= 0 && in[j] != 1 {
			strides[i] = s
		}
		if j >= 0 {
			s *= in[j]
		}
	}
	cnt := make([]int, len(out))
	off := 0
	for e := 0; e < n; e++ {
		idx[e] = int32(off)
		for d := len(out) - 1; d >= 0; d-- {
			cnt[d]++
			off += strides[d]
			if cnt[d] < out[d] {
				break
			}
			off -= strides[d] * cnt[d]
			cnt[d] = 0
		}
	}
	return idx
}

// binaryKernel is a broadcasting Add/Sub/Mul/Div. Same shapes and a
// scalar operand have fast paths; other broadcasts use index tables.
type binaryKernel struct {
	a, b, y    *value
	op         binop
	mode       int // 0 same shape, 1 b scalar, 2 a scalar, 3 channel (b is [C,1,1]-like per inner block), 4 tables
	ia, ib     []int32
	inner, chn int
}

func binaryOp(op binop) func(b *bctx) (kernel, error) {
	return func(b *bctx) (kernel, error) {
		if len(b.in) != 2 || b.in[0] == nil || b.in[1] == nil {
			return nil, b.errf("needs two inputs")
		}
		x, z := b.in[0], b.in[1]
		shape, ok := broadcastShape(x.shape, z.shape)
		if !ok {
			return nil, b.errf("shapes %v and %v do not broadcast", x.shape, z.shape)
		}
		y := b.out[0]
		y.shape = shape
		if x.isInt || z.isInt { // shape arithmetic on constants
			if !x.konst || !z.konst {
				return nil, b.errf("integer operands must be constant")
			}
			ia, ib := broadcastIndex(shape, x.shape), broadcastIndex(shape, z.shape)
			xi, zi := x.int64s(), z.int64s()
			y.isInt = true
			y.ints = make([]int64, numel(shape))
			for i := range y.ints {
				y.ints[i] = op.i64(xi[ia[i]], zi[ib[i]])
			}
			return nil, nil
		}
		k := &binaryKernel{a: x, b: z, y: y, op: op}
		switch {
		case equalShape(x.shape, z.shape):
			k.mode = 0
		case z.numel() == 1 && equalShape(x.shape, shape):
			k.mode = 1
		case x.numel() == 1 && equalShape(z.shape, shape):
			k.mode = 2
		default:
			k.mode = 4
			k.ia, k.ib = broadcastIndex(shape, x.shape), broadcastIndex(shape, z.shape)
		}
		return k, nil
	}
}

func equalShape(a, b []int) bool {
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

func (k *binaryKernel) run(e *engine) { e.parallel(k, len(k.y.data) >= 1<<15) }

func (k *binaryKernel) do(_, part, parts int) {
	lo, hi := split(len(k.y.data), 64, part, parts)
	y := k.y.data[lo:hi]
	switch k.mode {
	case 0:
		a, b := k.a.data[lo:hi], k.b.data[lo:hi]
		switch k.op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		default:
			for i := range y {
				y[i] = k.op.f32(a[i], b[i])
			}
		}
	case 1:
		a, s := k.a.data[lo:hi], k.b.data[0]
		for i := range y {
			y[i] = k.op.f32(a[i], s)
		}
	case 2:
		s, b := k.a.data[0], k.b.data[lo:hi]
		for i := range y {
			y[i] = k.op.f32(s, b[i])
		}
	default:
		a, b := k.a.data, k.b.data
		ia, ib := k.ia[lo:hi], k.ib[lo:hi]
		for i := range y {
			y[i] = k.op.f32(a[ia[i]], b[ib[i]])
		}
	}
}

// bnKernel is a standalone BatchNormalization (inference mode) on NC…:
// y = x·scale[c] + shift[c].
type bnKernel struct {
	x, y         *value
	scale, shift []float32
	inner        int
}

func buildBatchNorm(b *bctx) (kernel, error) {
	if len(b.in) < 5 {
		return nil, b.errf("needs X, scale, B, mean, var")
	}
	x := b.in[0]
	if len(x.shape) < 2 {
		return nil, b.errf("X must have a channel axis, has shape %v", x.shape)
	}
	C := x.shape[1]
	var p [4][]float32
	for i := 1; i < 5; i++ {
		v := b.in[i]
		if v == nil || !v.konst || v.isInt || v.numel() != C {
			return nil, b.errf("input %d must be a float constant of %d values", i, C)
		}
		p[i-1] = v.data
	}
	eps := attrFloat(b, "epsilon", 1e-5)
	k := &bnKernel{x: x, y: b.out[0], scale: make([]float32, C), shift: make([]float32, C), inner: numel(x.shape[2:])}
	for c := 0; c < C; c++ {
		f := p[0][c] / float32(math.Sqrt(float64(p[3][c]+eps)))
		k.scale[c] = f
		k.shift[c] = p[1][c] - p[2][c]*f
	}
	b.out[0].shape = append([]int(nil), x.shape...)
	return k, nil
}

func (k *bnKernel) run(*engine) {
	C := len(k.scale)
	for i := 0; i < len(k.y.data); i += k.inner {
		c := (i / k.inner) % C
		x, y := k.x.data[i:i+k.inner], k.y.data[i:i+k.inner]
		s, t := k.scale[c], k.shift[c]
		for j := range y {
			y[j] = x[j]*s + t
		}
	}
}
