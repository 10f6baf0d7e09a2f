// Package kitti reads the KITTI 3D object benchmark (training/ and testing/
// folders: velodyne/, image_2/, calib/, label_2/) into ds3d types: for each
// frame the paths of its velodyne scan and left colour image, its
// calibration as a sensors/calib Rig, and its ground-truth labels, whose 3D
// boxes are converted from KITTI's rectified-camera bottom-centre convention
// to ds3d.Box3D in the velodyne (lidar) frame, keeping type, truncation,
// occlusion, alpha and the 2D box. The conventions follow the KITTI object
// devkit readme (devkit_object/readme.txt); see Label and LabelToBox.
package kitti

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	_ "image/png" // image_2 is PNG; DecodeConfig reads its size
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"gonum.org/v1/gonum/spatial/r3"
)

// Classes are KITTI's object types; a label's ClassID is its index here, or
// -1 for DontCare and unknown types.
var Classes = []string{"Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc"}

// ClassID returns the index of typ in Classes, or -1.
func ClassID(typ string) int32 {
	for i, c := range Classes {
		if c == typ {
			return int32(i)
		}
	}
	return -1
}

// DontCare is the type of label rows that mark regions without annotations.
const DontCare = "DontCare"

// Label is one row of a KITTI label_2 file, as the devkit readme describes:
//
//	type truncated occluded alpha left top right bottom h w l x y z rotation_y [score]
//
// Type is Car, Van, Truck, Pedestrian, Person_sitting, Cyclist, Tram, Misc
// or DontCare. Truncated is in [0, 1]; Occluded is 0 (fully visible), 1
// (partly occluded), 2 (largely occluded), 3 (unknown); Alpha is the
// observation angle in [-π, π]. BBox is the 2D box in image_2 pixels (Left =
// left, Top = top, Width = right−left, Height = bottom−top), with Label =
// Type, ClassID, Score and TrackID -1. H, W, L are the height, width and
// length in metres; (X, Y, Z) is the centre of the box's bottom face in the
// rectified camera-0 frame (x right, y down, z forward); RotY is the
// rotation about the camera's y axis in [-π, π], 0 when the object's length
// runs along camera +x. Score is the 16th column of result files (1 for
// ground truth). DontCare rows carry -1/-1000/-10 fillers.
type Label struct {
	Type      string
	Truncated float64
	Occluded  int
	Alpha     float64
	BBox      ds3d.Object2D
	Rect      [4]float64 // the 2D box as written: left, top, right, bottom (BBox is its float32 form)
	H, W, L   float64
	X, Y, Z   float64
	RotY      float64
	Score     float64
}

// ReadLabels reads a label_2 file.
func ReadLabels(path string) ([]Label, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kitti %s: %w", path, err)
	}
	defer f.Close()
	return ParseLabels(f, path)
}

// maxLine bounds one label line.
const maxLine = 1 << 16

// ParseLabels parses a KITTI label file (15 columns, or 16 with a score);
// name is used in errors, which name the line and column at fault. Blank
// lines are skipped; numbers must be finite.
func ParseLabels(r io.Reader, name string) ([]Label, error) {
	var out []Label
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) != 15 && len(f) != 16 {
			return nil, fmt.Errorf("kitti %s: line %d: %d columns, want 15 (16 with a score)", name, line, len(f))
		}
		var v [16]float64
		v[15] = 1
		for i := 1; i < len(f); i++ {
			x, err := strconv.ParseFloat(f[i], 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("kitti %s: line %d: column %d (%s) is %q, want a finite number", name, line, i+1, labelColumns[i], f[i])
			}
			v[i] = x
		}
		if v[2] != math.Trunc(v[2]) || v[2] < -1 || v[2] > 3 {
			return nil, fmt.Errorf("kitti %s: line %d: occluded is %s, want -1, 0, 1, 2 or 3", name, line, f[2])
		}
		l := Label{
			Type: f[0], Truncated: v[1], Occluded: int(v[2]), Alpha: v[3],
			Rect: [4]float64{v[4], v[5], v[6], v[7]},
			H:    v[8], W: v[9], L: v[10], X: v[11], Y: v[12], Z: v[13], RotY: v[14], Score: v[15],
		}
		l.BBox = ds3d.Object2D{
			Left: float32(v[4]), Top: float32(v[5]),
			Width: float32(v[6] - v[4]), Height: float32(v[7] - v[5]),
			ClassID: ClassID(l.Type), Label: l.Type, Score: float32(l.Score), TrackID: -1,
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("kitti %s: line %d: longer than %d bytes", name, line+1, maxLine)
		}
		return nil, fmt.Errorf("kitti %s: %w", name, err)
	}
	return out, nil
}

var labelColumns = [16]string{"type", "truncated", "occluded", "alpha", "left", "top", "right", "bottom",
	"h", "w", "l", "x", "y", "z", "rotation_y", "score"}

// LabelToBox converts a label to a ds3d.Box3D in the velodyne frame, given
// rectToVelo = (R0_rect·Tr_velo_to_cam)⁻¹ (see Boxes):
//
//   - centre: the bottom centre (X, Y, Z) moves up by H/2 — camera y points
//     down, so the rectified-camera centre is (X, Y − H/2, Z) — and is mapped
//     by rectToVelo;
//   - size: DX = L (length, along the heading), DY = W, DZ = H;
//   - yaw: the heading (cos RotY, 0, −sin RotY) in the rectified camera
//     frame, rotated into the velodyne frame, gives Yaw = atan2(y, x). With
//     the nominal axes (camera x = −lidar y, camera y = −lidar z, camera z =
//     lidar x) this is Yaw = −RotY − π/2; the calibration's small rotations
//     (~0.5°) are included. Yaw is wrapped to (−π, π];
//   - tilt: the label is upright in the rectified camera frame, which is
//     tilted ≈0.6° from velodyne z, so Pitch and Roll carry that tilt and the
//     box is exactly the labelled one (BEV geometry uses Yaw alone).
//
// Class, label and score come from the label; TrackID is -1.
func LabelToBox(l Label, rectToVelo ds3d.Mat4) ds3d.Box3D {
	c := rectToVelo.Apply(r3.Vec{X: l.X, Y: l.Y - l.H/2, Z: l.Z})
	m := rectToVelo
	rot := func(v r3.Vec) r3.Vec {
		return r3.Unit(r3.Vec{
			X: m[0]*v.X + m[1]*v.Y + m[2]*v.Z,
			Y: m[4]*v.X + m[5]*v.Y + m[6]*v.Z,
			Z: m[8]*v.X + m[9]*v.Y + m[10]*v.Z,
		})
	}
	// The box's axes in the camera frame: length along the heading (about
	// camera y), height along −y (up); width completes a right-handed frame.
	ax := rot(r3.Vec{X: math.Cos(l.RotY), Z: -math.Sin(l.RotY)})
	az := rot(r3.Vec{Y: -1})
	ay := r3.Cross(az, ax)
	// R = Rz(yaw)·Ry(pitch)·Rx(roll) has columns ax, ay, az; read the angles
	// back (pitch and roll are the ≈0.6° tilt of the rectified camera).
	yaw := math.Atan2(ax.Y, ax.X)
	pitch := -math.Asin(max(-1, min(1, ax.Z)))
	roll := math.Atan2(ay.Z, az.Z)
	return ds3d.Box3D{
		CX: float32(c.X), CY: float32(c.Y), CZ: float32(c.Z),
		DX: float32(l.L), DY: float32(l.W), DZ: float32(l.H),
		Yaw: float32(yaw), Pitch: float32(pitch), Roll: float32(roll),
		ClassID: ClassID(l.Type), Label: l.Type, Score: float32(l.Score), TrackID: -1,
	}
}

// Boxes converts the labels that are not DontCare to velodyne-frame boxes
// (see LabelToBox), in file order; it fails only when the calibration's
// R0_rect·Tr_velo_to_cam is singular.
func Boxes(labels []Label, c *calib.KITTI) ([]ds3d.Box3D, error) {
	inv, err := c.VeloToRect().Inverse()
	if err != nil {
		return nil, fmt.Errorf("kitti: R0_rect·Tr_velo_to_cam: %w", err)
	}
	out := make([]ds3d.Box3D, 0, len(labels))
	for _, l := range labels {
		if l.Type != DontCare {
			out = append(out, LabelToBox(l, inv))
		}
	}
	return out, nil
}

// Object is a labelled object of a frame: its label row (camera frame, 2D
// box) and its box in the velodyne frame.
type Object struct {
	Label
	Box ds3d.Box3D
}

// Dataset is a KITTI object split folder (training/ or testing/).
type Dataset struct {
	Root string
}

// Open checks that root holds calib/ and velodyne/ and returns the split.
func Open(root string) (*Dataset, error) {
	for _, d := range []string{"calib", "velodyne"} {
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("kitti %s: no %s/ folder", root, d)
		}
	}
	return &Dataset{Root: root}, nil
}

// IDs lists the frame ids (calib file names without .txt), sorted.
func (d *Dataset) IDs() ([]string, error) {
	m, err := filepath.Glob(filepath.Join(d.Root, "calib", "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("kitti %s: %w", d.Root, err)
	}
	ids := make([]string, len(m))
	for i, p := range m {
		ids[i] = strings.TrimSuffix(filepath.Base(p), ".txt")
	}
	sort.Strings(ids)
	return ids, nil
}

// Frame is one KITTI frame. Points are float32 little-endian x, y, z,
// reflectance (16 bytes a point) in VelodynePath, in the velodyne frame.
type Frame struct {
	ID           string
	VelodynePath string
	ImagePath    string // image_2 (left colour camera)
	CalibPath    string
	LabelPath    string // empty when the split has no label_2 (testing/)
	Calib        *calib.KITTI
	// Rig has cameras image_0..image_3; image_2's width and height are read
	// from ImagePath's header when the image is present.
	Rig *calib.Rig
	// Labels are all rows of the label file, DontCare included.
	Labels []Label
	// Objects are the labels other than DontCare with their lidar-frame boxes.
	Objects []Object
}

// Boxes returns the objects' lidar-frame boxes.
func (f *Frame) Boxes() []ds3d.Box3D {
	out := make([]ds3d.Box3D, len(f.Objects))
	for i, o := range f.Objects {
		out[i] = o.Box
	}
	return out
}

// Frame reads frame id's calibration and labels and fills in its paths.
func (d *Dataset) Frame(id string) (*Frame, error) {
	f := &Frame{
		ID:           id,
		VelodynePath: filepath.Join(d.Root, "velodyne", id+".bin"),
		ImagePath:    filepath.Join(d.Root, "image_2", id+".png"),
		CalibPath:    filepath.Join(d.Root, "calib", id+".txt"),
	}
	var err error
	if f.Calib, err = calib.ReadKITTI(f.CalibPath); err != nil {
		return nil, err
	}
	if f.Rig, err = f.Calib.Rig(f.CalibPath); err != nil {
		return nil, err
	}
	if w, h, err := imageSize(f.ImagePath); err == nil {
		if cam, ok := f.Rig.Camera("image_2"); ok {
			cam.Intrinsics.Width, cam.Intrinsics.Height = w, h
		}
	}
	lp := filepath.Join(d.Root, "label_2", id+".txt")
	if _, err := os.Stat(lp); err == nil {
		f.LabelPath = lp
		if f.Labels, err = ReadLabels(lp); err != nil {
			return nil, err
		}
		inv, err := f.Calib.VeloToRect().Inverse()
		if err != nil {
			return nil, fmt.Errorf("kitti %s: R0_rect·Tr_velo_to_cam: %w", f.CalibPath, err)
		}
		for _, l := range f.Labels {
			if l.Type != DontCare {
				f.Objects = append(f.Objects, Object{Label: l, Box: LabelToBox(l, inv)})
			}
		}
	}
	return f, nil
}

// imageSize reads an image header.
func imageSize(path string) (int, int, error) {
	r, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer r.Close()
	cfg, _, err := image.DecodeConfig(r)
	return cfg.Width, cfg.Height, err
}
