package ds3d

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/spatial/r3"
)

// Box3D is an oriented 3D box in a sensor frame (lidar: x forward, y left,
// z up). (CX, CY, CZ) is the geometric centre — z at the box centre, not its
// bottom; DX is the length along the heading, DY the width, DZ the height;
// Yaw is the heading in radians, counter-clockwise about +z from +x.
// TrackID is -1 while untracked.
//
// Boxes are upright (Pitch = Roll = 0) unless their source says otherwise:
// a label made upright in another frame (KITTI's rectified camera, tilted
// ≈0.6° from the velodyne's z) keeps its exact shape through Pitch and Roll.
// The box's rotation is R = Rz(Yaw)·Ry(Pitch)·Rx(Roll) applied to its local
// axes (x length, y width, z height). Bird's-eye-view geometry (BEV IoU, NMS,
// rasters) uses Yaw alone.
type Box3D struct {
	CX, CY, CZ  float32
	DX, DY, DZ  float32
	Yaw         float32
	Pitch, Roll float32
	ClassID     int32
	Label       string
	Score       float32
	Color       [4]uint8
	TrackID     int64
	// VX, VY is the velocity in m/s in the same frame, when a tracker set it.
	VX, VY float32
}

// Rotation returns R = Rz(Yaw)·Ry(Pitch)·Rx(Roll), row-major.
func (b *Box3D) Rotation() [9]float64 {
	cy, sy := math.Cos(float64(b.Yaw)), math.Sin(float64(b.Yaw))
	cp, sp := math.Cos(float64(b.Pitch)), math.Sin(float64(b.Pitch))
	cr, sr := math.Cos(float64(b.Roll)), math.Sin(float64(b.Roll))
	return [9]float64{
		cy * cp, cy*sp*sr - sy*cr, cy*sp*cr + sy*sr,
		sy * cp, sy*sp*sr + cy*cr, sy*sp*cr - cy*sr,
		-sp, cp * sr, cp * cr,
	}
}

// Upright returns the box with Pitch and Roll cleared: its bird's-eye-view
// footprint, as BEV IoU, NMS and top views use it.
func (b Box3D) Upright() Box3D {
	b.Pitch, b.Roll = 0, 0
	return b
}

// Corners returns the 8 corners: bottom face counter-clockwise from
// front-left (+x,+y in box coordinates), then the top face in the same order.
func (b *Box3D) Corners() [8]r3.Vec {
	r := b.Rotation()
	hx, hy, hz := float64(b.DX)/2, float64(b.DY)/2, float64(b.DZ)/2
	local := [4][2]float64{{hx, hy}, {-hx, hy}, {-hx, -hy}, {hx, -hy}}
	var out [8]r3.Vec
	for i, p := range local {
		for k, z := range [2]float64{-hz, hz} {
			out[i+4*k] = r3.Vec{
				X: float64(b.CX) + r[0]*p[0] + r[1]*p[1] + r[2]*z,
				Y: float64(b.CY) + r[3]*p[0] + r[4]*p[1] + r[5]*z,
				Z: float64(b.CZ) + r[6]*p[0] + r[7]*p[1] + r[8]*z,
			}
		}
	}
	return out
}

// Contains reports whether point (x, y, z) lies inside the box (borders included).
func (b *Box3D) Contains(x, y, z float32) bool {
	dx, dy, dz := float64(x-b.CX), float64(y-b.CY), float64(z-b.CZ)
	if b.Pitch == 0 && b.Roll == 0 {
		c, s := math.Cos(float64(b.Yaw)), math.Sin(float64(b.Yaw))
		lx := c*dx + s*dy
		ly := -s*dx + c*dy
		return math.Abs(lx) <= float64(b.DX)/2 && math.Abs(ly) <= float64(b.DY)/2 &&
			math.Abs(dz) <= float64(b.DZ)/2
	}
	r := b.Rotation() // local = Rᵀ·d
	lx := r[0]*dx + r[3]*dy + r[6]*dz
	ly := r[1]*dx + r[4]*dy + r[7]*dz
	lz := r[2]*dx + r[5]*dy + r[8]*dz
	return math.Abs(lx) <= float64(b.DX)/2 && math.Abs(ly) <= float64(b.DY)/2 && math.Abs(lz) <= float64(b.DZ)/2
}

// Object2D is a detected or labelled object in an image: (Left, Top, Width,
// Height) in pixels of the source frame.
type Object2D struct {
	Left, Top, Width, Height float32
	ClassID                  int32
	Label                    string
	Score                    float32
	TrackID                  int64
	SourceID                 int32
}

// FusedDetection is a 3D box confirmed by a 2D detection in camera CamID
// (ds3d's FusedDetection).
type FusedDetection struct {
	Box3D
	Object2D
	CamID      int32
	FusedScore float32
}

// Intrinsics is a pinhole camera: K = [[Fx, Skew, Cx], [0, Fy, Cy], [0, 0, 1]],
// image Width×Height pixels, optional distortion coefficients in OpenCV order
// (k1, k2, p1, p2[, k3...]).
type Intrinsics struct {
	Fx, Fy, Cx, Cy, Skew float64
	Width, Height        int
	Distortion           []float64
}

// IntrinsicsFromK builds intrinsics from a row-major 3×3 K (9 values) or the
// left 3×3 of a row-major 3×4 projection (12 values).
func IntrinsicsFromK(k []float64, width, height int) (Intrinsics, error) {
	var fx, s, cx, fy, cy float64
	switch len(k) {
	case 9:
		fx, s, cx, fy, cy = k[0], k[1], k[2], k[4], k[5]
	case 12:
		fx, s, cx, fy, cy = k[0], k[1], k[2], k[5], k[6]
	default:
		return Intrinsics{}, fmt.Errorf("intrinsics: need 9 (3×3) or 12 (3×4) values, got %d", len(k))
	}
	if fx == 0 || fy == 0 {
		return Intrinsics{}, errors.New("intrinsics: focal length is zero")
	}
	return Intrinsics{Fx: fx, Fy: fy, Cx: cx, Cy: cy, Skew: s, Width: width, Height: height}, nil
}

// K returns the 3×3 matrix row-major.
func (in Intrinsics) K() [9]float64 {
	return [9]float64{in.Fx, in.Skew, in.Cx, 0, in.Fy, in.Cy, 0, 0, 1}
}

// Project maps a point in the camera frame (x right, y down, z forward) to
// pixel (u, v); ok is false behind the camera (z ≤ 0). Distortion is not
// applied.
func (in Intrinsics) Project(p r3.Vec) (u, v float64, ok bool) {
	if p.Z <= 0 {
		return 0, 0, false
	}
	u = (in.Fx*p.X+in.Skew*p.Y)/p.Z + in.Cx
	v = in.Fy*p.Y/p.Z + in.Cy
	return u, v, true
}

// Mat4 is a 4×4 homogeneous transform, row-major: p' = M·[x y z 1]ᵀ.
type Mat4 [16]float64

// Identity4 is the identity transform.
var Identity4 = Mat4{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}

// Mat4From builds a transform from row-major values: 16 (4×4), 12 (3×4
// [R|t]) or 9 (3×3 rotation, no translation).
func Mat4From(v []float64) (Mat4, error) {
	m := Identity4
	switch len(v) {
	case 16:
		copy(m[:], v)
	case 12:
		copy(m[:12], v)
	case 9:
		for r := 0; r < 3; r++ {
			copy(m[r*4:r*4+3], v[r*3:r*3+3])
		}
	default:
		return m, fmt.Errorf("transform: need 16 (4×4), 12 (3×4) or 9 (3×3) values, got %d", len(v))
	}
	return m, nil
}

// Mul returns m·n (apply n first, then m).
func (m Mat4) Mul(n Mat4) Mat4 {
	var o Mat4
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			var s float64
			for k := 0; k < 4; k++ {
				s += m[r*4+k] * n[k*4+c]
			}
			o[r*4+c] = s
		}
	}
	return o
}

// Apply transforms a point.
func (m Mat4) Apply(p r3.Vec) r3.Vec {
	return r3.Vec{
		X: m[0]*p.X + m[1]*p.Y + m[2]*p.Z + m[3],
		Y: m[4]*p.X + m[5]*p.Y + m[6]*p.Z + m[7],
		Z: m[8]*p.X + m[9]*p.Y + m[10]*p.Z + m[11],
	}
}

// Rotation returns the upper-left 3×3 as a gonum r3.Mat.
func (m Mat4) Rotation() *r3.Mat {
	return r3.NewMat([]float64{m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]})
}

// Translation returns the last column's first three entries.
func (m Mat4) Translation() r3.Vec { return r3.Vec{X: m[3], Y: m[7], Z: m[11]} }

// Inverse returns the inverse transform, computed by LU with gonum; a
// singular matrix is an error.
func (m Mat4) Inverse() (Mat4, error) {
	a := mat.NewDense(4, 4, m[:])
	var inv mat.Dense
	if err := inv.Inverse(a); err != nil {
		return Mat4{}, fmt.Errorf("transform: not invertible: %w", err)
	}
	var o Mat4
	copy(o[:], inv.RawMatrix().Data)
	return o, nil
}

// Extrinsics is a rigid transform from one sensor's frame to another's
// (lidar→camera: camera point = Transform · lidar point).
type Extrinsics struct {
	From, To  string
	Transform Mat4
}
