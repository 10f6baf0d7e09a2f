package camera_test

import (
	"context"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/camera"
)

// BenchmarkImageLoad measures Next (read, decode, convert into a pooled
// frame) on one file, looped, and reports frames/s.
func BenchmarkImageLoad(b *testing.B) {
	nus := sampledata.Shared(b, "nuscenes-mini-sample")
	cases := []struct{ name, path, format string }{
		{"nuscenes-front", filepath.Join(nus, nuScenesPrefix+nuScenesCams[0].file), "rgb"},
		{"nuscenes-front-rgba", filepath.Join(nus, nuScenesPrefix+nuScenesCams[0].file), "rgba"},
		{"kitti-000000-png", sampledata.Sample(b, "kitti/image_2/000000.png"), "rgb"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg := &camera.ImageLoaderConfig{Files: []ds3d.Path{ds3d.Path(c.path)}, RateHz: 10, ColorFormat: c.format, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}, FileLoop: true}
			l, err := camera.NewImageLoader(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m, err := l.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkToFrame isolates the colour conversion (decoded image → pooled
// frame) from decoding, to show what a faster decoder would leave.
func BenchmarkToFrame(b *testing.B) {
	path := filepath.Join(sampledata.Shared(b, "nuscenes-mini-sample"), nuScenesPrefix+nuScenesCams[0].file)
	img, _, err := decode.DecodeFile(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	f, _ := decode.NewColorFrame(1600, 900, false)
	b.Run("nuscenes-front-ycbcr420", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := decode.ToFrame(f, img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}

// TestImageLoaderJPEGAllocs: with libjpeg-turbo (-tags turbojpeg) a JPEG
// frame is read into the reused file buffer and decoded straight into the
// pooled frame; what a looping loader still allocates per frame is
// os.Open and File.Stat's bookkeeping (4 small objects), not image data —
// under 1 KiB per 1600×900 frame. The image/jpeg build allocates the
// decoded planes per image (about 2 MiB; logged only).
func TestImageLoaderJPEGAllocs(t *testing.T) {
	path := filepath.Join(sampledata.Shared(t, "nuscenes-mini-sample"), nuScenesPrefix+nuScenesCams[0].file)
	cfg := &camera.ImageLoaderConfig{Files: []ds3d.Path{ds3d.Path(path)}, RateHz: 10, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}, FileLoop: true}
	l, err := camera.NewImageLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	next := func() {
		m, err := l.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	for range 3 {
		next()
	}
	const n = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n {
		next()
	}
	runtime.ReadMemStats(&after)
	objs := float64(after.Mallocs-before.Mallocs) / n
	bytes := float64(after.TotalAlloc-before.TotalAlloc) / n
	t.Logf("%s: %.1f allocations, %.0f bytes per frame", decode.JPEGBackend, objs, bytes)
	// The frame is 4.3 MB: what is left per frame is opening the file (≈ 0.4 KB
	// in 4 allocations), plus whatever the runtime itself allocates meanwhile
	// (more under -race). The bound catches any image-sized allocation.
	if decode.JPEGBackend == "libjpeg-turbo" && (bytes > 64<<10 || objs > 20) {
		t.Errorf("%.1f allocations, %.0f bytes per JPEG frame with libjpeg-turbo: image data is being allocated", objs, bytes)
	}
}
