package imagetensor

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// BenchmarkBEVFusion6: the six nuScenes 1600×900 cameras → [1, 6, 3, 256,
// 704] (BEVFusion's preprocessing) per op. The OpenCV peer for the same
// work is testdata/peer_bevfusion6.py (docs/PERF.md, "Camera tensor
// preprocessing").
func BenchmarkBEVFusion6(b *testing.B) {
	frames := loadFrames(b, nuScenesCams(b))
	f := newFilter(b, nil)
	m := ds3d.NewDataMap()
	defer m.Release()
	for i, fr := range frames {
		m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
	}
	emit := func(*ds3d.DataMap) error { return nil }
	ctx := context.Background()
	for range 2 { // grow the pool outside the timing
		if err := f.Process(ctx, m, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := f.Process(ctx, m, emit); err != nil {
			b.Fatal(err)
		}
	}
}
