package smartrecord

import (
	"context"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// BenchmarkRender measures what the pipeline pays per datamap: copying a
// 120k-point cloud into the cache, with no recording and with one
// recording writing an lz4 bag on the writer goroutine.
func BenchmarkRender(b *testing.B) {
	for _, tc := range []struct {
		name      string
		recording bool
	}{{"120k-points/idle", false}, {"120k-points/recording", true}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.OutputDir = ds3d.Path(b.TempDir())
			cfg.Topics = map[string]string{string(ds3d.KeyLidarXYZI): "/points"}
			cfg.CacheSeconds = 1
			c, err := New(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			f := ds3d.NewLidarFrame(120_000)
			m := ds3d.NewDataMap()
			m.SetFrame(ds3d.KeyLidarXYZI, f)
			if tc.recording {
				if err := c.StartRecording("bench", 0, time.Duration(1<<62)); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			b.SetBytes(int64(len(f.Data)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m.SetTimestamp(int64(i) * 100_000_000)
				if err := c.Render(ctx, m); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(c.Dropped()), "dropped")
		})
	}
}
