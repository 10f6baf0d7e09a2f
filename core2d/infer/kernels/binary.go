package kernels

// BinOp is an element-wise arithmetic operator with a vector kernel.
type BinOp uint8

const (
	BinAdd BinOp = iota
	BinSub
	BinMul
	BinDiv
)

func (o BinOp) f(a, b float32) float32 {
	switch o {
	case BinAdd:
		return a + b
	case BinSub:
		return a - b
	case BinMul:
		return a * b
	}
	return a / b
}

// binVVGeneric computes dst[i] = a[i] op b[i].
func binVVGeneric(op BinOp, dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	switch op {
	case BinAdd:
		for i := range dst {
			dst[i] = a[i] + b[i]
		}
	case BinSub:
		for i := range dst {
			dst[i] = a[i] - b[i]
		}
	case BinMul:
		for i := range dst {
			dst[i] = a[i] * b[i]
		}
	default:
		for i := range dst {
			dst[i] = a[i] / b[i]
		}
	}
}

// binVSGeneric computes dst[i] = a[i] op s, or s op a[i] when swap.
func binVSGeneric(op BinOp, dst, a []float32, s float32, swap bool) {
	a = a[:len(dst)]
	if swap {
		for i, v := range a {
			dst[i] = op.f(s, v)
		}
		return
	}
	switch op {
	case BinAdd:
		for i, v := range a {
			dst[i] = v + s
		}
	case BinSub:
		for i, v := range a {
			dst[i] = v - s
		}
	case BinMul:
		for i, v := range a {
			dst[i] = v * s
		}
	default:
		for i, v := range a {
			dst[i] = v / s
		}
	}
}

// axpyGeneric computes dst[i] += s·x[i] with one rounding per element.
func axpyGeneric(dst, x []float32, s float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = float32(float64(s)*float64(v) + float64(dst[i]))
	}
}

// dotGeneric is Σ a[i]·b[i] summed in float64.
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s float64
	for i, v := range a {
		s += float64(v) * float64(b[i])
	}
	return float32(s)
}
