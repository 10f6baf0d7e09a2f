package pipeline

import (
	"math"
	"sort"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func tableCounts(tb *sourceTable) (map[int64]uint64, uint64) {
	m := map[int64]uint64{}
	other := tb.each(func(id int64, n uint64) { m[id] += n })
	return m, other
}

// TestSourceTable counts ids from several goroutines, against counts
// kept by hand; ids beyond the 64 slots count as other.
func TestSourceTable(t *testing.T) {
	var tb sourceTable
	ids := []int64{0, 1, -1, 7, 64, 128, math.MaxInt64, math.MinInt64 + 1}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for k := range 1000 {
				tb.add(ids[(k+g)%len(ids)])
			}
		})
	}
	wg.Wait()
	got, other := tableCounts(&tb)
	if other != 0 || len(got) != len(ids) {
		t.Fatalf("%d sources, other %d: %v", len(got), other, got)
	}
	for _, id := range ids {
		if got[id] != 500 { // 4000 adds over 8 ids
			t.Errorf("id %d counted %d, want 500", id, got[id])
		}
	}

	var full sourceTable
	for id := range int64(100) {
		full.add(id)
		full.add(id)
	}
	full.add(math.MinInt64) // the one id that reads as an empty slot
	got, other = tableCounts(&full)
	if len(got) != sourceSlots || other != 2*(100-sourceSlots)+1 {
		t.Fatalf("100 sources: %d counted one by one, %d other", len(got), other)
	}
	var keys []int64
	for id, n := range got {
		if n != 2 {
			t.Errorf("id %d counted %d, want 2", id, n)
		}
		keys = append(keys, id)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	if keys[0] != 0 || keys[len(keys)-1] != sourceSlots-1 {
		t.Errorf("the first 64 sources take the slots, got %v…%v", keys[0], keys[len(keys)-1])
	}
}

// TestCountSourceAllocs: counting at a sink allocates nothing, with or
// without a source id in the datamap.
func TestCountSourceAllocs(t *testing.T) {
	var c counters
	with, without := ds3d.NewDataMap(), ds3d.NewDataMap()
	with.SetInt64(ds3d.KeySourceID, 3)
	if a := testing.AllocsPerRun(100, func() { c.countSource(with); c.countSource(without) }); a != 0 {
		t.Fatalf("%v allocations per count", a)
	}
	if got, _ := tableCounts(&c.sources); len(got) != 1 || got[3] != 101 {
		t.Fatalf("counts %v, want source 3: 101 (100 runs and the warm-up)", got)
	}
}
