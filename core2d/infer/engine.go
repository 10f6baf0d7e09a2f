package infer

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
)

// scratchNeed is the temporary memory the compiled kernels ask for.
type scratchNeed struct {
	perWorker int // floats of per-worker scratch (padded depthwise input, pooling rows)
}

// engine runs kernels: it owns the worker pool and the per-worker scratch.
//
// A parallel kernel is cut into parts (a few per thread) that the caller and
// the workers claim one at a time from an atomic counter, so a worker that
// the OS (or a neighbour on a shared machine) delays simply claims fewer
// parts instead of holding everyone up. Workers spin briefly on the task
// generation before parking, so the ~100 short kernels of a Run do not each
// pay a futex wake-up.
type engine struct {
	threads  int
	state    atomic.Uint64 // generation<<32 | next unclaimed part
	cur      task          // the current generation's task (written before state)
	parts    int           // its number of parts
	active   atomic.Int32  // workers inside a claim loop
	sleeping []atomic.Bool // worker w is (about to be) parked on wake[w]
	wake     []chan struct{}
	quit     atomic.Bool
	done     sync.WaitGroup
	packB    [][]float32 // one packing buffer per worker
	ws       [][]float32 // per-worker scratch
	wsOwner  []any       // the kernel whose zero padding ws[w] holds (ownedScratch)
}

// task is a unit of parallel work: do(w, part, parts) runs part `part` of
// `parts` on worker w (w picks the worker's scratch buffers).
type task interface {
	do(w, part, parts int)
}

// partsPerThread sets the granularity of parallel kernels.
const partsPerThread = 4

// spinLimit is how many polls (a few µs) a worker spins before parking, and
// the caller before yielding.
const spinLimit = 1 << 13

func newEngine(threads int, need scratchNeed) *engine {
	e := &engine{threads: threads}
	e.state.Store(closed)
	e.packB = make([][]float32, threads)
	e.ws = make([][]float32, threads)
	e.wsOwner = make([]any, threads)
	for i := range e.packB {
		e.packB[i] = make([]float32, kernels.PackSize)
		e.ws[i] = make([]float32, need.perWorker)
	}
	e.sleeping = make([]atomic.Bool, threads)
	e.wake = make([]chan struct{}, threads)
	for w := 1; w < threads; w++ {
		e.wake[w] = make(chan struct{}, 1)
		e.done.Add(1)
		go e.worker(w)
	}
	return e
}

func (e *engine) worker(w int) {
	defer e.done.Done()
	var seen uint64 // generation 0 has no task
	for {
		for spins := 0; e.state.Load()>>32 == seen; spins++ {
			if e.quit.Load() {
				return
			}
			if spins < spinLimit {
				continue
			}
			e.sleeping[w].Store(true)
			if e.state.Load()>>32 == seen && !e.quit.Load() {
				<-e.wake[w]
			}
			e.sleeping[w].Store(false)
			spins = 0
		}
		if e.quit.Load() {
			return
		}
		e.active.Add(1)
		seen = e.claim(w)
		e.active.Add(-1)
	}
}

// closed in the low half of state means no part may be claimed: the caller
// is between tasks and may be replacing cur and parts.
const closed = 1<<32 - 1

// claim runs unclaimed parts of the current task on worker w until none
// is left, and returns the generation it saw. The caller of claim must
// have announced itself in active (or be the publishing goroutine).
func (e *engine) claim(w int) uint64 {
	for {
		v := e.state.Load()
		part := uint32(v)
		if part == closed || int(part) >= e.parts {
			return v >> 32
		}
		if e.state.CompareAndSwap(v, v+1) {
			e.cur.do(w, int(part), e.parts)
		}
	}
}

// parallel runs t split across the workers and waits; with useAll false
// (small work) the caller runs it alone.
//
// Protocol: state is closed between tasks. A worker first counts itself in
// active, then reads state; so once the caller has seen active == 0 with
// state closed, no worker can read cur or parts until the next generation
// is published (which happens after they are written).
func (e *engine) parallel(t task, useAll bool) {
	if e.threads == 1 || !useAll {
		t.do(0, 0, 1)
		return
	}
	e.waitIdle()
	e.cur, e.parts = t, e.threads*partsPerThread
	gen := e.state.Load()>>32 + 1
	e.state.Store(gen << 32)
	for w := 1; w < e.threads; w++ {
		if e.sleeping[w].Load() {
			select {
			case e.wake[w] <- struct{}{}:
			default:
			}
		}
	}
	e.claim(0)
	e.state.Store(gen<<32 | closed)
	e.waitIdle() // parts still running on workers
}

func (e *engine) waitIdle() {
	for spins := 0; e.active.Load() != 0; spins++ {
		if spins >= spinLimit {
			runtime.Gosched()
		}
	}
}

// workerScratch returns worker w's scratch with room for n floats (grown
// only for kernels not accounted for at compile time, e.g. while folding).
func (e *engine) workerScratch(w, n int) []float32 {
	e.wsOwner[w] = nil
	if len(e.ws[w]) < n {
		e.ws[w] = make([]float32, n)
	}
	return e.ws[w][:n]
}

// ownedScratch is workerScratch for a kernel that writes only the
// interior of a zero-padded layout: the buffer is cleared when another
// kernel has used it since owner last did, so that the padding is
// written once per kernel call rather than once per channel.
func (e *engine) ownedScratch(w, n int, owner any) []float32 {
	if e.wsOwner[w] == owner && len(e.ws[w]) >= n {
		return e.ws[w][:n]
	}
	buf := e.workerScratch(w, n)
	clear(buf)
	e.wsOwner[w] = owner
	return buf
}

// close stops the workers and waits for them to exit.
func (e *engine) close() {
	e.quit.Store(true)
	for w := 1; w < e.threads; w++ {
		select {
		case e.wake[w] <- struct{}{}:
		default:
		}
	}
	e.done.Wait()
	e.cur = nil
}

// split returns share w of n over [0, total), in multiples of align.
func split(total, align, w, n int) (lo, hi int) {
	blocks := (total + align - 1) / align
	lo = blocks * w / n * align
	hi = blocks * (w + 1) / n * align
	if hi > total {
		hi = total
	}
	if lo > total {
		lo = total
	}
	return lo, hi
}
