package track3d

// cv is a constant-velocity filter on one axis: state (p, v), covariance
// [[ppp, ppv], [ppv, pvv]], measuring p.
type cv struct {
	p, v          float64
	ppp, ppv, pvv float64
}

// predict advances by dt with white-acceleration noise of spectral density q
// (Q = q·[[dt³/3, dt²/2], [dt²/2, dt]]).
func (f *cv) predict(dt, q float64) {
	f.p += f.v * dt
	ppp := f.ppp + 2*dt*f.ppv + dt*dt*f.pvv + q*dt*dt*dt/3
	ppv := f.ppv + dt*f.pvv + q*dt*dt/2
	f.pvv += q * dt
	f.ppp, f.ppv = ppp, ppv
}

// update folds in a measurement z of p with variance r.
func (f *cv) update(z, r float64) {
	s := f.ppp + r
	kp, kv := f.ppp/s, f.ppv/s
	y := z - f.p
	f.p += kp * y
	f.v += kv * y
	// P = (I − K H) P
	ppp := (1 - kp) * f.ppp
	ppv := (1 - kp) * f.ppv
	pvv := f.pvv - kv*f.ppv
	f.ppp, f.ppv, f.pvv = ppp, ppv, pvv
}

// con is a random-walk filter on a slowly varying value (heading, size).
type con struct {
	x, p float64
}

func (f *con) predict(q float64) { f.p += q }

func (f *con) update(z, r float64) {
	k := f.p / (f.p + r)
	f.x += k * (z - f.x)
	f.p *= 1 - k
}
