package kernels

import (
	"fmt"
	"math"
)

// activation is a function fused into a kernel's output: its kind and,
// for the piecewise-linear kinds, their parameters.
type Activation struct {
	kind   actKind
	useMin bool    // actKLeaky with alpha > 1 (decided here, not in a vector kernel)
	alpha  float32 // actKLeaky: slope for x < 0; hard kinds: the slope
	beta   float32 // hard kinds: the offset
	lo, hi float32 // actKClamp: bounds (Relu: 0, +Inf); hard kinds: 0, 1
}

type actKind uint8

const (
	actKNone    actKind = iota
	actKSigmoid         // 1 / (1 + e^-x)
	actKSiLU            // x · sigmoid(x)
	actKClamp           // min(max(x, lo), hi): Relu, Clip (e.g. Relu6)
	actKLeaky           // x < 0 ? alpha·x : x (LeakyRelu)
	// max(0, min(1, alpha·x + beta)) (HardSigmoid) and x times it
	// (HardSwish: alpha 1/6, beta ½)
	actKHardSigmoid
	actKHardSwish
	actKGELU // x·½·(1 + erf(x/√2)); element-wise kernels only, not a tile epilogue
)

// ActGELU is GELU in its erf form.
var ActGELU = Activation{kind: actKGELU}

var (
	ActNone    = Activation{}
	ActSigmoid = Activation{kind: actKSigmoid}
	ActSiLU    = Activation{kind: actKSiLU}
	ActRelu    = Activation{kind: actKClamp, lo: 0, hi: float32(math.Inf(1))}
)

func ActClamp(lo, hi float32) Activation { return Activation{kind: actKClamp, lo: lo, hi: hi} }
func ActLeaky(alpha float32) Activation {
	return Activation{kind: actKLeaky, alpha: alpha, useMin: alpha > 1}
}

// ActHardSigmoid is ONNX HardSigmoid(alpha, beta).
func ActHardSigmoid(alpha, beta float32) Activation {
	return Activation{kind: actKHardSigmoid, alpha: alpha, beta: beta, lo: 0, hi: 1}
}

// ActHardSwish is ONNX HardSwish, x·HardSigmoid(1/6, ½)(x).
var ActHardSwish = ActHardSwishOf(1.0/6, 0.5)

// ActHardSwishOf is x·HardSigmoid(alpha, beta)(x).
func ActHardSwishOf(alpha, beta float32) Activation {
	return Activation{kind: actKHardSwish, alpha: alpha, beta: beta, lo: 0, hi: 1}
}

func (a Activation) String() string {
	switch a.kind {
	case actKSigmoid:
		return "Sigmoid"
	case actKSiLU:
		return "SiLU"
	case actKClamp:
		if a == ActRelu {
			return "Relu"
		}
		return fmt.Sprintf("Clip(%g,%g)", a.lo, a.hi)
	case actKLeaky:
		return fmt.Sprintf("LeakyRelu(%g)", a.alpha)
	case actKHardSigmoid:
		return fmt.Sprintf("HardSigmoid(%g,%g)", a.alpha, a.beta)
	case actKHardSwish:
		if a == ActHardSwish {
			return "HardSwish"
		}
		return fmt.Sprintf("x·HardSigmoid(%g,%g)", a.alpha, a.beta)
	case actKGELU:
		return "GELU"
	}
	return ""
}

// ApplyAct applies a to x in place.
func ApplyAct(a Activation, x []float32) {
	switch a.kind {
	case actKSigmoid:
		Sigmoid(x, x)
	case actKSiLU:
		SiLU(x, x)
	case actKClamp:
		Clamp(x, x, a.lo, a.hi)
	case actKLeaky, actKHardSigmoid, actKHardSwish:
		piecewiseSlice(x, x, a)
	case actKGELU:
		GELU(x, x)
	}
}

// ActInto computes dst = a(x) (dst may be x).
func ActInto(a Activation, dst, x []float32) {
	switch a.kind {
	case actKNone:
		copy(dst, x)
	case actKSigmoid:
		Sigmoid(dst, x)
	case actKSiLU:
		SiLU(dst, x)
	case actKGELU:
		GELU(dst, x)
	default:
		piecewiseSlice(dst, x, a)
	}
}

// piecewiseGeneric applies a post-pass activation (Piecewise) with
// scalar code; the hard kinds round α·x+β once, like the vector FMA.
func piecewiseGeneric(dst, x []float32, a Activation) {
	switch a.kind {
	case actKClamp:
		clampGeneric(dst, x, a.lo, a.hi)
	case actKLeaky:
		leakyGeneric(dst, x, a.alpha)
	case actKHardSigmoid, actKHardSwish:
		x = x[:len(dst)]
		for i, v := range x {
			h := min(max(float32(math.FMA(float64(a.alpha), float64(v), float64(a.beta))), 0), 1)
			if a.kind == actKHardSwish {
				h *= v
			}
			dst[i] = h
		}
	}
}

// clampGeneric computes dst[i] = min(max(x[i], lo), hi). A NaN stays NaN
// here; the vector kernels (like MLAS) turn it into a bound.
func clampGeneric(dst, x []float32, lo, hi float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = min(max(v, lo), hi)
	}
}

// leakyGeneric computes dst[i] = x[i] < 0 ? alpha·x[i] : x[i].
func leakyGeneric(dst, x []float32, alpha float32) {
	x = x[:len(dst)]
	for i, v := range x {
		if v < 0 {
			v *= alpha
		}
		dst[i] = v
	}
}

// Constants of the Cephes expf: e^x = 2^n · e^r with n = round(x·log2 e),
// r = x − n·ln 2 (ln 2 split in two for exactness) and e^r by a degree-6
// polynomial; relative error ≈ 1 ulp on [−87.3, 88.7].
const (
	expHi  = 88.3762626647949
	expLo  = -87.3365447504
	log2e  = 1.44269504088896341
	expC1  = 0.693359375
	expC2  = -2.12194440e-4
	expP0  = 1.9875691500e-4
	expP1  = 1.3981999507e-3
	expP2  = 8.3334519073e-3
	expP3  = 4.1665795894e-2
	expP4  = 1.6666665459e-1
	expP5  = 5.0000001201e-1
	expBig = 12582912 // 1.5·2^23: adding it rounds to an integer
)

// expf is e^x in float32 (Cephes expf); it saturates outside the float32
// range instead of returning ±Inf/0 exactly at the edges.
func expf(x float32) float32 {
	if x > expHi {
		x = expHi
	}
	if x < expLo {
		x = expLo
	}
	fx := x*log2e + expBig
	n := int32(math.Float32bits(fx)&0x7fffff) - 0x400000
	fx -= expBig
	r := x - fx*expC1 - fx*expC2
	z := r * r
	p := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	p = p*z + r + 1
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// Coefficients of the rational logistic approximation used by onnxruntime's
// MLAS (MlasComputeLogistic): σ(x) ≈ 0.5 + x·P(x²)/Q(x²) on [−18, 18].
const (
	lgAlpha9 = 4.37031012579801e-11
	lgAlpha7 = 1.15627324459942e-07
	lgAlpha5 = 6.08574864600143e-05
	lgAlpha3 = 8.51377133304701e-03
	lgAlpha1 = 2.48287947061529e-01
	lgBeta10 = 6.10247389755681e-13
	lgBeta8  = 5.76102136993427e-09
	lgBeta6  = 6.29106785017040e-06
	lgBeta4  = 1.70198817374094e-03
	lgBeta2  = 1.16817656904453e-01
	lgBeta0  = 9.93151921023180e-01
)

func logistic(x float32) float32 {
	x = min(max(x, -18), 18)
	x2 := x * x
	p := x2*lgAlpha9 + lgAlpha7
	p = p*x2 + lgAlpha5
	p = p*x2 + lgAlpha3
	p = p*x2 + lgAlpha1
	p = p * x
	q := x2*lgBeta10 + lgBeta8
	q = q*x2 + lgBeta6
	q = q*x2 + lgBeta4
	q = q*x2 + lgBeta2
	q = q*x2 + lgBeta0
	return min(max(p/q+0.5, 0), 1)
}

func sigmoidGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = logistic(v)
	}
}

func siluGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = v * logistic(v)
	}
}

func expGeneric(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = expf(v)
	}
}

// Piecewise reports whether a is applied by a vector pass after the
// register tile (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish), not by
// the assembly kernels.
func (a Activation) Piecewise() bool { return a.kind >= actKClamp && a.kind != actKGELU }
