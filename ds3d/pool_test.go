package ds3d_test

import (
	"context"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestPoolInUse follows the frames of a pool through Get, TryGet, a
// datamap's clone and the last Release, counting by hand what is out.
func TestPoolInUse(t *testing.T) {
	pool, err := ds3d.NewFramePool(3, func() *ds3d.Frame { return ds3d.NewLidarFrame(4) })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	check := func(want int) {
		t.Helper()
		if got := pool.InUse(); got != want {
			t.Fatalf("InUse %d, want %d", got, want)
		}
		if st := pool.Stat("x"); st != (ds3d.PoolStat{Name: "x", Size: 3, InUse: want}) {
			t.Fatalf("Stat %+v", st)
		}
	}
	check(0)
	a, _ := pool.Get(ctx)
	check(1)
	b := pool.TryGet()
	check(2)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.KeyLidarXYZI, a)
	c := m.Clone() // a now has two holders
	m.Release()
	check(2)
	c.Release()
	check(1)
	a2, _ := pool.Get(ctx) // a recycled, not a new frame
	check(2)
	b.Release()
	a2.Release()
	check(0)
	// Frames made on demand and recycled ones count alike.
	var fs []*ds3d.Frame
	for range 3 {
		fs = append(fs, pool.TryGet())
	}
	check(3)
	if pool.TryGet() != nil {
		t.Fatal("a fourth frame from a pool of 3")
	}
	check(3)
	for _, f := range fs {
		f.Release()
	}
	check(0)
}

// TestPoolInUseConcurrent hands frames out and back from several
// goroutines; every frame is back at the end, so the count is 0.
func TestPoolInUseConcurrent(t *testing.T) {
	pool, _ := ds3d.NewFramePool(4, func() *ds3d.Frame { return ds3d.NewLidarFrame(4) })
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 2000 {
				f, err := pool.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if n := pool.InUse(); n < 1 || n > 4 {
					t.Errorf("InUse %d while holding a frame of a pool of 4", n)
				}
				f.Release()
			}
		})
	}
	wg.Wait()
	if n := pool.InUse(); n != 0 {
		t.Fatalf("InUse %d after every frame came back", n)
	}
}

func TestPoolInUseAllocs(t *testing.T) {
	pool, _ := ds3d.NewFramePool(1, func() *ds3d.Frame { return ds3d.NewLidarFrame(4) })
	pool.TryGet().Release()
	if a := testing.AllocsPerRun(100, func() {
		f := pool.TryGet()
		_ = pool.InUse()
		f.Release()
	}); a != 0 {
		t.Fatalf("%v allocations per get/InUse/release", a)
	}
}
