// Package nusctest loads the bundled nuScenes keyframe
// (datasets/samples/nuscenes) for the renderer tests and computes what they
// expect of a picture independently of any renderer: the calibration is
// read straight from the info JSON and projections, tile rectangles and
// image samples are plain float64 maths. Being internal, it is importable
// only by this module, and only its tests should import it.
package nusctest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// Info is the keyframe's info JSON, relative to datasets/samples.
const Info = "nuscenes/n015-2018-07-24-11-22-45+0800.derived.json"

// Timestamp is the keyframe's LIDAR_TOP time in ns (its file name's µs).
const Timestamp = 1532402927647951000

// CameraNames is the rig's camera order, as lidar_alignment_filter numbers
// them in apps/bevfusion: camera N → DS3D::CamN_…, DS3D::ColorFrame_N+1.
var CameraNames = []string{"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"}

// Cam is one camera of the keyframe, read straight from the info JSON:
// K (cam2img) and the lidar→camera transform (lidar2cam), both row-major,
// and the decoded image.
type Cam struct {
	Name string
	K    [3][3]float64
	E    [4][4]float64
	Img  image.Image
}

// Keyframe is the bundled nuScenes keyframe: LIDAR_TOP points ([N,5]:
// x, y, z, intensity, ring), the six cameras in CameraNames order and the
// 69 GT boxes.
type Keyframe struct {
	Pts   []float32
	Cams  []Cam
	Boxes []ds3d.Box3D
}

// The decoded keyframe is kept for the test binary (decoding six 1600×900
// JPEGs takes seconds under -race); callers must not modify it.
var (
	mu    sync.Mutex
	cache *Keyframe
)

// Load returns the keyframe, read once per test binary.
func Load(t testing.TB) *Keyframe {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if cache != nil {
		return cache
	}
	info := sampledata.Sample(t, Info)
	raw, err := os.ReadFile(info)
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		DataList []struct {
			LidarPoints struct {
				LidarPath string `json:"lidar_path"`
			} `json:"lidar_points"`
			Images map[string]struct {
				ImgPath   string      `json:"img_path"`
				Cam2Img   [][]float64 `json:"cam2img"`
				Lidar2Cam [][]float64 `json:"lidar2cam"`
			} `json:"images"`
			Instances []struct {
				BBox3D []float64 `json:"bbox_3d"`
				Label  int32     `json:"bbox_label_3d"`
			} `json:"instances"`
		} `json:"data_list"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", info, err)
	}
	d := f.DataList[0]
	dir := filepath.Dir(info)
	b, err := os.ReadFile(filepath.Join(dir, d.LidarPoints.LidarPath))
	if err != nil {
		t.Fatal(err)
	}
	kf := &Keyframe{Pts: make([]float32, len(b)/4)}
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, kf.Pts); err != nil {
		t.Fatal(err)
	}
	for _, name := range CameraNames {
		im := d.Images[name]
		c := Cam{Name: name}
		for r := 0; r < 3; r++ {
			copy(c.K[r][:], im.Cam2Img[r])
		}
		for r := 0; r < 4; r++ {
			copy(c.E[r][:], im.Lidar2Cam[r])
		}
		fh, err := os.Open(filepath.Join(dir, im.ImgPath))
		if err != nil {
			t.Fatal(err)
		}
		c.Img, err = jpeg.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", im.ImgPath, err)
		}
		kf.Cams = append(kf.Cams, c)
	}
	for _, in := range d.Instances {
		v := in.BBox3D // x, y, z (volume centre), l, w, h, yaw
		kf.Boxes = append(kf.Boxes, ds3d.Box3D{CX: float32(v[0]), CY: float32(v[1]), CZ: float32(v[2]),
			DX: float32(v[3]), DY: float32(v[4]), DZ: float32(v[5]), Yaw: float32(v[6]), ClassID: in.Label, TrackID: -1})
	}
	cache = kf
	return kf
}

// Project maps a lidar point through camera c with plain float64 maths:
// (x, y, z)_cam = E·p, (u, v) = (K·(x, y, z)_cam) / z.
func (c *Cam) Project(p [3]float64) (u, v, z float64) {
	var q [3]float64
	for r := 0; r < 3; r++ {
		q[r] = c.E[r][0]*p[0] + c.E[r][1]*p[1] + c.E[r][2]*p[2] + c.E[r][3]
	}
	u = (c.K[0][0]*q[0] + c.K[0][1]*q[1] + c.K[0][2]*q[2]) / q[2]
	v = (c.K[1][1]*q[1] + c.K[1][2]*q[2]) / q[2]
	return u, v, q[2]
}

// DataMap returns the keyframe as apps/bevfusion's renderers see it (after
// the mixer and lidar_alignment_filter): the points under
// DS3D::LidarXYZI+0 with extra points appended (x, y, z, intensity, ring
// each), the GT boxes, the timestamp and, for each camera not listed in
// skip, its image, intrinsics and extrinsic. The caller releases it.
func (kf *Keyframe) DataMap(t testing.TB, extra []float32, skip ...int) *ds3d.DataMap {
	t.Helper()
	n := (len(kf.Pts) + len(extra)) / 5
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 5))
	copy(ds3d.AsFloat32(f), kf.Pts)
	copy(ds3d.AsFloat32(f)[len(kf.Pts):], extra)
	m := ds3d.NewDataMap()
	m.SetFrame("DS3D::LidarXYZI+0", f)
	m.Set(ds3d.KeyLidar3DBboxRawData, kf.Boxes)
	m.SetTimestamp(Timestamp)
cams:
	for i, c := range kf.Cams {
		for _, s := range skip {
			if s == i {
				continue cams
			}
		}
		b := c.Img.Bounds()
		fr, err := decode.NewColorFrame(b.Dx(), b.Dy(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := decode.ToFrame(fr, c.Img); err != nil {
			t.Fatal(err)
		}
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i).Port(1), fr)
		intr, err := ds3d.IntrinsicsFromK([]float64{c.K[0][0], c.K[0][1], c.K[0][2], c.K[1][0], c.K[1][1], c.K[1][2], c.K[2][0], c.K[2][1], c.K[2][2]}, b.Dx(), b.Dy())
		if err != nil {
			t.Fatal(err)
		}
		var e ds3d.Mat4
		for r := 0; r < 4; r++ {
			copy(e[r*4:r*4+4], c.E[r][:])
		}
		m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(i), intr)
		m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(i), e)
	}
	return m
}

// TileRect is a render_graph layout's pixel rectangle in a w×h window by
// the documented rule: columns [round(x0·w), round(x1·w)), rows
// [round(y0·h), round(y1·h)).
func TileRect(l [4]float64, w, h int) image.Rectangle {
	W, H := float64(w), float64(h)
	return image.Rect(int(math.Round(l[0]*W)), int(math.Round(l[1]*H)), int(math.Round(l[2]*W)), int(math.Round(l[3]*H)))
}

// Bilinear samples img at continuous position (x, y) (pixel centres at
// integers, edges clamped: an OpenGL LINEAR texture with CLAMP_TO_EDGE) in
// float64.
func Bilinear(img image.Image, x, y float64) color.RGBA {
	b := img.Bounds()
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) [3]float64 {
		x = min(max(x, 0), b.Dx()-1)
		y = min(max(y, 0), b.Dy()-1)
		r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return [3]float64{float64(r >> 8), float64(g >> 8), float64(bl >> 8)}
	}
	a, bb, c, d := at(x0, y0), at(x0+1, y0), at(x0, y0+1), at(x0+1, y0+1)
	var o [3]uint8
	for k := 0; k < 3; k++ {
		o[k] = uint8(math.Round((a[k]*(1-fx)+bb[k]*fx)*(1-fy) + (c[k]*(1-fx)+d[k]*fx)*fy))
	}
	return color.RGBA{o[0], o[1], o[2], 255}
}

// DiffIn returns the bounding box and the number of the pixels in r that
// differ between a and b.
func DiffIn(a, b *image.RGBA, r image.Rectangle) (image.Rectangle, int) {
	var box image.Rectangle
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return box, n
}

// CDiff is the largest difference of a and b over R, G and B.
func CDiff(a, b color.RGBA) int {
	d := func(x, y uint8) int { return max(int(x)-int(y), int(y)-int(x)) }
	return max(d(a.R, b.R), d(a.G, b.G), d(a.B, b.B))
}

// NearColor reports whether a pixel within r of (x, y) (a square) is c.
func NearColor(img *image.RGBA, x, y, r int, c color.RGBA) bool {
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			if img.RGBAAt(x+dx, y+dy) == c {
				return true
			}
		}
	}
	return false
}

// TilePixel returns the pixel of tile r that lidar point p lands on when
// camera c's image is scaled over the tile (pixel centres at integers, so
// u_tile + ½ = (u + ½)·r.Dx()/width), and its depth in front of the camera.
func (c *Cam) TilePixel(r image.Rectangle, p [3]float64) (x, y int, z float64) {
	u, v, z := c.Project(p)
	sx, sy := c.scale(r)
	return r.Min.X + int(math.Floor((u+0.5)*sx)), r.Min.Y + int(math.Floor((v+0.5)*sy)), z
}

// TileSample is what pixel p (relative to the tile's corner) of tile r
// shows of camera c's image scaled over it: the bilinear sample at the
// pixel centre's image position.
func (c *Cam) TileSample(r image.Rectangle, p image.Point) color.RGBA {
	sx, sy := c.scale(r)
	return Bilinear(c.Img, (float64(p.X)+0.5)/sx-0.5, (float64(p.Y)+0.5)/sy-0.5)
}

func (c *Cam) scale(r image.Rectangle) (sx, sy float64) {
	b := c.Img.Bounds()
	return float64(r.Dx()) / float64(b.Dx()), float64(r.Dy()) / float64(b.Dy())
}

// BoxPixel is where a corner of GT box Box lands in a tile.
type BoxPixel struct {
	Box  int
	X, Y int
}

// CornerPixels returns the tile pixels of the GT box corners at least 1 m
// in front of camera c whose image is scaled over tile r, leaving out
// those within 2 pixels of the tile's edge (a line there may be cut).
func (kf *Keyframe) CornerPixels(c *Cam, r image.Rectangle) []BoxPixel {
	var out []BoxPixel
	for i := range kf.Boxes {
		for _, q := range kf.Boxes[i].Corners() {
			x, y, z := c.TilePixel(r, [3]float64{q.X, q.Y, q.Z})
			if z < 1 || x < r.Min.X+2 || y < r.Min.Y+2 || x >= r.Max.X-2 || y >= r.Max.Y-2 {
				continue
			}
			out = append(out, BoxPixel{i, x, y})
		}
	}
	return out
}
