package raster_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/render/layout"
	"github.com/ds3d-go/ds3d-go/render/raster"
	"github.com/ds3d-go/ds3d-go/sensors/camera"
)

// nuCam is one camera of the nuScenes keyframe, read straight from the
// info JSON: K (cam2img) and the lidar→camera transform (lidar2cam).
type nuCam struct {
	k   [3][3]float64
	e   [4][4]float64
	img image.Image
}

type nuKeyframe struct {
	pts   []float32 // [N,5]: x, y, z, intensity, ring
	cams  []nuCam   // the rig order of apps/bevfusion: camera N → DS3D::CamN_…
	boxes []ds3d.Box3D
}

// nuCache keeps the decoded keyframe for the package's tests (decoding
// six 1600×900 JPEGs takes seconds under -race); tests do not modify it.
var nuCache *nuKeyframe

func loadNuScenes(t testing.TB) *nuKeyframe {
	t.Helper()
	if nuCache != nil {
		return nuCache
	}
	info := sampledata.Sample(t, "nuscenes/n015-2018-07-24-11-22-45+0800.derived.json")
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
		t.Fatal(err)
	}
	d := f.DataList[0]
	dir := filepath.Dir(info)
	b, err := os.ReadFile(filepath.Join(dir, d.LidarPoints.LidarPath))
	if err != nil {
		t.Fatal(err)
	}
	kf := &nuKeyframe{pts: make([]float32, len(b)/4)}
	if err := binary.Read(bytes.NewReader(b), binary.LittleEndian, kf.pts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_FRONT_LEFT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_BACK_RIGHT"} {
		im := d.Images[name]
		var c nuCam
		for r := 0; r < 3; r++ {
			copy(c.k[r][:], im.Cam2Img[r])
		}
		for r := 0; r < 4; r++ {
			copy(c.e[r][:], im.Lidar2Cam[r])
		}
		fh, err := os.Open(filepath.Join(dir, im.ImgPath))
		if err != nil {
			t.Fatal(err)
		}
		c.img, err = jpeg.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		kf.cams = append(kf.cams, c)
	}
	for _, in := range d.Instances {
		v := in.BBox3D // x, y, z (volume centre), l, w, h, yaw
		kf.boxes = append(kf.boxes, ds3d.Box3D{CX: float32(v[0]), CY: float32(v[1]), CZ: float32(v[2]),
			DX: float32(v[3]), DY: float32(v[4]), DZ: float32(v[5]), Yaw: float32(v[6]), ClassID: in.Label, TrackID: -1})
	}
	nuCache = kf
	return kf
}

// project maps a lidar point through camera c in float64:
// (x, y, z)_cam = E·p, (u, v) = (K·(x, y, z)_cam) / z.
func (c *nuCam) project(p [3]float64) (u, v, z float64) {
	var q [3]float64
	for r := 0; r < 3; r++ {
		q[r] = c.e[r][0]*p[0] + c.e[r][1]*p[1] + c.e[r][2]*p[2] + c.e[r][3]
	}
	u = (c.k[0][0]*q[0] + c.k[0][1]*q[1] + c.k[0][2]*q[2]) / q[2]
	v = (c.k[1][1]*q[1] + c.k[1][2]*q[2]) / q[2]
	return u, v, q[2]
}

// dataMap is the keyframe as the example's raster_render sees it (after
// the mixer and lidar_alignment_filter), with extra points appended and
// the cameras in skip left out.
func (kf *nuKeyframe) dataMap(t testing.TB, extra []float32, skip ...int) *ds3d.DataMap {
	t.Helper()
	n := (len(kf.pts) + len(extra)) / 5
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 5))
	copy(ds3d.AsFloat32(f), kf.pts)
	copy(ds3d.AsFloat32(f)[len(kf.pts):], extra)
	m := ds3d.NewDataMap()
	m.SetFrame("DS3D::LidarXYZI+0", f)
	m.Set(ds3d.KeyLidar3DBboxRawData, kf.boxes)
cams:
	for i, c := range kf.cams {
		for _, s := range skip {
			if s == i {
				continue cams
			}
		}
		b := c.img.Bounds()
		fr, err := camera.NewColorFrame(b.Dx(), b.Dy(), false)
		if err != nil {
			t.Fatal(err)
		}
		if err := camera.ToFrame(fr, c.img); err != nil {
			t.Fatal(err)
		}
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i).Port(1), fr)
		intr, err := ds3d.IntrinsicsFromK([]float64{c.k[0][0], c.k[0][1], c.k[0][2], c.k[1][0], c.k[1][1], c.k[1][2], c.k[2][0], c.k[2][1], c.k[2][2]}, b.Dx(), b.Dy())
		if err != nil {
			t.Fatal(err)
		}
		var e ds3d.Mat4
		for r := 0; r < 4; r++ {
			copy(e[r*4:r*4+4], c.e[r][:])
		}
		m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(i), intr)
		m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(i), e)
	}
	return m
}

// exampleConfig returns the raster_render config of
// apps/examples/render_raster_ensemble.toml, so the test checks the layout
// the example ships, with the GT boxes drawn.
func exampleConfig(t testing.TB) *raster.RenderConfig {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "render_raster_ensemble.toml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Component []struct {
			Name   string         `toml:"name"`
			Config map[string]any `toml:"config"`
		} `toml:"component"`
	}
	if err := toml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, c := range doc.Component {
		if c.Name != "ensemble" {
			continue
		}
		b, err := toml.Marshal(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		cfg := raster.NewRenderConfig()
		if err := toml.Unmarshal(b, cfg); err != nil {
			t.Fatal(err)
		}
		cfg.OutputDir = ds3d.Path(t.TempDir())
		cfg.BoxKey = string(ds3d.KeyLidar3DBboxRawData)
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	t.Fatal("the example has no ensemble component")
	return nil
}

func tileRect(c *raster.RenderConfig, i int) image.Rectangle {
	l := c.RenderGraph[i].Layout
	W, H := float64(c.WindowWidth), float64(c.WindowHeight)
	return image.Rect(int(math.Round(l[0]*W)), int(math.Round(l[1]*H)), int(math.Round(l[2]*W)), int(math.Round(l[3]*H)))
}

func tileNamed(t testing.TB, c *raster.RenderConfig, title string) int {
	for i, l := range c.RenderGraph {
		if l.Title == title {
			return i
		}
	}
	t.Fatalf("no tile %q", title)
	return -1
}

// drawAll draws each datamap with c and returns copies of the pictures.
func drawAll(t testing.TB, c *raster.RenderConfig, log *slog.Logger, maps ...*ds3d.DataMap) []*image.RGBA {
	t.Helper()
	r, err := raster.NewRenderer(c, &ds3d.Env{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	var out []*image.RGBA
	for _, m := range maps {
		ok, err := r.Draw(m)
		if err != nil || !ok {
			t.Fatalf("Draw: %v, %v", ok, err)
		}
		img := *r.Image()
		img.Pix = append([]uint8(nil), img.Pix...)
		out = append(out, &img)
	}
	return out
}

func cdiff(a, b color.RGBA) int {
	return max(abs(int(a.R)-int(b.R)), abs(int(a.G)-int(b.G)), abs(int(a.B)-int(b.B)))
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func nearColor(img *image.RGBA, x, y, r int, c color.RGBA) bool {
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			if img.RGBAAt(x+dx, y+dy) == c {
				return true
			}
		}
	}
	return false
}

// bilinearAt samples img at continuous position (x, y) (pixel centres at
// integers, edges clamped) in float64.
func bilinearAt(img image.Image, x, y float64) color.RGBA {
	b := img.Bounds()
	x, y = min(max(x, 0), float64(b.Dx()-1)), min(max(y, 0), float64(b.Dy()-1))
	x0, y0 := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) [3]float64 {
		x, y = min(x, b.Dx()-1), min(y, b.Dy()-1)
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

func diffIn(a, b *image.RGBA, r image.Rectangle) (image.Rectangle, int) {
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

// TestEnsembleNuScenes draws the nuScenes keyframe through the example's
// ensemble (six camera tiles, a top and a front view) and checks, against
// positions computed here with float64 maths from the calibration in the
// info JSON: the tile borders, the CAM_FRONT image, a marker point's pixel
// and depth colour in CAM_FRONT and in the front view, the GT box corners
// in CAM_FRONT and the box footprints in the top view.
func TestEnsembleNuScenes(t *testing.T) {
	kf := loadNuScenes(t)
	c := exampleConfig(t)
	bg := color.RGBA{c.ColorClear[0], c.ColorClear[1], c.ColorClear[2], 255}
	// 9 m ahead (LIDAR_TOP: x right, y forward, z up), 1.5 m right, 0.8 m up.
	marker := [3]float64{1.5, 9, 0.8}
	with := kf.dataMap(t, []float32{float32(marker[0]), float32(marker[1]), float32(marker[2]), 0, 0})
	without := kf.dataMap(t, nil)
	defer with.Release()
	defer without.Release()
	fi := tileNamed(t, c, "CAM_FRONT")
	c.RenderGraph[fi].PointSize = 7
	imgs := drawAll(t, c, nil, with, without)
	img := imgs[0]
	if img.Rect.Dx() != 1600 || img.Rect.Dy() != 900 {
		t.Fatalf("picture %v, want 1600×900", img.Rect)
	}

	// (a) Tile borders: the ring just inside a camera tile is image, the
	// ring just outside every tile is background.
	for i, l := range c.RenderGraph {
		r := tileRect(c, i)
		bad, outside := 0, 0
		ring := func(x, y int, in bool) {
			if !(image.Point{x, y}.In(img.Rect)) {
				return
			}
			got := img.RGBAAt(x, y)
			if in {
				if got == bg && l.Type == layout.Texture3D {
					bad++
				}
				return
			}
			outside++
			if got != bg {
				t.Fatalf("tile %d (%s) %v: pixel (%d, %d) outside = %v, want background", i, l.Title, r, x, y, got)
			}
		}
		for x := r.Min.X; x < r.Max.X; x++ {
			ring(x, r.Min.Y, true)
			ring(x, r.Max.Y-1, true)
			ring(x, r.Min.Y-1, false)
			ring(x, r.Max.Y, false)
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			ring(r.Min.X, y, true)
			ring(r.Max.X-1, y, true)
			ring(r.Min.X-1, y, false)
			ring(r.Max.X, y, false)
		}
		if bad > 0 {
			t.Errorf("tile %d (%s) %v: %d border pixels are background, want image", i, l.Title, r, bad)
		}
		if outside < 100 {
			t.Errorf("tile %d: only %d pixels around it checked", i, outside)
		}
	}

	// (b) The CAM_FRONT tile is the image, upright: pixels away from points
	// match a float64 bilinear sample at the pixel centre's image position.
	front := kf.cams[0]
	r := tileRect(c, fi)
	sx, sy := float64(r.Dx())/1600, float64(r.Dy())/900
	matched, sampled := 0, 0
	for _, p := range [][2]int{{40, 20}, {100, 30}, {480, 25}, {300, 15}, {60, 260}, {250, 280}, {450, 270}, {200, 100}} {
		want := bilinearAt(front.img, (float64(p[0])+0.5)/sx-0.5, (float64(p[1])+0.5)/sy-0.5)
		got := img.RGBAAt(r.Min.X+p[0], r.Min.Y+p[1])
		sampled++
		if cdiff(got, want) <= 2 {
			matched++
		} else {
			t.Logf("CAM_FRONT tile pixel %v = %v, image sample %v", p, got, want)
		}
	}
	if matched < sampled-2 { // a projected point may cover a sample
		t.Errorf("only %d of %d CAM_FRONT tile samples match the image", matched, sampled)
	}

	// (c) The marker lands where K·E puts it, a 7×7 square in its depth
	// colour (value_range [0, 50], near red).
	u, v, z := front.project(marker)
	eu, ev := r.Min.X+int(math.Floor((u+0.5)*sx)), r.Min.Y+int(math.Floor((v+0.5)*sy))
	box, n := diffIn(imgs[0], imgs[1], r)
	cu, cv := (box.Min.X+box.Max.X-1)/2, (box.Min.Y+box.Max.Y-1)/2
	t.Logf("marker: camera depth %.3f m, image (%.2f, %.2f) → tile pixel (%d, %d); changed %d pixels in %v", z, u, v, eu, ev, n, box)
	if cu != eu || cv != ev || box.Dx() != 7 || box.Dy() != 7 {
		t.Errorf("marker drawn at %v (centre %d, %d), want a 7×7 square centred on (%d, %d)", box, cu, cv, eu, ev)
	}
	vr := c.RenderGraph[fi].ValueRange
	if got, want := img.RGBAAt(eu, ev), raster.Colormap(1-(z-vr[0])/(vr[1]-vr[0])); cdiff(got, want) > 4 {
		t.Errorf("marker pixel (%d, %d) = %v, want the depth colour %v", eu, ev, got, want)
	}

	// (c') In the front view (along +x: column (y_max − y)/res_u, row
	// (z_max − z)/res_v) the marker is one pixel.
	ri := tileNamed(t, c, "FRONT (ALONG +X)")
	fr, fl := tileRect(c, ri), c.RenderGraph[ri]
	fu := fr.Min.X + int(math.Floor((fl.YRange[1]-marker[1])/((fl.YRange[1]-fl.YRange[0])/float64(fr.Dx()))))
	fv := fr.Min.Y + int(math.Floor((fl.ZRange[1]-marker[2])/((fl.ZRange[1]-fl.ZRange[0])/float64(fr.Dy()))))
	if box, n := diffIn(imgs[0], imgs[1], fr); n != 1 || box.Min != (image.Point{fu, fv}) {
		t.Errorf("front view: marker changed %d pixels in %v, want pixel (%d, %d)", n, box, fu, fv)
	}

	// (d) GT box corners in CAM_FRONT carry their box colour (±1 pixel).
	checked, hit := 0, 0
	for i := range kf.boxes {
		want := raster.BoxColor(kf.boxes[i].Color, kf.boxes[i].ClassID, nil)
		for _, q := range kf.boxes[i].Corners() {
			u, v, z := front.project([3]float64{q.X, q.Y, q.Z})
			if z < 1 {
				continue
			}
			x, y := r.Min.X+int(math.Floor((u+0.5)*sx)), r.Min.Y+int(math.Floor((v+0.5)*sy))
			if x < r.Min.X+2 || y < r.Min.Y+2 || x >= r.Max.X-2 || y >= r.Max.Y-2 {
				continue
			}
			checked++
			if nearColor(img, x, y, 1, want) {
				hit++
			}
		}
	}
	t.Logf("CAM_FRONT: %d of %d box corners have their box colour", hit, checked)
	if checked < 16 || hit < checked*9/10 { // another box's edge drawn later may cover a corner
		t.Errorf("CAM_FRONT: %d of %d box corners have their box colour", hit, checked)
	}

	// (e) Top view: each box's footprint corners, by the BEV formula
	// u = (y_max − y)/res_u, v = (x_max − x)/res_v, have the box colour.
	ti := tileNamed(t, c, "TOP (+X UP)")
	tr, tl := tileRect(c, ti), c.RenderGraph[ti]
	ru, rv := (tl.YRange[1]-tl.YRange[0])/float64(tr.Dx()), (tl.XRange[1]-tl.XRange[0])/float64(tr.Dy())
	checked, hit = 0, 0
	for i := range kf.boxes {
		b := kf.boxes[i]
		want := raster.BoxColor(b.Color, b.ClassID, nil)
		ub := b.Upright() // the footprint: a top view ignores the tilt
		cs := ub.Corners()
		for _, q := range cs[:4] {
			x, y := tr.Min.X+int(math.Floor((tl.YRange[1]-q.Y)/ru)), tr.Min.Y+int(math.Floor((tl.XRange[1]-q.X)/rv))
			if x < tr.Min.X+2 || y < tr.Min.Y+2 || x >= tr.Max.X-2 || y >= tr.Max.Y-2 {
				continue
			}
			checked++
			if nearColor(img, x, y, 1, want) {
				hit++
			}
		}
	}
	t.Logf("top view: %d of %d footprint corners have their box colour", hit, checked)
	if checked < 16 || hit < checked*9/10 {
		t.Errorf("top view: %d of %d footprint corners have their box colour", hit, checked)
	}
}

// TestEnsembleMissingKeys: without camera 3's image and calibration, three
// datamaps warn once per missing key, leave that tile background and draw
// the others.
func TestEnsembleMissingKeys(t *testing.T) {
	kf := loadNuScenes(t)
	c := exampleConfig(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var maps []*ds3d.DataMap
	for i := 0; i < 3; i++ {
		m := kf.dataMap(t, nil, 3)
		defer m.Release()
		maps = append(maps, m)
	}
	img := drawAll(t, c, log, maps...)[2]
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 3 {
		t.Errorf("%d warnings, want 3 (image, intrinsics, extrinsic of camera 3):\n%s", n, out)
	}
	for _, k := range []string{"DS3D::ColorFrame_3+1", "DS3D::Cam3_IntrinsicMatrix", "DS3D::LidarToCam3_ExtrinsicMatrix"} {
		if !strings.Contains(out, k) {
			t.Errorf("no warning names %s", k)
		}
	}
	bg := color.RGBA{c.ColorClear[0], c.ColorClear[1], c.ColorClear[2], 255}
	nbg := func(rc image.Rectangle) int {
		n := 0
		for y := rc.Min.Y + 20; y < rc.Max.Y; y++ { // below the title
			for x := rc.Min.X; x < rc.Max.X; x++ {
				if img.RGBAAt(x, y) != bg {
					n++
				}
			}
		}
		return n
	}
	missing, present := tileRect(c, tileNamed(t, c, "CAM_BACK")), tileRect(c, tileNamed(t, c, "CAM_FRONT"))
	if n := nbg(missing); n != 0 {
		t.Errorf("the tile without its image has %d non-background pixels", n)
	}
	if n := nbg(present); n < present.Dx()*(present.Dy()-20)*9/10 {
		t.Errorf("CAM_FRONT's tile has only %d non-background pixels", n)
	}
	// A value of the wrong type is an error naming the key.
	m := kf.dataMap(t, nil)
	defer m.Release()
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(2), "K?")
	r, err := raster.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Draw(m); err == nil || !strings.Contains(err.Error(), "DS3D::Cam2_IntrinsicMatrix") {
		t.Errorf("wrong intrinsics type: err = %v", err)
	}
}

// TestEnsembleConfigErrors: tiles raster_render cannot draw, and bad
// layouts (render/layout's shared checks), are config errors naming the
// tile's key and, for what only gl_render draws, the tile.
func TestEnsembleConfigErrors(t *testing.T) {
	good := layout.Tile{Type: layout.Lidar3D, Layout: [4]float64{0, 0, 0.5, 0.5}, View: "bev"}
	for _, tc := range []struct {
		key, msg string
		set      func(l *layout.Tile)
	}{
		{"render_graph[1].view", "CHASE", func(l *layout.Tile) { l.View, l.Title = "perspective", "CHASE" }},
		{"render_graph[1].view", "side", func(l *layout.Tile) { l.View = "side" }},
		{"render_graph[1].color_by", "rgb", func(l *layout.Tile) { l.ColorBy = "rgb" }},
		{"render_graph[1].color_by", "depth", func(l *layout.Tile) { l.ColorBy = "depth" }},
		{"render_graph[1].z_range", "", func(l *layout.Tile) { l.View, l.ZRange = "front", [2]float64{2, 2} }},
		{"render_graph[1].type", "", func(l *layout.Tile) { l.Type = "depth_render" }},
		{"render_graph[1].layout", "", func(l *layout.Tile) { l.Layout = [4]float64{0, 0, 1.2, 0.5} }},
		{"render_graph[1].texture_frame_key", "", func(l *layout.Tile) { l.Type = layout.Texture3D }},
		{"render_graph[1].extrinsics_mat_key", "", func(l *layout.Tile) { l.ProjectLidarToImage, l.IntrinsicsKey = true, "K" }},
		{"render_graph[1].value_range", "", func(l *layout.Tile) { l.ValueRange = [2]float64{3, 1} }},
	} {
		c := raster.NewRenderConfig()
		c.OutputDir = "out"
		bad := good
		tc.set(&bad)
		c.RenderGraph = []layout.Tile{good, bad}
		err := c.Validate()
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err = %v, want a ConfigError for %s mentioning %q", tc.key, err, tc.key, tc.msg)
		}
	}
	c := raster.NewRenderConfig()
	c.OutputDir = "out"
	c.WindowWidth = 0
	c.RenderGraph = []layout.Tile{good}
	var ce *ds3d.ConfigError
	if err := c.Validate(); !errors.As(err, &ce) || ce.Key != "window_width" {
		t.Errorf("window_width 0: err = %v", err)
	}
}

// TestEnsembleAllocs: an ensemble frame allocates nothing once the
// picture, the depth buffers and the scaling tables exist.
func TestEnsembleAllocs(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("the race detector allocates")
	}
	kf := loadNuScenes(t)
	m := kf.dataMap(t, nil)
	defer m.Release()
	r, err := raster.NewRenderer(exampleConfig(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Draw(m)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 5; i++ {
		if _, err := r.Draw(m); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n != 0 {
		t.Errorf("%d allocations in 5 ensemble frames, want 0", n)
	}
}

// BenchmarkEnsemble: the example's ensemble at 1600×900 (six 1600×900
// images scaled into their tiles with the keyframe's 34 688 points and 69
// GT boxes projected into each, a top and a front view), without the PNG.
func BenchmarkEnsemble(b *testing.B) {
	kf := loadNuScenes(b)
	m := kf.dataMap(b, nil)
	defer m.Release()
	r, err := raster.NewRenderer(exampleConfig(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	r.Draw(m)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Draw(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnsemblePNG: BenchmarkEnsemble plus writing the PNG file
// (png_compression fast).
func BenchmarkEnsemblePNG(b *testing.B) {
	kf := loadNuScenes(b)
	m := kf.dataMap(b, nil)
	defer m.Release()
	r, err := raster.NewRenderer(exampleConfig(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	if err := r.Render(ctx, m); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Render(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}
