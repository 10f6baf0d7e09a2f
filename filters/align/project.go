package align

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// Camera is one camera of the alignment: its intrinsics, the lidar→camera
// extrinsic, the image size and the float32 projection used per point.
type Camera struct {
	// Index is N in DS3D::CamN_IntrinsicMatrix and the other per-camera keys.
	Index      int
	Intrinsics ds3d.Intrinsics
	Extrinsic  ds3d.Mat4 // lidar → camera, row-major
	// M is the 3×4 lidar→pixel projection K·[R|t] (row-major), computed in
	// float64 and rounded to float32 (bench_numpy.py's M).
	M [12]float32
}

// NewCamera builds a camera from intrinsics (with the image size) and a
// lidar→camera transform: M = float32(K·ext[:3, :]).
func NewCamera(index int, in ds3d.Intrinsics, ext ds3d.Mat4) Camera {
	p := calib.ProjectionOf(in, ext)
	c := Camera{Index: index, Intrinsics: in, Extrinsic: ext}
	for i, v := range p {
		c.M[i] = float32(v)
	}
	return c
}

// KITTICamera builds camera cam (0–3; 2 is image_2, the left colour
// camera) of a KITTI calibration for a width×height image: M is
// float32(P_cam·R0_rect·Tr_velo_to_cam) exactly as bench_numpy.py computes
// it (float64 products, then rounded); the intrinsics are the left 3×3 of
// P_cam and the extrinsic is [I | K⁻¹·p]·R0_rect·Tr_velo_to_cam with p
// P_cam's last column (so that K·ext = P_cam·R0_rect·Tr_velo_to_cam), as
// sensors/calib's Rig.
func KITTICamera(k *calib.KITTI, cam, width, height int) (Camera, error) {
	if cam < 0 || cam > 3 {
		return Camera{}, fmt.Errorf("align: KITTI camera %d, want 0–3", cam)
	}
	rig, err := k.Rig("kitti")
	if err != nil {
		return Camera{}, err
	}
	name := fmt.Sprintf("image_%d", cam)
	rc, ok := rig.Camera(name)
	if !ok {
		return Camera{}, fmt.Errorf("align: KITTI rig has no %s", name)
	}
	in := rc.Intrinsics
	in.Width, in.Height = width, height
	c := Camera{Index: cam, Intrinsics: in, Extrinsic: rc.Extrinsics.Transform}
	p := k.VeloToImage(cam)
	for i, v := range p {
		c.M[i] = float32(v)
	}
	return c, nil
}

// MinDepth is the smallest depth (m along the optical axis) a point needs to
// project: bench_numpy.py's w > 1e-3.
const MinDepth = 1e-3

// project maps one point: (u, v, w) = M·[x y z 1] in float32, each row
// summed as ((m0·x + m1·y) + m2·z) + m3 with every product and sum rounded
// to float32 (no fused multiply-add; the float32 conversions keep the
// compiler from fusing even with GOAMD64=v3): the same operations in the
// same order as testdata/depth_peer.py's element-wise numpy, checked bit for
// bit by the tests. numpy's `pts @ M[:, :3].T + M[:, 3]` goes through BLAS
// and agrees only to the last bit, which varies with the CPU.
func project(m *[12]float32, x, y, z float32) (u, v, w float32) {
	w = float32(float32(float32(m[8]*x)+float32(m[9]*y))+float32(m[10]*z)) + m[11]
	u = float32(float32(float32(m[0]*x)+float32(m[1]*y))+float32(m[2]*z)) + m[3]
	v = float32(float32(float32(m[4]*x)+float32(m[5]*y))+float32(m[6]*z)) + m[7]
	return
}

// pixel returns the pixel of a projected point, ok false when it falls
// outside a width×height image: column floor(u/w), row floor(v/w), the
// divisions in float32 (numpy's uvw[:, 0] / w).
func pixel(u, v, w float32, width, height int) (col, row int, ok bool) {
	fu, fv := u/w, v/w
	// compare before converting: huge or NaN quotients never reach int
	if !(fu >= 0 && fu < float32(width) && fv >= 0 && fv < float32(height)) {
		return 0, 0, false
	}
	col, row = int(fu), int(fv) // ≥ 0: truncation is floor
	if col >= width || row >= height {
		return 0, 0, false
	}
	return col, row, true
}

// DepthMap renders the sparse depth map of the [N,C≥3] f32 points pts
// (stride values per point) into depth, a width×height row-major float32
// image of pitch values per row: every pixel is first set to 0 (no
// return), then each point with depth w > MinDepth whose pixel
// (floor(u/w), floor(v/w)) lies in the image writes w there unless a nearer
// point did (z-buffer: the smallest depth wins, as bench_numpy.py's
// far-to-near write order). It returns the number of points that landed in
// the image. Non-finite points never land. It allocates nothing.
func (c *Camera) DepthMap(depth []float32, pitch int, pts []float32, stride int) int {
	W, H := c.Intrinsics.Width, c.Intrinsics.Height
	for r := 0; r < H; r++ {
		clear(depth[r*pitch : r*pitch+W])
	}
	m := &c.M
	n := 0
	fw := float32(W) * (1 + 1e-6) // rounding margin of the pre-test
	for i := 0; i+3 <= len(pts); i += stride {
		p := (*[3]float32)(pts[i : i+3])
		x, y, z := p[0], p[1], p[2]
		w := float32(float32(float32(m[8]*x)+float32(m[9]*y))+float32(m[10]*z)) + m[11]
		if !(w > MinDepth) {
			continue
		}
		u := float32(float32(float32(m[0]*x)+float32(m[1]*y))+float32(m[2]*z)) + m[3]
		if !(u >= 0 && u < fw*w) { // w > 0: u/w ≥ 0 ⇔ u ≥ 0; fw·w is a loose bound, pixel decides
			continue
		}
		v := float32(float32(float32(m[4]*x)+float32(m[5]*y))+float32(m[6]*z)) + m[7]
		if !(v >= 0) {
			continue
		}
		col, row, ok := pixel(u, v, w, W, H)
		if !ok {
			continue
		}
		n++
		d := &depth[row*pitch+col]
		if *d == 0 || w < *d {
			*d = w
		}
	}
	return n
}

// Project writes for every point of pts (stride values per point) its
// pixel coordinates and depth into uvd as (u/w, v/w, w) — continuous pixel
// coordinates, not floored — or (NaN, NaN, NaN) when the point is not in
// front (w ≤ MinDepth) or falls outside the image. uvd needs 3 values per
// point. It returns the number of points in the image.
func (c *Camera) Project(uvd []float32, pts []float32, stride int) int {
	W, H := c.Intrinsics.Width, c.Intrinsics.Height
	nan := float32(math.NaN())
	n := 0
	for i, k := 0, 0; i+3 <= len(pts) && k+3 <= len(uvd); i, k = i+stride, k+3 {
		u, v, w := project(&c.M, pts[i], pts[i+1], pts[i+2])
		if w > MinDepth {
			if _, _, ok := pixel(u, v, w, W, H); ok {
				uvd[k], uvd[k+1], uvd[k+2] = u/w, v/w, w
				n++
				continue
			}
		}
		uvd[k], uvd[k+1], uvd[k+2] = nan, nan, nan
	}
	return n
}

// DepthToU16 converts a float32 depth map to uint16 units of 1/scale metre
// (KITTI depth maps: scale 256), rounding to nearest and saturating at
// 65535; 0 stays 0 (no return) and a positive depth never becomes 0 (at
// least 1 unit).
func DepthToU16(dst []uint16, dpitch int, src []float32, spitch, width, height int, scale float32) {
	for r := 0; r < height; r++ {
		s := src[r*spitch : r*spitch+width]
		d := dst[r*dpitch : r*dpitch+width]
		for i, v := range s {
			switch {
			case !(v > 0):
				d[i] = 0
			default:
				q := v*scale + 0.5
				switch {
				case q >= 65535:
					d[i] = 65535
				case q < 1:
					d[i] = 1
				default:
					d[i] = uint16(q)
				}
			}
		}
	}
}
