package paint

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestZeroAllocs: in steady state a frame of the nuScenes keyframe (six
// cameras, 84 boxes) allocates nothing.
func TestZeroAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts are not meaningful under the race detector")
	kf := loadKeyframe(t)
	f, err := New(testConfig(6, true))
	if err != nil {
		t.Fatal(err)
	}
	m := kf.dataMap(t, newAlign(t, kf))
	defer m.Release()
	ctx := context.Background()
	emit := func(*ds3d.DataMap) error { return nil }
	if err := f.Process(ctx, m, emit); err != nil { // warm-up: pool frame and scratch grow once
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() {
		if err := f.Process(ctx, m, emit); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per frame, want 0", a)
	}
}

// BenchmarkNuScenes paints the 34,688-point keyframe through six cameras
// with the dataset's 84 2D boxes (the whole component: copy, six
// projections, box tests, background channel).
func BenchmarkNuScenes(b *testing.B) {
	kf := loadKeyframe(b)
	f, err := New(testConfig(6, true))
	if err != nil {
		b.Fatal(err)
	}
	m := kf.dataMap(b, newAlign(b, kf))
	defer m.Release()
	ctx := context.Background()
	emit := func(*ds3d.DataMap) error { return nil }
	for range 2 { // warm-up: both pool frames and the scratch grow once
		if err := f.Process(ctx, m, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(kf.pts) * 4))
	for b.Loop() {
		if err := f.Process(ctx, m, emit); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(kf.pts)/4), "points/op")
}
