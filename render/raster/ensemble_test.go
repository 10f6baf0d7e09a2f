package raster_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/nusctest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/render/layout"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// exampleConfig returns the raster_render config of
// apps/examples/render_raster_ensemble.toml, so the test checks the layout
// the example ships, with the GT boxes drawn.
func exampleConfig(t testing.TB) *raster.RenderConfig {
	t.Helper()
	cfg := raster.NewRenderConfig()
	dstest.ComponentConfig(t, filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "render_raster_ensemble.toml"), "ensemble", cfg)
	cfg.OutputDir = ds3d.Path(t.TempDir())
	cfg.BoxKey = string(ds3d.KeyLidar3DBboxRawData)
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func tileRect(c *raster.RenderConfig, i int) image.Rectangle {
	return nusctest.TileRect(c.RenderGraph[i].Layout, c.WindowWidth, c.WindowHeight)
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

// TestEnsembleNuScenes draws the nuScenes keyframe through the example's
// ensemble (six camera tiles, a top and a front view) and checks, against
// positions computed here with float64 maths from the calibration in the
// info JSON: the tile borders, the CAM_FRONT image, a marker point's pixel
// and depth colour in CAM_FRONT and in the front view, the GT box corners
// in CAM_FRONT and the box footprints in the top view.
func TestEnsembleNuScenes(t *testing.T) {
	kf := nusctest.Load(t)
	c := exampleConfig(t)
	bg := color.RGBA{c.ColorClear[0], c.ColorClear[1], c.ColorClear[2], 255}
	// 9 m ahead (LIDAR_TOP: x right, y forward, z up), 1.5 m right, 0.8 m up.
	marker := [3]float64{1.5, 9, 0.8}
	with := kf.DataMap(t, []float32{float32(marker[0]), float32(marker[1]), float32(marker[2]), 0, 0})
	without := kf.DataMap(t, nil)
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
	front := kf.Cams[0]
	r := tileRect(c, fi)
	matched, sampled := 0, 0
	for _, p := range [][2]int{{40, 20}, {100, 30}, {480, 25}, {300, 15}, {60, 260}, {250, 280}, {450, 270}, {200, 100}} {
		want := front.TileSample(r, image.Pt(p[0], p[1]))
		got := img.RGBAAt(r.Min.X+p[0], r.Min.Y+p[1])
		sampled++
		if nusctest.CDiff(got, want) <= 2 {
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
	u, v, _ := front.Project(marker)
	eu, ev, z := front.TilePixel(r, marker)
	box, n := nusctest.DiffIn(imgs[0], imgs[1], r)
	cu, cv := (box.Min.X+box.Max.X-1)/2, (box.Min.Y+box.Max.Y-1)/2
	t.Logf("marker: camera depth %.3f m, image (%.2f, %.2f) → tile pixel (%d, %d); changed %d pixels in %v", z, u, v, eu, ev, n, box)
	if cu != eu || cv != ev || box.Dx() != 7 || box.Dy() != 7 {
		t.Errorf("marker drawn at %v (centre %d, %d), want a 7×7 square centred on (%d, %d)", box, cu, cv, eu, ev)
	}
	vr := c.RenderGraph[fi].ValueRange
	if got, want := img.RGBAAt(eu, ev), draw.Colormap(1-(z-vr[0])/(vr[1]-vr[0])); nusctest.CDiff(got, want) > 4 {
		t.Errorf("marker pixel (%d, %d) = %v, want the depth colour %v", eu, ev, got, want)
	}

	// (c') In the front view (along +x: column (y_max − y)/res_u, row
	// (z_max − z)/res_v) the marker is one pixel.
	ri := tileNamed(t, c, "FRONT (ALONG +X)")
	fr, fl := tileRect(c, ri), c.RenderGraph[ri]
	fu := fr.Min.X + int(math.Floor((fl.YRange[1]-marker[1])/((fl.YRange[1]-fl.YRange[0])/float64(fr.Dx()))))
	fv := fr.Min.Y + int(math.Floor((fl.ZRange[1]-marker[2])/((fl.ZRange[1]-fl.ZRange[0])/float64(fr.Dy()))))
	if box, n := nusctest.DiffIn(imgs[0], imgs[1], fr); n != 1 || box.Min != (image.Point{fu, fv}) {
		t.Errorf("front view: marker changed %d pixels in %v, want pixel (%d, %d)", n, box, fu, fv)
	}

	// (d) GT box corners in CAM_FRONT carry their box colour (±1 pixel).
	checked, hit := 0, 0
	for _, q := range kf.CornerPixels(&front, r) {
		want := draw.BoxColor(kf.Boxes[q.Box].Color, kf.Boxes[q.Box].ClassID, nil)
		checked++
		if nusctest.NearColor(img, q.X, q.Y, 1, want) {
			hit++
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
	for i := range kf.Boxes {
		b := kf.Boxes[i]
		want := draw.BoxColor(b.Color, b.ClassID, nil)
		ub := b.Upright() // the footprint: a top view ignores the tilt
		cs := ub.Corners()
		for _, q := range cs[:4] {
			x, y := tr.Min.X+int(math.Floor((tl.YRange[1]-q.Y)/ru)), tr.Min.Y+int(math.Floor((tl.XRange[1]-q.X)/rv))
			if x < tr.Min.X+2 || y < tr.Min.Y+2 || x >= tr.Max.X-2 || y >= tr.Max.Y-2 {
				continue
			}
			checked++
			if nusctest.NearColor(img, x, y, 1, want) {
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
	kf := nusctest.Load(t)
	c := exampleConfig(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var maps []*ds3d.DataMap
	for i := 0; i < 3; i++ {
		m := kf.DataMap(t, nil, 3)
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
	m := kf.DataMap(t, nil)
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
		err := ds3d.CheckConfig(c)
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
	if err := ds3d.CheckConfig(c); !errors.As(err, &ce) || ce.Key != "window_width" {
		t.Errorf("window_width 0: err = %v", err)
	}
}

// TestEnsembleAllocs: an ensemble frame allocates nothing once the
// picture, the depth buffers and the scaling tables exist.
func TestEnsembleAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	if testing.Short() {
		t.Skip("-short: allocation count over many frames")
	}
	kf := nusctest.Load(t)
	m := kf.DataMap(t, nil)
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
	kf := nusctest.Load(b)
	m := kf.DataMap(b, nil)
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
	kf := nusctest.Load(b)
	m := kf.DataMap(b, nil)
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
