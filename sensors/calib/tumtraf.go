package calib

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TUMTrafBase is the name of the TUMTraf S110 road-side station frame.
const TUMTrafBase = "s110_base"

// ReadTUMTraf builds a rig from TUMTraf (A9, S110 intersection) calibration
// files: one lidar file (s110_lidar_ouster_*.json) and any number of camera
// files (s110_camera_basler_*.json). Sensors are named after their file
// (without .json).
//
// Each camera's lidar→pixel Projection is, in order of preference: the
// lidar file's projection_matrix_into_<camera>, the camera file's
// projection_from_<lidar>, or — for cameras with neither — the composition
// intrinsic_camera_matrix·[rotation_matrix | translation_matrix]·
// transformation_matrix_<lidar>_to_s110_base (the camera's [R|t] maps S110
// base points to the camera: its K·[R|t] is the camera file's
// projection_matrix). The dev-kit's projection matrices were not made with
// the files' intrinsic_camera_matrix (K⁻¹·P is not a rotation: its rows
// have norms 0.85–0.95), so Intrinsics (focal lengths, principal point) and
// Extrinsics come from an RQ decomposition of the Projection
// (DecomposeProjection); Width, Height and Distortion (dist_coefficients,
// OpenCV k1 k2 p1 p2 k3) are the camera file's. Transforms: lidar→s110_base
// and, where given, s110_base→camera.
func ReadTUMTraf(lidarPath string, cameraPaths ...string) (*Rig, error) {
	lidarName := strings.TrimSuffix(filepath.Base(lidarPath), ".json")
	var lidarDoc map[string]matrix
	if err := readJSON(lidarPath, &lidarDoc); err != nil {
		return nil, err
	}
	toBaseKey := "transformation_matrix_" + lidarName + "_to_" + TUMTrafBase
	toBase, err := mat4(lidarDoc[toBaseKey], lidarPath, toBaseKey)
	if err != nil {
		return nil, err
	}
	rig := &Rig{
		Source: strings.Join(append([]string{lidarPath}, cameraPaths...), " + "),
		Lidar:  lidarName,
		Transforms: []ds3d.Extrinsics{
			{From: lidarName, To: TUMTrafBase, Transform: toBase},
		},
	}
	for _, cp := range cameraPaths {
		camName := strings.TrimSuffix(filepath.Base(cp), ".json")
		data, err := os.ReadFile(cp)
		if err != nil {
			return nil, fmt.Errorf("calib %s: %w", cp, err)
		}
		var camDoc map[string]matrix
		if err := DecodeJSON("calib", cp, data, &camDoc); err != nil {
			return nil, err
		}
		var size struct {
			W int    `json:"image_width"`
			H int    `json:"image_height"`
			K matrix `json:"intrinsic_camera_matrix"`
			D matrix `json:"dist_coefficients"`
			R matrix `json:"rotation_matrix"`
			T matrix `json:"translation_matrix"`
		}
		if err := DecodeJSON("calib", cp, data, &size); err != nil {
			return nil, err
		}
		var baseToCam *ds3d.Mat4
		if size.R.Set() {
			r, err := size.R.want(cp, "rotation_matrix", 9)
			if err != nil {
				return nil, err
			}
			t, err := size.T.want(cp, "translation_matrix", 3)
			if err != nil {
				return nil, err
			}
			m, _ := ds3d.Mat4From(r)
			m[3], m[7], m[11] = t[0], t[1], t[2]
			baseToCam = &m
			rig.Transforms = append(rig.Transforms, ds3d.Extrinsics{From: TUMTrafBase, To: camName, Transform: m})
		}
		var proj Projection
		intoKey := "projection_matrix_into_" + camName
		fromKey := "projection_from_" + lidarName
		switch {
		case lidarDoc[intoKey].Set():
			v, err := lidarDoc[intoKey].want(lidarPath, intoKey, 12)
			if err != nil {
				return nil, err
			}
			copy(proj[:], v)
		case camDoc[fromKey].Set():
			v, err := camDoc[fromKey].want(cp, fromKey, 12)
			if err != nil {
				return nil, err
			}
			copy(proj[:], v)
		default:
			if baseToCam == nil {
				return nil, fmt.Errorf("calib %s: no %s in %s, no %s and no rotation_matrix to compose one", cp, intoKey, lidarPath, fromKey)
			}
			k, err := size.K.want(cp, "intrinsic_camera_matrix", 9)
			if err != nil {
				return nil, err
			}
			in, err := ds3d.IntrinsicsFromK(k, 0, 0)
			if err != nil {
				return nil, fmt.Errorf("calib %s: intrinsic_camera_matrix: %w", cp, err)
			}
			proj = ProjectionOf(in, baseToCam.Mul(toBase))
		}
		in, rt, err := DecomposeProjection(proj)
		if err != nil {
			return nil, fmt.Errorf("calib %s: projection from %s: %w", cp, lidarName, err)
		}
		in.Width, in.Height = size.W, size.H
		if size.D.Set() {
			d, _, _, err := size.D.Values()
			if err != nil || !finite(d) {
				return nil, fmt.Errorf("calib %s: dist_coefficients: want a list of finite numbers", cp)
			}
			in.Distortion = d
		}
		rig.Cameras = append(rig.Cameras, Camera{
			Name:       camName,
			Intrinsics: in,
			Extrinsics: ds3d.Extrinsics{From: lidarName, To: camName, Transform: rt},
			Projection: proj,
		})
	}
	return rig, nil
}
