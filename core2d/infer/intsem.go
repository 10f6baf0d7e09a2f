package infer

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Integer tensors computed at run time.
//
// Run takes and returns float32 slices, so integer graph inputs (pillar
// coordinates, index tensors) and the integer results of ArgMax/ArgMin,
// TopK indices and comparisons are carried as float32 values holding
// exact integers. Each such value records its ONNX type (value.dtype) so
// that no op silently computes float arithmetic where ONNX means integer
// arithmetic:
//
//   - data movement (Reshape, Transpose, Gather, Slice, Concat, …), Max,
//     Min, Clip, MaxPool, ReduceMax/Min, ArgMax/ArgMin, TopK and the
//     comparisons are exact on integers below 2^24 and keep the type;
//   - Add, Sub, Mul, Div, Pow and Mod compute in int64 and wrap the result
//     to the type (uint8 200+100 = 44); Div truncates toward zero (the
//     same as floor for unsigned types), Mod follows the fmod attribute
//     (0: sign of the divisor, as Python; 1: sign of the dividend, as C);
//     an integer division or modulo by zero gives 0 (ONNX leaves it
//     undefined);
//   - Neg and Abs wrap too (int8: −(−128) = −128);
//   - Cast between integer types wraps, float to integer truncates toward
//     zero and wraps, integer to float is a copy;
//   - every other op rejects a run-time integer input at load time, with
//     an error naming the node and the tensor.
//
// Exactness: the 8- and 16-bit types are exact everywhere. int32, uint32
// and int64 values are exact below 2^24 in magnitude, like the graph
// inputs themselves; a larger result (an int32 product, say) is rounded to
// the nearest float32, and int32/uint32 wrap-around is applied to the
// exact int64 result before that rounding.

// intRule says how an op treats run-time integer inputs.
type intRule struct {
	data []int           // inputs whose type the first output takes (nil: all)
	outs []onnx.DataType // fixed output types by output index (Undefined: from data)
	self bool            // the builder sets the output types itself
}

var (
	intMove    = intRule{data: []int{0}}
	intAll     = intRule{}
	intCompare = intRule{outs: []onnx.DataType{onnx.Bool}}
	intIndex   = intRule{outs: []onnx.DataType{onnx.Int64}}
	intSelf    = intRule{self: true}
)

// intRules lists the ops that accept run-time integer inputs.
var intRules = map[string]intRule{
	"Reshape": intMove, "Flatten": intMove, "Squeeze": intMove, "Unsqueeze": intMove, "Identity": intMove,
	"Transpose": intMove, "Concat": intAll, "Slice": intMove, "Split": intMove, "Gather": intMove,
	"Expand": intMove, "Pad": intMove, "MaxPool": intMove, "ReduceMax": intMove, "ReduceMin": intMove,
	"Clip": intMove, "Max": intAll, "Min": intAll,
	"ScatterND": {data: []int{0, 2}}, "Where": {data: []int{1, 2}},
	"TopK":   {data: []int{0}, outs: []onnx.DataType{onnx.Undefined, onnx.Int64}},
	"ArgMax": intIndex, "ArgMin": intIndex,
	"Equal": intCompare, "Greater": intCompare, "Less": intCompare, "GreaterOrEqual": intCompare, "LessOrEqual": intCompare,
	"Add": intSelf, "Sub": intSelf, "Mul": intSelf, "Div": intSelf, "Pow": intSelf, "Mod": intSelf,
	"Neg": intSelf, "Abs": intSelf, "Cast": intSelf,
	"Shape": intSelf, "Size": intSelf,
}

// intOutputs gives ops whose outputs are integers whatever their inputs.
var intOutputs = map[string]intRule{
	"ArgMax": intIndex, "ArgMin": intIndex, "TopK": intRules["TopK"],
	"Equal": intCompare, "Greater": intCompare, "Less": intCompare, "GreaterOrEqual": intCompare, "LessOrEqual": intCompare,
}

// rtInt is v's integer type when v is an integer tensor computed at run
// time (or a graph input), else Undefined.
func (v *value) rtInt() onnx.DataType {
	if v == nil || v.konst || !v.dtype.IsInteger() {
		return onnx.Undefined
	}
	return v.dtype
}

// checkIntInputs rejects a node that would compute on run-time integers
// with float semantics; it runs before the op's builder.
func (b *bctx) checkIntInputs() error {
	for _, v := range b.in {
		if dt := v.rtInt(); dt != onnx.Undefined {
			if _, ok := intRules[b.n.OpType]; !ok {
				return b.errf("input %q is a %s tensor computed at run time (carried as float32); %s on integer tensors is not supported", v.name, dt, b.n.OpType)
			}
		}
	}
	return nil
}

// setIntOutputs records the types of the outputs after the builder ran.
func (b *bctx) setIntOutputs() error {
	rule, ok := intRules[b.n.OpType]
	if fixed, isFixed := intOutputs[b.n.OpType]; isFixed {
		rule, ok = fixed, true
	}
	if !ok || rule.self {
		return nil
	}
	var dt onnx.DataType
	pick := func(i int) error {
		if i >= len(b.in) || b.in[i] == nil || b.in[i].konst {
			return nil
		}
		t := b.in[i].rtInt()
		if t == onnx.Undefined {
			t = onnx.Float
		}
		if dt != onnx.Undefined && dt != t {
			return b.errf("mixes %s and %s tensors computed at run time", dt, t)
		}
		dt = t
		return nil
	}
	if rule.data == nil {
		for i := range b.in {
			if err := pick(i); err != nil {
				return err
			}
		}
	} else {
		for _, i := range rule.data {
			if err := pick(i); err != nil {
				return err
			}
		}
	}
	if dt == onnx.Float {
		dt = onnx.Undefined
	}
	for i, v := range b.out {
		v.dtype = dt
		if i < len(rule.outs) && rule.outs[i] != onnx.Undefined {
			v.dtype = rule.outs[i]
		}
	}
	return nil
}

// wrapInt reduces x to the range of integer type dt (two's complement
// wrap-around); int64 and unknown types are returned unchanged.
func wrapInt(dt onnx.DataType, x int64) int64 {
	switch dt {
	case onnx.Uint8:
		return int64(uint8(x))
	case onnx.Int8:
		return int64(int8(x))
	case onnx.Uint16:
		return int64(uint16(x))
	case onnx.Int16:
		return int64(int16(x))
	case onnx.Int32:
		return int64(int32(x))
	case onnx.Uint32:
		return int64(uint32(x))
	case onnx.Bool:
		if x != 0 {
			return 1
		}
		return 0
	}
	return x
}

// f2i converts a carried integer (or a float to be cast) to int64,
// truncating toward zero and saturating outside the int64 range.
func f2i(f float32) int64 {
	switch {
	case f != f:
		return 0
	case f >= 9.2e18:
		return 1<<63 - 1
	case f <= -9.2e18:
		return -1 << 63
	}
	return int64(f)
}

// ipow is a^e with wrap-around in 64 bits (the caller wraps to the type);
// a negative exponent gives the truncated 1/a^|e|.
func ipow(a, e int64) int64 {
	if e < 0 {
		switch a {
		case 1:
			return 1
		case -1:
			if e%2 == 0 {
				return 1
			}
			return -1
		}
		return 0
	}
	r := int64(1)
	for e > 0 {
		if e&1 != 0 {
			r *= a
		}
		a *= a
		e >>= 1
	}
	return r
}

// intBinop applies op to two integers of type dt with ONNX integer
// semantics (see the top of this file) and wraps the result.
func intBinop(op binop, dt onnx.DataType, a, b int64) int64 {
	var r int64
	switch op {
	case opAdd:
		r = a + b
	case opSub:
		r = a - b
	case opMul:
		r = a * b
	case opDiv:
		if b == 0 {
			return 0
		}
		r = a / b // Go truncates toward zero; operands of unsigned types are ≥ 0
	case opPow:
		r = ipow(a, b)
	case opMod, opFmod:
		if b == 0 {
			return 0
		}
		r = a % b // sign of the dividend (C fmod)
		if op == opMod && r != 0 && (r < 0) != (b < 0) {
			r += b // sign of the divisor (Python %)
		}
	default:
		return op.i64(a, b)
	}
	return wrapInt(dt, r)
}

// castIntKernel casts to an integer type: truncation toward zero, then
// wrap-around to the type (bool: x ≠ 0).
type castIntKernel struct {
	x, y *value
	to   onnx.DataType
}

func (k *castIntKernel) run(*engine) {
	y := k.y.data
	for i, v := range k.x.data[:len(y)] {
		if k.to == onnx.Bool {
			y[i] = b2f(v != 0)
			continue
		}
		y[i] = float32(wrapInt(k.to, f2i(v)))
	}
}

// wrapKernel runs a float kernel on exact integers and wraps its output
// to an integer type (Neg, Abs: the float result is exact below 2^24).
type wrapKernel struct {
	k  kernel
	y  *value
	dt onnx.DataType
}

func (k *wrapKernel) run(e *engine) {
	k.k.run(e)
	for i, v := range k.y.data {
		k.y.data[i] = float32(wrapInt(k.dt, f2i(v)))
	}
}

func (k *wrapKernel) String() string { return fmt.Sprintf("%v (wrapped to %s)", k.k, k.dt) }
