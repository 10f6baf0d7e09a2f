package track3d

import (
	"fmt"
	"math"
)

// Model is a track's motion model on the ground plane.
type Model uint8

const (
	// ModelCV is the constant-velocity model: x and y each a (position,
	// velocity) filter, heading a random walk independent of the motion.
	ModelCV Model = iota
	// ModelCTRV is the constant turn-rate and velocity model: state
	// (x, y, ψ, v, ω), the box moving at speed v along its heading ψ, which
	// turns at ω. Vehicles move so; pedestrians do not (their box heading
	// says little about where they walk), so they keep ModelCV.
	ModelCTRV
)

// ParseModel reads a motion model name: "cv" or "ctrv".
func ParseModel(s string) (Model, error) {
	switch s {
	case "cv":
		return ModelCV, nil
	case "ctrv":
		return ModelCTRV, nil
	}
	return 0, fmt.Errorf("unknown motion model %q (want cv or ctrv)", s)
}

func (m Model) String() string {
	if m == ModelCTRV {
		return "ctrv"
	}
	return "cv"
}

// State indices of the CTRV filter.
const (
	iX = iota
	iY
	iYaw
	iV
	iW
	nCTRV
)

// ctrv is the extended Kalman filter of the CTRV model. The covariance is
// kept as a full 5×5 array: the heading couples into both position axes, so
// unlike the CV filter it does not split into per-axis filters.
type ctrv struct {
	s [nCTRV]float64
	p [nCTRV][nCTRV]float64
}

// sincd returns sinc(u) = sin(u)/u and its derivative. Below |u| = 0.1 both
// come from their Taylor series (the next terms are < 3e-16): the closed
// form of the derivative, (u·cos u − sin u)/u², loses digits to
// cancellation there and is 0/0 at u = 0. This is the whole |ω| → 0 branch
// of the model: with the motion written through sinc, ω = 0 is the straight
// line with no division anywhere.
func sincd(u float64) (s, ds float64) {
	if math.Abs(u) < 0.1 {
		u2 := u * u
		s = 1 - u2/6*(1-u2/20*(1-u2/42*(1-u2/72)))
		ds = u * (-1.0/3 + u2*(1.0/30+u2*(-1.0/840+u2/45360)))
		return s, ds
	}
	sn, cs := math.Sincos(u)
	return sn / u, (u*cs - sn) / (u * u)
}

// ctrvMotion moves state s by dt along the circular arc of the CTRV model
// and returns the new state and the Jacobian F = ∂f/∂s.
//
// The arc x' = x + v/ω·(sin(ψ+ωdt) − sin ψ), y' = y + v/ω·(cos ψ − cos(ψ+ωdt))
// is rewritten with the half-angle identities as the chord
// c = v·dt·sinc(ωdt/2) along the mean heading φ = ψ + ωdt/2:
// x' = x + c·cos φ, y' = y + c·sin φ — the same function, free of the
// 1/ω singularity, so one formula (and one Jacobian) serves every ω.
func ctrvMotion(s *[nCTRV]float64, dt float64) (next [nCTRV]float64, f [nCTRV][nCTRV]float64) {
	v, w := s[iV], s[iW]
	u := w * dt / 2
	k, dk := sincd(u)
	sf, cf := math.Sincos(s[iYaw] + u)
	c := v * dt * k
	next = *s
	next[iX] += c * cf
	next[iY] += c * sf
	next[iYaw] += w * dt
	for i := range f {
		f[i][i] = 1
	}
	f[iX][iYaw] = -c * sf
	f[iX][iV] = dt * k * cf
	f[iX][iW] = v * dt * dt / 2 * (dk*cf - k*sf)
	f[iY][iYaw] = c * cf
	f[iY][iV] = dt * k * sf
	f[iY][iW] = v * dt * dt / 2 * (dk*sf + k*cf)
	f[iYaw][iW] = dt
	return next, f
}

// ctrvNoise is the process noise of the CTRV filter.
type ctrvNoise struct {
	accel    float64 // spectral density of the acceleration along the heading, (m/s²)²·s
	yawAccel float64 // spectral density of the yaw acceleration, (rad/s²)²·s
	lateral  float64 // spectral density of a sideways drift velocity, m²/s
}

// predict advances the filter by dt: the state along the arc, P = F P Fᵀ + Q.
// Q is the continuous white-noise discretisation used by the CV filter
// (q·[[dt³/3, dt²/2], [dt²/2, dt]]) applied to (along-track position,
// speed) and to (heading, yaw rate), plus a random-walk sideways drift of
// the centre — the term Autoware's CTRV model carries as its body-frame
// q_cov_y — which lets a track follow a box whose heading is a little off
// its motion.
func (m *ctrv) predict(dt float64, q *ctrvNoise) {
	next, f := ctrvMotion(&m.s, dt)
	var fp [nCTRV][nCTRV]float64
	for i := range nCTRV {
		for j := range nCTRV {
			var a float64
			for k := range nCTRV {
				a += f[i][k] * m.p[k][j]
			}
			fp[i][j] = a
		}
	}
	for i := range nCTRV {
		for j := i; j < nCTRV; j++ {
			var a float64
			for k := range nCTRV {
				a += fp[i][k] * f[j][k]
			}
			m.p[i][j], m.p[j][i] = a, a
		}
	}
	sf, cf := math.Sincos(m.s[iYaw] + m.s[iW]*dt/2)
	dt2, dt3 := dt*dt/2, dt*dt*dt/3
	qa, ql := q.accel, q.lateral*dt
	m.p[iX][iX] += qa*dt3*cf*cf + ql*sf*sf
	m.p[iY][iY] += qa*dt3*sf*sf + ql*cf*cf
	xy := (qa*dt3 - ql) * cf * sf
	m.p[iX][iY] += xy
	m.p[iY][iX] += xy
	m.p[iX][iV] += qa * dt2 * cf
	m.p[iV][iX] += qa * dt2 * cf
	m.p[iY][iV] += qa * dt2 * sf
	m.p[iV][iY] += qa * dt2 * sf
	m.p[iV][iV] += qa * dt
	m.p[iYaw][iYaw] += q.yawAccel * dt3
	m.p[iYaw][iW] += q.yawAccel * dt2
	m.p[iW][iYaw] += q.yawAccel * dt2
	m.p[iW][iW] += q.yawAccel * dt
	next[iYaw] = wrap(next[iYaw])
	m.s = next
}

// update folds in a measurement of state component i with innovation y
// (measured − predicted, already wrapped for the heading) and variance r.
// The measurements (x, y, ψ) have independent noise, so three scalar
// updates in a row equal the joint 3-row update, without a matrix inverse.
func (m *ctrv) update(i int, y, r float64) {
	s := m.p[i][i] + r
	var k, row [nCTRV]float64
	for a := range nCTRV {
		k[a] = m.p[a][i] / s
		row[a] = m.p[i][a]
	}
	for a := range nCTRV {
		m.s[a] += k[a] * y
		for b := range nCTRV {
			m.p[a][b] -= k[a] * row[b]
		}
	}
	// Rounding leaves P a hair off symmetric; the next F P Fᵀ would amplify it.
	for a := range nCTRV {
		for b := a + 1; b < nCTRV; b++ {
			v := (m.p[a][b] + m.p[b][a]) / 2
			m.p[a][b], m.p[b][a] = v, v
		}
	}
	m.s[iYaw] = wrap(m.s[iYaw])
}
