package depth2point_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/filters/depth2point"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/depth"
)

type grab struct{ pts, uv []float32 }

func (g *grab) Render(_ context.Context, m *ds3d.DataMap) error {
	p, err := m.Frame(ds3d.KeyPointXYZ)
	if err != nil {
		return err
	}
	uv, err := m.Frame(ds3d.KeyPointColorCoord)
	if err != nil {
		return err
	}
	g.pts = append([]float32(nil), ds3d.AsFloat32(p)[:p.Points()*3]...)
	g.uv = append([]float32(nil), ds3d.AsFloat32(uv)[:uv.Points()*2]...)
	return nil
}

type noCfg struct{}

func (*noCfg) Validate() error { return nil }

var grabbed = &grab{}

func init() {
	ds3d.Register(ds3d.KindRender, "depth2point_test_grab", "Keeps the last point frame.",
		func() *noCfg { return &noCfg{} }, func(*noCfg, *ds3d.Env) (any, error) { return grabbed, nil })
}

// TestRedwoodFrame unprojects the bundled Redwood depth image through a real
// pipeline (rgbd_file_loader → depth2point) and checks it against the
// figures of rgbd-open3d/PROVENANCE.md: 40,071 of 640×480 pixels have no
// depth; depths span 955–2702 mm; the centre pixel (320, 240) reads 2195 mm.
func TestRedwoodFrame(t *testing.T) {
	dir := t.TempDir()
	sample := filepath.Dir(sampledata.Sample(t, "redwood/camera_primesense.json"))
	os.WriteFile(filepath.Join(dir, "pair.match"), []byte("depth/00000.png color/00000.jpg\n"), 0o644)
	doc := `[[component]]
name = "rgbd"
type = "ds3d::dataloader"
impl = "rgbd_file_loader"
link_to = "d2p"
[component.config]
association_file = "pair.match"
intrinsics_file = "` + filepath.Join(sample, "camera_primesense.json") + `"
depth_scale = 1000.0

[[component]]
name = "d2p"
type = "ds3d::datafilter"
impl = "depth2point"
link_to = "grab"

[[component]]
name = "grab"
type = "ds3d::datarender"
impl = "depth2point_test_grab"
`
	// The association file names paths relative to itself: copy the pair.
	for _, f := range []string{"depth/00000.png", "color/00000.jpg"} {
		b, err := os.ReadFile(filepath.Join(sample, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "p.toml"), []byte(doc), 0o644)
	p, err := config.Load(filepath.Join(dir, "p.toml"))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	n := len(grabbed.pts) / 3
	if want := 640*480 - 40071; n != want {
		t.Fatalf("%d points, want %d (pixels with depth)", n, want)
	}
	minZ, maxZ := math.Inf(1), math.Inf(-1)
	found := false
	for i := 0; i < n; i++ {
		z := float64(grabbed.pts[3*i+2])
		minZ, maxZ = math.Min(minZ, z), math.Max(maxZ, z)
		// Normalised texture coordinates of pixel (320, 240): its centre.
		if grabbed.uv[2*i] == float32(320.5/640) && grabbed.uv[2*i+1] == float32(240.5/480) {
			found = true
			// By hand: z = 2.195 m; x = y = (320 − 319.5)·2.195/525.
			want := [3]float64{0.5 * 2.195 / 525, 0.5 * 2.195 / 525, 2.195}
			for k := 0; k < 3; k++ {
				if math.Abs(float64(grabbed.pts[3*i+k])-want[k]) > 1e-6 {
					t.Errorf("centre point %v, want %v", grabbed.pts[3*i:3*i+3], want)
				}
			}
		}
	}
	if !found {
		t.Error("no point for pixel (320, 240)")
	}
	if math.Abs(minZ-0.955) > 1e-6 || math.Abs(maxZ-2.702) > 1e-6 {
		t.Errorf("depth range [%v, %v] m, want [0.955, 2.702]", minZ, maxZ)
	}
}

func TestClipAndCapAndZeroAlloc(t *testing.T) {
	d, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 4, 2, 0)
	raw := ds3d.AsUint16(d)
	copy(raw, []uint16{0, 500, 1000, 1500, 2000, 2500, 3000, 65535})
	p := &depth2point.Params{Intrinsics: ds3d.Intrinsics{Fx: 2, Fy: 4, Cx: 1.5, Cy: 0.5, Width: 4, Height: 2}, Unit: 0.001, MinDepth: 0.9, MaxDepth: 3, PixelCoord: true}
	pts, uv := ds3d.NewPointFrame(0), ds3d.NewPointFrame(0)
	n, err := depth2point.Unproject(pts, uv, d, p)
	if err != nil {
		t.Fatal(err)
	}
	// Kept: 1000, 1500 (row 0), 2000, 2500, 3000 (row 1); 0, 500 and 65535 m go.
	if n != 5 {
		t.Fatalf("%d points, want 5", n)
	}
	xyz := ds3d.AsFloat32(pts)
	// Pixel (u=2, v=0), 1 m: x = (2 − 1.5)·1/2 = 0.25, y = (0 − 0.5)·1/4 = −0.125.
	if xyz[0] != 0.25 || xyz[1] != -0.125 || xyz[2] != 1 {
		t.Errorf("first point %v", xyz[:3])
	}
	if c := ds3d.AsFloat32(uv); c[0] != 2 || c[1] != 0 {
		t.Errorf("first colour coordinate %v", c[:2])
	}
	p.MaxPoints = 2
	if n, _ := depth2point.Unproject(pts, uv, d, p); n != 2 {
		t.Errorf("max_points 2 gave %d", n)
	}
	if a := testing.AllocsPerRun(50, func() { depth2point.Unproject(pts, uv, d, p) }); a != 0 {
		t.Errorf("%v allocations per frame", a)
	}
	bad := *p
	bad.Intrinsics.Width = 5
	if _, err := depth2point.Unproject(pts, uv, d, &bad); err == nil {
		t.Error("size mismatch accepted")
	}
}

func BenchmarkUnproject(b *testing.B) {
	d, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 640, 480, 0)
	raw := ds3d.AsUint16(d)
	for i := range raw {
		raw[i] = uint16(500 + i%3000)
	}
	p := &depth2point.Params{Intrinsics: ds3d.Intrinsics{Fx: 525, Fy: 525, Cx: 319.5, Cy: 239.5}, Unit: 0.001}
	pts, uv := ds3d.NewPointFrame(0), ds3d.NewPointFrame(0)
	b.ReportAllocs()
	for b.Loop() {
		depth2point.Unproject(pts, uv, d, p)
	}
	b.ReportMetric(float64(b.N)*640*480/b.Elapsed().Seconds()/1e6, "Mpoints/s")
}
