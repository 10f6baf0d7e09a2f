package synth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/writer"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// Labeller turns a frame's boxes into KITTI label rows for image_2.
type Labeller struct {
	Calib   *calib.KITTI
	Cam     *Camera
	clipped *writer.KITTIConverter
	full    *writer.KITTIConverter
	// MaxDepth drops objects farther along the optical axis (KITTI labels
	// reach about 70–80 m).
	MaxDepth float64
}

// NewLabeller uses the built-in KITTI calibration and image_2.
func NewLabeller() *Labeller {
	c, _ := KITTICalib()
	cam, err := NewCamera(c, 2)
	if err != nil {
		panic(err) // the built-in calibration has a valid P2
	}
	cl := writer.NewKITTIConverter(c, 2)
	cl.ImageWidth, cl.ImageHeight = ImageWidth, ImageHeight
	return &Labeller{Calib: c, Cam: cam, clipped: cl, full: writer.NewKITTIConverter(c, 2), MaxDepth: 80}
}

// visGrid is the side of the pixel grid sampled in an object's 2D box to
// measure how much of it is visible.
const visGrid = 10

// Labels returns the KITTI rows of fd's objects that image_2 sees, in
// object order. Truncated is the part of the projected box outside the
// image; Occluded comes from the visible fraction v of the object's pixels
// over a 10×10 grid (ray cast against the scene and against the object
// alone): 0 when v ≥ 0.8, 1 when v ≥ 0.3, else 2; objects with no visible
// sample get no row. Rows round as KITTI's own files do (2 decimals).
func (lb *Labeller) Labels(s *Scene, fd *FrameData) []kitti.Label {
	dyn := s.dynamic(fd.Time, fd.Pose, 150, nil)
	xf := fd.Pose.xform()
	var out []kitti.Label
	var m mesh
	for bi := range fd.Boxes {
		b := &fd.Boxes[bi]
		row, ok := lb.clipped.Convert(b)
		full, _ := lb.full.Convert(b)
		if !ok || row.Left < 0 && row.Right < 0 || row.Z < 1 || row.Z > lb.MaxDepth {
			continue
		}
		aw, ah := row.Right-row.Left, row.Bottom-row.Top
		if aw < 1 || ah < 1 {
			continue
		}
		trunc := 1 - aw*ah/math.Max((full.Right-full.Left)*(full.Bottom-full.Top), 1e-9)
		// The object alone, at this frame's time.
		m = mesh{v: m.v[:0], mat: m.mat[:0], owner: m.owner[:0], xf: identity()}
		s.objectMesh(&m, int(b.TrackID), fd.Time)
		alone, seen := 0, 0
		for i := 0; i < visGrid; i++ {
			for j := 0; j < visGrid; j++ {
				u := row.Left + aw*(float64(i)+0.5)/visGrid
				v := row.Top + ah*(float64(j)+0.5)/visGrid
				o, d, _ := lb.Cam.ray(u, v)
				wo, wd := xf.apply(o), rotate(xf, d)
				if !hitsMesh(&m, wo, wd) {
					continue
				}
				alone++
				if _, _, _, own := s.castOwner(wo, wd, 150, dyn); own == int32(b.TrackID)+1 {
					seen++
				}
			}
		}
		if seen == 0 {
			continue
		}
		vis := float64(seen) / float64(alone)
		occ := 2
		switch {
		case vis >= 0.8:
			occ = 0
		case vis >= 0.3:
			occ = 1
		}
		out = append(out, kitti.Label{
			Type: b.Label, Truncated: round2(math.Max(trunc, 0)), Occluded: occ, Alpha: round2(row.Alpha),
			Rect: [4]float64{round2(row.Left), round2(row.Top), round2(row.Right), round2(row.Bottom)},
			H:    round2(row.H), W: round2(row.W), L: round2(row.L),
			X: round2(row.X), Y: round2(row.Y), Z: round2(row.Z), RotY: round2(row.RotY), Score: 1,
		})
	}
	return out
}

func round2(v float64) float64 {
	r := math.Round(v*100) / 100
	if r == 0 {
		return 0 // no "-0.00"
	}
	return r
}

func hitsMesh(m *mesh, o, d vec) bool {
	r := newRay(o, d)
	for i := 0; i < len(m.mat); i++ {
		a := m.v[3*i]
		e1, e2 := m.v[3*i+1].sub(a), m.v[3*i+2].sub(a)
		if _, ok := hitTri(&r, &a, &e1, &e2, 200); ok {
			return true
		}
	}
	return false
}

// AppendLabel appends a label_2 line (15 columns, 2 decimals).
func AppendLabel(dst []byte, l *kitti.Label) []byte {
	dst = append(dst, l.Type...)
	f := func(v float64) {
		dst = append(dst, ' ')
		dst = strconv.AppendFloat(dst, v, 'f', 2, 64)
	}
	f(l.Truncated)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(l.Occluded), 10)
	f(l.Alpha)
	for _, v := range l.Rect {
		f(v)
	}
	for _, v := range [...]float64{l.H, l.W, l.L, l.X, l.Y, l.Z, l.RotY} {
		f(v)
	}
	return append(dst, '\n')
}

// WriteKITTI writes frame fd as KITTI object files under dir:
// velodyne/NNNNNN.bin (x y z intensity float32, the distorted points as
// the sensor reports them), label_2/NNNNNN.txt and calib/NNNNNN.txt, and
// image_2/NNNNNN.png when img is not nil.
func WriteKITTI(dir string, id int, fd *FrameData, labels []kitti.Label, img *Render) error {
	name := fmt.Sprintf("%06d", id)
	for _, sub := range []string{"velodyne", "label_2", "calib", "image_2"} {
		if sub == "image_2" && img == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return fmt.Errorf("synth: %w", err)
		}
	}
	if err := writeBin(filepath.Join(dir, "velodyne", name+".bin"), fd.Points); err != nil {
		return err
	}
	var buf []byte
	for i := range labels {
		buf = AppendLabel(buf, &labels[i])
	}
	if err := os.WriteFile(filepath.Join(dir, "label_2", name+".txt"), buf, 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	_, ct := KITTICalib()
	if err := os.WriteFile(filepath.Join(dir, "calib", name+".txt"), []byte(ct), 0o644); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if img != nil {
		if err := writePNG(filepath.Join(dir, "image_2", name+".png"), img); err != nil {
			return err
		}
	}
	return nil
}

func writePNG(path string, img *Render) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := png.Encode(f, img.RGB); err != nil {
		f.Close()
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	return f.Close()
}

// WriteDepthPNG writes a render's depth as a 16-bit PNG in millimetres.
func WriteDepthPNG(path string, img *Render) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	if err := png.Encode(f, img.DepthImage()); err != nil {
		f.Close()
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	return f.Close()
}

// writeBin writes x, y, z, intensity of each point as little-endian
// float32 (KITTI's velodyne layout; ring and time are not part of it).
func writeBin(path string, pts *ds3d.Frame) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	w := bufio.NewWriterSize(f, 256<<10)
	p := ds3d.AsFloat32(pts)
	c := pts.Stride()
	var b [16]byte
	for i := 0; i < pts.Points(); i++ {
		for k := 0; k < 4; k++ {
			binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(p[i*c+k]))
		}
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("synth: %s: %w", path, err)
	}
	return f.Close()
}
