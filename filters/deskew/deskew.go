// Package deskew removes a spinning lidar's motion distortion (Autoware's
// distortion_corrector): each point was measured in the sensor frame of its
// own firing time, and Corrector moves it into the sensor frame of one
// reference time, given the ego motion as a twist (linear and angular
// velocity, constant over the sweep) and the per-point time column. The
// twist comes from the configuration or from the DS3D::EgoPose of
// consecutive datamaps (the deskew component). The sensor's pose at time t
// relative to the reference time t_r is exp((t − t_r)·ξ) for the body-frame
// twist ξ, so p_ref = X⁻¹·exp((t − t_r)·ξ)·X·p with X the ego-from-lidar
// mounting. Rather than one exponential per point, time is cut into slices
// about the reference time short enough that using the slice-centre
// transform moves no point within Corrector.MaxRange more than
// Corrector.MaxError (from the speeds; Autoware likewise holds one
// transform per stretch of time); the transforms are built by composing one
// slice step and kept while the motion stays the same, and each point costs
// a 3×4 multiply (2×3 for planar motion), in 128-bit AVX vectors where the
// CPU has AVX2.
package deskew

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Twist is the ego's velocity in its own (body) frame: V in m/s, W in
// rad/s about x, y, z.
type Twist struct {
	V, W [3]float64
}

// Mode picks the motion model.
type Mode int

// Modes. Mode2D keeps x, y velocity and yaw rate (Autoware's default: a
// vehicle on a road); Mode3D uses the full twist.
const (
	Mode2D Mode = iota
	Mode3D
)

// Reference picks the time points are moved to.
type Reference int

// References: the frame's timestamp (time 0, Autoware's header stamp),
// the sweep's earliest or its latest point.
const (
	RefStamp Reference = iota
	RefStart
	RefEnd
)

// maxSlices bounds each side of the transform table (1.5 MiB a side): a
// point farther than maxSlices slices from the reference time (0.86 s at
// 20 m/s and 30°/s with the default 2 mm and 250 m) uses the last slice's
// transform.
const maxSlices = 1 << 15

// Corrector moves points to the reference time. It keeps its slice table
// between frames (rebuilt only when the motion changes); it is not safe for
// concurrent use.
type Corrector struct {
	Mode      Mode
	Reference Reference
	// MaxError (m) bounds the slicing error of points within MaxRange (m)
	// of the lidar; 0 means 2 mm and 250 m. Farther points (rare) may be
	// off by proportionally more.
	MaxError, MaxRange float64
	// Extrinsic is the ego-from-lidar transform X (rigid); the zero value
	// means identity (the twist is the lidar's own).
	Extrinsic ds3d.Mat4

	tab table
}

// table holds slice k's transform X⁻¹·exp(k·w·ξ)·X, which moves a point
// measured k·w seconds after the reference time to it: it depends on the
// time offset only, so one table serves every reference time and every
// frame with the same motion. Entries are composed step by step in float64
// as far as points need them, forward (k ≥ 0) and backward (k < 0).
type table struct {
	key      tableKey
	pos, neg [][12]float32 // k = 0, 1, …; k = −1, −2, …
	posCur   ds3d.Mat4     // transform of the next forward entry
	negCur   ds3d.Mat4     // transform of the next backward entry
	step     ds3d.Mat4     // X⁻¹·exp(w·ξ)·X
	back     ds3d.Mat4     // X⁻¹·exp(−w·ξ)·X
}

type tableKey struct {
	tw Twist
	w  float64
	x  ds3d.Mat4
}

// reset starts a table for key (keeping the storage).
func (tb *table) reset(key tableKey) {
	tb.key = key
	tb.pos, tb.neg = tb.pos[:0], tb.neg[:0]
	x := key.x
	if x == (ds3d.Mat4{}) {
		x = ds3d.Identity4
	}
	xi := rigidInverse(x)
	tb.step = xi.Mul(Exp(key.tw, key.w)).Mul(x)
	tb.back = xi.Mul(Exp(key.tw, -key.w)).Mul(x)
	tb.posCur = ds3d.Identity4 // k = 0: points of the reference time stay exactly
	tb.negCur = tb.back
}

// at returns slice k's transform (|k| < maxSlices), extending the table.
func (tb *table) at(k int) *[12]float32 {
	if k >= 0 {
		for len(tb.pos) <= k {
			tb.pos = append(tb.pos, f32(&tb.posCur))
			composeInPlace(&tb.posCur, &tb.step)
		}
		return &tb.pos[k]
	}
	j := -k - 1
	for len(tb.neg) <= j {
		tb.neg = append(tb.neg, f32(&tb.negCur))
		composeInPlace(&tb.negCur, &tb.back)
	}
	return &tb.neg[j]
}

func f32(m *ds3d.Mat4) (o [12]float32) {
	for j := range o {
		o[j] = float32(m[j])
	}
	return o
}

// Stats describes one correction.
type Stats struct {
	// T0, T1 bound the finite point times (s): with RefStart and RefEnd
	// they are the earliest and latest; with RefStamp (which needs no pass
	// over the times) the start of the earliest slice used and the end of
	// the latest. Ref is the reference time.
	T0, T1, Ref float64
	// Slices is the number of slices between the earliest and the latest
	// one used; Skipped counts points whose time was not finite (left as
	// they were).
	Slices, Skipped int
}

// Apply corrects src into dst (both [N, stride] float32, x y z first; dst
// may be src) with the point times in column timeCol (seconds relative to
// the frame's timestamp). Columns other than x, y, z are copied.
func (c *Corrector) Apply(dst, src []float32, stride, timeCol int, tw Twist) (Stats, error) {
	var st Stats
	if stride < 3 || timeCol < 3 || timeCol >= stride {
		return st, fmt.Errorf("deskew: time column %d of %d columns (want ≥ 3: x, y, z come first)", timeCol, stride)
	}
	n := len(src) / stride
	if len(dst) < n*stride {
		return st, fmt.Errorf("deskew: destination holds %d values, want %d", len(dst), n*stride)
	}
	if c.Mode == Mode2D {
		tw.V[2], tw.W[0], tw.W[1] = 0, 0, 0
	}
	inPlace := n == 0 || &dst[0] == &src[0]
	if c.Reference != RefStamp {
		// The reference is the earliest or the latest time: one pass over
		// the times (NaN compares false and drops out).
		t0, t1 := float32(math.Inf(1)), float32(math.Inf(-1))
		timeSpan(src[:n*stride], stride, timeCol, &t0, &t1)
		if math.IsInf(float64(t0), 0) || math.IsInf(float64(t1), 0) {
			t0, t1 = finiteSpan(src, n, stride, timeCol)
		}
		if t0 > t1 { // no finite time: nothing to move
			if !inPlace {
				copy(dst[:n*stride], src[:n*stride])
			}
			st.Skipped = n
			return st, nil
		}
		st.T0, st.T1, st.Ref = float64(t0), float64(t1), float64(t0)
		if c.Reference == RefEnd {
			st.Ref = float64(t1)
		}
	}
	reach := c.MaxRange
	if reach <= 0 {
		reach = 250
	}
	maxErr := c.MaxError
	if maxErr <= 0 {
		maxErr = 0.002
	}
	speed := math.Sqrt(tw.V[0]*tw.V[0]+tw.V[1]*tw.V[1]+tw.V[2]*tw.V[2]) +
		math.Sqrt(tw.W[0]*tw.W[0]+tw.W[1]*tw.W[1]+tw.W[2]*tw.W[2])*(reach+c.lever())
	if math.IsNaN(speed) || math.IsInf(speed, 0) {
		return st, fmt.Errorf("deskew: twist %v is not finite", tw)
	}
	if speed == 0 || n == 0 {
		if !inPlace {
			copy(dst[:n*stride], src[:n*stride])
		}
		return st, nil
	}
	// A point at most half a slice from its slice's centre moves at most
	// speed·w/2 too little or too much. The centres lie at t_ref + k·w, so
	// points of the reference time itself are left exactly where they are.
	w := 2 * maxErr / speed
	if key := (tableKey{tw, w, c.Extrinsic}); key != c.tab.key || len(c.tab.pos) == 0 {
		c.tab.reset(key)
	}
	planar := c.planar()
	inv := float32(1 / w)
	ref := float32(st.Ref)
	// Raw pointers in the per-point loop: b + timeCol < n·stride ≤ len(dst),
	// len(src) hold by construction, and the bounds checks would be a third
	// of the loop's instructions.
	ps := unsafe.Pointer(unsafe.SliceData(src))
	tAt := func(i int) float32 { return *(*float32)(unsafe.Add(ps, 4*i)) }
	const kMax = float32(maxSlices - 1)
	kLo, kHi := maxSlices, -maxSlices
	end := n * stride
	for b := 0; b < end; {
		t := tAt(b + timeCol)
		if t-t != 0 { // NaN, ±Inf: left as it is
			st.Skipped++
			if !inPlace {
				copy(dst[b:b+stride], src[b:b+stride])
			}
			b += stride
			continue
		}
		kf := float32(math.Floor(float64((t-ref)*inv + 0.5)))
		kf = max(-kMax, min(kMax, kf))
		k := int(kf)
		kLo, kHi = min(kLo, k), max(kHi, k)
		// The points that follow in the same slice (a sensor sends them in
		// time order) form a run: it is copied while in cache and moved by
		// the slice's transform held in registers.
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if kf > -kMax {
			lo = float32(st.Ref + (float64(k)-0.5)*w)
		}
		if kf < kMax {
			hi = float32(st.Ref + (float64(k)+0.5)*w)
		}
		e := b + stride
		for e+stride < end { // two times per step
			t, u := tAt(e+timeCol), tAt(e+stride+timeCol)
			if !(t >= lo && t < hi && u >= lo && u < hi) {
				break
			}
			e += 2 * stride
		}
		if e < end {
			if t := tAt(e + timeCol); t >= lo && t < hi {
				e += stride
			}
		}
		if !inPlace {
			copy(dst[b:e], src[b:e])
		}
		m := c.tab.at(k)
		if planar {
			move2(dst[b:e], stride, m)
		} else {
			move3(dst[b:e], stride, m)
		}
		b = e
	}
	if kLo <= kHi {
		st.Slices = kHi - kLo + 1
		if c.Reference == RefStamp {
			st.T0, st.T1 = st.Ref+(float64(kLo)-0.5)*w, st.Ref+(float64(kHi)+0.5)*w
		}
	}
	return st, nil
}

// move3Scalar applies m (3×4) to the x, y, z of every point of v (whole
// points of stride values). The explicit conversions stop the compiler
// from fusing multiply and add, so the result is the SIMD kernel's to the
// bit.
func move3Scalar(v []float32, stride int, m *[12]float32) {
	m0, m1, m2, m3, m4, m5 := m[0], m[1], m[2], m[3], m[4], m[5]
	m6, m7, m8, m9, m10, m11 := m[6], m[7], m[8], m[9], m[10], m[11]
	for b := 0; b+2 < len(v); b += stride {
		p := (*[3]float32)(v[b : b+3])
		x, y, z := p[0], p[1], p[2]
		p[0] = float32(float32(float32(m0*x)+float32(m1*y))+float32(m2*z)) + m3
		p[1] = float32(float32(float32(m4*x)+float32(m5*y))+float32(m6*z)) + m7
		p[2] = float32(float32(float32(m8*x)+float32(m9*y))+float32(m10*z)) + m11
	}
}

// move2Scalar is move3Scalar for planar transforms (z unchanged).
func move2Scalar(v []float32, stride int, m *[12]float32) {
	m0, m1, m3, m4, m5, m7 := m[0], m[1], m[3], m[4], m[5], m[7]
	for b := 0; b+1 < len(v); b += stride {
		p := (*[2]float32)(v[b : b+2])
		x, y := p[0], p[1]
		p[0] = float32(float32(m0*x)+float32(m1*y)) + m3
		p[1] = float32(float32(m4*x)+float32(m5*y)) + m7
	}
}

// timeSpan widens [t0, t1] to every time of the column at timeCol (NaN
// compares false and drops out). Four points per step with two pairs of
// bounds halve the loop's overhead; the pointer reads stay below len(v).
func timeSpan(v []float32, stride, timeCol int, t0, t1 *float32) {
	lo0, hi0, lo1, hi1 := *t0, *t1, *t0, *t1
	if len(v) == 0 {
		return
	}
	p := unsafe.Pointer(unsafe.SliceData(v))
	at := func(i int) float32 { return *(*float32)(unsafe.Add(p, 4*i)) }
	b, s4 := timeCol, 4*stride
	for ; b+3*stride < len(v); b += s4 {
		a, c, d, e := at(b), at(b+stride), at(b+2*stride), at(b+3*stride)
		if a < lo0 {
			lo0 = a
		}
		if a > hi0 {
			hi0 = a
		}
		if c < lo1 {
			lo1 = c
		}
		if c > hi1 {
			hi1 = c
		}
		if d < lo0 {
			lo0 = d
		}
		if d > hi0 {
			hi0 = d
		}
		if e < lo1 {
			lo1 = e
		}
		if e > hi1 {
			hi1 = e
		}
	}
	for ; b < len(v); b += stride {
		a := at(b)
		if a < lo0 {
			lo0 = a
		}
		if a > hi0 {
			hi0 = a
		}
	}
	*t0, *t1 = min(lo0, lo1), max(hi0, hi1)
}

// finiteSpan is the span of the finite times (±Inf left out).
func finiteSpan(src []float32, n, stride, timeCol int) (t0, t1 float32) {
	t0, t1 = float32(math.Inf(1)), float32(math.Inf(-1))
	for b := timeCol; b < n*stride; b += stride {
		if t := src[b]; t-t == 0 {
			t0, t1 = min(t0, t), max(t1, t)
		}
	}
	return t0, t1
}

// planar reports whether the table's transforms leave z alone (2D motion
// seen from a lidar mounted level, turned about z at most).
func (c *Corrector) planar() bool {
	if c.Mode != Mode2D {
		return false
	}
	x := c.Extrinsic
	return x == (ds3d.Mat4{}) || (x[2] == 0 && x[6] == 0 && x[8] == 0 && x[9] == 0 && x[10] == 1)
}

// lever is how far the lidar sits from the ego origin (the rotation moves
// it too).
func (c *Corrector) lever() float64 {
	if c.Extrinsic == (ds3d.Mat4{}) {
		return 0
	}
	return math.Sqrt(c.Extrinsic[3]*c.Extrinsic[3] + c.Extrinsic[7]*c.Extrinsic[7] + c.Extrinsic[11]*c.Extrinsic[11])
}

// composeInPlace sets a to a·b for rigid transforms: each row of the
// product needs only the same row of a, so no copy of a is kept.
func composeInPlace(a, b *ds3d.Mat4) {
	b0, b1, b2, b3, b4, b5 := b[0], b[1], b[2], b[3], b[4], b[5]
	b6, b7, b8, b9, b10, b11 := b[6], b[7], b[8], b[9], b[10], b[11]
	for r := 0; r < 12; r += 4 {
		row := (*[4]float64)(a[r : r+4])
		a0, a1, a2 := row[0], row[1], row[2]
		row[0] = a0*b0 + a1*b4 + a2*b8
		row[1] = a0*b1 + a1*b5 + a2*b9
		row[2] = a0*b2 + a1*b6 + a2*b10
		row[3] += a0*b3 + a1*b7 + a2*b11
	}
}

// rigidInverse inverts a rigid transform [R|t] as [Rᵀ|−Rᵀt].
func rigidInverse(m ds3d.Mat4) ds3d.Mat4 {
	o := ds3d.Identity4
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			o[r*4+c] = m[c*4+r]
		}
	}
	for r := 0; r < 3; r++ {
		o[r*4+3] = -(o[r*4]*m[3] + o[r*4+1]*m[7] + o[r*4+2]*m[11])
	}
	return o
}

// Exp returns exp(dt·ξ): the pose after moving dt seconds with the constant
// body-frame twist ξ, relative to the start pose (SE(3) exponential).
func Exp(tw Twist, dt float64) ds3d.Mat4 {
	w := [3]float64{tw.W[0] * dt, tw.W[1] * dt, tw.W[2] * dt}
	v := [3]float64{tw.V[0] * dt, tw.V[1] * dt, tw.V[2] * dt}
	th2 := w[0]*w[0] + w[1]*w[1] + w[2]*w[2]
	th := math.Sqrt(th2)
	// A = sinθ/θ, B = (1−cosθ)/θ², C = (θ−sinθ)/θ³, by series near 0.
	var a, b, cc float64
	if th < 1e-4 {
		a, b, cc = 1-th2/6, 0.5-th2/24, 1.0/6-th2/120
	} else {
		s, co := math.Sincos(th)
		a, b, cc = s/th, (1-co)/th2, (th-s)/(th2*th)
	}
	// K = [w]×, K² = w wᵀ − θ² I.
	k := [9]float64{0, -w[2], w[1], w[2], 0, -w[0], -w[1], w[0], 0}
	var k2 [9]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			k2[3*r+c] = w[r] * w[c]
		}
		k2[4*r] -= th2
	}
	m := ds3d.Identity4
	var vm [9]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			id := 0.0
			if r == c {
				id = 1
			}
			m[4*r+c] = id + a*k[3*r+c] + b*k2[3*r+c]
			vm[3*r+c] = id + b*k[3*r+c] + cc*k2[3*r+c]
		}
	}
	for r := 0; r < 3; r++ {
		m[4*r+3] = vm[3*r]*v[0] + vm[3*r+1]*v[1] + vm[3*r+2]*v[2]
	}
	return m
}

// Log returns the twist that moves from pose a to pose b (world-from-ego,
// rigid) in dt seconds: ξ with exp(dt·ξ) = a⁻¹·b (SE(3) logarithm).
func Log(a, b ds3d.Mat4, dt float64) (Twist, error) {
	if !(dt > 0) {
		return Twist{}, fmt.Errorf("deskew: poses %g s apart, want a positive interval", dt)
	}
	d := rigidInverse(a).Mul(b)
	tr := d[0] + d[5] + d[10]
	cosT := math.Max(-1, math.Min(1, (tr-1)/2))
	th := math.Acos(cosT)
	// w = θ/(2 sinθ)·(R − Rᵀ)ᵛ; near θ = π the axis is ill-conditioned, but
	// a vehicle does not turn half a circle between two sweeps.
	f := 0.5
	if th > 1e-6 {
		f = th / (2 * math.Sin(th))
	}
	w := [3]float64{f * (d[9] - d[6]), f * (d[2] - d[8]), f * (d[4] - d[1])}
	th2 := w[0]*w[0] + w[1]*w[1] + w[2]*w[2]
	// V⁻¹ = I − ½K + (1/θ² − (1+cosθ)/(2θ sinθ))·K².
	g := 1.0 / 12
	if th > 1e-4 {
		g = (1/th2 - (1+math.Cos(th))/(2*th*math.Sin(th)))
	}
	k := [9]float64{0, -w[2], w[1], w[2], 0, -w[0], -w[1], w[0], 0}
	t := [3]float64{d[3], d[7], d[11]}
	var v [3]float64
	for r := 0; r < 3; r++ {
		kt := k[3*r]*t[0] + k[3*r+1]*t[1] + k[3*r+2]*t[2]
		// K²t = w(w·t) − θ²t
		k2t := w[r]*(w[0]*t[0]+w[1]*t[1]+w[2]*t[2]) - th2*t[r]
		v[r] = t[r] - 0.5*kt + g*k2t
	}
	return Twist{V: [3]float64{v[0] / dt, v[1] / dt, v[2] / dt}, W: [3]float64{w[0] / dt, w[1] / dt, w[2] / dt}}, nil
}
