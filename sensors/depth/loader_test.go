package depth_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/depth"
)

// depthStats are the statistics the shared data's PROVENANCE.md gives, as
// computed by its pure-Python PNG decoder (tools/inspect_data.py depth16).
type depthStats struct {
	zero, min, max int
	mean           float64 // of the non-zero pixels, rounded to 0.1
	centre         uint16  // at (320, 240)
}

// record is what the recording sink saw of one datamap.
type record struct {
	dstest.Meta
	unit    float64
	intr    ds3d.Intrinsics
	intrErr error
	w, h    int
	depth   depthStats
	color   *ds3d.Frame // an unpooled copy
}

func summarise(m *ds3d.DataMap) (record, error) {
	rec := record{Meta: dstest.MetaOf(m)}
	var err error
	if rec.unit, err = ds3d.Get[float64](m, ds3d.KeyDepthScaleUnit); err != nil {
		return rec, err
	}
	rec.intr, rec.intrErr = ds3d.Get[ds3d.Intrinsics](m, "DS3D::Cam0_IntrinsicMatrix")
	df, err := m.Frame(ds3d.KeyDepthFrame)
	if err != nil {
		return rec, err
	}
	if df.Type != ds3d.FrameDepth || df.DType != ds3d.DTypeU16 || df.Shape.NumDims != 2 {
		return rec, fmt.Errorf("depth frame is %s %s %s", df.Type, df.DType, df.Shape)
	}
	rec.h, rec.w = df.Shape.D[0], df.Shape.D[1]
	rec.depth = stats(ds3d.AsUint16(df), rec.w)
	cf, err := m.Frame(ds3d.KeyColorFrame)
	if err != nil {
		return rec, err
	}
	rec.color = &ds3d.Frame{DType: cf.DType, Type: cf.Type, Shape: cf.Shape, Plane: cf.Plane, Data: bytes.Clone(cf.Data)}
	return rec, nil
}

func stats(d []uint16, w int) depthStats {
	s := depthStats{min: math.MaxInt, centre: d[240*w+320]}
	sum := 0
	for _, v := range d {
		if v == 0 {
			s.zero++
			continue
		}
		s.min, s.max = min(s.min, int(v)), max(s.max, int(v))
		sum += int(v)
	}
	s.mean = math.Round(float64(sum)/float64(len(d)-s.zero)*10) / 10
	return s
}

// runLoader runs rgbd_file_loader with loaderCfg (paths relative to dir)
// into a recorder.
func runLoader(t *testing.T, dir, loaderCfg string) ([]record, error) {
	t.Helper()
	return dstest.Record(t, dir, "rgbd_file_loader", loaderCfg, summarise)
}

func writeFile(t testing.TB, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func px(f *ds3d.Frame, x, y int) [3]byte {
	i := y*f.Plane.Pitch + x*f.Plane.BytesPerPixel
	return [3]byte(f.Data[i : i+3])
}

func colorSums(f *ds3d.Frame) [3]int64 {
	var s [3]int64
	ch := f.Plane.BytesPerPixel
	for y := 0; y < f.Plane.Height; y++ {
		row := f.Data[y*f.Plane.Pitch : y*f.Plane.Pitch+f.Plane.Width*ch]
		for i, v := range row {
			if c := i % ch; c < 3 {
				s[c] += int64(v)
			}
		}
	}
	return s
}

// redwoodDepth: frame 0 from PROVENANCE.md; frames 1–4 from the same
// pure-Python decoder (../shared/data/tools/inspect_data.py depth16).
var redwoodDepth = []depthStats{
	{40071, 955, 2702, 1793.9, 2195},
	{39472, 982, 2702, 1797.0, 2195},
	{39017, 1007, 2702, 1801.1, 2195},
	{38580, 1029, 2676, 1805.0, 2195},
	{38149, 1052, 2702, 1809.3, 2195},
}

func TestRGBDLoaderRedwood(t *testing.T) {
	set := sampledata.Shared(t, "rgbd-open3d/redwood-livingroom1")
	recs, err := runLoader(t, set, `association_file = "rgbd.match"
intrinsics_file = "camera_primesense.json"
source_id = 2
mem_pool_size = 2`)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 {
		t.Fatalf("%d datamaps, want 5 (rgbd.match has 5 pairs)", len(recs))
	}
	// PROVENANCE.md: 640x480, fx=fy=525.0, cx=319.5, cy=239.5.
	wantIntr := ds3d.Intrinsics{Fx: 525, Fy: 525, Cx: 319.5, Cy: 239.5, Width: 640, Height: 480}
	for i, r := range recs {
		if r.intrErr != nil || r.intr.Fx != wantIntr.Fx || r.intr.Fy != wantIntr.Fy || r.intr.Cx != wantIntr.Cx || r.intr.Cy != wantIntr.Cy ||
			r.intr.Skew != 0 || r.intr.Width != 640 || r.intr.Height != 480 {
			t.Errorf("frame %d intrinsics %+v (%v), want %+v", i, r.intr, r.intrErr, wantIntr)
		}
		if r.w != 640 || r.h != 480 || r.unit != 0.001 || r.Source != 2 || r.Frame != int64(i) {
			t.Errorf("frame %d: %dx%d unit %v src %d frame %d", i, r.w, r.h, r.unit, r.Source, r.Frame)
		}
		if r.depth != redwoodDepth[i] {
			t.Errorf("frame %d depth %+v, want %+v", i, r.depth, redwoodDepth[i])
		}
		// No times in rgbd.match: frame k at k/30 s.
		if want := int64(float64(i) * 1e9 / 30); r.Timestamp != want {
			t.Errorf("frame %d timestamp %d, want %d", i, r.Timestamp, want)
		}
	}
	// Colour frame 0 against libjpeg-turbo (`djpeg -nosmooth`): a second
	// decoder, so means within 0.3 and pixels within 3 (see sensors/camera).
	c := recs[0].color
	if c.Type != ds3d.FrameColorRGB || c.Plane.Width != 640 || c.Plane.Height != 480 {
		t.Fatalf("colour frame %s %dx%d", c.Type, c.Plane.Width, c.Plane.Height)
	}
	sums := colorSums(c)
	for ch, want := range [3]int64{63867287, 59406657, 56640293} {
		if d := float64(sums[ch]-want) / (640 * 480); math.Abs(d) > 0.3 {
			t.Errorf("colour channel %d mean differs from libjpeg's by %.3f", ch, d)
		}
	}
	for _, p := range []struct {
		x, y int
		want [3]byte
	}{{0, 0, [3]byte{174, 232, 254}}, {320, 240, [3]byte{255, 255, 255}}, {639, 479, [3]byte{132, 89, 55}}} {
		got := px(c, p.x, p.y)
		for ch := range 3 {
			if d := int(got[ch]) - int(p.want[ch]); d > 3 || d < -3 {
				t.Errorf("colour (%d,%d) = %v, libjpeg %v", p.x, p.y, got, p.want)
				break
			}
		}
	}
}

func TestRGBDLoaderTUM(t *testing.T) {
	set := sampledata.Shared(t, "rgbd-open3d/tum")
	dir := t.TempDir()
	// The shared TUM frame has no associations.txt: write the line TUM's
	// associate.py would, with the frame's files (absolute paths).
	assoc := writeFile(t, filepath.Join(dir, "associations.txt"), "# timestamp rgb timestamp depth\n1305031102.175304 "+
		filepath.Join(set, "TUM_color.png")+" 1305031102.160407 "+filepath.Join(set, "TUM_depth.png")+"\n")
	recs, err := runLoader(t, dir, `association_file = "associations.txt"
intrinsics = [525.0, 525.0, 319.5, 239.5]
width = 640
height = 480
depth_scale = 5000.0
color_format = "rgba"`)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d datamaps, want 1", len(recs))
	}
	r := recs[0]
	// PROVENANCE.md: TUM zero=58950 min=7320 max=46655 centre=10920; mean
	// from the same decoder.
	if want := (depthStats{58950, 7320, 46655, 12385.6, 10920}); r.depth != want {
		t.Errorf("depth %+v, want %+v", r.depth, want)
	}
	if r.unit != 1.0/5000 || r.Timestamp != 1305031102_160407000 || r.intr.Fx != 525 || r.intr.Cy != 239.5 || r.intr.Width != 640 {
		t.Errorf("unit %v ts %d intrinsics %+v", r.unit, r.Timestamp, r.intr)
	}
	// Depth d·unit is metres: PROVENANCE gives 1.46–9.33 m for 7320..46655.
	if lo, hi := float64(r.depth.min)*r.unit, float64(r.depth.max)*r.unit; math.Abs(lo-1.464) > 1e-9 || math.Abs(hi-9.331) > 1e-9 {
		t.Errorf("depth range %.4f–%.4f m", lo, hi)
	}
	// PNG colour is lossless: exact against the pure-Python PNG decoder.
	c := r.color
	if c.Type != ds3d.FrameColorRGBA || c.Plane.BytesPerPixel != 4 {
		t.Fatalf("colour frame %s, %d bytes per pixel", c.Type, c.Plane.BytesPerPixel)
	}
	if s := colorSums(c); s != [3]int64{36268203, 33676219, 31614265} {
		t.Errorf("colour sums %v", s)
	}
	for _, p := range []struct {
		x, y int
		want [3]byte
	}{{0, 0, [3]byte{158, 161, 157}}, {320, 240, [3]byte{252, 252, 250}}, {639, 479, [3]byte{117, 121, 130}}, {100, 50, [3]byte{54, 111, 187}}} {
		if got := px(c, p.x, p.y); got != p.want || c.Data[(p.y*640+p.x)*4+3] != 255 {
			t.Errorf("colour (%d,%d) = %v, want %v opaque", p.x, p.y, got, p.want)
		}
	}

	// Looping one pair: the timeline goes on one period (1/rate_hz) later.
	cfg := &depth.RGBDLoaderConfig{AssociationFile: ds3d.Path(assoc), Intrinsics: []float64{525, 525, 319.5, 239.5},
		Width: 640, Height: 480, DepthScale: 5000, RateHz: 30, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}, FileLoop: true}
	l, err := depth.NewRGBDLoader(cfg, nil)
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
		if ts, _ := m.Timestamp(); ts != 1305031102_160407000+int64(k)*33_333_333 {
			t.Errorf("loop %d: timestamp %d", k, ts)
		}
		m.Release()
	}
}

// eightBitDepth re-encodes a real 16-bit depth PNG as 8-bit grayscale (depth
// in units of 16 mm), the mistake an image editor or a careless conversion
// makes.
func eightBitDepth(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	g16 := img.(*image.Gray16)
	g8 := image.NewGray(g16.Rect)
	for i := range g8.Pix {
		g8.Pix[i] = g16.Pix[2*i]
	}
	var b bytes.Buffer
	if err := png.Encode(&b, g8); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dst, b.String())
}

func TestRGBDLoaderErrors(t *testing.T) {
	set := sampledata.Shared(t, "rgbd-open3d/redwood-livingroom1")
	dir := t.TempDir()
	color0 := filepath.Join(set, "color/00000.jpg")
	depth0 := filepath.Join(set, "depth/00000.png")
	intr := filepath.Join(set, "camera_primesense.json")
	eightBitDepth(t, depth0, filepath.Join(dir, "depth8.png"))
	data, err := os.ReadFile(color0)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "color_truncated.jpg"), string(data[:len(data)/3]))
	// Open3D's matrix written row-major by mistake: cx, cy land where zeros belong.
	writeFile(t, filepath.Join(dir, "rowmajor.json"), `{"width": 640, "height": 480, "intrinsic_matrix": [525, 0, 319.5, 0, 525, 239.5, 0, 0, 1]}`)
	writeFile(t, filepath.Join(dir, "ok.match"), depth0+" "+color0+"\n")
	writeFile(t, filepath.Join(dir, "depth8_first.match"), "depth8.png "+color0+"\n")
	writeFile(t, filepath.Join(dir, "depth8_second.match"), depth0+" "+color0+"\n\ndepth8.png "+color0+"\n")
	writeFile(t, filepath.Join(dir, "one_column.match"), depth0+" "+color0+"\n"+depth0+"\n")
	writeFile(t, filepath.Join(dir, "missing.match"), depth0+" "+color0+"\ndepth/99999.png "+color0+"\n")
	writeFile(t, filepath.Join(dir, "corrupt.match"), depth0+" "+color0+"\n"+depth0+" color_truncated.jpg\n")
	writeFile(t, filepath.Join(dir, "swapped.match"), color0+" "+depth0+"\n")
	writeFile(t, filepath.Join(dir, "mixed.match"), depth0+" "+color0+"\n1.0 "+color0+" 1.0 "+depth0+"\n")
	writeFile(t, filepath.Join(dir, "badtime.match"), "1.0 "+color0+" 1,5 "+depth0+"\n")

	withJSON := "\nintrinsics_file = \"" + intr + "\""
	cases := []struct {
		name, cfg string
		want      []string
	}{
		{"8-bit depth first", `association_file = "depth8_first.match"` + withJSON, []string{"depth8_first.match line 1", "depth8.png", "8-bit grayscale", "want 16-bit grayscale"}},
		{"8-bit depth later", `association_file = "depth8_second.match"` + withJSON, []string{"frame 1", "depth8_second.match line 3", "depth8.png", "8-bit grayscale"}},
		{"one column", `association_file = "one_column.match"` + withJSON, []string{"one_column.match: line 2: 1 column(s)", "want 2", "or 4"}},
		{"missing file", `association_file = "missing.match"` + withJSON, []string{"missing.match: line 2", "99999.png", "no such file"}},
		{"corrupt colour", `association_file = "corrupt.match"` + withJSON, []string{"frame 1", "corrupt.match line 2", "color_truncated.jpg", "jpeg decoder"}},
		{"colour as depth", `association_file = "swapped.match"` + withJSON, []string{"swapped.match line 1", "00000.jpg", "not a PNG"}},
		{"mixed layouts", `association_file = "mixed.match"` + withJSON, []string{"mixed.match: line 2: 4 columns, but line 1 has 2"}},
		{"bad time", `association_file = "badtime.match"` + withJSON, []string{"badtime.match: line 1: depth timestamp", `"1,5"`}},
		{"row-major json", `association_file = "ok.match"` + "\nintrinsics_file = \"rowmajor.json\"", []string{"rowmajor.json", "not a column-major pinhole K"}},
		{"intrinsics size", `association_file = "ok.match"` + "\nintrinsics = [525.0, 525.0, 159.5, 119.5]\nwidth = 320\nheight = 240", []string{"ok.match line 1", "00000.jpg is 640x480, intrinsics are for 320x240"}},
		{"no intrinsics", `association_file = "ok.match"`, []string{"intrinsics_file", "give an Open3D camera JSON"}},
		{"both intrinsics", `association_file = "ok.match"` + withJSON + "\nintrinsics = [1.0, 1.0, 0.0, 0.0]", []string{"intrinsics", "not both"}},
		{"three intrinsics", `association_file = "ok.match"` + "\nintrinsics = [1.0, 1.0, 0.0]\nwidth = 640\nheight = 480", []string{"intrinsics", "must have 4 values"}},
		{"zero scale", `association_file = "ok.match"` + withJSON + "\ndepth_scale = 0", []string{"depth_scale", "must be > 0"}},
		{"no association", `intrinsics_file = "` + intr + `"`, []string{"association_file"}},
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

func TestReadOpen3DIntrinsics(t *testing.T) {
	// The bundled copy is byte-identical to the shared one (samples README).
	in, err := depth.ReadOpen3DIntrinsics(sampledata.Sample(t, "redwood/camera_primesense.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := (ds3d.Intrinsics{Fx: 525, Fy: 525, Cx: 319.5, Cy: 239.5, Width: 640, Height: 480}); in.Fx != want.Fx || in.Fy != want.Fy ||
		in.Cx != want.Cx || in.Cy != want.Cy || in.Width != want.Width || in.Height != want.Height || in.Skew != 0 {
		t.Errorf("got %+v, want %+v", in, want)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"no size":      `{"intrinsic_matrix": [525, 0, 0, 0, 525, 0, 319.5, 239.5, 1]}`,
		"eight values": `{"width": 640, "height": 480, "intrinsic_matrix": [525, 0, 0, 0, 525, 0, 319.5, 239.5]}`,
		"zero focal":   `{"width": 640, "height": 480, "intrinsic_matrix": [0, 0, 0, 0, 525, 0, 319.5, 239.5, 1]}`,
		"not json":     `width: 640`,
	} {
		p := writeFile(t, filepath.Join(dir, "cam.json"), body)
		if _, err := depth.ReadOpen3DIntrinsics(p); err == nil || !strings.Contains(err.Error(), "cam.json") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseSeconds(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1305031102.175304", 1305031102_175304000, true},
		{"0.000000001", 1, true},
		{"5", 5_000_000_000, true},
		{"5.", 5_000_000_000, true},
		{".5", 500_000_000, true},
		{"9223372035.999999999", 9223372035_999999999, true},
		{"9223372036", 0, false},
		{"1.0000000001", 0, false},
		{"-1.5", 0, false},
		{"1e9", 0, false},
		{".", 0, false},
		{"", 0, false},
		{"1.2.3", 0, false},
	} {
		got, err := depth.ParseSeconds(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseSeconds(%q) = %d, %v", c.in, got, err)
		}
	}
}
