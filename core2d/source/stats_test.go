package source

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestURISourceStats: the pool and per-source counts the control plane
// reads follow the frames held and the datamaps emitted (the MJPEG AVI is
// read in pure Go).
func TestURISourceStats(t *testing.T) {
	cfg := Default()
	cfg.URI, cfg.SourceID, cfg.MemPoolSize = "vtest_3f_mjpeg.avi", 5, 3
	l := newLoader(t, cfg)
	counts := func() map[int64]uint64 {
		m := map[int64]uint64{}
		l.SourceCounts(func(s int64, n uint64) { m[s] = n })
		return m
	}
	if st := l.PoolStats(); len(st) != 1 || st[0] != (ds3d.PoolStat{Name: "frames", Size: 3, InUse: 0}) {
		t.Fatalf("PoolStats before a frame: %+v", st)
	}
	var held []*ds3d.DataMap
	for range 2 {
		m, err := l.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, m)
	}
	if st := l.PoolStats(); st[0].InUse != 2 {
		t.Errorf("two datamaps held, pool in use %d", st[0].InUse)
	}
	if c := counts(); len(c) != 1 || c[5] != 2 {
		t.Errorf("SourceCounts after 2: %v, want source 5: 2", c)
	}
	for _, m := range held {
		m.Release()
	}
	if st := l.PoolStats(); st[0].InUse != 0 {
		t.Errorf("all released, pool in use %d", st[0].InUse)
	}
}
