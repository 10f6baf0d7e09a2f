package camera_test

import (
	"context"
	"path/filepath"
	"testing"

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
			cfg := &camera.ImageLoaderConfig{Files: []ds3d.Path{ds3d.Path(c.path)}, RateHz: 10, ColorFormat: c.format, MemPoolSize: 2, FileLoop: true}
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
	img, _, err := camera.DecodeFile(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	f, _ := camera.NewColorFrame(1600, 900, false)
	b.Run("nuscenes-front-ycbcr420", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := camera.ToFrame(f, img); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}
