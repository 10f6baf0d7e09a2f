package track

import "math"

// kalman8 is DeepSORT's constant-velocity Kalman filter on
// x = [cx, cy, a, h, cx', cy', a', h'] (box centre, aspect ratio w/h,
// height and their velocities) with measurement z = [cx, cy, a, h]. Its
// noise scales with the box height, as in nwojke/deep_sort's
// kalman_filter.py: process noise std (wp·h, wp·h, 1e-2, wp·h) on the
// position terms and (wv·h, wv·h, 1e-5, wv·h) on the velocities,
// measurement noise std (wp·h, wp·h, 1e-1, wp·h).
type kalman8 struct {
	x [8]float64
	p [8][8]float64
	// Projection of the predicted state, cached per frame for gating:
	// z mean and the Cholesky factor of S = H P Hᵀ + R.
	zm [4]float64
	l  [4][4]float64
	ok bool
}

func measure8(b box) [4]float64 {
	w, h := b.x2-b.x1, b.y2-b.y1
	return [4]float64{b.x1 + w/2, b.y1 + h/2, w / h, h}
}

func (k *kalman8) init(z [4]float64, wp, wv float64) {
	h := z[3]
	k.x = [8]float64{z[0], z[1], z[2], z[3]}
	k.p = [8][8]float64{}
	std := [8]float64{2 * wp * h, 2 * wp * h, 1e-2, 2 * wp * h, 10 * wv * h, 10 * wv * h, 1e-5, 10 * wv * h}
	for i, s := range std {
		k.p[i][i] = s * s
	}
}

func (k *kalman8) predict(wp, wv float64) {
	x, p := &k.x, &k.p
	h := x[3]
	q := [8]float64{wp * h, wp * h, 1e-2, wp * h, wv * h, wv * h, 1e-5, wv * h}
	for i := 0; i < 4; i++ {
		x[i] += x[i+4]
	}
	for i := 0; i < 4; i++ { // F P
		for j := 0; j < 8; j++ {
			p[i][j] += p[i+4][j]
		}
	}
	for i := 0; i < 8; i++ { // (F P) Fᵀ
		for j := 0; j < 4; j++ {
			p[i][j] += p[i][j+4]
		}
	}
	for i := 0; i < 8; i++ {
		p[i][i] += q[i] * q[i]
	}
}

// project computes the projected mean and the Cholesky factor of the
// innovation covariance; ok is false when S is not positive definite.
func (k *kalman8) project(wp float64) bool {
	h := k.x[3]
	r := [4]float64{wp * h, wp * h, 1e-1, wp * h}
	copy(k.zm[:], k.x[:4])
	k.l = [4][4]float64{}
	k.ok = false
	for i := 0; i < 4; i++ {
		for j := 0; j <= i; j++ {
			s := k.p[i][j]
			if i == j {
				s += r[i] * r[i]
			}
			for m := 0; m < j; m++ {
				s -= k.l[i][m] * k.l[j][m]
			}
			if i == j {
				if !(s > 0) || math.IsInf(s, 0) {
					return false
				}
				k.l[i][i] = math.Sqrt(s)
			} else {
				k.l[i][j] = s / k.l[j][j]
			}
		}
	}
	k.ok = true
	return true
}

// mahalanobis is the squared Mahalanobis distance of z from the projected
// state (after project).
func (k *kalman8) mahalanobis(z [4]float64) float64 {
	var w [4]float64
	var d float64
	for a := 0; a < 4; a++ {
		s := z[a] - k.zm[a]
		for m := 0; m < a; m++ {
			s -= k.l[a][m] * w[m]
		}
		w[a] = s / k.l[a][a]
		d += w[a] * w[a]
	}
	return d
}

// update corrects the state with z (after project).
func (k *kalman8) update(z [4]float64) bool {
	if !k.ok {
		return false
	}
	x, p, l := &k.x, &k.p, &k.l
	// K = P Hᵀ S⁻¹, row by row.
	var kg [8][4]float64
	for i := 0; i < 8; i++ {
		var w [4]float64
		for a := 0; a < 4; a++ {
			s := p[i][a]
			for m := 0; m < a; m++ {
				s -= l[a][m] * w[m]
			}
			w[a] = s / l[a][a]
		}
		for a := 3; a >= 0; a-- {
			s := w[a]
			for m := a + 1; m < 4; m++ {
				s -= l[m][a] * kg[i][m]
			}
			kg[i][a] = s / l[a][a]
		}
	}
	y := [4]float64{z[0] - x[0], z[1] - x[1], z[2] - x[2], z[3] - x[3]}
	for i := 0; i < 8; i++ {
		x[i] += kg[i][0]*y[0] + kg[i][1]*y[1] + kg[i][2]*y[2] + kg[i][3]*y[3]
	}
	var hp [4][8]float64
	copy(hp[:], p[:4])
	for i := 0; i < 8; i++ {
		for j := 0; j < 8; j++ {
			p[i][j] -= kg[i][0]*hp[0][j] + kg[i][1]*hp[1][j] + kg[i][2]*hp[2][j] + kg[i][3]*hp[3][j]
		}
	}
	return true
}

func (k *kalman8) box() (box, bool) {
	cx, cy, a, h := k.x[0], k.x[1], k.x[2], k.x[3]
	w := a * h
	if !(a > 0 && h > 0 && w > 0) || math.IsInf(w, 0) || math.IsInf(h, 0) || math.IsNaN(cx) || math.IsNaN(cy) || math.IsInf(cx, 0) || math.IsInf(cy, 0) {
		return box{}, false
	}
	return box{cx - w/2, cy - h/2, cx + w/2, cy + h/2}, true
}
