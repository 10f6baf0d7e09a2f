package multisource

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// leaseLimit bounds the frames one stream has downstream at once; beyond
// it the stream waits for one to come back, as a loader waits on its pool.
const leaseLimit = 256

// lease tracks the frames a stream has sent downstream. Each child frame
// travels as a proxy from the lease's own pool: a frame header that shares
// the child frame's buffer. Downstream retains and releases the proxy as
// it would the frame; when its last holder lets go the proxy comes back to
// the pool, where the lease's goroutine picks it up and releases the child
// frame it stood for. So the child's pool gets a frame back exactly when
// downstream is done with it, and the lease knows when none is out.
type lease struct {
	pool  *ds3d.FramePool
	stash chan *ds3d.Frame // free proxies, bound to nothing

	mu    sync.Mutex
	bound map[*ds3d.Frame]*ds3d.Frame // proxy → child frame
	out   atomic.Int64                // proxies downstream
	back  chan struct{}               // signalled when out drops to 0

	cancel context.CancelFunc
	done   chan struct{}
}

func newLease() *lease {
	pool, _ := ds3d.NewFramePool(leaseLimit, func() *ds3d.Frame { return &ds3d.Frame{} })
	l := &lease{pool: pool, stash: make(chan *ds3d.Frame, leaseLimit), bound: map[*ds3d.Frame]*ds3d.Frame{},
		back: make(chan struct{}, 1), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	go l.reclaim(ctx)
	return l
}

// reclaim waits for proxies to come back and releases their child frames.
// Its first leaseLimit rounds make the proxies.
func (l *lease) reclaim(ctx context.Context) {
	defer close(l.done)
	for {
		p, err := l.pool.Get(ctx)
		if err != nil {
			return
		}
		l.mu.Lock()
		f, ok := l.bound[p]
		delete(l.bound, p)
		l.mu.Unlock()
		if ok {
			p.Data, p.DevPtr, p.Shape, p.Plane = nil, 0, ds3d.Shape{}, ds3d.Plane{}
			f.Release()
			if l.out.Add(-1) == 0 {
				select {
				case l.back <- struct{}{}:
				default:
				}
			}
		}
		l.stash <- p // never blocks: at most leaseLimit proxies exist
	}
}

// wrap replaces every frame of m by a proxy; m keeps its keys and values.
func (l *lease) wrap(ctx context.Context, m *ds3d.DataMap, keys []ds3d.Key) ([]ds3d.Key, error) {
	keys = keys[:0]
	m.Range(func(k ds3d.Key, v any) bool {
		if _, ok := v.(*ds3d.Frame); ok {
			keys = append(keys, k)
		}
		return true
	})
	for _, k := range keys {
		f, err := m.Frame(k)
		if err != nil {
			return keys, err
		}
		var p *ds3d.Frame
		select {
		case p = <-l.stash:
		case <-ctx.Done():
			return keys, ctx.Err()
		}
		p.DType, p.Type, p.Mem, p.Device = f.DType, f.Type, f.Mem, f.Device
		p.Shape, p.Plane, p.Data, p.DevPtr = f.Shape, f.Plane, f.Data, f.DevPtr
		p.CopyColumns(f)
		f.Retain() // the binding's reference; the datamap's goes with SetFrame
		l.mu.Lock()
		l.bound[p] = f
		l.mu.Unlock()
		l.out.Add(1)
		m.SetFrame(k, p)
	}
	return keys, nil
}

// outstanding is the number of frames downstream still holds.
func (l *lease) outstanding() int { return int(l.out.Load()) }

// wait returns once downstream holds none of the stream's frames, or when
// ctx ends.
func (l *lease) wait(ctx context.Context) error {
	for l.out.Load() > 0 {
		select {
		case <-l.back:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// stop ends the lease's goroutine. Frames still out are no longer
// tracked; their child frames stay held.
func (l *lease) stop() {
	l.cancel()
	<-l.done
}
