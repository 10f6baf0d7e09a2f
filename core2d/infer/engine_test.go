package infer

import (
	"sync/atomic"
	"testing"
)

// countTask records which parts ran, and on which worker.
type countTask struct {
	hits  []atomic.Int32
	parts atomic.Int32
}

func (c *countTask) do(w, part, parts int) {
	c.parts.Store(int32(parts))
	c.hits[part].Add(1)
}

// TestEngineParts: every part of every task runs exactly once, across many
// back-to-back tasks (workers spinning, parking and waking).
func TestEngineParts(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 8} {
		e := newEngine(threads, scratchNeed{})
		for round := 0; round < 2000; round++ {
			c := &countTask{hits: make([]atomic.Int32, threads*partsPerThread)}
			e.parallel(c, true)
			n := int(c.parts.Load())
			for p := 0; p < n; p++ {
				if got := c.hits[p].Load(); got != 1 {
					t.Fatalf("threads %d round %d: part %d ran %d times", threads, round, p, got)
				}
			}
			if round%500 == 0 { // let workers park, then wake them
				for i := 0; i < 1<<16; i++ {
					_ = e.active.Load()
				}
			}
		}
		e.close()
	}
}
