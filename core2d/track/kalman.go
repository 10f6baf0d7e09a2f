package track

import "math"

// kalman is SORT's constant-velocity Kalman filter on the state
// x = [u, v, s, r, u', v', s'] (box centre, area, aspect ratio w/h and the
// velocities of u, v, s) with measurement z = [u, v, s, r]:
//
//	x ← F x,  P ← F P Fᵀ + Q          F = [I₄ B; 0 I₃], B adds u', v', s' to u, v, s
//	K = P Hᵀ (H P Hᵀ + R)⁻¹            H = [I₄ 0]
//	x ← x + K (z − H x),  P ← P − K H P
//
// (Bewley et al., "Simple Online and Realtime Tracking", ICIP 2016). The 7×7
// algebra is unrolled over the structure of F and H: a predict and an
// update cost a few hundred flops and allocate nothing.
type kalman struct {
	x [7]float64
	p [7][7]float64
}

// noise holds the diagonal noise terms of a StateEstimator.
type noise struct {
	q     [7]float64 // process noise diagonal
	r     [4]float64 // measurement noise diagonal
	p0pos float64
	p0vel float64
}

func newNoise(se *StateEstimator) noise {
	return noise{
		q: [7]float64{se.ProcessNoiseVar4Loc, se.ProcessNoiseVar4Loc, se.ProcessNoiseVar4Size, se.ProcessNoiseVar4Size,
			se.ProcessNoiseVar4Vel, se.ProcessNoiseVar4Vel, se.ProcessNoiseVar4SizeVel},
		r:     [4]float64{se.MeasurementNoiseVar4Loc, se.MeasurementNoiseVar4Loc, se.MeasurementNoiseVar4Size, se.MeasurementNoiseVar4Size},
		p0pos: se.InitialCovariance4Pos, p0vel: se.InitialCovariance4Vel,
	}
}

// measure converts a box (left, top, width, height) to z = [u, v, s, r].
func measure(b box) [4]float64 {
	w, h := b.x2-b.x1, b.y2-b.y1
	return [4]float64{b.x1 + w/2, b.y1 + h/2, w * h, w / h}
}

// init starts the filter at measurement z with zero velocity.
func (k *kalman) init(z [4]float64, n *noise) {
	k.x = [7]float64{z[0], z[1], z[2], z[3]}
	k.p = [7][7]float64{}
	for i := 0; i < 4; i++ {
		k.p[i][i] = n.p0pos
	}
	for i := 4; i < 7; i++ {
		k.p[i][i] = n.p0vel
	}
}

// predict advances the state one frame. As sort.py does, an area velocity
// that would make the area non-positive is zeroed first.
func (k *kalman) predict(n *noise) {
	x, p := &k.x, &k.p
	if x[6]+x[2] <= 0 {
		x[6] = 0
	}
	x[0] += x[4]
	x[1] += x[5]
	x[2] += x[6]
	// F P: rows 0..2 gain rows 4..6.
	for i := 0; i < 3; i++ {
		for j := 0; j < 7; j++ {
			p[i][j] += p[i+4][j]
		}
	}
	// (F P) Fᵀ: columns 0..2 gain columns 4..6.
	for i := 0; i < 7; i++ {
		p[i][0] += p[i][4]
		p[i][1] += p[i][5]
		p[i][2] += p[i][6]
	}
	for i := 0; i < 7; i++ {
		p[i][i] += n.q[i]
	}
}

// update corrects the state with measurement z. It reports false when the
// innovation covariance is not positive definite (a diverged filter).
func (k *kalman) update(z [4]float64, n *noise) bool {
	x, p := &k.x, &k.p
	// S = H P Hᵀ + R, Cholesky S = L Lᵀ.
	var l [4][4]float64
	for i := 0; i < 4; i++ {
		for j := 0; j <= i; j++ {
			s := p[i][j]
			if i == j {
				s += n.r[i]
			}
			for m := 0; m < j; m++ {
				s -= l[i][m] * l[j][m]
			}
			if i == j {
				if !(s > 0) {
					return false
				}
				l[i][i] = math.Sqrt(s)
			} else {
				l[i][j] = s / l[j][j]
			}
		}
	}
	// K = P Hᵀ S⁻¹, one row at a time: solve S kᵢ = (P Hᵀ)ᵢ (S symmetric).
	var kg [7][4]float64
	for i := 0; i < 7; i++ {
		var w [4]float64
		for a := 0; a < 4; a++ { // L w = b
			s := p[i][a]
			for m := 0; m < a; m++ {
				s -= l[a][m] * w[m]
			}
			w[a] = s / l[a][a]
		}
		for a := 3; a >= 0; a-- { // Lᵀ k = w
			s := w[a]
			for m := a + 1; m < 4; m++ {
				s -= l[m][a] * kg[i][m]
			}
			kg[i][a] = s / l[a][a]
		}
	}
	y := [4]float64{z[0] - x[0], z[1] - x[1], z[2] - x[2], z[3] - x[3]}
	for i := 0; i < 7; i++ {
		x[i] += kg[i][0]*y[0] + kg[i][1]*y[1] + kg[i][2]*y[2] + kg[i][3]*y[3]
	}
	// P ← P − K (H P); H P is the first four rows of P (copied first).
	var hp [4][7]float64
	copy(hp[:], p[:4])
	for i := 0; i < 7; i++ {
		for j := 0; j < 7; j++ {
			p[i][j] -= kg[i][0]*hp[0][j] + kg[i][1]*hp[1][j] + kg[i][2]*hp[2][j] + kg[i][3]*hp[3][j]
		}
	}
	return true
}

// box returns the state's box; ok is false when the state no longer
// describes one (non-positive area or aspect ratio, or not finite).
func (k *kalman) box() (b box, ok bool) {
	s, r := k.x[2], k.x[3]
	if !(s > 0 && r > 0) || math.IsInf(s, 0) || math.IsInf(r, 0) {
		return box{}, false
	}
	w := math.Sqrt(s * r)
	h := s / w
	u, v := k.x[0], k.x[1]
	if math.IsNaN(u) || math.IsNaN(v) || math.IsInf(u, 0) || math.IsInf(v, 0) || !(w > 0 && h > 0) {
		return box{}, false
	}
	return box{u - w/2, v - h/2, u + w/2, v + h/2}, true
}
