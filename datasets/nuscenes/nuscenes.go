// Package nuscenes reads nuScenes keyframes from the info file that
// mmdetection3d (v1.1) writes for them, converted from its pickle to JSON:
// for each sample the LIDAR_TOP sweep path (.pcd.bin, float32 x, y, z,
// intensity, ring), the six camera images with their timestamps, the
// calibration as a sensors/calib Rig (cam2img, lidar2cam, lidar2ego,
// cam2ego, ego2global) and the ground-truth boxes as ds3d.Box3D in the
// LIDAR_TOP frame (nuScenes: x right, y forward, z up) with their class,
// velocity and lidar/radar point counts. The info file already holds the
// boxes in the lidar frame ([x, y, z, l, w, h, yaw], z at the box's volume
// centre, yaw about +z from +x); nuScenes' own global-frame boxes go
// through ego2global⁻¹ and lidar2ego⁻¹ to get there, which mmdetection3d
// did when it wrote the file.
package nuscenes

import (
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg" // camera images are JPEG; DecodeConfig reads their size
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// Info is an info file: its categories and samples.
type Info struct {
	Path    string
	Dataset string // "nuscenes"
	Version string // "v1.0-mini", …
	// Classes maps class ids to names (car 0, truck 1, …, barrier 9).
	Classes map[int32]string
	Samples []Sample
}

// Sample is one keyframe.
type Sample struct {
	Index int
	Token string
	// TimestampNS is the lidar timestamp in nanoseconds since the epoch,
	// converted exactly from the file's decimal seconds.
	TimestampNS int64
	// LidarPath is the LIDAR_TOP sweep: float32 little-endian, PointFeatures
	// values a point (5: x, y, z, intensity 0..255, ring).
	LidarPath     string
	PointFeatures int
	Images        []Image // in the rig's camera order
	Rig           *calib.Rig
	Objects       []Object
}

// Image is one camera's image of a sample.
type Image struct {
	Camera          string
	Path            string
	TimestampNS     int64
	SampleDataToken string
}

// Object is a ground-truth box with its annotation extras.
type Object struct {
	// Box is in the LIDAR_TOP frame: centre (z at the volume centre), DX =
	// length, DY = width, DZ = height, Yaw about +z from +x; ClassID and
	// Label from the categories, VX, VY the velocity in m/s, TrackID -1.
	Box         ds3d.Box3D
	NumLidarPts int
	NumRadarPts int
	// Velocity is (vx, vy) in m/s in the lidar frame; NaN where the
	// annotation has none (the JSON holds "nan"). Box.VX, VY carry it when
	// it is known and are 0 otherwise.
	Velocity [2]float64
	// Valid is mmdetection3d's bbox_3d_isvalid: the box has lidar or radar
	// points and a finite velocity.
	Valid bool
}

// Boxes returns the sample's boxes.
func (s *Sample) Boxes() []ds3d.Box3D {
	out := make([]ds3d.Box3D, len(s.Objects))
	for i, o := range s.Objects {
		out[i] = o.Box
	}
	return out
}

type infoFile struct {
	Metainfo struct {
		Categories map[string]int32 `json:"categories"`
		Dataset    string           `json:"dataset"`
		Version    string           `json:"version"`
	} `json:"metainfo"`
	DataList []json.RawMessage `json:"data_list"`
}

type entry struct {
	Token       string          `json:"token"`
	Timestamp   json.RawMessage `json:"timestamp"`
	LidarPoints *struct {
		NumPtsFeats int    `json:"num_pts_feats"`
		LidarPath   string `json:"lidar_path"`
	} `json:"lidar_points"`
	Images map[string]struct {
		ImgPath         string          `json:"img_path"`
		Timestamp       json.RawMessage `json:"timestamp"`
		SampleDataToken string          `json:"sample_data_token"`
	} `json:"images"`
	Instances []struct {
		BBox3D      []float64   `json:"bbox_3d"`
		Label3D     *int32      `json:"bbox_label_3d"`
		Valid       bool        `json:"bbox_3d_isvalid"`
		NumLidarPts int         `json:"num_lidar_pts"`
		NumRadarPts int         `json:"num_radar_pts"`
		Velocity    []flexFloat `json:"velocity"`
	} `json:"instances"`
}

// ReadInfo reads an info file. Relative image and lidar paths are resolved
// against the info file's folder.
func ReadInfo(path string) (*Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("nuscenes %s: %w", path, err)
	}
	var f infoFile
	if err := calib.DecodeJSON("nuscenes", path, data, &f); err != nil {
		return nil, err
	}
	if f.DataList == nil {
		return nil, fmt.Errorf("nuscenes %s: missing data_list", path)
	}
	info := &Info{Path: path, Dataset: f.Metainfo.Dataset, Version: f.Metainfo.Version, Classes: map[int32]string{}}
	for name, id := range f.Metainfo.Categories {
		info.Classes[id] = name
	}
	dir := filepath.Dir(path)
	for i, raw := range f.DataList {
		where := fmt.Sprintf("%s: data_list[%d]", path, i)
		s, err := parseEntry(raw, where, dir, info.Classes)
		if err != nil {
			return nil, err
		}
		s.Index = i
		info.Samples = append(info.Samples, *s)
	}
	return info, nil
}

func parseEntry(raw []byte, where, dir string, classes map[int32]string) (*Sample, error) {
	var e entry
	if err := calib.DecodeJSON("nuscenes", where, raw, &e); err != nil {
		return nil, err
	}
	rig, err := calib.ParseNuScenesEntry(raw, where)
	if err != nil {
		return nil, err
	}
	s := &Sample{Token: e.Token, Rig: rig}
	if s.TimestampNS, err = secondsToNS(e.Timestamp); err != nil {
		return nil, fmt.Errorf("nuscenes %s: timestamp: %w", where, err)
	}
	if e.LidarPoints == nil || e.LidarPoints.LidarPath == "" {
		return nil, fmt.Errorf("nuscenes %s: missing lidar_points.lidar_path", where)
	}
	s.LidarPath = resolve(dir, e.LidarPoints.LidarPath)
	s.PointFeatures = e.LidarPoints.NumPtsFeats
	if s.PointFeatures < 3 {
		return nil, fmt.Errorf("nuscenes %s: lidar_points.num_pts_feats is %d, want ≥ 3", where, s.PointFeatures)
	}
	for ci := range rig.Cameras {
		cam := &rig.Cameras[ci]
		im := e.Images[cam.Name]
		if im.ImgPath == "" {
			return nil, fmt.Errorf("nuscenes %s: missing images.%s.img_path", where, cam.Name)
		}
		ts, err := secondsToNS(im.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("nuscenes %s: images.%s.timestamp: %w", where, cam.Name, err)
		}
		p := resolve(dir, im.ImgPath)
		s.Images = append(s.Images, Image{Camera: cam.Name, Path: p, TimestampNS: ts, SampleDataToken: im.SampleDataToken})
		if w, h, err := imageSize(p); err == nil {
			cam.Intrinsics.Width, cam.Intrinsics.Height = w, h
		}
	}
	for i, in := range e.Instances {
		if len(in.BBox3D) != 7 {
			return nil, fmt.Errorf("nuscenes %s: instances[%d].bbox_3d has %d values, want 7 (x y z l w h yaw)", where, i, len(in.BBox3D))
		}
		for _, v := range in.BBox3D {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("nuscenes %s: instances[%d].bbox_3d has a value that is not finite", where, i)
			}
		}
		if in.Label3D == nil {
			return nil, fmt.Errorf("nuscenes %s: instances[%d]: missing bbox_label_3d", where, i)
		}
		b := in.BBox3D
		box := ds3d.Box3D{
			CX: float32(b[0]), CY: float32(b[1]), CZ: float32(b[2]),
			DX: float32(b[3]), DY: float32(b[4]), DZ: float32(b[5]), Yaw: float32(b[6]),
			ClassID: *in.Label3D, Label: classes[*in.Label3D], Score: 1, TrackID: -1,
		}
		o := Object{Box: box, NumLidarPts: in.NumLidarPts, NumRadarPts: in.NumRadarPts, Valid: in.Valid,
			Velocity: [2]float64{math.NaN(), math.NaN()}}
		if len(in.Velocity) == 2 {
			o.Velocity = [2]float64{float64(in.Velocity[0]), float64(in.Velocity[1])}
			if !math.IsNaN(o.Velocity[0]) && !math.IsNaN(o.Velocity[1]) {
				o.Box.VX, o.Box.VY = float32(o.Velocity[0]), float32(o.Velocity[1])
			}
		}
		s.Objects = append(s.Objects, o)
	}
	return s, nil
}

// flexFloat is a JSON number, or one of the strings "nan", "inf", "-inf"
// that the pickle→JSON conversion writes for non-finite floats.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch strings.ToLower(s) {
		case "nan":
			*f = flexFloat(math.NaN())
		case "inf", "+inf", "infinity":
			*f = flexFloat(math.Inf(1))
		case "-inf", "-infinity":
			*f = flexFloat(math.Inf(-1))
		default:
			return fmt.Errorf("%q is not a number", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}

// secondsToNS converts a JSON number of decimal seconds
// ("1532402927.647951") to integer nanoseconds without going through
// float64, which would lose the last digits at this magnitude.
func secondsToNS(raw json.RawMessage) (int64, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return 0, fmt.Errorf("missing")
	}
	if strings.ContainsAny(s, "eE") { // exponent form: accept float precision
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f < 0 || f > math.MaxInt64/1e9 {
			return 0, fmt.Errorf("%q is not a time in seconds", s)
		}
		return int64(math.Round(f * 1e9)), nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec >= math.MaxInt64/1_000_000_000 {
		return 0, fmt.Errorf("%q is not a time in seconds", s)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil || ns < 0 {
		return 0, fmt.Errorf("%q is not a time in seconds", s)
	}
	return sec*1e9 + ns, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func imageSize(path string) (int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	return cfg.Width, cfg.Height, err
}
