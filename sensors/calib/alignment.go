package calib

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// AlignmentCamera is one camera's calibration as a DeepStream-3D lidar/camera
// alignment filter config gives it: flat lists of numbers, row-major unless
// ColumnMajor is set (ds3d's readTransformMatrix takes the same rowMajor
// switch).
type AlignmentCamera struct {
	// Intrinsic is K: 9 values (3×3) or 12 (3×4, [K | k4]; a non-zero last
	// column, as in a KITTI P2, is folded into the extrinsics).
	Intrinsic []float64 `toml:"intrinsic"`
	// Extrinsic maps lidar points to camera points: 12 values (3×4 [R|t]) or
	// 16 (4×4 ending in 0 0 0 1).
	Extrinsic []float64 `toml:"extrinsic"`
	// Width and Height of the camera image in pixels (0 when unknown).
	Width  int `toml:"width"`
	Height int `toml:"height"`
	// ColumnMajor says the lists are stored column by column.
	ColumnMajor bool `toml:"column_major"`
}

// Camera builds the rig camera called name that sees lidar frame lidar.
// With a 3×4 intrinsic [K | k4], the extrinsics become [I | K⁻¹·k4]·[R|t] so
// that Projection = [K | k4]·[R|t] exactly.
func (a AlignmentCamera) Camera(name, lidar string) (Camera, error) {
	k := a.Intrinsic
	if len(k) != 9 && len(k) != 12 {
		return Camera{}, fmt.Errorf("calib: camera %s: intrinsic has %d values, want 9 (3×3) or 12 (3×4)", name, len(k))
	}
	e := a.Extrinsic
	if len(e) != 12 && len(e) != 16 {
		return Camera{}, fmt.Errorf("calib: camera %s: extrinsic has %d values, want 12 (3×4) or 16 (4×4)", name, len(e))
	}
	if !finite(k) || !finite(e) {
		return Camera{}, fmt.Errorf("calib: camera %s: a matrix value is not finite", name)
	}
	if a.ColumnMajor {
		k = transpose(k, 3)
		e = transpose(e, len(e)/4) // 12 → 3×4, 16 → 4×4
	}
	in, err := ds3d.IntrinsicsFromK(k, a.Width, a.Height)
	if err != nil {
		return Camera{}, fmt.Errorf("calib: camera %s: %w", name, err)
	}
	ext, err := ds3d.Mat4From(e)
	if err != nil {
		return Camera{}, fmt.Errorf("calib: camera %s: %w", name, err)
	}
	if len(e) == 16 && (e[12] != 0 || e[13] != 0 || e[14] != 0 || e[15] != 1) {
		return Camera{}, fmt.Errorf("calib: camera %s: extrinsic's last row is %v, want (0 0 0 1)", name, e[12:])
	}
	if len(k) == 12 {
		if k[8] != 0 || k[9] != 0 || k[10] != 1 {
			return Camera{}, fmt.Errorf("calib: camera %s: intrinsic's last row is %v, want (0 0 1 t)", name, k[8:11])
		}
		tz := k[11]
		ty := (k[7] - in.Cy*tz) / in.Fy
		tx := (k[3] - in.Skew*ty - in.Cx*tz) / in.Fx
		shift := ds3d.Identity4
		shift[3], shift[7], shift[11] = tx, ty, tz
		ext = shift.Mul(ext)
	}
	return Camera{
		Name:       name,
		Intrinsics: in,
		Extrinsics: ds3d.Extrinsics{From: lidar, To: name, Transform: ext},
		Projection: ProjectionOf(in, ext),
	}, nil
}

// transpose reads v as a column-major matrix with rows rows and returns it
// row-major.
func transpose(v []float64, rows int) []float64 {
	cols := len(v) / rows
	out := make([]float64, len(v))
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			out[r*cols+c] = v[c*rows+r]
		}
	}
	return out
}
