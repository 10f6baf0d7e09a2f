package deskew_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/filters/deskew"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// newFilter builds the component from its registered defaults changed by
// set.
func newFilter(t testing.TB, set func(*deskew.Config)) *deskew.Filter {
	t.Helper()
	c := defaults(t)
	set(c)
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	f, err := deskew.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// defaults is the registered default config.
func defaults(t testing.TB) *deskew.Config {
	s, ok := ds3d.Lookup("deskew")
	if !ok {
		t.Fatal("deskew not registered")
	}
	return s.NewConfig().(*deskew.Config)
}

// run passes one datamap through f and returns a copy of its output frame
// (the pooled frame goes back).
func run(t testing.TB, f *deskew.Filter, m *ds3d.DataMap) []float32 {
	t.Helper()
	var out []float32
	err := f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
		fr, err := m.Frame(ds3d.KeyLidarXYZI)
		if err != nil {
			return err
		}
		out = slices.Clone(ds3d.AsFloat32(fr)[:fr.Shape.Elements()])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// distances returns the max and the 99th percentile of the xyz distance
// between two [N,C] point sets of the same order.
func distances(a, b []float32, c int) (worst, p99 float64) {
	var d []float64
	for i := 0; i+c <= len(a); i += c {
		dx, dy, dz := float64(a[i]-b[i]), float64(a[i+1]-b[i+1]), float64(a[i+2]-b[i+2])
		d = append(d, math.Sqrt(dx*dx+dy*dy+dz*dz))
	}
	slices.Sort(d)
	return d[len(d)-1], d[len(d)*99/100]
}

// TestVelodyneCapture runs deskew on a real VLP-16 capture read by
// pcap_file_loader (its ring, time and return columns) with a twist of
// 10 m/s and 20°/s: points of time 0 stay bit for bit, the other columns
// are untouched, and every point moves by the closed-form unicycle motion
// (x' = R(ωt)·x + (v/ω·sin ωt, v/ω·(1 − cos ωt)), written here
// independently of the filter) within 2 mm.
func TestVelodyneCapture(t *testing.T) {
	path := sampledata.Shared(t, "lidar-raw/velodyne/vlp16_strongest_2018.pcap")
	frames := dstest.MustRecord(t, "", "pcap_file_loader", `path = "`+path+`"
return_mode = "strongest"
mem_pool_size = 4`, func(m *ds3d.DataMap) (*ds3d.DataMap, error) {
		f, err := m.Frame(ds3d.KeyLidarXYZI)
		if err != nil {
			return nil, err
		}
		c := ds3d.NewFrame(ds3d.DTypeF32, f.Type, f.Shape)
		copy(c.Data, f.Data)
		c.CopyColumns(f)
		out := ds3d.NewDataMap()
		out.SetFrame(ds3d.KeyLidarXYZI, c)
		ts, _ := m.Timestamp()
		out.SetTimestamp(ts)
		return out, nil
	})
	if len(frames) != 2 {
		t.Fatalf("%d scans, want 2", len(frames))
	}
	v, w := 10.0, 20*math.Pi/180
	zeros := 0
	f := newFilter(t, func(c *deskew.Config) { c.Linear, c.Angular = []float64{v, 0, 0}, []float64{0, 0, w} })
	for i, m := range frames {
		src, _ := m.Frame(ds3d.KeyLidarXYZI)
		in := slices.Clone(ds3d.AsFloat32(src)[:src.Shape.Elements()])
		tc, cols := src.Column(ds3d.ColTime), src.Stride()
		if tc < 0 || src.Column(ds3d.ColRing) < 0 {
			t.Fatalf("scan %d: columns %v lack ring/time", i, src.Columns())
		}
		out := run(t, f, m)
		atZero, worst, moved := 0, 0.0, 0.0
		for k := 0; k < len(in); k += cols {
			p, q := in[k:k+cols], out[k:k+cols]
			for j := 3; j < cols; j++ {
				if p[j] != q[j] {
					t.Fatalf("scan %d point %d: column %d changed", i, k/cols, j)
				}
			}
			tm := float64(p[tc])
			if tm == 0 {
				atZero++
				if p[0] != q[0] || p[1] != q[1] || p[2] != q[2] {
					t.Fatalf("scan %d: a time-0 point moved: %v → %v", i, p[:3], q[:3])
				}
			}
			th := w * tm
			s, c := math.Sincos(th)
			x, y := float64(p[0]), float64(p[1])
			wx, wy := c*x-s*y+v/w*s, s*x+c*y+v/w*(1-c)
			e := math.Hypot(float64(q[0])-wx, float64(q[1])-wy) + math.Abs(float64(q[2]-p[2]))
			worst = max(worst, e)
			moved = max(moved, math.Hypot(float64(q[0]-p[0]), float64(q[1]-p[1])))
		}
		t.Logf("scan %d: %d points (%d at time 0), moved up to %.3f m, max %.2f mm off the closed form", i, len(in)/cols, atZero, moved, worst*1e3)
		if worst > 0.002 || moved < 0.2 {
			t.Errorf("scan %d: %.4f m off the closed form, moved up to %.3f m", i, worst, moved)
		}
		zeros += atZero
	}
	if zeros == 0 {
		t.Error("no point at time 0 to check")
	}
}

// TestExampleConfig runs apps/examples/deskew_vlp16.toml as shipped.
func TestExampleConfig(t *testing.T) {
	dstest.MustRunFile(t, filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "deskew_vlp16.toml"))
}

// TestBadInput: a frame without a time column, a datamap without pose or
// timestamp for twist_source = ego_pose, and a non-rigid extrinsic give
// errors that say what is missing.
func TestBadInput(t *testing.T) {
	f := newFilter(t, func(*deskew.Config) {})
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(10))
	err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `no "time" column`) {
		t.Errorf("frame without time: %v", err)
	}
	p := newFilter(t, func(c *deskew.Config) { c.TwistSource = "ego_pose" })
	fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(3, 5))
	fr.SetColumns("x", "y", "z", "intensity", "time")
	m = ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, fr)
	m.SetTimestamp(5)
	err = p.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "ego_pose") {
		t.Errorf("datamap without pose: %v", err)
	}
	c := defaults(t)
	c.LidarToEgo = []float64{2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}
	if err := ds3d.CheckConfig(c); err == nil || !strings.Contains(err.Error(), "lidar_to_ego") {
		t.Errorf("scaled extrinsic: %v", err)
	}
}

// TestProcessAllocs: 0 allocations per datamap in steady state.
func TestProcessAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	f := newFilter(t, func(c *deskew.Config) { c.Linear, c.Angular = []float64{10, 0, 0}, []float64{0, 0, 0.3} })
	fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(1000, 5))
	fr.SetColumns("x", "y", "z", "intensity", "time")
	d := ds3d.AsFloat32(fr)
	for i := 0; i < 1000; i++ {
		d[5*i], d[5*i+1], d[5*i+4] = float32(i%50), 3, float32(i)*1e-4-0.05
	}
	m := ds3d.NewDataMap()
	emit := func(m *ds3d.DataMap) error {
		m.SetFrame(ds3d.KeyLidarXYZI, fr) // releases the output to its pool
		return nil
	}
	m.SetFrame(ds3d.KeyLidarXYZI, fr)
	f.Process(context.Background(), m, emit)
	if n := testing.AllocsPerRun(20, func() { f.Process(context.Background(), m, emit) }); n != 0 {
		t.Errorf("%v allocations per datamap", n)
	}
}

// BenchmarkProcess is the component on a 120k-point [N,7] sweep (the
// drivers' columns, time spanning 0.1 s) at 20 m/s and 30°/s: pooled
// output, out of place, 2 mm slicing.
func BenchmarkProcess(b *testing.B) {
	for _, mode := range []string{"2d", "3d"} {
		b.Run(mode, func(b *testing.B) {
			f := newFilter(b, func(c *deskew.Config) {
				c.Mode = mode
				c.Linear, c.Angular = []float64{20, 0, 0.5}, []float64{0.05, 0.02, 30 * math.Pi / 180}
			})
			const n = 120000
			fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 7))
			fr.SetColumns("x", "y", "z", "intensity", "ring", "time", "return")
			d := ds3d.AsFloat32(fr)
			for i := 0; i < n; i++ {
				a := 2 * math.Pi * float64(i) / n
				r := 5 + float64(i%97)
				d[7*i], d[7*i+1], d[7*i+2] = float32(r*math.Cos(a)), float32(r*math.Sin(a)), float32(i%64)*0.1-3
				d[7*i+4], d[7*i+5] = float32(i%64), float32(0.1*float64(i)/n)
			}
			m := ds3d.NewDataMap()
			m.SetFrame(ds3d.KeyLidarXYZI, fr)
			emit := func(m *ds3d.DataMap) error {
				m.SetFrame(ds3d.KeyLidarXYZI, fr) // releases the output to its pool
				return nil
			}
			b.ReportAllocs()
			b.SetBytes(n * 7 * 4)
			for b.Loop() {
				if err := f.Process(context.Background(), m, emit); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
