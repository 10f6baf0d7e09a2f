package gl_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
	"github.com/ds3d-go/ds3d-go/render/raster"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// kittiSample loads the bundled KITTI frame 000000: its points ([N,4]) and
// its label boxes in the lidar frame.
func kittiSample(t testing.TB) ([]float32, []ds3d.Box3D) {
	t.Helper()
	velo := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	c, err := lidar.ReadFile(velo, lidar.ReadOptions{ElementSize: 4, ElementStride: 4})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := kitti.Open(filepath.Dir(filepath.Dir(velo)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ds.Frame("000000")
	if err != nil {
		t.Fatal(err)
	}
	return ds3d.AsFloat32(c.Points), f.Boxes()
}

// dataMap holds pts (copied, plus extra points) and boxes.
func dataMap(pts []float32, boxes []ds3d.Box3D, extra ...float32) *ds3d.DataMap {
	f := ds3d.NewLidarFrame((len(pts) + len(extra)) / 4)
	copy(ds3d.AsFloat32(f), pts)
	copy(ds3d.AsFloat32(f)[len(pts):], extra)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	if boxes != nil {
		m.Set(ds3d.KeyLidar3DBboxRawData, boxes)
	}
	return m
}

// render draws m with c headless and returns a copy of the picture.
func render(t testing.TB, c *gl.Config, maps ...*ds3d.DataMap) []*image.RGBA {
	t.Helper()
	c.Headless = true
	r, err := gl.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []*image.RGBA
	for _, m := range maps {
		if err := r.Draw(m, true); err != nil {
			t.Fatal(err)
		}
		img := *r.Image()
		img.Pix = append([]uint8(nil), img.Pix...)
		out = append(out, &img)
	}
	return out
}

// clipPoint maps a lidar-frame point to window coordinates (origin
// bottom-left, as glViewport) by gluLookAt and gluPerspective, written out
// here in float64 from the config values (row-major, independent of the
// package's matrix code).
func clipPoint(c *gl.Config, p [3]float64) (xw, yw float64, ok bool) {
	e, tg, up := c.ViewPosition, c.ViewTarget, c.ViewUp
	f := [3]float64{tg[0] - e[0], tg[1] - e[1], tg[2] - e[2]}
	n := math.Sqrt(f[0]*f[0] + f[1]*f[1] + f[2]*f[2])
	f = [3]float64{f[0] / n, f[1] / n, f[2] / n}
	s := [3]float64{f[1]*up[2] - f[2]*up[1], f[2]*up[0] - f[0]*up[2], f[0]*up[1] - f[1]*up[0]}
	n = math.Sqrt(s[0]*s[0] + s[1]*s[1] + s[2]*s[2])
	s = [3]float64{s[0] / n, s[1] / n, s[2] / n}
	u := [3]float64{s[1]*f[2] - s[2]*f[1], s[2]*f[0] - s[0]*f[2], s[0]*f[1] - s[1]*f[0]}
	d := [3]float64{p[0] - e[0], p[1] - e[1], p[2] - e[2]}
	// eye coordinates: x right, y up, z backwards
	ex := s[0]*d[0] + s[1]*d[1] + s[2]*d[2]
	ey := u[0]*d[0] + u[1]*d[1] + u[2]*d[2]
	ez := -(f[0]*d[0] + f[1]*d[1] + f[2]*d[2])
	aspect := float64(c.WindowWidth) / float64(c.WindowHeight)
	ft := 1 / math.Tan(c.PerspectiveFov/2*math.Pi/180)
	cx, cy, cw := ft/aspect*ex, ft*ey, -ez
	if cw <= c.PerspectiveNear {
		return 0, 0, false
	}
	return (cx/cw + 1) / 2 * float64(c.WindowWidth), (cy/cw + 1) / 2 * float64(c.WindowHeight), true
}

// pixelOf turns window coordinates into the image pixel (column, row from
// the top) that holds them.
func pixelOf(c *gl.Config, xw, yw float64) (int, int) {
	return int(math.Floor(xw)), int(math.Floor(float64(c.WindowHeight) - yw))
}

func rgb(c [3]uint8) color.RGBA { return color.RGBA{c[0], c[1], c[2], 255} }

func near(img *image.RGBA, u, v, r int, c color.RGBA) bool {
	for dv := -r; dv <= r; dv++ {
		for du := -r; du <= r; du++ {
			if img.RGBAAt(u+du, v+dv) == c {
				return true
			}
		}
	}
	return false
}

// diffBox returns the bounding box of the pixels that differ.
func diffBox(a, b *image.RGBA) (image.Rectangle, int) {
	var r image.Rectangle
	n := 0
	for y := 0; y < a.Rect.Dy(); y++ {
		for x := 0; x < a.Rect.Dx(); x++ {
			if a.RGBAAt(x, y) != b.RGBAAt(x, y) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return r, n
}

func kittiConfig() *gl.Config {
	c := gl.NewConfig()
	c.WindowWidth, c.WindowHeight = 960, 540
	c.ViewPosition, c.ViewTarget, c.ViewUp = [3]float64{-8, 6, 9}, [3]float64{14, -1, -1.5}, [3]float64{0, 0, 1}
	c.PerspectiveFov, c.PerspectiveNear, c.PerspectiveFar = 55, 0.5, 200
	c.ColorClear = [3]uint8{12, 20, 36}
	c.ColorBy, c.ValueRange = "height", [2]float64{-2, 0.5}
	return c
}

// marker is a point far above the scene (nothing can hide it) with the
// top colour of the height colour map.
var marker = [3]float64{16, -4, 6}

// TestKITTIPerspective renders KITTI 000000 with its label boxes and checks
// a marker point's pixel, the label boxes' corners and the background,
// each against positions computed independently here.
func TestKITTIPerspective(t *testing.T) {
	needDisplay(t)
	pts, boxes := kittiSample(t)
	c := kittiConfig()
	c.PointSize = 9
	with := dataMap(pts, boxes, float32(marker[0]), float32(marker[1]), float32(marker[2]), 1)
	without := dataMap(pts, boxes)
	defer with.Release()
	defer without.Release()
	imgs := render(t, c, with, without)

	// (a) The marker: the pixels it changes centre on its projection.
	xw, yw, ok := clipPoint(c, marker)
	if !ok {
		t.Fatal("marker behind the camera")
	}
	u, v := pixelOf(c, xw, yw)
	box, n := diffBox(imgs[0], imgs[1])
	cu, cv := (box.Min.X+box.Max.X-1)/2, (box.Min.Y+box.Max.Y-1)/2
	t.Logf("marker at window (%.2f, %.2f) → pixel (%d, %d); changed %d pixels in %v", xw, yw, u, v, n, box)
	if abs(cu-u) > 1 || abs(cv-v) > 1 || box.Dx() != 9 || box.Dy() != 9 {
		t.Errorf("marker drawn at %v (centre %d, %d), want a 9×9 square centred on (%d, %d) ±1", box, cu, cv, u, v)
	}
	top := draw.Colormap(1)
	for dv := -1; dv <= 1; dv++ {
		for du := -1; du <= 1; du++ {
			if got := imgs[0].RGBAAt(u+du, v+dv); got != top {
				t.Errorf("marker pixel (%d, %d) = %v, want %v", u+du, v+dv, got, top)
			}
		}
	}

	// (b) Box corners carry the box colour within ±1 pixel.
	checked := 0
	for i := range boxes {
		want := draw.BoxColor(boxes[i].Color, boxes[i].ClassID, nil)
		for k, q := range boxes[i].Corners() {
			xw, yw, ok := clipPoint(c, [3]float64{q.X, q.Y, q.Z})
			if !ok {
				continue
			}
			u, v := pixelOf(c, xw, yw)
			if u < 1 || v < 1 || u >= c.WindowWidth-1 || v >= c.WindowHeight-1 {
				continue
			}
			checked++
			if !near(imgs[0], u, v, 1, want) {
				t.Errorf("box %d (%s) corner %d at (%d, %d): no %v in its 3×3 neighbourhood", i, boxes[i].Label, k, u, v, want)
			}
		}
	}
	if checked < 8 {
		t.Errorf("only %d corners in view", checked)
	}

	// (c) Background: the top band shows the sky; every pixel that no
	// point (±5 px for the 9-px squares) can reach is the clear colour.
	occupied := map[[2]int]bool{}
	for i := 0; i+3 < len(pts); i += 4 {
		xw, yw, ok := clipPoint(c, [3]float64{float64(pts[i]), float64(pts[i+1]), float64(pts[i+2])})
		if !ok {
			continue
		}
		u, v := pixelOf(c, xw, yw)
		if v > 60 || v < -10 {
			continue
		}
		for dv := -5; dv <= 5; dv++ {
			for du := -5; du <= 5; du++ {
				occupied[[2]int{u + du, v + dv}] = true
			}
		}
	}
	bg, empty := rgb(c.ColorClear), 0
	for v := 0; v < 40; v++ {
		for u := 0; u < c.WindowWidth; u++ {
			if occupied[[2]int{u, v}] {
				continue
			}
			empty++
			if got := imgs[1].RGBAAt(u, v); got != bg {
				t.Fatalf("empty pixel (%d, %d) = %v, want background %v", u, v, got, bg)
			}
		}
	}
	if empty < 10000 {
		t.Errorf("only %d of %d top-band pixels empty", empty, 40*c.WindowWidth)
	}
}

// TestBEVConvention checks that the orthographic top view puts a point in
// the pixel of render/raster's BEV formula u = (y_max − y)/res_u,
// v = (x_max − x)/res_v, pixel (⌊u⌋, ⌊v⌋) — and in the same pixel as
// raster.DrawBEV.
func TestBEVConvention(t *testing.T) {
	needDisplay(t)
	pts, boxes := kittiSample(t)
	c := gl.NewConfig()
	c.View = gl.ViewBEV
	c.WindowWidth, c.WindowHeight = 600, 500
	c.XRange, c.YRange = [2]float64{-10, 40}, [2]float64{-30, 30}
	c.PointSize, c.ColorBy = 1, "height"
	c.Labels = false
	c.ColorClear = [3]uint8{5, 5, 5}
	resU, resV := 60.0/600, 50.0/500
	for _, p := range [][2]float64{{23.55, -7.25}, {-9.96, 29.93}, {39.97, -29.98}, {0.04, 0.05}, {12.3456, 17.891}} {
		mk := []float32{float32(p[0]), float32(p[1]), 8, 0}
		with := dataMap(pts, boxes, mk...)
		without := dataMap(pts, boxes)
		imgs := render(t, c, with, without)
		with.Release()
		without.Release()
		u := int(math.Floor((c.YRange[1] - float64(mk[1])) / resU))
		v := int(math.Floor((c.XRange[1] - float64(mk[0])) / resV))
		box, n := diffBox(imgs[0], imgs[1])
		if n != 1 || box.Min != image.Pt(u, v) {
			t.Errorf("point (%v, %v): changed %d pixels in %v, want only pixel (%d, %d)", p[0], p[1], n, box, u, v)
		}
		if got, want := imgs[0].RGBAAt(u, v), draw.Colormap(1); got != want {
			t.Errorf("point (%v, %v): pixel (%d, %d) = %v, want %v", p[0], p[1], u, v, got, want)
		}
		// raster draws the same point in the same pixel.
		o := raster.DefaultBEVOptions()
		o.XRange, o.YRange, o.Resolution, o.Width, o.Height = c.XRange, c.YRange, 0, c.WindowWidth, c.WindowHeight
		o.GridStep, o.Ego = 0, false
		o.Points.ColorBy, o.Points.Color = raster.ColorFixed, color.RGBA{255, 255, 255, 255}
		ri := draw.EnsureRGBA(nil, c.WindowWidth, c.WindowHeight)
		raster.DrawBEV(ri, mk, nil, &o)
		if ri.RGBAAt(u, v) != (color.RGBA{255, 255, 255, 255}) {
			t.Errorf("raster.DrawBEV did not draw (%v, %v) at (%d, %d)", p[0], p[1], u, v)
		}
	}
}

// TestMissingKeys: datamaps without the lidar or box key draw the rest and
// warn once per key.
func TestMissingKeys(t *testing.T) {
	needDisplay(t)
	c := gl.NewConfig()
	c.Headless = true
	c.GridStep, c.AxisLength = 0, 0
	c.ColorClear = [3]uint8{1, 2, 3}
	var logs bytes.Buffer
	r, err := gl.NewRenderer(c, &ds3d.Env{Name: "viewer", Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := 0; i < 3; i++ {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		if err := r.Draw(m, true); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings, want 2 (one per missing key):\n%s", n, logs.String())
	}
	for _, k := range []ds3d.Key{ds3d.KeyLidarXYZI, ds3d.KeyLidar3DBboxRawData} {
		if !strings.Contains(logs.String(), string(k)) {
			t.Errorf("no warning names %s", k)
		}
	}
	img := r.Image()
	for _, p := range []image.Point{{0, 0}, {640, 360}, {1279, 719}} {
		if got := img.RGBAAt(p.X, p.Y); got != rgb(c.ColorClear) {
			t.Errorf("pixel %v = %v, want background", p, got)
		}
	}
	// A value of the wrong type is an error naming the key.
	m := ds3d.NewDataMap()
	defer m.Release()
	m.Set(ds3d.KeyLidar3DBboxRawData, "boxes?")
	if err := r.Draw(m, false); err == nil || !strings.Contains(err.Error(), string(ds3d.KeyLidar3DBboxRawData)) {
		t.Errorf("wrong box type: err = %v", err)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestShownWindow opens a real (Xvfb) window: frames are presented and
// still written; interaction itself cannot be driven here.
func TestShownWindow(t *testing.T) {
	needDisplay(t)
	pts, boxes := kittiSample(t)
	m := dataMap(pts, boxes)
	defer m.Release()
	c := kittiConfig()
	c.OutputDir = ds3d.Path(t.TempDir())
	r, err := gl.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := r.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, filepath.Join(string(c.OutputDir), "frame_000002.png"))
	want := draw.BoxColor(boxes[0].Color, boxes[0].ClassID, nil)
	found := false
	for i := 0; i < len(img.Pix) && !found; i += 4 {
		found = img.Pix[i] == want.R && img.Pix[i+1] == want.G && img.Pix[i+2] == want.B
	}
	if !found {
		t.Error("no box colour in the shown window's frame")
	}
}
