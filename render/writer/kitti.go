package writer

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"gonum.org/v1/gonum/spatial/r3"
)

// KITTIConfig configures kitti_label_writer.
type KITTIConfig struct {
	OutputDir   ds3d.Path `toml:"output_dir" nonempty:"true" required:"true" doc:"folder of the label files (created when missing)"`
	Filename    string    `toml:"filename" doc:"file name pattern with one integer verb for DS3D::FrameNumber"`
	CalibFile   ds3d.Path `toml:"calib_file" nonempty:"true" path:"exists" required:"true" doc:"KITTI calib.txt giving R0_rect, Tr_velo_to_cam and P0–P3"`
	Camera      int       `toml:"camera" min:"0" max:"3" doc:"camera whose P projects the 2D box columns (2: KITTI's left colour camera)"`
	BoxKey      string    `toml:"lidar_bbox_key" nonempty:"true" doc:"key of the []Box3D boxes in the lidar frame"`
	ImageWidth  int       `toml:"image_width" min:"0" doc:"clip 2D boxes to this width in pixels; 0 does not clip"`
	ImageHeight int       `toml:"image_height" min:"0" doc:"clip 2D boxes to this height in pixels; 0 does not clip"`
	ScoreColumn string    `toml:"score_column" enum:"auto|always|never" doc:"16th column: auto (when a box's score is not 0), always or never"`
	ClassNames  []string  `toml:"class_names" doc:"type names by ClassID for boxes without a label"`
}

// Validate checks the output, the camera and the score mode.
func (c *KITTIConfig) Validate() error {
	return checkFilename("filename", c.Filename, ".txt")
}

// KITTIConverter turns lidar-frame boxes into KITTI label rows.
type KITTIConverter struct {
	veloToRect ds3d.Mat4
	proj       calib.Projection
	// ImageWidth, ImageHeight clip the 2D box when positive.
	ImageWidth, ImageHeight int
}

// NewKITTIConverter uses calibration c; camera picks the P matrix of the
// 2D box (2 for image_2).
func NewKITTIConverter(c *calib.KITTI, camera int) *KITTIConverter {
	return &KITTIConverter{veloToRect: c.VeloToRect(), proj: c.VeloToImage(camera)}
}

// KITTIRow is one label row's numbers (datasets/kitti's Label without the
// type and the fillers).
type KITTIRow struct {
	Alpha                    float64
	Left, Top, Right, Bottom float64
	H, W, L                  float64
	X, Y, Z                  float64
	RotY                     float64
}

// Convert maps a lidar-frame box to KITTI's convention, undoing
// datasets/kitti.LabelToBox:
//
//   - (X, Y, Z) is the bottom centre in the rectified camera-0 frame: the
//     centre mapped by R0_rect·Tr_velo_to_cam, then Y + H/2 (camera y points
//     down);
//   - H, W, L = DZ, DY, DX;
//   - RotY: the box's length axis (the first column of its rotation, which
//     includes Pitch and Roll) rotated into the rectified frame, (hx, hy,
//     hz), gives RotY = atan2(−hz, hx); for a box read from KITTI, whose
//     Pitch and Roll carry the camera's tilt, hy is 0 and the round trip is
//     exact; for an upright lidar box hy (≈0.6° worth) is dropped;
//   - Alpha = RotY − atan2(X, Z), the observation angle, wrapped to [−π, π];
//   - the 2D box is the bounding rectangle of the 8 corners projected by
//     P_camera·R0_rect·Tr_velo_to_cam (corners behind 0.1 m ignored; all
//     behind gives −1s), clipped to the image when its size is set.
//
// ok is false when the box has a non-finite number.
func (k *KITTIConverter) Convert(b *ds3d.Box3D) (row KITTIRow, ok bool) {
	for _, v := range [...]float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ, b.Yaw, b.Pitch, b.Roll} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return row, false
		}
	}
	m := &k.veloToRect
	c := m.Apply(r3.Vec{X: float64(b.CX), Y: float64(b.CY), Z: float64(b.CZ)})
	row.H, row.W, row.L = float64(b.DZ), float64(b.DY), float64(b.DX)
	row.X, row.Y, row.Z = c.X, c.Y+row.H/2, c.Z
	r := b.Rotation()
	hx := m[0]*r[0] + m[1]*r[3] + m[2]*r[6]
	hz := m[8]*r[0] + m[9]*r[3] + m[10]*r[6]
	row.RotY = math.Atan2(-hz, hx)
	row.Alpha = wrap(row.RotY - math.Atan2(row.X, row.Z))
	row.Left, row.Top, row.Right, row.Bottom = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range b.Corners() {
		u, v, d, ok := k.proj.Project(q)
		if !ok || d < 0.1 {
			continue
		}
		row.Left, row.Top = math.Min(row.Left, u), math.Min(row.Top, v)
		row.Right, row.Bottom = math.Max(row.Right, u), math.Max(row.Bottom, v)
	}
	if math.IsInf(row.Left, 0) {
		row.Left, row.Top, row.Right, row.Bottom = -1, -1, -1, -1
	} else if k.ImageWidth > 0 && k.ImageHeight > 0 {
		w, h := float64(k.ImageWidth-1), float64(k.ImageHeight-1)
		row.Left, row.Right = math.Min(math.Max(row.Left, 0), w), math.Min(math.Max(row.Right, 0), w)
		row.Top, row.Bottom = math.Min(math.Max(row.Top, 0), h), math.Min(math.Max(row.Bottom, 0), h)
	}
	return row, true
}

// wrap maps an angle to [−π, π].
func wrap(a float64) float64 {
	a = math.Mod(a+math.Pi, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a - math.Pi
}

// AppendKITTILine appends a label line: typ, truncated −1, occluded −1,
// alpha, the 2D box with 2 decimals, dimensions, location and rotation_y
// with 4 decimals, and the score with 4 decimals when withScore.
func AppendKITTILine(dst []byte, typ string, row *KITTIRow, score float64, withScore bool) []byte {
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; c <= ' ' {
			dst = append(dst, '_')
		} else {
			dst = append(dst, c)
		}
	}
	dst = append(dst, " -1 -1 "...)
	f := func(v float64, prec int) {
		dst = strconv.AppendFloat(dst, v, 'f', prec, 64)
	}
	f(row.Alpha, 4)
	for _, v := range [...]float64{row.Left, row.Top, row.Right, row.Bottom} {
		dst = append(dst, ' ')
		f(v, 2)
	}
	for _, v := range [...]float64{row.H, row.W, row.L, row.X, row.Y, row.Z, row.RotY} {
		dst = append(dst, ' ')
		f(v, 4)
	}
	if withScore {
		dst = append(dst, ' ')
		f(score, 4)
	}
	return append(dst, '\n')
}

// KITTIWriter is kitti_label_writer: one label file per datamap, in KITTI's
// label_2 format (results: with the score column), so that the KITTI object
// devkit or any KITTI evaluator reads them.
type KITTIWriter struct {
	cfg   KITTIConfig
	conv  *KITTIConverter
	warn  warnOnce
	buf   []byte
	count int64
}

// NewKITTIWriter reads the calibration file.
func NewKITTIWriter(c *KITTIConfig, env *ds3d.Env) (*KITTIWriter, error) {
	k, err := calib.ReadKITTI(string(c.CalibFile))
	if err != nil {
		return nil, err
	}
	w := &KITTIWriter{cfg: *c, conv: NewKITTIConverter(k, c.Camera), warn: warnOnce{log: env.Logger()}}
	w.conv.ImageWidth, w.conv.ImageHeight = c.ImageWidth, c.ImageHeight
	return w, nil
}

// Start creates the output folder.
func (w *KITTIWriter) Start(context.Context) error {
	return os.MkdirAll(string(w.cfg.OutputDir), 0o755)
}

// Render writes in's boxes; a datamap without boxes writes an empty file
// (KITTI evaluation wants one file per frame).
func (w *KITTIWriter) Render(_ context.Context, in *ds3d.DataMap) error {
	k := ds3d.Key(w.cfg.BoxKey)
	boxes, _, err := w.warn.boxes(in, k)
	if err != nil {
		return err
	}
	b := w.buf[:0]
	for i := range boxes {
		box := &boxes[i]
		row, ok := w.conv.Convert(box)
		if !ok {
			w.warn.warn(k+"#nonfinite", "box with a NaN or infinite number not written")
			continue
		}
		typ := box.Label
		if typ == "" {
			typ = "Unknown"
			if box.ClassID >= 0 && int(box.ClassID) < len(w.cfg.ClassNames) {
				typ = w.cfg.ClassNames[box.ClassID]
			}
		}
		score := float64(box.Score)
		withScore := w.cfg.ScoreColumn == "always" || (w.cfg.ScoreColumn == "auto" && score != 0)
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = 0
		}
		b = AppendKITTILine(b, typ, &row, score, withScore)
	}
	w.buf = b
	name := filepath.Join(string(w.cfg.OutputDir), fmt.Sprintf(w.cfg.Filename, frameNumber(in, w.count)))
	w.count++
	if err := os.WriteFile(name, b, 0o644); err != nil {
		return err
	}
	return nil
}

// NewKITTIConfig returns kitti_label_writer's defaults.
func NewKITTIConfig() *KITTIConfig {
	return &KITTIConfig{
		Filename: "%06d.txt", Camera: 2, BoxKey: string(ds3d.KeyLidar3DBboxRawData), ScoreColumn: "auto",
		ClassNames: []string{"Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc"},
	}
}

// Close says where the label files went.
func (w *KITTIWriter) Close() error {
	if w.warn.log != nil {
		w.warn.log.Info("wrote KITTI label files", "files", w.count, "dir", string(w.cfg.OutputDir))
	}
	return nil
}
