package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkHop measures the runtime's cost per datamap per link: b.N
// datamaps through a source, 8 passthrough filters and a sink (9 hops).
// Setup allocations are spread over b.N, so allocs/op → 0 in steady state.
func BenchmarkHop(b *testing.B) {
	// The payload-free source isolates the runtime: with a lidar payload the
	// cost is the source filling 120k points, not the hops.
	for _, payload := range []int{0, 100} {
		b.Run(fmt.Sprintf("points-%d", payload), func(b *testing.B) {
			const filters = 8
			mids := strings.Split(strings.Repeat("passthrough,", filters-1)+"passthrough", ",")
			doc := chain(fmt.Sprintf("test_source\n--\ncount = %d\npoints = %d\nmem_pool_size = 16\n", b.N, payload), mids, "counting_sink\n")
			g := build(b, doc)
			b.ReportAllocs()
			b.ResetTimer()
			if err := g.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			hops := float64(filters + 1)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/hops, "ns/hop")
		})
	}
}
