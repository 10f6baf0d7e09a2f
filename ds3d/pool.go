package ds3d

import (
	"context"
	"fmt"
	"sync/atomic"
)

// FramePool recycles frames of one kind so that steady state allocates
// nothing per frame. Its capacity (a component's mem_pool_size) bounds the
// frames in flight: Get blocks while all are held downstream, which is the
// same backpressure ds3d's buffer pools give.
//
// A frame from the pool is reshaped by its user (Resize) within the capacity
// it was created with; buffers grow once when a larger frame arrives and are
// kept at that size.
type FramePool struct {
	free  chan *Frame
	newFn func() *Frame
	made  int
	limit int
	mkMu  chan struct{}
	// inUse counts frames handed out and not yet back: one atomic add on
	// each hand-out and return, so a metrics scrape reads it without
	// touching the free list.
	inUse atomic.Int64
}

// PoolStat describes one frame pool of a component for the metrics: Name
// tells the pools of one component apart (a lidar source's key, "frames").
type PoolStat struct {
	Name  string
	Size  int
	InUse int
}

// NewFramePool returns a pool of at most size frames made by newFn on demand.
func NewFramePool(size int, newFn func() *Frame) (*FramePool, error) {
	if size <= 0 {
		return nil, fmt.Errorf("ds3d: mem_pool_size %d must be at least 1", size)
	}
	p := &FramePool{free: make(chan *Frame, size), newFn: newFn, limit: size, mkMu: make(chan struct{}, 1)}
	return p, nil
}

// Size is the pool's capacity.
func (p *FramePool) Size() int { return p.limit }

// InUse is the number of frames handed out (Get, TryGet) and not yet
// returned by their last Release. It is safe from any goroutine; while
// frames move it is a snapshot.
func (p *FramePool) InUse() int { return int(p.inUse.Load()) }

// Stat is the pool's PoolStat under name.
func (p *FramePool) Stat(name string) PoolStat {
	return PoolStat{Name: name, Size: p.limit, InUse: p.InUse()}
}

// Get returns a frame held once, waiting for one to come back while all are
// in use. It fails only when ctx ends.
func (p *FramePool) Get(ctx context.Context) (*Frame, error) {
	select {
	case f := <-p.free:
		f.refs.Store(1)
		p.inUse.Add(1)
		return f, nil
	default:
	}
	if f := p.make(); f != nil {
		return f, nil
	}
	select {
	case f := <-p.free:
		f.refs.Store(1)
		p.inUse.Add(1)
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TryGet returns a free frame or nil when every frame is in use.
func (p *FramePool) TryGet() *Frame {
	select {
	case f := <-p.free:
		f.refs.Store(1)
		p.inUse.Add(1)
		return f
	default:
	}
	return p.make()
}

func (p *FramePool) make() *Frame {
	p.mkMu <- struct{}{}
	defer func() { <-p.mkMu }()
	if p.made >= p.limit {
		return nil
	}
	p.made++
	f := p.newFn()
	f.pool = p
	f.refs.Store(1)
	p.inUse.Add(1)
	return f
}

func (p *FramePool) put(f *Frame) {
	f.cols = f.cols[:0]
	p.inUse.Add(-1)
	select {
	case p.free <- f:
	default:
		panic("ds3d: frame pool overflow: a frame came back twice")
	}
}

// Resize sets a frame's shape to dims, growing its buffer when needed; the
// bytes beyond the old length are zeroed only when the buffer grows.
func (f *Frame) Resize(dims ...int) {
	f.Shape = NewShape(dims...)
	n := f.Shape.Elements() * f.DType.Size()
	if cap(f.Data) < n {
		f.Data = make([]byte, n)
		return
	}
	f.Data = f.Data[:n]
}
