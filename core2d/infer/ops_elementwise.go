package infer

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func init() {
	register("Sigmoid", unary(func(dst, x []float32) { kernels.Sigmoid(dst, x) }))
	register("Exp", unary(func(dst, x []float32) { kernels.Exp(dst, x) }))
	register("Relu", unary(func(dst, x []float32) { kernels.Clamp(dst, x, 0, float32(math.Inf(1))) }))
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
	register("Pow", binaryOp(opPow))
	register("Equal", binaryOp(opEq))
	register("Greater", binaryOp(opGt))
	register("Less", binaryOp(opLt))
	register("GreaterOrEqual", binaryOp(opGe))
	register("LessOrEqual", binaryOp(opLe))
	register("Mod", func(b *bctx) (kernel, error) {
		if attrInt(b, "fmod", 0) != 0 {
			return binaryOp(opFmod)(b)
		}
		return binaryOp(opMod)(b)
	})
	register("BatchNormalization", buildBatchNorm)
	requireInputs(1, "Sigmoid", "Exp", "Relu", "Tanh", "Sqrt", "Neg", "LeakyRelu", "BatchNormalization")
	requireInputs(2, "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual")
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
		k := &unaryKernel{x: b.in[0], y: b.out[0], f: f}
		if dt := b.in[0].rtInt(); dt != onnx.Undefined && (b.n.OpType == "Neg" || b.n.OpType == "Abs") {
			b.out[0].dtype = dt
			return &wrapKernel{k: k, y: b.out[0], dt: dt}, nil
		}
		return k, nil
	}
}

func (k *unaryKernel) run(e *engine) { e.parallel(k, len(k.y.data) >= 1<<15) }

func (k *unaryKernel) do(_, part, parts int) {
	lo, hi := split(len(k.y.data), 64, part, parts)
	k.f(k.y.data[lo:hi], k.x.data[lo:hi])
}

func buildLeakyRelu(b *bctx) (kernel, error) {
	alpha := attrFloat(b, "alpha", 0.01)
	return unary(func(dst, x []float32) { kernels.Leaky(dst, x, alpha) })(b)
}

type binop uint8

const (
	opAdd binop = iota
	opSub
	opMul
	opDiv
	opPow
	opMax
	opMin
	// comparisons give 0 or 1 (ONNX bool, carried as float32)
	opEq
	opGt
	opLt
	opGe
	opLe
	opMod  // Mod fmod=0: the sign of the divisor (Python %)
	opFmod // Mod fmod=1: the sign of the dividend (C fmod)
)

func b2f(c bool) float32 {
	if c {
		return 1
	}
	return 0
}

func (o binop) f32(a, b float32) float32 {
	switch o {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b
	case opPow:
		return powf(a, b)
	case opMax:
		if a != a || b != b {
			return float32(math.NaN())
		}
		return max(a, b)
	case opMin:
		if a != a || b != b {
			return float32(math.NaN())
		}
		return min(a, b)
	case opEq:
		return b2f(a == b)
	case opGt:
		return b2f(a > b)
	case opLt:
		return b2f(a < b)
	case opGe:
		return b2f(a >= b)
	case opFmod:
		return float32(math.Mod(float64(a), float64(b)))
	case opMod:
		r := math.Mod(float64(a), float64(b))
		if r != 0 && (r < 0) != (b < 0) {
			r += float64(b)
		}
		return float32(r)
	}
	return b2f(a <= b)
}

// powf is float32 Pow; the common exponents avoid math.Pow.
func powf(a, b float32) float32 {
	switch b {
	case 1:
		return a
	case 2:
		return a * a
	case 0.5:
		return float32(math.Sqrt(float64(a)))
	}
	return float32(math.Pow(float64(a), float64(b)))
}

func b2i(c bool) int64 {
	if c {
		return 1
	}
	return 0
}

func (o binop) i64(a, b int64) int64 {
	switch o {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		if b == 0 {
			return 0
		}
		return a / b
	case opPow:
		return int64(math.Pow(float64(a), float64(b)))
	case opMax:
		return max(a, b)
	case opMin:
		return min(a, b)
	case opEq:
		return b2i(a == b)
	case opGt:
		return b2i(a > b)
	case opLt:
		return b2i(a < b)
	case opGe:
		return b2i(a >= b)
	case opMod, opFmod:
		return intBinop(o, onnx.Int64, a, b)
	}
	return b2i(a <= b)
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

// binaryKernel is a broadcasting binary op. A float broadcast runs as
// rows of a contiguous inner run (bcastPlan): per row an operand is a run
// of the same length or one value, so that per-channel ([1,C,1,1]), row,
// column and scalar broadcasts all reach a vector loop (kernels.BinVV,
// kernels.BinVS) without per-element index arithmetic. Integer operands
// (intsem.go) use index tables.
type binaryKernel struct {
	a, b, y *value
	op      binop
	mode    int // 0 same shape, 1 b scalar, 2 a scalar, 4 index tables (integers), 5 rows (plan)
	ia, ib  []int32
	it      onnx.DataType // integer operands (intsem.go): computed in int64 and wrapped
	plan    bcastPlan
}

// bcastPlan is a float broadcast as rows × inner: row r of the output is
// y[r·inner : (r+1)·inner]; operand x reads x[xOff[r] + j·xStep] (xStep 1:
// a run, 0: one value).
type bcastPlan struct {
	rows, inner  int
	aOff, bOff   []int32
	aStep, bStep int
}

// newBcastPlan merges the output dims into runs over which each operand
// is either contiguous or constant, and makes the last run the inner one.
func newBcastPlan(out, as, bs []int) bcastPlan {
	n := len(out)
	// per output dim: operand extent (1 when broadcast) and stride
	type dim struct{ size, sa, sb int }
	strides := func(s []int) []int {
		st := make([]int, n)
		acc := 1
		for i := n - 1; i >= 0; i-- {
			j := i - (n - len(s))
			if j >= 0 && s[j] != 1 {
				st[i] = acc
			}
			if j >= 0 {
				acc *= s[j]
			}
		}
		return st
	}
	sa, sb := strides(as), strides(bs)
	var ds []dim
	for i := 0; i < n; i++ {
		if out[i] == 1 {
			continue
		}
		d := dim{out[i], sa[i], sb[i]}
		if len(ds) > 0 {
			p := &ds[len(ds)-1]
			// merge when each operand keeps its kind (broadcast or dense)
			// and stays contiguous across the two dims
			okA := (p.sa == 0 && d.sa == 0) || (p.sa != 0 && d.sa != 0 && p.sa == d.sa*d.size)
			okB := (p.sb == 0 && d.sb == 0) || (p.sb != 0 && d.sb != 0 && p.sb == d.sb*d.size)
			if okA && okB {
				p.size *= d.size
				p.sa, p.sb = d.sa, d.sb
				continue
			}
		}
		ds = append(ds, d)
	}
	pl := bcastPlan{rows: 1, inner: 1}
	if len(ds) == 0 {
		pl.aOff, pl.bOff = []int32{0}, []int32{0}
		return pl
	}
	last := ds[len(ds)-1]
	pl.inner = last.size
	pl.aStep, pl.bStep = min(last.sa, 1), min(last.sb, 1)
	outer := ds[:len(ds)-1]
	for _, d := range outer {
		pl.rows *= d.size
	}
	pl.aOff, pl.bOff = make([]int32, pl.rows), make([]int32, pl.rows)
	cnt := make([]int, len(outer))
	offA, offB := 0, 0
	for r := 0; r < pl.rows; r++ {
		pl.aOff[r], pl.bOff[r] = int32(offA), int32(offB)
		for d := len(outer) - 1; d >= 0; d-- {
			cnt[d]++
			offA += outer[d].sa
			offB += outer[d].sb
			if cnt[d] < outer[d].size {
				break
			}
			offA -= outer[d].sa * cnt[d]
			offB -= outer[d].sb * cnt[d]
			cnt[d] = 0
		}
	}
	return pl
}

// binaryIntType is the integer type a binary op computes in: that of a
// run-time integer operand (the other one an integer of the same type or
// a constant), Undefined for float arithmetic. Pow(float, int) is float.
func binaryIntType(b *bctx, op binop, x, z *value) (onnx.DataType, error) {
	tx, tz := x.rtInt(), z.rtInt()
	if tx == onnx.Undefined && tz == onnx.Undefined {
		return onnx.Undefined, nil
	}
	if op == opPow { // the base's type is the result's; any exponent
		if tx == onnx.Undefined && !x.konst {
			return onnx.Undefined, nil // float base
		}
		if tx == onnx.Undefined {
			tx = onnx.Int64 // an integer constant base
		}
		return tx, nil
	}
	other := z
	if tx == onnx.Undefined {
		tx, other = tz, x
	}
	if !other.konst && other.rtInt() == onnx.Undefined {
		return 0, b.errf("mixes the %s tensor and the float tensor %q computed at run time", tx, other.name)
	}
	if t := other.rtInt(); t != onnx.Undefined && t != tx && op != opPow {
		return 0, b.errf("mixes %s and %s operands", tx, t)
	}
	return tx, nil
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
		if x.isInt != z.isInt { // Pow(float, int exponent), or an int constant compared with floats
			if x.isInt {
				x = intToFloatConst(x)
			} else {
				z = intToFloatConst(z)
			}
			if x == nil || z == nil {
				return nil, b.errf("integer operand %q must be constant", b.in[0].name+"/"+b.in[1].name)
			}
		}
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
		if it, err := binaryIntType(b, op, x, z); err != nil {
			return nil, err
		} else if it != onnx.Undefined {
			k.it = it
			y.dtype = it
			if op >= opEq && op <= opLe {
				y.dtype = onnx.Bool
			}
		}
		switch {
		case equalShape(x.shape, z.shape):
			k.mode = 0
		case z.numel() == 1 && equalShape(x.shape, shape):
			k.mode = 1
		case x.numel() == 1 && equalShape(z.shape, shape):
			k.mode = 2
		case k.it != onnx.Undefined:
			k.mode = 4
			k.ia, k.ib = broadcastIndex(shape, x.shape), broadcastIndex(shape, z.shape)
		default:
			k.mode = 5
			k.plan = newBcastPlan(shape, x.shape, z.shape)
		}
		return k, nil
	}
}

// intToFloatConst converts an integer constant to a float one (nil when v
// is not constant).
func intToFloatConst(v *value) *value {
	if !v.konst {
		return nil
	}
	f := &value{name: v.name, shape: v.shape, konst: true, producer: -1, lastUse: -1, buf: -1, data: make([]float32, len(v.ints))}
	for i, x := range v.ints {
		f.data[i] = float32(x)
	}
	return f
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
	if k.mode == 5 {
		k.doPlan(part, parts)
		return
	}
	lo, hi := split(len(k.y.data), 64, part, parts)
	if k.it != onnx.Undefined {
		k.doInt(lo, hi)
		return
	}
	y := k.y.data[lo:hi]
	switch k.mode {
	case 0:
		k.vv(y, k.a.data[lo:hi], k.b.data[lo:hi])
	case 1:
		k.vs(y, k.a.data[lo:hi], k.b.data[0], false)
	case 2:
		k.vs(y, k.b.data[lo:hi], k.a.data[0], true)
	default:
		a, b := k.a.data, k.b.data
		ia, ib := k.ia[lo:hi], k.ib[lo:hi]
		for i := range y {
			y[i] = k.op.f32(a[ia[i]], b[ib[i]])
		}
	}
}

// vecOp maps the ops with vector kernels.
func (o binop) vecOp() (kernels.BinOp, bool) {
	switch o {
	case opAdd:
		return kernels.BinAdd, true
	case opSub:
		return kernels.BinSub, true
	case opMul:
		return kernels.BinMul, true
	case opDiv:
		return kernels.BinDiv, true
	}
	return 0, false
}

// vv computes y = a op b element by element.
func (k *binaryKernel) vv(y, a, b []float32) {
	if v, ok := k.op.vecOp(); ok {
		kernels.BinVV(v, y, a, b)
		return
	}
	a, b = a[:len(y)], b[:len(y)]
	for i := range y {
		y[i] = k.op.f32(a[i], b[i])
	}
}

// vs computes y = a op s (s op a when swap).
func (k *binaryKernel) vs(y, a []float32, s float32, swap bool) {
	if v, ok := k.op.vecOp(); ok {
		kernels.BinVS(v, y, a, s, swap)
		return
	}
	a = a[:len(y)]
	if swap {
		for i := range y {
			y[i] = k.op.f32(s, a[i])
		}
		return
	}
	for i := range y {
		y[i] = k.op.f32(a[i], s)
	}
}

// doPlan runs part of a rows × inner broadcast: whole rows when there
// are enough of them, else a slice of every row.
func (k *binaryKernel) doPlan(part, parts int) {
	p := &k.plan
	r0, r1, j0, j1 := 0, p.rows, 0, p.inner
	if p.rows >= parts*2 || parts == 1 {
		r0, r1 = split(p.rows, 1, part, parts)
	} else {
		j0, j1 = split(p.inner, 64, part, parts)
	}
	if j0 >= j1 {
		return
	}
	a, b, yd := k.a.data, k.b.data, k.y.data
	for r := r0; r < r1; r++ {
		y := yd[r*p.inner+j0 : r*p.inner+j1]
		ao, bo := int(p.aOff[r]), int(p.bOff[r])
		switch {
		case p.aStep == 1 && p.bStep == 1:
			k.vv(y, a[ao+j0:ao+j1], b[bo+j0:bo+j1])
		case p.aStep == 1:
			k.vs(y, a[ao+j0:ao+j1], b[bo], false)
		case p.bStep == 1:
			k.vs(y, b[bo+j0:bo+j1], a[ao], true)
		default: // both constant along the row
			v := k.op.f32(a[ao], b[bo])
			for i := range y {
				y[i] = v
			}
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
	if attrInt(b, "training_mode", 0) != 0 || len(b.n.out) > 1 && b.n.out[1] != "" {
		return nil, b.errf("training mode (running mean/var outputs) is not supported")
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

// doInt computes elements lo..hi with integer semantics (intsem.go).
func (k *binaryKernel) doInt(lo, hi int) {
	y, a, b := k.y.data, k.a.data, k.b.data
	for i := lo; i < hi; i++ {
		ai, bi := i, i
		switch k.mode {
		case 1:
			bi = 0
		case 2:
			ai = 0
		case 4:
			ai, bi = int(k.ia[i]), int(k.ib[i])
		}
		x, z := f2i(a[ai]), f2i(b[bi])
		if k.op == opPow && float32(z) != b[bi] { // a fractional exponent: truncate the float power
			y[i] = float32(wrapInt(k.it, f2i(powf(a[ai], b[bi]))))
			continue
		}
		if k.op >= opEq && k.op <= opLe {
			y[i] = float32(k.op.i64(x, z))
			continue
		}
		y[i] = float32(intBinop(k.op, k.it, x, z))
	}
}
