package calib

import (
	"errors"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"gonum.org/v1/gonum/num/quat"
	"gonum.org/v1/gonum/spatial/r3"
)

// Projection is a 3×4 projection matrix, row-major: [u·w, v·w, w]ᵀ =
// P·[x y z 1]ᵀ, so that pixel (u, v) = (row0·p / row2·p, row1·p / row2·p) and
// w = row2·p is the depth along the camera's optical axis (for P = K·[R|t]
// with K[2] = (0, 0, 1) and R a rotation).
type Projection [12]float64

// Project maps point p to pixel (u, v) and returns its depth w; ok is false
// when the point is not in front of the camera (w ≤ 0).
func (p *Projection) Project(x r3.Vec) (u, v, depth float64, ok bool) {
	w := p[8]*x.X + p[9]*x.Y + p[10]*x.Z + p[11]
	if !(w > 0) {
		return 0, 0, w, false
	}
	u = (p[0]*x.X + p[1]*x.Y + p[2]*x.Z + p[3]) / w
	v = (p[4]*x.X + p[5]*x.Y + p[6]*x.Z + p[7]) / w
	return u, v, w, true
}

// ProjectionOf returns K·[R|t]: the projection of intrinsics in after the
// rigid transform m (points in m's source frame to pixels).
func ProjectionOf(in ds3d.Intrinsics, m ds3d.Mat4) Projection {
	k := in.K()
	var p Projection
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			p[r*4+c] = k[r*3]*m[c] + k[r*3+1]*m[4+c] + k[r*3+2]*m[8+c]
		}
	}
	return p
}

// Camera is one camera of a rig.
type Camera struct {
	// Name is the camera's name in its source ("image_2", "CAM_FRONT",
	// "s110_camera_basler_south1_8mm").
	Name string
	// Intrinsics is the pinhole model (image size and distortion when the
	// source gives them).
	Intrinsics ds3d.Intrinsics
	// Extrinsics maps the rig's lidar frame to this camera's frame:
	// camera point = Extrinsics.Transform · lidar point.
	Extrinsics ds3d.Extrinsics
	// Projection maps lidar points to pixels. It equals
	// ProjectionOf(Intrinsics, Extrinsics.Transform) up to rounding; where a
	// source gives its own lidar→image matrix (KITTI P2·R0_rect·Tr_velo_to_cam,
	// TUMTraf projection_from_*) this is that matrix.
	Projection Projection
}

// ProjectLidar maps a lidar-frame point to pixel (u, v) with the camera's
// Projection; depth is the distance along the optical axis and ok is false
// behind the camera. Distortion is not applied.
func (c *Camera) ProjectLidar(p r3.Vec) (u, v, depth float64, ok bool) {
	return c.Projection.Project(p)
}

// Rig is a set of calibrated sensors around one reference lidar.
type Rig struct {
	// Source names the file(s) the rig was read from.
	Source string
	// Lidar is the name of the reference lidar frame ("velodyne",
	// "LIDAR_TOP", "virtuallidar", "s110_lidar_ouster_south").
	Lidar string
	// Cameras in the source's order.
	Cameras []Camera
	// Transforms holds the other rigid transforms the source gives
	// (Transform maps From-frame points to To-frame points), e.g.
	// imu→velodyne, LIDAR_TOP→ego, ego→global.
	Transforms []ds3d.Extrinsics
}

// Camera returns the camera called name.
func (r *Rig) Camera(name string) (*Camera, bool) {
	for i := range r.Cameras {
		if r.Cameras[i].Name == name {
			return &r.Cameras[i], true
		}
	}
	return nil, false
}

// Transform returns the transform mapping points in frame from to frame to,
// looking at the cameras' extrinsics and Transforms, and inverting a stored
// to→from transform when that is what the rig holds. It does not chain
// transforms.
func (r *Rig) Transform(from, to string) (ds3d.Mat4, error) {
	if from == to {
		return ds3d.Identity4, nil
	}
	all := make([]ds3d.Extrinsics, 0, len(r.Cameras)+len(r.Transforms))
	for _, c := range r.Cameras {
		all = append(all, c.Extrinsics)
	}
	all = append(all, r.Transforms...)
	for _, e := range all {
		if e.From == from && e.To == to {
			return e.Transform, nil
		}
	}
	for _, e := range all {
		if e.From == to && e.To == from {
			return e.Transform.Inverse()
		}
	}
	return ds3d.Mat4{}, fmt.Errorf("calib %s: no transform from %q to %q", r.Source, from, to)
}

// PoseFromQuaternion builds the rigid transform [R(q) | t] from a rotation
// quaternion q = (w, x, y, z) — nuScenes' and ROS's order — and a translation
// t. q is normalised first; a zero or non-finite quaternion is an error. The
// rotation is the usual Hamilton one (gonum spatial/r3 Rotation.Mat):
// p' = q·p·q*.
func PoseFromQuaternion(q [4]float64, t [3]float64) (ds3d.Mat4, error) {
	n := quat.Number{Real: q[0], Imag: q[1], Jmag: q[2], Kmag: q[3]}
	a := quat.Abs(n)
	if a == 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return ds3d.Mat4{}, fmt.Errorf("calib: quaternion %v is not a rotation", q)
	}
	for _, v := range t {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ds3d.Mat4{}, fmt.Errorf("calib: translation %v is not finite", t)
		}
	}
	n = quat.Scale(1/a, n)
	m := r3.Rotation(n).Mat()
	var out ds3d.Mat4
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			out[r*4+c] = m.At(r, c)
		}
		out[r*4+3] = t[r]
	}
	out[15] = 1
	return out, nil
}

// DecomposeProjection splits a 3×4 projection P = K·[R|t] into an
// upper-triangular K with positive focal lengths and K[2][2] = 1, and a
// rigid transform [R|t] with det R = +1 (RQ decomposition of P's left 3×3 by
// Gram–Schmidt on its rows, last row first; Hartley & Zisserman, Multiple
// View Geometry, §6.2.4). The overall scale of P is removed. It fails when
// the left 3×3 is singular.
func DecomposeProjection(p Projection) (ds3d.Intrinsics, ds3d.Mat4, error) {
	m := [3]r3.Vec{
		{X: p[0], Y: p[1], Z: p[2]},
		{X: p[4], Y: p[5], Z: p[6]},
		{X: p[8], Y: p[9], Z: p[10]},
	}
	det := r3.Dot(m[0], r3.Cross(m[1], m[2]))
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return ds3d.Intrinsics{}, ds3d.Mat4{}, errors.New("calib: projection's left 3×3 is singular")
	}
	sign := 1.0
	if det < 0 {
		sign = -1 // P and −P project alike; pick the one with det > 0
	}
	for i := range m {
		m[i] = r3.Scale(sign, m[i])
	}
	// rows: m2 = k22 r2; m1 = k11 r1 + k12 r2; m0 = k00 r0 + k01 r1 + k02 r2.
	k22 := r3.Norm(m[2])
	r2 := r3.Scale(1/k22, m[2])
	k12 := r3.Dot(m[1], r2)
	u1 := r3.Sub(m[1], r3.Scale(k12, r2))
	k11 := r3.Norm(u1)
	r1 := r3.Scale(1/k11, u1)
	k02 := r3.Dot(m[0], r2)
	k01 := r3.Dot(m[0], r1)
	u0 := r3.Sub(r3.Sub(m[0], r3.Scale(k02, r2)), r3.Scale(k01, r1))
	k00 := r3.Norm(u0)
	r0 := r3.Scale(1/k00, u0) // det M > 0 and k00, k11, k22 > 0 give det R = +1
	// t = K⁻¹·p4 with K upper-triangular (back substitution), scaled like K.
	p4 := [3]float64{sign * p[3], sign * p[7], sign * p[11]}
	tz := p4[2] / k22
	ty := (p4[1] - k12*tz) / k11
	tx := (p4[0] - k01*ty - k02*tz) / k00
	in := ds3d.Intrinsics{Fx: k00 / k22, Skew: k01 / k22, Cx: k02 / k22, Fy: k11 / k22, Cy: k12 / k22}
	rt := ds3d.Mat4{
		r0.X, r0.Y, r0.Z, tx,
		r1.X, r1.Y, r1.Z, ty,
		r2.X, r2.Y, r2.Z, tz,
		0, 0, 0, 1,
	}
	return in, rt, nil
}

// finite reports whether every value is finite.
func finite(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
