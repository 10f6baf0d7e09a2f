package depth_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/depth"
)

// BenchmarkRGBDLoad measures Next (colour JPEG + 16-bit depth PNG into pooled
// frames) on the bundled Redwood pair, looped, and reports frames/s.
func BenchmarkRGBDLoad(b *testing.B) {
	b.Run("redwood-0", func(b *testing.B) {
		dir := b.TempDir()
		assoc := filepath.Join(dir, "rgbd.match")
		writeFile(b, assoc, sampledata.Sample(b, "redwood/depth/00000.png")+" "+sampledata.Sample(b, "redwood/color/00000.jpg")+"\n")
		cfg := &depth.RGBDLoaderConfig{AssociationFile: ds3d.Path(assoc), IntrinsicsFile: ds3d.Path(sampledata.Sample(b, "redwood/camera_primesense.json")),
			DepthScale: 1000, RateHz: 30, ColorFormat: "rgb", PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}, FileLoop: true}
		l, err := depth.NewRGBDLoader(cfg, nil)
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
