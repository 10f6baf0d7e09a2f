package calib

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// DAIR-V2X frame names used in the Rig.
const (
	DAIRVirtualLidar = "virtuallidar" // infrastructure lidar, levelled ("virtual") frame
	DAIRVehicleLidar = "lidar"        // vehicle-side lidar
	DAIRCamera       = "camera"
)

// dairTransform is a DAIR-V2X rigid-transform file: lidar_i2v,
// virtuallidar_to_camera, lidar_to_camera, … hold "rotation" (3×3) and
// "translation" (3×1 or 3); novatel/world files wrap them in "transform".
type dairTransform struct {
	Rotation    matrix `json:"rotation"`
	Translation matrix `json:"translation"`
	Transform   *struct {
		Rotation    matrix `json:"rotation"`
		Translation matrix `json:"translation"`
	} `json:"transform"`
}

// ReadDAIRTransform reads a DAIR-V2X transform file (rotation R 3×3 and
// translation t 3×1, row-major) as the extrinsics from→to: p_to = R·p_from + t.
// Examples: cooperative/calib/lidar_i2v/ID.json maps infrastructure
// virtual-lidar points to vehicle lidar points;
// calib/virtuallidar_to_camera/ID.json maps virtual-lidar points to the
// camera frame.
func ReadDAIRTransform(path, from, to string) (ds3d.Extrinsics, error) {
	var d dairTransform
	if err := readJSON(path, &d); err != nil {
		return ds3d.Extrinsics{}, err
	}
	rot, tr := d.Rotation, d.Translation
	if !rot.Set() && d.Transform != nil {
		rot, tr = d.Transform.Rotation, d.Transform.Translation
	}
	r, err := rot.want(path, "rotation", 9)
	if err != nil {
		return ds3d.Extrinsics{}, err
	}
	t, err := tr.want(path, "translation", 3)
	if err != nil {
		return ds3d.Extrinsics{}, err
	}
	m, _ := ds3d.Mat4From(r)
	m[3], m[7], m[11] = t[0], t[1], t[2]
	return ds3d.Extrinsics{From: from, To: to, Transform: m}, nil
}

// ReadDAIRIntrinsics reads a DAIR-V2X camera_intrinsic/ID.json: cam_K (9
// values, row-major K), cam_D (OpenCV distortion, optional), width and
// height (optional).
func ReadDAIRIntrinsics(path string) (ds3d.Intrinsics, error) {
	var d struct {
		CamK   matrix `json:"cam_K"`
		CamD   matrix `json:"cam_D"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	}
	if err := readJSON(path, &d); err != nil {
		return ds3d.Intrinsics{}, err
	}
	k, err := d.CamK.want(path, "cam_K", 9)
	if err != nil {
		return ds3d.Intrinsics{}, err
	}
	in, err := ds3d.IntrinsicsFromK(k, d.Width, d.Height)
	if err != nil {
		return ds3d.Intrinsics{}, fmt.Errorf("calib %s: cam_K: %w", path, err)
	}
	if d.CamD.Set() {
		dist, _, _, err := d.CamD.Values()
		if err != nil || !finite(dist) {
			return ds3d.Intrinsics{}, fmt.Errorf("calib %s: cam_D: want a list of finite numbers", path)
		}
		in.Distortion = dist
	}
	return in, nil
}

// ReadDAIR builds a one-camera rig from a DAIR-V2X camera_intrinsic file and
// the matching lidar→camera file (virtuallidar_to_camera on the
// infrastructure side, lidar_to_camera on the vehicle side); lidar names the
// lidar frame (DAIRVirtualLidar or DAIRVehicleLidar).
func ReadDAIR(intrinsicPath, lidarToCameraPath, lidar string) (*Rig, error) {
	in, err := ReadDAIRIntrinsics(intrinsicPath)
	if err != nil {
		return nil, err
	}
	ex, err := ReadDAIRTransform(lidarToCameraPath, lidar, DAIRCamera)
	if err != nil {
		return nil, err
	}
	return &Rig{
		Source: intrinsicPath + " + " + lidarToCameraPath,
		Lidar:  lidar,
		Cameras: []Camera{{
			Name: DAIRCamera, Intrinsics: in, Extrinsics: ex,
			Projection: ProjectionOf(in, ex.Transform),
		}},
	}, nil
}
