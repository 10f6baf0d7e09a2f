package track

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestKalmanAgainstGonum checks the unrolled filter against the textbook
// matrix form computed with gonum/mat (filterpy's Joseph-form update).
func TestKalmanAgainstGonum(t *testing.T) {
	se := DefaultSORT().StateEstimator
	n := newNoise(&se)
	F := mat.NewDense(7, 7, nil)
	for i := 0; i < 7; i++ {
		F.Set(i, i, 1)
	}
	F.Set(0, 4, 1)
	F.Set(1, 5, 1)
	F.Set(2, 6, 1)
	H := mat.NewDense(4, 7, nil)
	for i := 0; i < 4; i++ {
		H.Set(i, i, 1)
	}
	Q := mat.NewDiagDense(7, n.q[:])
	R := mat.NewDiagDense(4, n.r[:])
	rng := rand.New(rand.NewPCG(5, 6))
	z := [4]float64{100, 200, 4000, 0.5}
	var k kalman
	k.init(z, &n)
	x := mat.NewVecDense(7, []float64{z[0], z[1], z[2], z[3], 0, 0, 0})
	P := mat.NewDense(7, 7, nil)
	for i := 0; i < 7; i++ {
		P.Set(i, i, []float64{10, 10, 10, 10, 1e4, 1e4, 1e4}[i])
	}
	for step := 0; step < 50; step++ {
		k.predict(&n)
		x.MulVec(F, x)
		var fp, fpf mat.Dense
		fp.Mul(F, P)
		fpf.Mul(&fp, F.T())
		P.Add(&fpf, Q)
		z = [4]float64{z[0] + 3 + rng.NormFloat64(), z[1] - 1 + rng.NormFloat64(), z[2] + 20 + 10*rng.NormFloat64(), 0.5 + 0.01*rng.NormFloat64()}
		if !k.update(z, &n) {
			t.Fatal("update failed")
		}
		var S, PHt, K, Sinv mat.Dense
		PHt.Mul(P, H.T())
		S.Mul(H, &PHt)
		S.Add(&S, R)
		if err := Sinv.Inverse(&S); err != nil {
			t.Fatal(err)
		}
		K.Mul(&PHt, &Sinv)
		var hx, y, ky mat.VecDense
		hx.MulVec(H, x)
		y.SubVec(mat.NewVecDense(4, z[:]), &hx)
		ky.MulVec(&K, &y)
		x.AddVec(x, &ky)
		var kh, ikh, a, b, krk, kr mat.Dense
		kh.Mul(&K, H)
		I := mat.NewDiagDense(7, []float64{1, 1, 1, 1, 1, 1, 1})
		ikh.Sub(I, &kh)
		a.Mul(&ikh, P)
		b.Mul(&a, ikh.T())
		kr.Mul(&K, R)
		krk.Mul(&kr, K.T())
		P.Add(&b, &krk)
		for i := 0; i < 7; i++ {
			if d := math.Abs(k.x[i] - x.AtVec(i)); d > 1e-6*(1+math.Abs(x.AtVec(i))) {
				t.Fatalf("step %d: x[%d] = %g, gonum %g", step, i, k.x[i], x.AtVec(i))
			}
			for j := 0; j < 7; j++ {
				if d := math.Abs(k.p[i][j] - P.At(i, j)); d > 1e-6*(1+math.Abs(P.At(i, j))) {
					t.Fatalf("step %d: P[%d][%d] = %g, gonum %g", step, i, j, k.p[i][j], P.At(i, j))
				}
			}
		}
	}
}
