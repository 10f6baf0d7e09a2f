package gl_test

import (
	"context"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// syntheticScene is n points on rings around the sensor (intensity 0–1)
// and nb car-sized boxes, deterministic.
func syntheticScene(n, nb int) *ds3d.DataMap {
	rng := rand.New(rand.NewPCG(1, 2))
	f := ds3d.NewLidarFrame(n)
	p := ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		a, r := rng.Float64()*2*math.Pi, 2+rng.Float64()*68
		p[i*4], p[i*4+1], p[i*4+2], p[i*4+3] = float32(r*math.Cos(a)), float32(r*math.Sin(a)), float32(-1.7+rng.Float64()*3), rng.Float32()
	}
	boxes := make([]ds3d.Box3D, nb)
	for i := range boxes {
		boxes[i] = ds3d.Box3D{CX: float32(rng.Float64()*80 - 20), CY: float32(rng.Float64()*60 - 30), CZ: -0.9,
			DX: 4.2, DY: 1.8, DZ: 1.6, Yaw: float32(rng.Float64() * 6.28), ClassID: int32(i % 3), Label: "Car", Score: 0.87, TrackID: int64(i)}
	}
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	m.Set(ds3d.KeyLidar3DBboxRawData, boxes)
	return m
}

func benchRenderer(b *testing.B, c *gl.Config) *gl.Renderer {
	c.Headless = true
	r, err := gl.NewRenderer(c, &ds3d.Env{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkFrame/120k-50boxes-1280x720: frames per second of the offscreen
// renderer on the benchmark scene, without readback (glFinish ends each
// frame), with glReadPixels + row flip, and with the PNG file too.
func BenchmarkFrame(b *testing.B) {
	needDisplay(b)
	m := syntheticScene(120000, 50)
	defer m.Release()
	for _, mode := range []string{"draw", "readback", "png"} {
		b.Run("120k-50boxes-1280x720/"+mode, func(b *testing.B) {
			c := gl.NewConfig()
			if mode == "png" {
				c.OutputDir = ds3d.Path(b.TempDir())
			}
			r := benchRenderer(b, c)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				switch mode {
				case "draw":
					if err = r.Draw(m, false); err == nil {
						err = r.Sync()
					}
				case "readback":
					err = r.Draw(m, true)
				default:
					err = r.Render(context.Background(), m)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			if mode != "draw" {
				b.ReportMetric(float64(r.ReadbackTime.Microseconds())/float64(r.Frames)/1000, "readback-ms/frame")
			}
			if mode == "png" {
				if _, err := os.Stat(filepath.Join(string(c.OutputDir), "frame_000000.png")); err != nil {
					b.Error(err)
				}
			}
		})
	}
}

// TestUploadAllocs: drawing a frame (points, boxes, labels) and reading it
// back allocates nothing on the Go side once the staging buffers have grown.
func TestUploadAllocs(t *testing.T) {
	needDisplay(t)
	testenv.SkipUnderRace(t, "the race detector allocates")
	m := syntheticScene(120000, 50)
	defer m.Release()
	c := gl.NewConfig()
	c.Headless = true
	r, err := gl.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, readback := range []bool{false, true} {
		r.Draw(m, readback) // grow the buffers
		// testing.AllocsPerRun rounds down; count every allocation of 100
		// frames. A few are tolerated: the runtime allocates when it starts
		// an OS thread to take over a P during a long cgo call (sysmon's
		// handoff), which the shared 2-core machines provoke now and then;
		// a memory profile of the frame path shows no allocation.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < 100; i++ {
			if err := r.Draw(m, readback); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		if n := after.Mallocs - before.Mallocs; n > 20 {
			t.Errorf("readback=%v: %d allocations in 100 frames, want 0", readback, n)
		} else {
			t.Logf("readback=%v: %d allocations in 100 frames", readback, n)
		}
	}
}

// BenchmarkEnsemble: apps/bevfusion's 8-tile ensemble (six 1600×900 camera
// images uploaded as textures with the 34 688 keyframe points and 69 GT
// boxes projected into each, a top and a chase view) at 1600×900, without
// and with readback.
func BenchmarkEnsemble(b *testing.B) {
	needDisplay(b)
	kf := loadNuScenes(b)
	m := kf.dataMap(b, nil)
	defer m.Release()
	for _, mode := range []string{"draw", "readback"} {
		b.Run("nuscenes-8tiles-1600x900/"+mode, func(b *testing.B) {
			c := bevfusionConfig(b)
			r := benchRenderer(b, c)
			r.Draw(m, mode == "readback") // textures and buffers grow here
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				err := r.Draw(m, mode == "readback")
				if err == nil && mode == "draw" {
					err = r.Sync()
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// TestEnsembleAllocs: an ensemble frame (six image textures, projected
// points and boxes, HUD) allocates nothing once buffers have grown; the
// tolerance is TestUploadAllocs'.
func TestEnsembleAllocs(t *testing.T) {
	needDisplay(t)
	testenv.SkipUnderRace(t, "the race detector allocates")
	if testing.Short() {
		t.Skip("-short: allocation count over many frames")
	}
	kf := loadNuScenes(t)
	m := kf.dataMap(t, nil)
	defer m.Release()
	c := bevfusionConfig(t)
	c.Headless = true
	r, err := gl.NewRenderer(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Draw(m, true)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < 10; i++ {
		if err := r.Draw(m, true); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 5 {
		t.Errorf("%d allocations in 10 ensemble frames, want 0", n)
	} else {
		t.Logf("%d allocations in 10 ensemble frames", n)
	}
}
