package calib

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// nuScenes frame names used in the Rig.
const (
	NuScenesLidar  = "LIDAR_TOP"
	NuScenesEgo    = "ego"
	NuScenesGlobal = "global"
)

// NuScenesCameras lists the six nuScenes cameras in the order mmdetection3d
// writes them; rigs list their cameras in this order, others after, sorted.
var NuScenesCameras = []string{"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}

// NuScenesPose is a pose record of the nuScenes tables (calibrated_sensor.json:
// sensor→ego; ego_pose.json: ego→global): a translation in metres and a
// rotation quaternion (w, x, y, z).
type NuScenesPose struct {
	Translation [3]float64 `json:"translation"`
	Rotation    [4]float64 `json:"rotation"`
}

// Mat4 returns the pose as a transform (child-frame points to parent-frame
// points), [R(q) | t]; see PoseFromQuaternion.
func (p NuScenesPose) Mat4() (ds3d.Mat4, error) {
	return PoseFromQuaternion(p.Rotation, p.Translation)
}

// nuScenesEntry is the calibration part of one entry (data_list[i]) of an
// mmdetection3d v1.1 nuScenes info file.
type nuScenesEntry struct {
	Ego2Global  matrix `json:"ego2global"`
	LidarPoints *struct {
		Lidar2Ego matrix `json:"lidar2ego"`
	} `json:"lidar_points"`
	Images map[string]struct {
		Cam2Img   matrix `json:"cam2img"`
		Cam2Ego   matrix `json:"cam2ego"`
		Lidar2Cam matrix `json:"lidar2cam"`
	} `json:"images"`
}

// ReadNuScenesInfo reads an mmdetection3d v1.1 nuScenes info file (the
// pickle converted to JSON: {"metainfo": …, "data_list": [...]}) and returns
// one rig per entry; see ParseNuScenesEntry.
func ReadNuScenesInfo(path string) ([]*Rig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("calib %s: %w", path, err)
	}
	var doc struct {
		DataList []json.RawMessage `json:"data_list"`
	}
	if err := DecodeJSON("calib", path, data, &doc); err != nil {
		return nil, err
	}
	if doc.DataList == nil {
		return nil, fmt.Errorf("calib %s: missing data_list", path)
	}
	rigs := make([]*Rig, 0, len(doc.DataList))
	for i, raw := range doc.DataList {
		r, err := ParseNuScenesEntry(raw, fmt.Sprintf("%s: data_list[%d]", path, i))
		if err != nil {
			return nil, err
		}
		rigs = append(rigs, r)
	}
	return rigs, nil
}

// ParseNuScenesEntry builds the rig of one info entry; name is used in
// errors. Lidar is LIDAR_TOP (nuScenes: x right, y forward, z up). Each
// camera has intrinsics from cam2img (3×3), extrinsics lidar2cam (4×4: it
// includes the ego motion between the lidar and camera timestamps) and
// Projection = cam2img·lidar2cam. Transforms: LIDAR_TOP→ego (lidar2ego),
// ego→global (ego2global), CAM_*→ego (cam2ego). Image sizes are not in the
// file: width and height are zero.
func ParseNuScenesEntry(raw []byte, name string) (*Rig, error) {
	var e nuScenesEntry
	if err := DecodeJSON("calib", name, raw, &e); err != nil {
		return nil, err
	}
	rig := &Rig{Source: name, Lidar: NuScenesLidar}
	if e.LidarPoints == nil {
		return nil, fmt.Errorf("calib %s: missing lidar_points", name)
	}
	l2e, err := mat4(e.LidarPoints.Lidar2Ego, name, "lidar_points.lidar2ego")
	if err != nil {
		return nil, err
	}
	e2g, err := mat4(e.Ego2Global, name, "ego2global")
	if err != nil {
		return nil, err
	}
	rig.Transforms = append(rig.Transforms,
		ds3d.Extrinsics{From: NuScenesLidar, To: NuScenesEgo, Transform: l2e},
		ds3d.Extrinsics{From: NuScenesEgo, To: NuScenesGlobal, Transform: e2g})
	if len(e.Images) == 0 {
		return nil, fmt.Errorf("calib %s: missing images", name)
	}
	for _, cam := range orderedCameras(e.Images) {
		im := e.Images[cam]
		key := "images." + cam
		k, err := im.Cam2Img.want(name, key+".cam2img", 9, 12, 16)
		if err != nil {
			return nil, err
		}
		if len(k) == 16 { // 4×4 padded K: keep its 3×4 top
			k = k[:12]
		}
		in, err := ds3d.IntrinsicsFromK(k, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("calib %s: %s.cam2img: %w", name, key, err)
		}
		l2c, err := mat4(im.Lidar2Cam, name, key+".lidar2cam")
		if err != nil {
			return nil, err
		}
		rig.Cameras = append(rig.Cameras, Camera{
			Name:       cam,
			Intrinsics: in,
			Extrinsics: ds3d.Extrinsics{From: NuScenesLidar, To: cam, Transform: l2c},
			Projection: ProjectionOf(in, l2c),
		})
		if im.Cam2Ego.Set() {
			c2e, err := mat4(im.Cam2Ego, name, key+".cam2ego")
			if err != nil {
				return nil, err
			}
			rig.Transforms = append(rig.Transforms, ds3d.Extrinsics{From: cam, To: NuScenesEgo, Transform: c2e})
		}
	}
	return rig, nil
}

// orderedCameras returns the map's keys: the nuScenes cameras first, in
// NuScenesCameras order, then the others sorted.
func orderedCameras[V any](m map[string]V) []string {
	var out, rest []string
	for _, c := range NuScenesCameras {
		if _, ok := m[c]; ok {
			out = append(out, c)
		}
	}
	for c := range m {
		if !contains(NuScenesCameras, c) {
			rest = append(rest, c)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// mat4 reads a 4×4 or 3×4 rigid transform; a 4×4 must end in (0 0 0 1).
func mat4(m matrix, name, key string) (ds3d.Mat4, error) {
	v, err := m.want(name, key, 12, 16)
	if err != nil {
		return ds3d.Mat4{}, err
	}
	if len(v) == 16 && (v[12] != 0 || v[13] != 0 || v[14] != 0 || v[15] != 1) {
		return ds3d.Mat4{}, fmt.Errorf("calib %s: %s: last row is %v, want (0 0 0 1)", name, key, v[12:])
	}
	out, err := ds3d.Mat4From(v)
	if err != nil {
		return ds3d.Mat4{}, fmt.Errorf("calib %s: %s: %w", name, key, err)
	}
	return out, nil
}
