package depth

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ReadOpen3DIntrinsics reads an Open3D PinholeCameraIntrinsic JSON file:
//
//	{"width": 640, "height": 480, "intrinsic_matrix": [fx, 0, 0, s, fy, 0, cx, cy, 1]}
//
// Open3D writes intrinsic_matrix column-major (Eigen's storage order), so
// K = [[m0, m3, m6], [m1, m4, m7], [m2, m5, m8]]. The entries that must be
// 0 or 1 in a pinhole K are checked, which also catches a row-major matrix
// (it would put cx and cy where the zeros belong).
func ReadOpen3DIntrinsics(path string) (ds3d.Intrinsics, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics: %w", err)
	}
	var doc struct {
		Width           *int      `json:"width"`
		Height          *int      `json:"height"`
		IntrinsicMatrix []float64 `json:"intrinsic_matrix"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: %w", path, err)
	}
	m := doc.IntrinsicMatrix
	switch {
	case doc.Width == nil || doc.Height == nil:
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: width and height are required", path)
	case *doc.Width <= 0 || *doc.Height <= 0:
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: image size %dx%d must be positive", path, *doc.Width, *doc.Height)
	case len(m) != 9:
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: intrinsic_matrix has %d values, want 9 (3×3, column-major)", path, len(m))
	case m[1] != 0 || m[2] != 0 || m[5] != 0 || m[8] != 1:
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: intrinsic_matrix %v is not a column-major pinhole K (want [fx, 0, 0, skew, fy, 0, cx, cy, 1])", path, m)
	case !(m[0] > 0) || !(m[4] > 0):
		return ds3d.Intrinsics{}, fmt.Errorf("intrinsics %s: focal lengths fx=%v fy=%v must be positive", path, m[0], m[4])
	}
	return ds3d.Intrinsics{Fx: m[0], Skew: m[3], Fy: m[4], Cx: m[6], Cy: m[7], Width: *doc.Width, Height: *doc.Height}, nil
}
