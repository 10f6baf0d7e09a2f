package gl_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/nusctest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// nuKeyframe is the bundled nuScenes keyframe (internal/nusctest) with the
// lower-case dataMap the package's tests call.
type nuKeyframe struct{ *nusctest.Keyframe }

func loadNuScenes(t testing.TB) nuKeyframe { return nuKeyframe{nusctest.Load(t)} }

// dataMap returns the keyframe as apps/bevfusion's gl_render sees it, with
// extra points appended (x, y, z, intensity, ring each) and the cameras
// listed in skip left out.
func (kf nuKeyframe) dataMap(t testing.TB, extra []float32, skip ...int) *ds3d.DataMap {
	t.Helper()
	return kf.DataMap(t, extra, skip...)
}

// bevfusionConfig returns the gl_render config of apps/bevfusion/config.toml
// (component "viewer"), so the tests check the layout the app ships.
func bevfusionConfig(t testing.TB) *gl.Config {
	t.Helper()
	cfg := gl.NewConfig()
	dstest.ComponentConfig(t, filepath.Join(sampledata.RepoRoot(t), "apps", "bevfusion", "config.toml"), "viewer", cfg)
	cfg.OutputDir = ""
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tileRect is a layout's pixel rectangle by the documented rule.
func tileRect(c *gl.Config, i int) image.Rectangle {
	return nusctest.TileRect(c.RenderGraph[i].Layout, c.WindowWidth, c.WindowHeight)
}

func tileOf(t testing.TB, c *gl.Config, key string) int {
	for i, l := range c.RenderGraph {
		if l.TextureFrameKey == key {
			return i
		}
	}
	t.Fatalf("no tile shows %s", key)
	return -1
}

// TestEnsembleNuScenes renders the nuScenes keyframe through the
// apps/bevfusion ensemble (6 camera tiles + top + chase view) and checks,
// against positions computed here from the calibration with float64 maths:
// the tiles' borders, the CAM_FRONT image orientation, a marker point's
// pixel and depth colour in CAM_FRONT, and the GT box corners' colour.
func TestEnsembleNuScenes(t *testing.T) {
	needDisplay(t)
	kf := loadNuScenes(t)
	c := bevfusionConfig(t)
	c.HUD = false
	front := kf.Cams[0]
	// A marker 9 m ahead (nuScenes LIDAR_TOP: x right, y forward, z up),
	// 1.5 m right, 0.8 m above the sensor: in the open above the road.
	marker := [3]float64{1.5, 9, 0.8}
	with := kf.dataMap(t, []float32{float32(marker[0]), float32(marker[1]), float32(marker[2]), 0, 0})
	without := kf.dataMap(t, nil)
	defer with.Release()
	defer without.Release()
	ti := tileOf(t, c, "DS3D::ColorFrame_0+1")
	c.RenderGraph[ti].PointSize = 7
	imgs := render(t, c, with, without)
	img := imgs[0]
	bg := rgb(c.ColorClear)

	// (a) Tile borders: every pixel of the ring just inside a camera tile
	// is image (not background); the ring just outside is background.
	for i, l := range c.RenderGraph {
		r := tileRect(c, i)
		inside, outside, bad := 0, 0, 0
		for x := r.Min.X; x < r.Max.X; x++ {
			for _, y := range []int{r.Min.Y, r.Max.Y - 1} {
				inside++
				if img.RGBAAt(x, y) == bg && l.Type == gl.RenderTexture3D {
					bad++
				}
			}
			for _, y := range []int{r.Min.Y - 1, r.Max.Y} {
				if y >= 0 && y < c.WindowHeight {
					outside++
					if got := img.RGBAAt(x, y); got != bg {
						t.Fatalf("tile %d (%s) %v: pixel (%d, %d) outside = %v, want background", i, l.Title, r, x, y, got)
					}
				}
			}
		}
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for _, x := range []int{r.Min.X, r.Max.X - 1} {
				inside++
				if img.RGBAAt(x, y) == bg && l.Type == gl.RenderTexture3D {
					bad++
				}
			}
			for _, x := range []int{r.Min.X - 1, r.Max.X} {
				if x >= 0 && x < c.WindowWidth {
					outside++
					if got := img.RGBAAt(x, y); got != bg {
						t.Fatalf("tile %d (%s) %v: pixel (%d, %d) outside = %v, want background", i, l.Title, r, x, y, got)
					}
				}
			}
		}
		if bad > 0 {
			t.Errorf("tile %d (%s) %v: %d of %d border pixels are background, want image", i, l.Title, r, bad, inside)
		}
		if outside < 100 {
			t.Errorf("tile %d: only %d pixels around it checked", i, outside)
		}
	}

	// (b) The image is CAM_FRONT's, upright: tile pixels away from points
	// and boxes match a bilinear sample of the JPEG at the pixel centre's
	// image position (GL's LINEAR filter).
	r := tileRect(c, ti)
	matched, sampled := 0, 0
	for _, p := range [][2]int{{40, 20}, {100, 30}, {480, 25}, {300, 15}, {60, 260}, {250, 280}, {450, 270}} {
		x, y := r.Min.X+p[0], r.Min.Y+p[1]
		if x >= r.Max.X || y >= r.Max.Y {
			continue
		}
		want := front.TileSample(r, image.Pt(p[0], p[1]))
		got := img.RGBAAt(x, y)
		sampled++
		if cdiff(got, want) <= 6 {
			matched++
		} else {
			t.Logf("CAM_FRONT tile pixel %v = %v, image sample %v", p, got, want)
		}
	}
	if matched < sampled-2 { // a projected point or box may cover a sample
		t.Errorf("only %d of %d CAM_FRONT tile samples match the image", matched, sampled)
	}

	// (c) The marker lands where K·E puts it, in its depth colour.
	u, v, _ := front.Project(marker)
	eu, ev, z := front.TilePixel(r, marker)
	box, n := nusctest.DiffIn(imgs[0], imgs[1], r)
	cu, cv := (box.Min.X+box.Max.X-1)/2, (box.Min.Y+box.Max.Y-1)/2
	t.Logf("marker: camera depth %.3f m, image (%.2f, %.2f) → tile pixel (%d, %d); changed %d pixels in %v", z, u, v, eu, ev, n, box)
	if abs(cu-eu) > 1 || abs(cv-ev) > 1 || box.Dx() != 7 || box.Dy() != 7 {
		t.Errorf("marker drawn at %v (centre %d, %d), want a 7×7 square centred on (%d, %d) ±1", box, cu, cv, eu, ev)
	}
	// depth colours: value_range [0, 50], near red (reversed Turbo)
	vr := c.RenderGraph[ti].ValueRange
	tc := 1 - (z-vr[0])/(vr[1]-vr[0])
	got := img.RGBAAt(eu, ev)
	okc := false
	for d := -1; d <= 1; d++ {
		okc = okc || got == draw.Colormap(tc+float64(d)/255)
	}
	if !okc {
		t.Errorf("marker pixel (%d, %d) = %v, want the depth colour %v (t = %.4f)", eu, ev, got, draw.Colormap(tc), tc)
	}

	// (d) GT box corners in CAM_FRONT carry their box colour (±1 pixel).
	checked, hit := 0, 0
	for _, q := range kf.CornerPixels(&front, r) {
		want := draw.BoxColor(kf.Boxes[q.Box].Color, kf.Boxes[q.Box].ClassID, nil)
		checked++
		if near(img, q.X, q.Y, 1, want) {
			hit++
		} else {
			t.Logf("box %d corner at tile pixel (%d, %d): no %v nearby", q.Box, q.X, q.Y, want)
		}
	}
	t.Logf("CAM_FRONT: %d of %d box corners have their box colour", hit, checked)
	if checked < 16 || hit < checked*9/10 { // another box's edge drawn later may cover a corner
		t.Errorf("CAM_FRONT: %d of %d box corners have their box colour", hit, checked)
	}
}

func cdiff(a, b color.RGBA) int {
	return max(abs(int(a.R)-int(b.R)), abs(int(a.G)-int(b.G)), abs(int(a.B)-int(b.B)))
}

// TestEnsembleMissingKeys: a datamap without camera 3's image and
// calibration, drawn three times, warns once per missing key, leaves that
// tile background and draws the other tiles.
func TestEnsembleMissingKeys(t *testing.T) {
	needDisplay(t)
	kf := loadNuScenes(t)
	c := bevfusionConfig(t)
	c.Headless = true
	var logs bytes.Buffer
	r, err := gl.NewRenderer(c, &ds3d.Env{Name: "ensemble", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 3; i++ {
		m := kf.dataMap(t, nil, 3)
		if err := r.Draw(m, true); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 3 {
		t.Errorf("%d warnings, want 3 (image, intrinsics, extrinsic of camera 3):\n%s", n, out)
	}
	for _, k := range []string{"DS3D::ColorFrame_3+1", "DS3D::Cam3_IntrinsicMatrix", "DS3D::LidarToCam3_ExtrinsicMatrix"} {
		if !strings.Contains(out, k) {
			t.Errorf("no warning names %s", k)
		}
	}
	img := r.Image()
	bg := rgb(c.ColorClear)
	missing := tileRect(c, tileOf(t, c, "DS3D::ColorFrame_3+1"))
	present := tileRect(c, tileOf(t, c, "DS3D::ColorFrame_0+1"))
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
	if err := r.Draw(m, false); err == nil || !strings.Contains(err.Error(), "DS3D::Cam2_IntrinsicMatrix") {
		t.Errorf("wrong intrinsics type: err = %v", err)
	}
}

// TestLayoutErrors: bad render_graph entries are config errors naming the
// entry's key.
func TestLayoutErrors(t *testing.T) {
	good := gl.Layout{Type: gl.RenderLidar3D, Layout: [4]float64{0, 0, 0.5, 0.5}}
	for _, tc := range []struct {
		key string
		set func(l *gl.Layout)
	}{
		{"render_graph[1].type", func(l *gl.Layout) { l.Type = "depth_render" }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{-0.1, 0, 0.5, 0.5} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0, 0, 1.2, 0.5} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0.5, 0, 0.5, 0.5} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0.6, 0, 0.5, 0.5} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0, 0.7, 0.5, 0.2} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0, 0, math.NaN(), 0.5} }},
		{"render_graph[1].layout", func(l *gl.Layout) { l.Layout = [4]float64{0, 0, 0.0001, 0.5} }},
		{"render_graph[1].texture_frame_key", func(l *gl.Layout) { l.Type = gl.RenderTexture3D }},
		{"render_graph[1].intrinsics_mat_key", func(l *gl.Layout) { l.ProjectLidarToImage, l.ExtrinsicsKey = true, "E" }},
		{"render_graph[1].extrinsics_mat_key", func(l *gl.Layout) { l.ProjectLidarToImage, l.IntrinsicsKey = true, "K" }},
		{"render_graph[1].view", func(l *gl.Layout) { l.View = "side" }},
		{"render_graph[1].color_by", func(l *gl.Layout) { l.ColorBy = "curvature" }},
		{"render_graph[1].value_range", func(l *gl.Layout) { l.ValueRange = [2]float64{3, 1} }},
		{"render_graph[1].point_size", func(l *gl.Layout) { l.PointSize = -1 }},
		{"render_graph[1].z_range", func(l *gl.Layout) { l.View, l.ZRange = gl.ViewFront, [2]float64{2, 2} }},
		{"render_graph[1].view_up", func(l *gl.Layout) {
			l.ViewPosition, l.ViewTarget, l.ViewUp = [3]float64{0, 0, 50}, [3]float64{}, [3]float64{0, 0, 1}
		}},
		{"render_graph[1].perspective_fov", func(l *gl.Layout) { l.PerspectiveFov = 190 }},
	} {
		c := gl.NewConfig()
		bad := good
		tc.set(&bad)
		c.RenderGraph = []gl.Layout{good, bad}
		err := ds3d.CheckConfig(c)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != tc.key {
			t.Errorf("%s: err = %v, want a ConfigError for %s", tc.key, err, tc.key)
		}
	}
	// Overlapping tiles are allowed.
	c := gl.NewConfig()
	c.RenderGraph = []gl.Layout{good, {Type: gl.RenderLidar3D, Layout: [4]float64{0.25, 0.25, 1, 1}, View: gl.ViewBEV}}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Errorf("overlapping tiles: %v", err)
	}
}
