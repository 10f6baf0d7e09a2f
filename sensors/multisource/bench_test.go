package multisource_test

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
)

// BenchmarkNext/direct reads test_source (1000 points, pooled) itself;
// /multi_source reads it through multi_source, whose per-datamap cost is
// the channel hop and the frame's proxy.
func BenchmarkNext(b *testing.B) {
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		src, err := builtin.NewSource(&builtin.SourceConfig{RateHz: 10, Points: 1000, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			m, err := src.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			m.Release()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datamaps/s")
	})
	b.Run("multi_source", func(b *testing.B) {
		s := build(b, `streams = [{impl = "test_source", config = {count = 0, points = 1000}}]`)
		defer s.Close()
		if err := s.Start(ctx); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			m, err := s.Next(ctx)
			if err != nil {
				b.Fatal(err)
			}
			m.Release()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "datamaps/s")
	})
}
