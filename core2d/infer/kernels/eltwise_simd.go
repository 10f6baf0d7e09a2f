//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

//go:noescape
func dwFlat16(dst, buf, offs, w unsafe.Pointer, ntap, nvec int, bias float32)

// DwFlat computes dst[j] = Σ_t w[t]·buf[offs[t]+j] + bias for every j: a
// depthwise plane laid out flat (core2d/infer's dwChannelFlat). With
// AVX-512 the assembly of dwflat_amd64.s runs it; with AVX2 four vectors
// share each broadcast weight. buf must hold offs[t]+len(dst) values for
// every t.
func DwFlat(dst, buf []float32, offs []int, w []float32, bias float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	for t, o := range offs {
		_ = buf[o+n-1]
		_ = w[t]
	}
	if !useSIMD {
		dwFlatScalar(dst, buf, offs, w, bias)
		return
	}
	base := unsafe.Pointer(unsafe.SliceData(buf))
	out := unsafe.Pointer(unsafe.SliceData(dst))
	pw := unsafe.Pointer(unsafe.SliceData(w))
	po := unsafe.Pointer(unsafe.SliceData(offs))
	nt := len(offs)
	j := 0
	if useAVX512 {
		if nt > 0 && n >= 16 {
			dwFlat16(out, base, po, pw, nt, n/16, bias)
			j = n &^ 15
		}
	} else {
		bv := archsimd.BroadcastFloat32x8(bias)
		for ; j+32 <= n; j += 32 {
			var a0, a1, a2, a3 archsimd.Float32x8
			pj := unsafe.Add(base, j*4)
			for t := 0; t < nt; t++ {
				wv := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pw, t*4)))
				p := unsafe.Add(pj, *(*int)(unsafe.Add(po, t*8))*4)
				a0 = wv.MulAdd(archsimd.LoadFloat32x8(f8(p)), a0)
				a1 = wv.MulAdd(archsimd.LoadFloat32x8(f8(unsafe.Add(p, 32))), a1)
				a2 = wv.MulAdd(archsimd.LoadFloat32x8(f8(unsafe.Add(p, 64))), a2)
				a3 = wv.MulAdd(archsimd.LoadFloat32x8(f8(unsafe.Add(p, 96))), a3)
			}
			q := unsafe.Add(out, j*4)
			a0.Add(bv).Store(f8(q))
			a1.Add(bv).Store(f8(unsafe.Add(q, 32)))
			a2.Add(bv).Store(f8(unsafe.Add(q, 64)))
			a3.Add(bv).Store(f8(unsafe.Add(q, 96)))
		}
		for ; j+8 <= n; j += 8 {
			var a0 archsimd.Float32x8
			pj := unsafe.Add(base, j*4)
			for t := 0; t < nt; t++ {
				wv := archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pw, t*4)))
				a0 = wv.MulAdd(archsimd.LoadFloat32x8(f8(unsafe.Add(pj, *(*int)(unsafe.Add(po, t*8))*4))), a0)
			}
			a0.Add(bv).Store(f8(unsafe.Add(out, j*4)))
		}
	}
	if j < n {
		dwFlatScalar(dst[j:], buf[j:], offs, w, bias)
	}
}

func bin16(op BinOp, x, y archsimd.Float32x16) archsimd.Float32x16 {
	switch op {
	case BinAdd:
		return x.Add(y)
	case BinSub:
		return x.Sub(y)
	case BinMul:
		return x.Mul(y)
	}
	return x.Div(y)
}

func bin8(op BinOp, x, y archsimd.Float32x8) archsimd.Float32x8 {
	switch op {
	case BinAdd:
		return x.Add(y)
	case BinSub:
		return x.Sub(y)
	case BinMul:
		return x.Mul(y)
	}
	return x.Div(y)
}

// BinVV computes dst[i] = a[i] op b[i]: whole vectors, then (upper
// halves cleared) the scalar tail. The operations are exact IEEE ones,
// so every path gives the same bits.
func BinVV(op BinOp, dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	i := 0
	if useAVX512 {
		for ; i+32 <= n; i += 32 {
			pa, pb, pd := unsafe.Pointer(&a[i]), unsafe.Pointer(&b[i]), unsafe.Pointer(&dst[i])
			x0, x1 := archsimd.LoadFloat32x16(f16(pa)), archsimd.LoadFloat32x16(f16(unsafe.Add(pa, 64)))
			y0, y1 := archsimd.LoadFloat32x16(f16(pb)), archsimd.LoadFloat32x16(f16(unsafe.Add(pb, 64)))
			bin16(op, x0, y0).Store(f16(pd))
			bin16(op, x1, y1).Store(f16(unsafe.Add(pd, 64)))
		}
		for ; i+16 <= n; i += 16 {
			bin16(op, archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i]))), archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	} else if useSIMD {
		for ; i+8 <= n; i += 8 {
			bin8(op, archsimd.LoadFloat32x8(f8(unsafe.Pointer(&a[i]))), archsimd.LoadFloat32x8(f8(unsafe.Pointer(&b[i])))).Store(f8(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		binVVGeneric(op, dst[i:], a[i:], b[i:])
	}
}

// BinVS computes dst[i] = a[i] op s (s op a[i] when swap).
func BinVS(op BinOp, dst, a []float32, s float32, swap bool) {
	n := len(dst)
	a = a[:n]
	i := 0
	if useAVX512 && n >= 16 {
		sv := archsimd.BroadcastFloat32x16(s)
		if swap {
			for ; i+16 <= n; i += 16 {
				bin16(op, sv, archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i])))).Store(f16(unsafe.Pointer(&dst[i])))
			}
		} else {
			for ; i+16 <= n; i += 16 {
				bin16(op, archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i]))), sv).Store(f16(unsafe.Pointer(&dst[i])))
			}
		}
		archsimd.ClearAVXUpperBits()
	} else if useSIMD && n >= 8 {
		sv := archsimd.BroadcastFloat32x8(s)
		if swap {
			for ; i+8 <= n; i += 8 {
				bin8(op, sv, archsimd.LoadFloat32x8(f8(unsafe.Pointer(&a[i])))).Store(f8(unsafe.Pointer(&dst[i])))
			}
		} else {
			for ; i+8 <= n; i += 8 {
				bin8(op, archsimd.LoadFloat32x8(f8(unsafe.Pointer(&a[i]))), sv).Store(f8(unsafe.Pointer(&dst[i])))
			}
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		binVSGeneric(op, dst[i:], a[i:], s, swap)
	}
}

// erfConst holds the constants of erf16 and exp16, broadcast once.
type erfConst struct {
	p                                       [7]archsimd.Float32x16
	q                                       [10]archsimd.Float32x16
	zero, half, one, invSqrt2               archsimd.Float32x16
	expLo, expHi, log2e, c1, c2, p0, p1, p2 archsimd.Float32x16
	p3, p4, p5                              archsimd.Float32x16
}

var erfc16 erfConst

func init() {
	if !useAVX512 {
		return
	}
	bc := archsimd.BroadcastFloat32x16
	c := &erfc16
	for i, v := range []float32{erfP0, erfP1, erfP2, erfP3, erfP4, erfP5, erfP6} {
		c.p[i] = bc(v)
	}
	for i, v := range []float32{erfQ0, erfQ1, erfQ2, erfQ3, erfQ4, erfQ5, erfQ6, erfQ7, erfQ8, erfQ9} {
		c.q[i] = bc(v)
	}
	c.zero, c.half, c.one, c.invSqrt2 = bc(0), bc(0.5), bc(1), bc(1/math.Sqrt2)
	c.expLo, c.expHi, c.log2e = bc(expLo), bc(expHi), bc(log2e)
	c.c1, c.c2 = bc(-expC1), bc(-expC2)
	c.p0, c.p1, c.p2, c.p3, c.p4, c.p5 = bc(expP0), bc(expP1), bc(expP2), bc(expP3), bc(expP4), bc(expP5)
	archsimd.ClearAVXUpperBits()
}

// exp16 is expf on 16 lanes: n = round(x·log2 e), r = x − n·ln 2 in two
// parts, e^r by the Cephes polynomial, scaled by 2^n (VSCALEFPS).
func (c *erfConst) exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Max(c.expLo).Min(c.expHi)
	n := x.Mul(c.log2e).RoundToEvenScaled(0)
	r := n.MulAdd(c.c1, x)
	r = n.MulAdd(c.c2, r)
	z := r.Mul(r)
	p := r.MulAdd(c.p0, c.p1)
	p = p.MulAdd(r, c.p2)
	p = p.MulAdd(r, c.p3)
	p = p.MulAdd(r, c.p4)
	p = p.MulAdd(r, c.p5)
	p = p.MulAdd(z, r).Add(c.one)
	return p.Scale(n)
}

// erf16 is erff on 16 lanes (both branches computed, then selected).
func (c *erfConst) erf16(x archsimd.Float32x16) archsimd.Float32x16 {
	a := x.Max(c.zero.Sub(x))
	x2 := x.Mul(x)
	p := x2.MulAdd(c.p[6], c.p[5])
	p = p.MulAdd(x2, c.p[4])
	p = p.MulAdd(x2, c.p[3])
	p = p.MulAdd(x2, c.p[2])
	p = p.MulAdd(x2, c.p[1])
	p = p.MulAdd(x2, c.p[0])
	small := x.Mul(p)
	t := c.one.Div(a.MulAdd(c.half, c.one))
	q := t.MulAdd(c.q[9], c.q[8])
	for i := 7; i >= 0; i-- {
		q = q.MulAdd(t, c.q[i])
	}
	big := c.one.Sub(t.Mul(c.exp16(q.Sub(a.Mul(a)))))
	big = big.Merge(c.zero.Sub(big), x.GreaterEqual(c.zero))
	return small.Merge(big, a.Less(c.one))
}

// Erf computes dst[i] = erf(x[i]).
func Erf(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		c := &erfc16
		for ; i+16 <= n; i += 16 {
			c.erf16(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))).Store(f16(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		erfGeneric(dst[i:], x[i:])
	}
}

// GELU computes dst[i] = x[i]·½·(1 + erf(x[i]/√2)), the steps of the
// exported graph in one pass.
func GELU(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 {
		c := &erfc16
		for ; i+16 <= n; i += 16 {
			v := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i])))
			e := c.erf16(v.Mul(c.invSqrt2))
			v.Mul(e.Add(c.one)).Mul(c.half).Store(f16(unsafe.Pointer(&dst[i])))
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		geluGeneric(dst[i:], x[i:])
	}
}

// hsum16 adds the lanes of v in float64 (upper halves cleared first: the
// sum is scalar code).
func hsum16(v archsimd.Float32x16) float64 {
	var t [16]float32
	v.Store(&t)
	archsimd.ClearAVXUpperBits()
	var s float64
	for _, x := range t {
		s += float64(x)
	}
	return s
}

// LayerNorm normalises the row x into dst: d = x − mean(x), y = d /
// √(mean(d²) + eps) · gamma + beta (gamma, beta nil for none), the sums
// in 16 float32 lanes added in float64, the division kept (as in the
// graph it replaces).
func LayerNorm(dst, x, gamma, beta []float32, eps float32) {
	n := len(x)
	dst = dst[:n]
	if !useAVX512 || n < 16 || n%16 != 0 || (gamma != nil && len(gamma) < n) || (beta != nil && len(beta) < n) {
		layerNormGeneric(dst, x, gamma, beta, eps)
		return
	}
	var acc archsimd.Float32x16
	for i := 0; i < n; i += 16 {
		acc = acc.Add(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i]))))
	}
	mean := float32(hsum16(acc) / float64(n))
	mv := archsimd.BroadcastFloat32x16(mean)
	var sq archsimd.Float32x16
	for i := 0; i < n; i += 16 {
		d := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i]))).Sub(mv)
		d.Store(f16(unsafe.Pointer(&dst[i])))
		sq = d.MulAdd(d, sq)
	}
	sd := float32(math.Sqrt(float64(float32(hsum16(sq)/float64(n)) + eps)))
	sv := archsimd.BroadcastFloat32x16(sd)
	for i := 0; i < n; i += 16 {
		p := f16(unsafe.Pointer(&dst[i]))
		y := archsimd.LoadFloat32x16(p).Div(sv)
		if gamma != nil {
			y = y.Mul(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&gamma[i]))))
		}
		if beta != nil {
			y = y.Add(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&beta[i]))))
		}
		y.Store(p)
	}
	archsimd.ClearAVXUpperBits()
}

// SoftmaxRow computes the softmax of the row x into dst: the maximum,
// e^(x−max) (exp16 on whole vectors, expf on the tail, about 1 ulp)
// summed in float64, then a multiply by the reciprocal of the sum.
func SoftmaxRow(dst, x []float32) {
	n := len(dst)
	x = x[:n]
	if !useAVX512 || n < 16 {
		softmaxGeneric(dst, x)
		return
	}
	full := n &^ 15
	mv := archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[0])))
	for i := 16; i < full; i += 16 {
		mv = mv.Max(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i]))))
	}
	var t [16]float32
	mv.Store(&t)
	archsimd.ClearAVXUpperBits()
	m := t[0]
	for _, v := range t[1:] {
		m = max(m, v)
	}
	for _, v := range x[full:] {
		m = max(m, v)
	}
	c := &erfc16
	bm := archsimd.BroadcastFloat32x16(m)
	var sv archsimd.Float32x16
	for i := 0; i < full; i += 16 {
		e := c.exp16(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i]))).Sub(bm))
		e.Store(f16(unsafe.Pointer(&dst[i])))
		sv = sv.Add(e)
	}
	s := hsum16(sv)
	for i := full; i < n; i++ {
		e := expf(x[i] - m)
		dst[i] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	iv := archsimd.BroadcastFloat32x16(inv)
	for i := 0; i < full; i += 16 {
		p := f16(unsafe.Pointer(&dst[i]))
		archsimd.LoadFloat32x16(p).Mul(iv).Store(p)
	}
	archsimd.ClearAVXUpperBits()
	for i := full; i < n; i++ {
		dst[i] *= inv
	}
}

// Axpy computes dst[i] += s·x[i] (a fused multiply-add per element).
func Axpy(dst, x []float32, s float32) {
	n := len(dst)
	x = x[:n]
	i := 0
	if useAVX512 && n >= 16 {
		sv := archsimd.BroadcastFloat32x16(s)
		for ; i+16 <= n; i += 16 {
			p := f16(unsafe.Pointer(&dst[i]))
			sv.MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&x[i]))), archsimd.LoadFloat32x16(p)).Store(p)
		}
		archsimd.ClearAVXUpperBits()
	}
	if i < n {
		axpyGeneric(dst[i:], x[i:], s)
	}
}

// Dot returns Σ a[i]·b[i]: 16-lane FMA sums (two chains) added in float64,
// the tail in float64.
func Dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	if !useAVX512 || n < 32 {
		return dotGeneric(a, b)
	}
	var s0, s1 archsimd.Float32x16
	i := 0
	for ; i+32 <= n; i += 32 {
		s0 = archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i]))).MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i]))), s0)
		s1 = archsimd.LoadFloat32x16(f16(unsafe.Pointer(&a[i+16]))).MulAdd(archsimd.LoadFloat32x16(f16(unsafe.Pointer(&b[i+16]))), s1)
	}
	s := hsum16(s0.Add(s1))
	for ; i < n; i++ {
		s += float64(a[i]) * float64(b[i])
	}
	return float32(s)
}
