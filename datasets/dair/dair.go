// Package dair reads DAIR-V2X-C cooperative (vehicle–infrastructure) frames:
// the pairing records of cooperative/data_info.json, the infrastructure
// side's point cloud path and its 3D labels (label/virtuallidar/ID.json) as
// ds3d.Box3D in the infrastructure's virtual-lidar frame (x forward, y
// left, z up; levelled), and the infrastructure→vehicle lidar transform
// (cooperative/calib/lidar_i2v/ID.json) through sensors/calib. DAIR labels
// give the box centre (z at the centre, not the bottom), the size as h, w, l
// and the yaw about +z as "rotation" (Yu et al., DAIR-V2X, CVPR 2022; the
// z-as-centre reading is verified by point counts in
// v2x-roadside/PROVENANCE.md).
package dair

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// Classes are the DAIR-V2X object types; a box's ClassID is its index here
// or -1.
var Classes = []string{"Car", "Truck", "Van", "Bus", "Pedestrian", "Cyclist", "Tricyclist", "Motorcyclist", "Barrowlist", "Trafficcone"}

// ClassID returns the index of typ in Classes (case-insensitive), or -1.
func ClassID(typ string) int32 {
	for i, c := range Classes {
		if strings.EqualFold(c, typ) {
			return int32(i)
		}
	}
	return -1
}

// Label is one object of a DAIR-V2X label file.
type Label struct {
	Type string
	// Truncated (0 none, 1 horizontal, 2 vertical) and Occluded (0 none,
	// 1 0–50 %, 2 50–100 %) as DAIR-V2X codes them.
	Truncated, Occluded int
	Alpha               float64
	// BBox is the 2D box in the camera image (xmin, ymin, xmax, ymax).
	BBox ds3d.Object2D
	// H, W, L: height, width, length (m); X, Y, Z: box centre in the lidar
	// frame; Rotation: yaw about +z from +x (rad).
	H, W, L  float64
	X, Y, Z  float64
	Rotation float64
}

// Box returns the label as a ds3d.Box3D: centre (X, Y, Z), DX = L, DY = W,
// DZ = H, Yaw = Rotation, TrackID -1.
func (l Label) Box() ds3d.Box3D {
	return ds3d.Box3D{
		CX: float32(l.X), CY: float32(l.Y), CZ: float32(l.Z),
		DX: float32(l.L), DY: float32(l.W), DZ: float32(l.H), Yaw: float32(l.Rotation),
		ClassID: ClassID(l.Type), Label: l.Type, Score: 1, TrackID: -1,
	}
}

// num is a JSON number that DAIR sometimes writes as a string ("0").
type num struct {
	v   float64
	set bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		*n = num{v, true}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*n = num{v, true}
	return nil
}

type labelJSON struct {
	Type      string `json:"type"`
	Truncated num    `json:"truncated_state"`
	Occluded  num    `json:"occluded_state"`
	Alpha     num    `json:"alpha"`
	Box2D     *struct {
		XMin, YMin, XMax, YMax num
	} `json:"2d_box"`
	Dim *struct {
		H num `json:"h"`
		W num `json:"w"`
		L num `json:"l"`
	} `json:"3d_dimensions"`
	Loc *struct {
		X num `json:"x"`
		Y num `json:"y"`
		Z num `json:"z"`
	} `json:"3d_location"`
	Rotation num `json:"rotation"`
}

// ReadLabels reads a DAIR-V2X label file (a JSON list of objects with
// type, truncated_state, occluded_state, alpha, 2d_box, 3d_dimensions,
// 3d_location, rotation). Errors name the file and the object's index;
// JSON syntax errors their line and column.
func ReadLabels(path string) ([]Label, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dair %s: %w", path, err)
	}
	var raw []labelJSON
	if err := calib.DecodeJSON("dair", path, data, &raw); err != nil {
		return nil, err
	}
	out := make([]Label, 0, len(raw))
	for i, r := range raw {
		where := fmt.Sprintf("dair %s: object %d", path, i)
		if r.Dim == nil || r.Loc == nil {
			return nil, fmt.Errorf("%s: missing 3d_dimensions or 3d_location", where)
		}
		need := map[string]num{"3d_dimensions.h": r.Dim.H, "3d_dimensions.w": r.Dim.W, "3d_dimensions.l": r.Dim.L,
			"3d_location.x": r.Loc.X, "3d_location.y": r.Loc.Y, "3d_location.z": r.Loc.Z, "rotation": r.Rotation}
		for _, k := range []string{"3d_dimensions.h", "3d_dimensions.w", "3d_dimensions.l", "3d_location.x", "3d_location.y", "3d_location.z", "rotation"} {
			v := need[k]
			if !v.set {
				return nil, fmt.Errorf("%s: missing %s", where, k)
			}
			if math.IsNaN(v.v) || math.IsInf(v.v, 0) {
				return nil, fmt.Errorf("%s: %s is not finite", where, k)
			}
		}
		l := Label{
			Type: r.Type, Truncated: int(r.Truncated.v), Occluded: int(r.Occluded.v), Alpha: r.Alpha.v,
			H: r.Dim.H.v, W: r.Dim.W.v, L: r.Dim.L.v, X: r.Loc.X.v, Y: r.Loc.Y.v, Z: r.Loc.Z.v, Rotation: r.Rotation.v,
		}
		if b := r.Box2D; b != nil {
			l.BBox = ds3d.Object2D{
				Left: float32(b.XMin.v), Top: float32(b.YMin.v),
				Width: float32(b.XMax.v - b.XMin.v), Height: float32(b.YMax.v - b.YMin.v),
				ClassID: ClassID(l.Type), Label: l.Type, Score: 1, TrackID: -1,
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// Frame is one infrastructure-side frame.
type Frame struct {
	ID string
	// PointCloudPath is the PCD (x y z intensity, float32; often
	// binary_compressed) in the virtual-lidar frame.
	PointCloudPath string
	// ImagePath is the camera image; the file may be absent.
	ImagePath string
	LabelPath string
	Labels    []Label
	Boxes     []ds3d.Box3D // Labels[i].Box()
}

// InfraFrame reads infrastructure frame id under root (the DAIR-V2X-C
// folder holding infrastructure-side/ and cooperative/): its labels from
// infrastructure-side/label/virtuallidar/ID.json and the paths of its
// point cloud and image.
func InfraFrame(root, id string) (*Frame, error) {
	side := filepath.Join(root, "infrastructure-side")
	f := &Frame{
		ID:             id,
		PointCloudPath: filepath.Join(side, "velodyne", id+".pcd"),
		ImagePath:      filepath.Join(side, "image", id+".jpg"),
		LabelPath:      filepath.Join(side, "label", "virtuallidar", id+".json"),
	}
	var err error
	if f.Labels, err = ReadLabels(f.LabelPath); err != nil {
		return nil, err
	}
	for _, l := range f.Labels {
		f.Boxes = append(f.Boxes, l.Box())
	}
	return f, nil
}

// Pair is a cooperative record: an infrastructure frame and the vehicle
// frame taken with it. Paths are as in the file, relative to the
// DAIR-V2X-C root.
type Pair struct {
	InfraImage, InfraPointCloud     string
	VehicleImage, VehiclePointCloud string
	CooperativeLabel                string
	// InfraID and VehicleID are the frame ids (file names without extension).
	InfraID, VehicleID string
	// SystemErrorOffsetX/Y is DAIR's system_error_offset delta_x/delta_y (m).
	SystemErrorOffsetX, SystemErrorOffsetY float64
}

// ReadPairs reads cooperative/data_info.json (or a selection of it).
func ReadPairs(path string) ([]Pair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dair %s: %w", path, err)
	}
	var raw []struct {
		InfraImage   string `json:"infrastructure_image_path"`
		InfraPCD     string `json:"infrastructure_pointcloud_path"`
		VehicleImage string `json:"vehicle_image_path"`
		VehiclePCD   string `json:"vehicle_pointcloud_path"`
		CoopLabel    string `json:"cooperative_label_path"`
		Offset       *struct {
			DX num `json:"delta_x"`
			DY num `json:"delta_y"`
		} `json:"system_error_offset"`
	}
	if err := calib.DecodeJSON("dair", path, data, &raw); err != nil {
		return nil, err
	}
	out := make([]Pair, 0, len(raw))
	for i, r := range raw {
		if r.InfraPCD == "" || r.VehiclePCD == "" {
			return nil, fmt.Errorf("dair %s: record %d: missing infrastructure_pointcloud_path or vehicle_pointcloud_path", path, i)
		}
		p := Pair{
			InfraImage: r.InfraImage, InfraPointCloud: r.InfraPCD,
			VehicleImage: r.VehicleImage, VehiclePointCloud: r.VehiclePCD, CooperativeLabel: r.CoopLabel,
			InfraID: stem(r.InfraPCD), VehicleID: stem(r.VehiclePCD),
		}
		if r.Offset != nil {
			p.SystemErrorOffsetX, p.SystemErrorOffsetY = r.Offset.DX.v, r.Offset.DY.v
		}
		out = append(out, p)
	}
	return out, nil
}

func stem(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// I2V reads the infrastructure→vehicle lidar transform of vehicle frame
// vehicleID (cooperative/calib/lidar_i2v/ID.json under root): vehicle-lidar
// point = Transform · virtual-lidar point.
func I2V(root, vehicleID string) (ds3d.Extrinsics, error) {
	return calib.ReadDAIRTransform(filepath.Join(root, "cooperative", "calib", "lidar_i2v", vehicleID+".json"),
		calib.DAIRVirtualLidar, calib.DAIRVehicleLidar)
}
