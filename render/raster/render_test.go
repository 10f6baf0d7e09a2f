package raster_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/render/raster"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// TestExampleRenderBEV runs apps/examples/render_bev.toml (output moved to
// a temporary folder) and checks the PNG it writes.
func TestExampleRenderBEV(t *testing.T) {
	path := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "render_bev.toml")
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	var rc *raster.RenderConfig
	for _, c := range p.Components {
		if cfg, ok := c.Config.(*raster.RenderConfig); ok {
			if want := filepath.Join(sampledata.RepoRoot(t), "out", "bev"); string(cfg.OutputDir) != want {
				t.Errorf("output_dir resolved to %s, want %s", cfg.OutputDir, want)
			}
			cfg.OutputDir = ds3d.Path(out)
			rc = cfg
		}
	}
	if rc == nil {
		t.Fatal("no raster_render in the example")
	}
	var logs bytes.Buffer
	g, err := pipeline.New(p, pipeline.Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, filepath.Join(out, "frame_000000.png"))
	if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 800 {
		t.Fatalf("image %v, want 800×800", img.Bounds())
	}
	// x_range [−20, 60], y_range [−40, 40] at 0.1 m: the origin is pixel
	// (400, 600); the ego marker (white) sits just above it.
	if r, g, b, _ := img.At(400, 597).RGBA(); r>>8 != 255 || g>>8 != 255 || b>>8 != 255 {
		t.Errorf("ego marker pixel (400, 597) = %v", img.At(400, 597))
	}
	if strings.Contains(logs.String(), "level=WARN") {
		t.Errorf("warnings: %s", logs.String())
	}
}

func decodePNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestRenderConfigErrors(t *testing.T) {
	for _, tc := range []struct{ body, key, msg string }{
		{`view = "sideways"` + "\noutput_dir = \"o\"", "view", `must be one of "bev", "camera"`},
		{`output_dir = ""`, "output_dir", "must not be empty"},
		{`output_dir = "o"` + "\nfilename = \"frame.png\"", "filename", "integer verb"},
		{`output_dir = "o"` + "\nfilename = \"frame_%06d.jpg\"", "filename", "must end in .png"},
		{`output_dir = "o"` + "\nx_range = [10.0, -10.0]", "x_range", "min < max"},
		{`output_dir = "o"` + "\nresolution = 0.0", "resolution", "width and height"},
		{`output_dir = "o"` + "\nresolution = 0.00001", "resolution", "make no image"},
		{`output_dir = "o"` + "\ncolor_by = \"depth\"", "color_by", "camera"},
		{`output_dir = "o"` + "\ncolor_by = \"rainbow\"", "color_by", `must be one of "", "intensity"`},
		{`output_dir = "o"` + "\npng_compression = \"max\"", "png_compression", "fast"},
		{`output_dir = "o"` + "\npoint_size = 0", "point_size", "must be in [1, 64], got 0"},
	} {
		doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"lidar_file_loader\"\nlink_to = \"r\"\n[component.config]\nfiles = [\"x.bin\"]\n" +
			"[[component]]\nname = \"r\"\ntype = \"ds3d::datarender\"\nimpl = \"raster_render\"\n[component.config]\n" + tc.body + "\n"
		_, err := config.Parse("test.toml", t.TempDir(), []byte(doc))
		if err == nil || !strings.Contains(err.Error(), tc.key) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want key %q and %q", tc.body, err, tc.key, tc.msg)
		}
	}
}

// countHandler counts warnings.
type countHandler struct {
	slog.Handler
	warns *[]string
}

func (h countHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		*h.warns = append(*h.warns, r.Message)
	}
	return nil
}

// TestRendererMissingKeys: a datamap without lidar points or boxes is
// drawn with what it has, and each missing key is warned about once.
func TestRendererMissingKeys(t *testing.T) {
	var warns []string
	env := &ds3d.Env{Name: "r", Log: slog.New(countHandler{slog.NewTextHandler(os.Stderr, nil), &warns})}
	cfg := raster.NewRenderConfig()
	cfg.OutputDir = ds3d.Path(t.TempDir())
	r, err := raster.NewRenderer(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(10+i))
		if err := r.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if len(warns) != 2 {
		t.Errorf("warnings %q, want one for the points and one for the boxes", warns)
	}
	for i := 10; i < 13; i++ {
		decodePNG(t, filepath.Join(string(cfg.OutputDir), "frame_0000"+string(rune('0'+i/10))+string(rune('0'+i%10))+".png"))
	}
	// A value of the wrong type under the lidar key is an error.
	m := ds3d.NewDataMap()
	m.Set(ds3d.KeyLidarXYZI, "not a frame")
	if err := r.Render(ctx, m); err == nil || !strings.Contains(err.Error(), string(ds3d.KeyLidarXYZI)) {
		t.Errorf("wrong type: %v", err)
	}
	m.Release()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// cameraDataMap builds a datamap for camera 2 of KITTI 000000: the image as
// an RGB frame, the intrinsics, the lidar→camera transform, points and boxes.
func cameraDataMap(t testing.TB) *ds3d.DataMap {
	pts, fr := kittiSample(t)
	cam, _ := fr.Rig.Camera("image_2")
	src := decodePNG(t, fr.ImagePath)
	b := src.Bounds()
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, b.Dx(), b.Dy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bb, _ := src.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*f.Plane.Pitch + x*3
			f.Data[i], f.Data[i+1], f.Data[i+2] = uint8(r>>8), uint8(g>>8), uint8(bb>>8)
		}
	}
	lf := ds3d.NewLidarFrame(len(pts) / 4)
	copy(ds3d.AsFloat32(lf), pts)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, lf)
	m.SetFrame(ds3d.KeyColorFrame.Sensor(2), f)
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(2), cam.Intrinsics)
	m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(2), cam.Extrinsics.Transform)
	m.Set(ds3d.KeyLidar3DBboxRawData, fr.Boxes())
	m.SetInt64(ds3d.KeyFrameNumber, 0)
	return m
}

// TestRendererCamera draws KITTI 000000 from a datamap and checks the
// pedestrian's wireframe and the photo underneath.
func TestRendererCamera(t *testing.T) {
	m := cameraDataMap(t)
	defer m.Release()
	cfg := raster.NewRenderConfig()
	cfg.View, cfg.Camera, cfg.OutputDir = "camera", 2, ds3d.Path(t.TempDir())
	r, err := raster.NewRenderer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, filepath.Join(string(cfg.OutputDir), "frame_000000.png"))
	if img.Bounds().Dx() != 1224 || img.Bounds().Dy() != 370 {
		t.Fatalf("size %v", img.Bounds())
	}
	_, fr := kittiSample(t)
	P := devkitProjection(t, sampledata.Sample(t, "kitti/calib/000000.txt"))
	red := color.RGBA{255, 40, 40, 255}
	rgba := raster.CopyImage(nil, img)
	for k, q := range fr.Boxes()[0].Corners() {
		u, v, _ := devkitProject(P, q.X, q.Y, q.Z)
		if !near(rgba, int(u+0.5), int(v+0.5), 1, red) {
			t.Errorf("corner %d (%.1f, %.1f) not on the wireframe", k, u, v)
		}
	}
	// Top-left photo pixel (sky/trees, no points) is the image's own.
	src := decodePNG(t, fr.ImagePath)
	if got, want := rgba.RGBAAt(2, 2), color.RGBAModel.Convert(src.At(2, 2)).(color.RGBA); got != want {
		t.Errorf("photo pixel (2, 2) = %v, want %v", got, want)
	}
}

// TestDocImages writes docs/img/kitti_bev.png and kitti_camera.png when
// DS3D_DOC_IMAGES is set.
func TestDocImages(t *testing.T) {
	if os.Getenv("DS3D_DOC_IMAGES") == "" {
		t.Skip("set DS3D_DOC_IMAGES=1 to rewrite docs/img/kitti_{bev,camera}.png")
	}
	dir := filepath.Join(sampledata.RepoRoot(t), "docs", "img")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := cameraDataMap(t)
	defer m.Release()
	for _, view := range []string{"bev", "camera"} {
		cfg := raster.NewRenderConfig()
		cfg.View, cfg.Camera, cfg.OutputDir = view, 2, ds3d.Path(t.TempDir())
		cfg.PNGCompression = "best"
		if view == "bev" {
			cfg.XRange, cfg.YRange, cfg.Resolution = [2]float64{-10, 50}, [2]float64{-30, 30}, 0.1
			cfg.ColorBy, cfg.ValueRange = "height", [2]float64{-2, 0.5}
		} else {
			cfg.PointSize, cfg.ValueRange = 2, [2]float64{3, 30}
		}
		r, err := raster.NewRenderer(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Start(context.Background())
		if err := r.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(string(cfg.OutputDir), "frame_000000.png"))
		if err != nil {
			t.Fatal(err)
		}
		if view == "camera" { // a photo: 256 colours keep the file small
			pal := image.NewPaletted(r.Image().Rect, palette.Plan9)
			draw.Draw(pal, pal.Rect, r.Image(), image.Point{}, draw.Src)
			var buf bytes.Buffer
			if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, pal); err != nil {
				t.Fatal(err)
			}
			data = buf.Bytes()
		}
		if len(data) > 300<<10 {
			t.Errorf("%s: %d bytes", view, len(data))
		}
		if err := os.WriteFile(filepath.Join(dir, "kitti_"+view+".png"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("kitti_%s.png: %d bytes", view, len(data))
	}
}
