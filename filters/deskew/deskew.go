// Package deskew removes a spinning lidar's motion distortion (Autoware's
// distortion_corrector): each point was measured in the sensor frame of its
// own firing time, and Corrector moves it into the sensor frame of one
// reference time, given the ego motion as a twist (linear and angular
// velocity, constant over the sweep) and the per-point time column. The
// twist comes from the configuration or from the DS3D::EgoPose of
// consecutive datamaps (the deskew component). The sensor's pose at time t
// relative to the reference time t_r is exp((t − t_r)·ξ) for the body-frame
// twist ξ, so p_ref = X⁻¹·exp((t − t_r)·ξ)·X·p with X the ego-from-lidar
// mounting. Rather than one exponential per point the sweep's time span is
// cut into slices short enough that using the slice-centre transform moves
// no point within Corrector.MaxRange more than Corrector.MaxError (from the
// speeds; Autoware likewise holds one transform per stretch of time); the
// transforms are built by composing one slice step, and each point costs a
// 3×4 multiply (2×3 for planar motion).
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

// maxSlices bounds the transform table (1.5 MiB).
const maxSlices = 1 << 15

// Corrector moves points to the reference time. It keeps its slice table
// between frames; it is not safe for concurrent use.
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

	mats [][12]float32
}

// Stats describes one correction.
type Stats struct {
	// T0, T1 are the earliest and latest finite point times (s) and Ref the
	// reference time.
	T0, T1, Ref float64
	// Slices is the number of transforms used; Skipped counts points whose
	// time was not finite (left as they were).
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
	// One pass for the time span (NaN compares false and drops out).
	t0, t1 := float32(math.Inf(1)), float32(math.Inf(-1))
	timeSpan(src[:n*stride], stride, timeCol, &t0, &t1)
	if math.IsInf(float64(t0), 0) || math.IsInf(float64(t1), 0) {
		t0, t1 = finiteSpan(src, n, stride, timeCol)
	}
	inPlace := n == 0 || &dst[0] == &src[0]
	if t0 > t1 { // no finite time: nothing to move
		if !inPlace {
			copy(dst[:n*stride], src[:n*stride])
		}
		st.Skipped = n
		return st, nil
	}
	switch c.Reference {
	case RefStart:
		st.Ref = float64(t0)
	case RefEnd:
		st.Ref = float64(t1)
	}
	st.T0, st.T1 = float64(t0), float64(t1)
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
	if speed == 0 {
		if !inPlace {
			copy(dst[:n*stride], src[:n*stride])
		}
		return st, nil
	}
	// A point at most half a slice from its slice's centre moves at most
	// speed·w/2 too little or too much. The centres lie at t_ref + k·w, so
	// points of the reference time itself are left exactly where they are.
	ns := int(math.Ceil((st.T1 - st.T0) * speed / (2 * maxErr)))
	ns = max(1, min(ns, maxSlices-1))
	w := (st.T1 - st.T0) / float64(ns)
	if w == 0 {
		w = 1
	}
	k0 := math.Floor((st.T0-st.Ref)/w + 0.5)
	k1 := math.Floor((st.T1-st.Ref)/w + 0.5)
	ns = int(k1-k0) + 1
	st.Slices = ns
	c.build(ns, k0*w, w, tw)
	inv := float32(1 / w)
	ref := float32(st.Ref)
	off := float32(0.5 - k0)
	last := ns - 1
	if n == 0 {
		return st, nil
	}
	// Raw pointers in the per-point loop: b + timeCol < n·stride ≤ len(dst),
	// len(src) and 0 ≤ k ≤ last < len(c.mats) hold by construction, and the
	// bounds checks would be a third of the loop's instructions.
	pd := unsafe.Pointer(unsafe.SliceData(dst))
	ps := unsafe.Pointer(unsafe.SliceData(src))
	pm := unsafe.Pointer(unsafe.SliceData(c.mats))
	at := func(i int) *float32 { return (*float32)(unsafe.Add(pd, 4*i)) }
	tAt := func(i int) float32 { return *(*float32)(unsafe.Add(ps, 4*i)) }
	fl := float32(last)
	planar := c.planar()
	end := n * stride
	for b := 0; b < end; {
		t := tAt(b + timeCol)
		u := (t-ref)*inv + off
		k := -1
		switch {
		case t-t != 0: // NaN, ±Inf: left as it is
		case u >= 0 && u < fl:
			k = int(u)
		case u >= fl:
			k = last
		default:
			k = 0
		}
		if k < 0 {
			st.Skipped++
			if !inPlace {
				copy(dst[b:b+stride], src[b:b+stride])
			}
			b += stride
			continue
		}
		// The points that follow in the same slice (a sensor sends them in
		// time order) form a run: it is copied while in cache and moved by
		// the slice's transform held in registers.
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if k > 0 {
			lo = float32(st.Ref + (float64(k)+k0-0.5)*w)
		}
		if k < last {
			hi = float32(st.Ref + (float64(k)+k0+0.5)*w)
		}
		e := b + stride
		for e < end {
			if t := tAt(e + timeCol); !(t >= lo && t < hi) {
				break
			}
			e += stride
		}
		if !inPlace {
			copy(dst[b:e], src[b:e])
		}
		m := (*[12]float32)(unsafe.Add(pm, 48*k))
		if planar {
			m0, m1, m3, m4, m5, m7 := m[0], m[1], m[3], m[4], m[5], m[7]
			for ; b < e; b += stride {
				px, py := at(b), at(b+1)
				x, y := *px, *py
				*px = m0*x + m1*y + m3
				*py = m4*x + m5*y + m7
			}
			continue
		}
		m0, m1, m2, m3, m4, m5 := m[0], m[1], m[2], m[3], m[4], m[5]
		m6, m7, m8, m9, m10, m11 := m[6], m[7], m[8], m[9], m[10], m[11]
		for ; b < e; b += stride {
			px, py, pz := at(b), at(b+1), at(b+2)
			x, y, z := *px, *py, *pz
			*px = m0*x + m1*y + m2*z + m3
			*py = m4*x + m5*y + m6*z + m7
			*pz = m8*x + m9*y + m10*z + m11
		}
	}
	return st, nil
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

// planar reports whether the last table's transforms leave z alone (2D
// motion seen from a lidar mounted level, turned about z at most).
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

// build fills the slice table: slice k's transform is X⁻¹·exp((c0 + k·w)·ξ)·X,
// composed step by step in float64.
func (c *Corrector) build(ns int, c0, w float64, tw Twist) {
	if cap(c.mats) < ns {
		c.mats = make([][12]float32, max(ns, 4096))
	}
	c.mats = c.mats[:ns]
	x := c.Extrinsic
	if x == (ds3d.Mat4{}) {
		x = ds3d.Identity4
	}
	xi := rigidInverse(x)
	cur := xi.Mul(Exp(tw, c0)).Mul(x)
	step := xi.Mul(Exp(tw, w)).Mul(x)
	if c.planar() {
		// [a −b tx; b a ty]: composing costs 8 multiplies.
		a, b, tx, ty := cur[0], cur[4], cur[3], cur[7]
		sa, sb, sx, sy := step[0], step[4], step[3], step[7]
		for k := 0; k < ns; k++ {
			m := &c.mats[k]
			*m = [12]float32{float32(a), float32(-b), 0, float32(tx), float32(b), float32(a), 0, float32(ty), 0, 0, 1, 0}
			a, b, tx, ty = a*sa-b*sb, b*sa+a*sb, a*sx-b*sy+tx, b*sx+a*sy+ty
		}
		return
	}
	for k := 0; k < ns; k++ {
		m := &c.mats[k]
		for j := range m {
			m[j] = float32(cur[j])
		}
		cur = compose(&cur, &step)
	}
}

// compose returns a·b for rigid transforms (the bottom rows are 0 0 0 1).
func compose(a, b *ds3d.Mat4) ds3d.Mat4 {
	o := ds3d.Identity4
	for r := 0; r < 12; r += 4 {
		a0, a1, a2 := a[r], a[r+1], a[r+2]
		o[r] = a0*b[0] + a1*b[4] + a2*b[8]
		o[r+1] = a0*b[1] + a1*b[5] + a2*b[9]
		o[r+2] = a0*b[2] + a1*b[6] + a2*b[10]
		o[r+3] = a0*b[3] + a1*b[7] + a2*b[11] + a[r+3]
	}
	return o
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
