package camera_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/camera"
)

// seen is a copy of one colour frame as the sink saw it.
type seen struct {
	typ  ds3d.FrameType
	w, h int
	ch   int
	pix  []byte // tightly packed copy
}

func (im seen) at(x, y int) []byte { return im.pix[(y*im.w+x)*im.ch : (y*im.w+x)*im.ch+im.ch] }

func (im seen) sums() [4]int64 {
	var s [4]int64
	for i, v := range im.pix {
		s[i%im.ch] += int64(v)
	}
	return s
}

// record is what the recording sink saw of one datamap.
type record struct {
	frame, ts, src int64
	first          bool
	images         map[ds3d.Key]seen
}

type recSink struct {
	mu   sync.Mutex
	recs []record
}

func (r *recSink) Render(_ context.Context, m *ds3d.DataMap) error {
	rec := record{images: map[ds3d.Key]seen{}}
	rec.frame, _ = m.Int64(ds3d.KeyFrameNumber)
	rec.ts, _ = m.Timestamp()
	rec.src, _ = m.Int64(ds3d.KeySourceID)
	rec.first = m.Has(ds3d.KeyFirstSourceFrame)
	m.Range(func(k ds3d.Key, v any) bool {
		if f, ok := v.(*ds3d.Frame); ok {
			p := f.Plane
			im := seen{typ: f.Type, w: p.Width, h: p.Height, ch: p.BytesPerPixel}
			for y := 0; y < p.Height; y++ {
				im.pix = append(im.pix, f.Data[y*p.Pitch:y*p.Pitch+p.Width*p.BytesPerPixel]...)
			}
			rec.images[k] = im
		}
		return true
	})
	r.mu.Lock()
	r.recs = append(r.recs, rec)
	r.mu.Unlock()
	return nil
}

type noCfg struct{}

func (*noCfg) Validate() error { return nil }

var sinks sync.Map

func init() {
	ds3d.Register(ds3d.KindRender, "camera_test_recorder", "Records colour frames for camera loader tests.",
		func() *noCfg { return &noCfg{} },
		func(_ *noCfg, env *ds3d.Env) (any, error) {
			s := &recSink{}
			sinks.Store(env.Name, s)
			return s, nil
		})
}

// pipelineDoc is a loader linked to the recording sink.
func pipelineDoc(t *testing.T, loaderCfg string) string {
	return `[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "rec_` + t.Name() + `"
[component.config]
` + loaderCfg + `
[[component]]
name = "rec_` + t.Name() + `"
type = "ds3d::datarender"
impl = "camera_test_recorder"
`
}

// runLoader runs the loader config through config.Parse, pipeline.New and
// Run, and returns what the sink saw and Run's error.
func runLoader(t *testing.T, dir, loaderCfg string) ([]record, error) {
	t.Helper()
	p, err := config.Parse("pipeline.toml", dir, []byte(pipelineDoc(t, loaderCfg)))
	if err != nil {
		return nil, err
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	err = g.Run(context.Background())
	s, _ := sinks.Load("rec_" + t.Name())
	return s.(*recSink).recs, err
}

func mustRun(t *testing.T, dir, loaderCfg string) []record {
	t.Helper()
	recs, err := runLoader(t, dir, loaderCfg)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// nuScenesCams are the six camera images of the shared nuScenes sample, in
// the order of the example config, with the reference decode of each by
// libjpeg-turbo 2.1.5 (`djpeg -nosmooth -ppm`: a second, independent JPEG
// decoder; -nosmooth makes its chroma upsampling the pixel replication that
// image/jpeg does): per-channel sums over all 1600×900 pixels and the pixels
// at (0,0), (800,450), (1599,899), (100,50).
var nuScenesCams = []struct {
	file string
	sums [3]int64
	px   [4][3]byte
}{
	{"CAM_FRONT__1532402927612460.jpg", [3]int64{158855471, 160077832, 156176510}, [4][3]byte{{31, 22, 25}, {28, 34, 34}, {101, 101, 93}, {53, 57, 58}}},
	{"CAM_FRONT_RIGHT__1532402927620339.jpg", [3]int64{155439302, 156842315, 150548619}, [4][3]byte{{110, 124, 135}, {68, 70, 59}, {31, 41, 42}, {144, 157, 174}}},
	{"CAM_FRONT_LEFT__1532402927604844.jpg", [3]int64{168060106, 171213558, 168696891}, [4][3]byte{{106, 107, 109}, {122, 127, 133}, {164, 159, 155}, {110, 115, 119}}},
	{"CAM_BACK__1532402927637525.jpg", [3]int64{139667075, 143091886, 140971807}, [4][3]byte{{70, 71, 66}, {103, 100, 81}, {34, 39, 42}, {88, 85, 78}}},
	{"CAM_BACK_LEFT__1532402927647423.jpg", [3]int64{170223600, 172174745, 169957860}, [4][3]byte{{52, 56, 57}, {136, 143, 153}, {55, 59, 68}, {81, 84, 89}}},
	{"CAM_BACK_RIGHT__1532402927627893.jpg", [3]int64{143594560, 146080772, 143383426}, [4][3]byte{{200, 203, 212}, {124, 120, 119}, {44, 50, 50}, {255, 255, 255}}},
}

const nuScenesPrefix = "n015-2018-07-24-11-22-45+0800__"

var samplePts = [4][2]int{{0, 0}, {800, 450}, {1599, 899}, {100, 50}}

func TestImageLoaderNuScenesSixCameras(t *testing.T) {
	dir := sampledata.Shared(t, "nuscenes-mini-sample")
	var globs []string
	for _, c := range nuScenesCams {
		globs = append(globs, `"`+filepath.Join(dir, "*__"+c.file)+`"`)
	}
	recs := mustRun(t, t.TempDir(), "files = ["+strings.Join(globs, ", ")+"]\nsource_id = 3")
	if len(recs) != 1 {
		t.Fatalf("%d datamaps, want 1", len(recs))
	}
	r := recs[0]
	if r.frame != 0 || r.ts != 0 || r.src != 3 || !r.first || len(r.images) != 6 {
		t.Fatalf("datamap: frame %d ts %d src %d first %v, %d images", r.frame, r.ts, r.src, r.first, len(r.images))
	}
	for i, c := range nuScenesCams {
		im, ok := r.images[ds3d.KeyColorFrame.Sensor(i)]
		if !ok {
			t.Fatalf("no %s", ds3d.KeyColorFrame.Sensor(i))
		}
		// PROVENANCE.md: 1600x900 JPEGs.
		if im.w != 1600 || im.h != 900 || im.ch != 3 || im.typ != ds3d.FrameColorRGB {
			t.Fatalf("%s: %s %dx%dx%d", c.file, im.typ, im.w, im.h, im.ch)
		}
		// Two JPEG decoders agree to rounding: their IDCTs and colour
		// conversions differ in the last bit (image/jpeg comes out up to 0.2
		// darker on average here), so means within 0.3 and pixels within 3.
		s := im.sums()
		for ch := 0; ch < 3; ch++ {
			if d := float64(s[ch]-c.sums[ch]) / (1600 * 900); d > 0.3 || d < -0.3 {
				t.Errorf("%s channel %d: mean differs from libjpeg's by %.3f", c.file, ch, d)
			}
		}
		for j, pt := range samplePts {
			got := im.at(pt[0], pt[1])
			for ch := 0; ch < 3; ch++ {
				if d := int(got[ch]) - int(c.px[j][ch]); d > 3 || d < -3 {
					t.Errorf("%s pixel %v = %v, libjpeg %v", c.file, pt, got, c.px[j])
					break
				}
			}
		}
	}
}

// kittiPNG holds KITTI image_2 frames decoded by a pure-Python PNG reader
// (zlib + the five PNG filters; PROVENANCE sizes): exact, as PNG is lossless.
var kittiPNG = map[string]struct {
	w, h int
	sums [3]int64
	px   [4][3]byte // at (0,0), (w/2,h/2), (w-1,h-1), (100,50)
}{
	"000000.png": {1224, 370, [3]int64{35925404, 42493804, 44543585}, [4][3]byte{{17, 22, 18}, {136, 124, 104}, {20, 30, 35}, {66, 154, 198}}},
	"000001.png": {1242, 375, [3]int64{46764722, 49163526, 48855799}, [4][3]byte{{255, 255, 255}, {10, 10, 15}, {14, 14, 19}, {255, 255, 255}}},
}

func checkKITTI(t *testing.T, name string, im seen) {
	t.Helper()
	want := kittiPNG[name]
	if im.w != want.w || im.h != want.h {
		t.Fatalf("%s: %dx%d, want %dx%d", name, im.w, im.h, want.w, want.h)
	}
	s := im.sums()
	if [3]int64{s[0], s[1], s[2]} != want.sums {
		t.Errorf("%s: channel sums %v, want %v", name, s[:3], want.sums)
	}
	pts := [4][2]int{{0, 0}, {want.w / 2, want.h / 2}, {want.w - 1, want.h - 1}, {100, 50}}
	for j, pt := range pts {
		if got := im.at(pt[0], pt[1]); [3]byte(got[:3]) != want.px[j] {
			t.Errorf("%s pixel %v = %v, want %v", name, pt, got, want.px[j])
		}
		if im.ch == 4 && im.at(pt[0], pt[1])[3] != 0xff {
			t.Errorf("%s pixel %v alpha = %d, want 255 (opaque PNG)", name, pt, im.at(pt[0], pt[1])[3])
		}
	}
}

func TestImageLoaderKITTIListExact(t *testing.T) {
	img := sampledata.Shared(t, "kitti-object/training/image_2")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "cam.toml"), `source_id = 5
[[frame]]
timestamp_ms = 0
path = "`+filepath.Join(img, "000001.png")+`"
[[frame]]
timestamp_ms = 100.5
path = "`+filepath.Join(img, "000002.png")+`"
`)
	for _, format := range []string{"rgb", "rgba"} {
		t.Run(format, func(t *testing.T) {
			recs := mustRun(t, dir, `data_config_file = "cam.toml"
color_format = "`+format+`"
mem_pool_size = 1`)
			if len(recs) != 2 {
				t.Fatalf("%d datamaps, want 2", len(recs))
			}
			if recs[1].ts != 100_500_000 || recs[1].src != 5 || recs[1].frame != 1 || recs[1].first {
				t.Errorf("frame 1: ts %d src %d frame %d first %v", recs[1].ts, recs[1].src, recs[1].frame, recs[1].first)
			}
			im := recs[0].images[ds3d.KeyColorFrame]
			if (format == "rgba") != (im.typ == ds3d.FrameColorRGBA && im.ch == 4) {
				t.Fatalf("%s frame is %s with %d channels", format, im.typ, im.ch)
			}
			checkKITTI(t, "000001.png", im)
			if im2 := recs[1].images[ds3d.KeyColorFrame]; im2.w != 1242 || im2.h != 375 {
				t.Errorf("000002.png: %dx%d", im2.w, im2.h)
			}
		})
	}
}

func TestImageLoaderBundledKITTIAndLoop(t *testing.T) {
	png := sampledata.Sample(t, "kitti/image_2/000000.png")
	recs := mustRun(t, t.TempDir(), `files = "`+png+`"
rate_hz = 4.0
file_loop = false
output_datamap_key = "DS3D::ColorFrame_2"`)
	if len(recs) != 1 {
		t.Fatalf("%d datamaps", len(recs))
	}
	checkKITTI(t, "000000.png", recs[0].images["DS3D::ColorFrame_2"])

	// Looping one image: timestamps keep increasing by one period.
	cfg := &camera.ImageLoaderConfig{Files: []ds3d.Path{ds3d.Path(png)}, RateHz: 4, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}, FileLoop: true}
	l, err := camera.NewImageLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != -1 {
		t.Errorf("Len = %d while looping", l.Len())
	}
	for k := 0; k < 3; k++ {
		m, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ts, _ := m.Timestamp(); ts != int64(k)*250_000_000 {
			t.Errorf("loop %d: timestamp %d", k, ts)
		}
		m.Release()
	}

	// max_frames ends a looping replay: exactly 5 datamaps, then EOF.
	cfg.MaxFrames = 5
	if l, err = camera.NewImageLoader(cfg, nil); err != nil {
		t.Fatal(err)
	}
	if l.Len() != 5 {
		t.Errorf("Len = %d with max_frames 5", l.Len())
	}
	for k := 0; ; k++ {
		m, err := l.Next(context.Background())
		if err == io.EOF {
			if k != 5 {
				t.Errorf("EOF after %d datamaps, want 5", k)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
}

func TestImageLoaderErrors(t *testing.T) {
	kitti := sampledata.Shared(t, "kitti-object/training/image_2")
	nus := sampledata.Shared(t, "nuscenes-mini-sample")
	front := filepath.Join(nus, nuScenesPrefix+nuScenesCams[0].file)
	dir := t.TempDir()

	// A JPEG cut in half: the header (and so the size probe) is intact, the
	// scan data is not.
	data, err := os.ReadFile(front)
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(dir, "front_truncated.jpg")
	writeFile(t, trunc, string(data[:len(data)/2]))
	notImage := writeFile(t, filepath.Join(dir, "notes.jpg"), "not an image at all\n")

	list := func(name string, paths ...string) string {
		var b strings.Builder
		for i, p := range paths {
			b.WriteString("[[frame]]\ntimestamp_ms = " + string(rune('0'+i)) + "\npath = \"" + p + "\"\n\n")
		}
		return writeFile(t, filepath.Join(dir, name), b.String())
	}
	list("missing.toml", front, "gone.jpg")
	list("size.toml", filepath.Join(kitti, "000001.png"), filepath.Join(kitti, "000000.png"))
	list("corrupt.toml", front, trunc)
	list("notimage.toml", notImage)

	cases := []struct {
		name, cfg string
		want      []string
	}{
		{"missing file", `data_config_file = "missing.toml"`, []string{"missing.toml: line 5: frame 1", "gone.jpg", "no such file"}},
		{"size change", `data_config_file = "size.toml"`, []string{"000000.png", "size.toml line 5", "1224x370", "1242x375", "000001.png", "must not change"}},
		{"corrupt jpeg", `data_config_file = "corrupt.toml"`, []string{"front_truncated.jpg", "corrupt.toml line 5", "truncated"}},
		{"not an image", `data_config_file = "notimage.toml"`, []string{"notes.jpg", "not a JPEG or PNG image"}},
		{"glob matches nothing", `files = "` + filepath.Join(dir, "*.bmp") + `"`, []string{"*.bmp", "matches no file"}},
		{"bad color_format", `files = "` + front + `"` + "\ncolor_format = \"bgr\"", []string{"pipeline.toml:8", "color_format", `"bgr"`}},
		{"both sources", `files = "` + front + `"` + "\ndata_config_file = \"size.toml\"", []string{"files", "not both"}},
		{"keys per camera", `files = ["` + front + `", "` + front + `"]` + "\noutput_datamap_key = [\"a\", \"b\", \"c\"]", []string{"output_datamap_key", "3 keys for 2 cameras"}},
		{"unknown key", `files = "` + front + `"` + "\ncolour_format = \"rgb\"", []string{"colour_format"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := runLoader(t, dir, c.cfg)
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestReadListErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, body, want string }{
		{"no timestamp", "[[frame]]\npath = \"x.jpg\"\n", "line 1: frame 0 has no timestamp_ms"},
		{"no path", "[[frame]]\ntimestamp_ms = 0\n", "line 1: frame 0 has no path"},
		{"both units", "[[frame]]\ntimestamp_ms = 0\ntimestamp_ns = 0\npath = \"x.jpg\"\n", "both timestamp_ms and timestamp_ns"},
		{"unknown key", "[[frame]]\ntimestamp = 0\npath = \"x.jpg\"\n", "line 2: unknown key \"frame.timestamp\""},
		{"folder", "[[frame]]\ntimestamp_ms = 0\npath = \".\"\n", "is a folder"},
		{"empty", "", "no frames"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := camera.ReadList(writeFile(t, filepath.Join(dir, "l.toml"), c.body))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "l.toml") {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}
