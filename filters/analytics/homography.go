package analytics

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"gonum.org/v1/gonum/mat"
)

// Homography maps image pixels to ground-plane metres: (x, y, w)ᵀ =
// H·(u, v, 1)ᵀ, row-major.
type Homography [9]float64

// Apply maps a pixel to the ground; ok is false for a pixel on or above
// the horizon (w ≤ 0 for a homography whose ground is in front of the
// camera, that is w of the other sign than at the image's points).
func (h *Homography) Apply(p Pt) (Pt, bool) {
	x := h[0]*p[0] + h[1]*p[1] + h[2]
	y := h[3]*p[0] + h[4]*p[1] + h[5]
	w := h[6]*p[0] + h[7]*p[1] + h[8]
	if w <= 0 {
		return Pt{}, false
	}
	return Pt{x / w, y / w}, true
}

// HomographyFromPoints solves the DLT for ground = H·image from n ≥ 4
// point pairs: with h33 = 1, an 8×8 linear system for four pairs, its
// least-squares solution for more. H is scaled so that w > 0 at the image
// points (Apply's test for points beyond the horizon).
func HomographyFromPoints(img, ground []Pt) (Homography, error) {
	n := len(img)
	if n < 4 || len(ground) != n {
		return Homography{}, fmt.Errorf("homography: %d image and %d ground points, want the same number, at least 4", n, len(ground))
	}
	a := mat.NewDense(2*n, 8, nil)
	b := mat.NewVecDense(2*n, nil)
	for i := range n {
		u, v := img[i][0], img[i][1]
		x, y := ground[i][0], ground[i][1]
		a.SetRow(2*i, []float64{u, v, 1, 0, 0, 0, -u * x, -v * x})
		a.SetRow(2*i+1, []float64{0, 0, 0, u, v, 1, -u * y, -v * y})
		b.SetVec(2*i, x)
		b.SetVec(2*i+1, y)
	}
	var sol mat.VecDense
	if n == 4 {
		if err := sol.SolveVec(a, b); err != nil {
			return Homography{}, fmt.Errorf("homography: the four point pairs are degenerate (three in a line?): %w", err)
		}
	} else {
		var qr mat.QR
		qr.Factorize(a)
		if err := qr.SolveVecTo(&sol, false, b); err != nil {
			return Homography{}, fmt.Errorf("homography: the point pairs are degenerate: %w", err)
		}
	}
	var h Homography
	for i := range 8 {
		h[i] = sol.AtVec(i)
	}
	h[8] = 1
	if err := h.check(img); err != nil {
		return Homography{}, err
	}
	// Four pairs map exactly; when they do not, the system was near-singular
	// (three points in a line) and the solution is noise.
	if n == 4 {
		for i := range n {
			g, _ := h.Apply(img[i])
			if d := math.Hypot(g[0]-ground[i][0], g[1]-ground[i][1]); !(d <= 1e-6*(1+math.Hypot(ground[i][0], ground[i][1]))) {
				return Homography{}, fmt.Errorf("homography: point pair %d maps to (%g, %g), not (%g, %g): degenerate points", i, g[0], g[1], ground[i][0], ground[i][1])
			}
		}
	}
	return h, nil
}

// HomographyFromCalibration returns image→ground for a pinhole camera
// (intrinsics K) whose pose is camFromGround (p_cam = T·p_ground) and
// the ground plane z = 0 of the ground frame: ground→image is
// K·[r1 r2 t], inverted.
func HomographyFromCalibration(k ds3d.Intrinsics, camFromGround ds3d.Mat4) (Homography, error) {
	kk := mat.NewDense(3, 3, []float64{k.Fx, k.Skew, k.Cx, 0, k.Fy, k.Cy, 0, 0, 1})
	rt := mat.NewDense(3, 3, []float64{
		camFromGround[0], camFromGround[1], camFromGround[3],
		camFromGround[4], camFromGround[5], camFromGround[7],
		camFromGround[8], camFromGround[9], camFromGround[11],
	})
	var g, inv mat.Dense
	g.Mul(kk, rt)
	if err := inv.Inverse(&g); err != nil {
		return Homography{}, fmt.Errorf("homography from calibration: the camera sees the ground plane edge-on: %w", err)
	}
	var h Homography
	for r := range 3 {
		for c := range 3 {
			h[3*r+c] = inv.At(r, c)
		}
	}
	// Points in front of the camera have w > 0 once H is scaled by the sign
	// of the depth of the principal point's ray on the ground.
	if w := h[6]*k.Cx + h[7]*k.Cy + h[8]; w < 0 {
		for i := range h {
			h[i] = -h[i]
		}
	}
	return h, nil
}

// check scales h so that w > 0 at the image points, and refuses one that
// puts them on both sides of the horizon.
func (h *Homography) check(img []Pt) error {
	pos, neg := 0, 0
	for _, p := range img {
		if w := h[6]*p[0] + h[7]*p[1] + h[8]; w > 0 {
			pos++
		} else {
			neg++
		}
	}
	switch {
	case neg == 0:
		return nil
	case pos == 0:
		for i := range h {
			h[i] = -h[i]
		}
		return nil
	}
	return fmt.Errorf("homography: the image points lie on both sides of the horizon")
}
