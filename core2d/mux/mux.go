package mux

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ErrStopped is returned by Push, EOS, AddSource and RemoveSource once Run
// has returned.
var ErrStopped = errors.New("mux: stopped")

// Mux batches frames of several sources (nvstreammux). Sources are added
// and removed at any time; producers call Push from their own goroutines
// (it blocks while a file source's queue is full, which is the muxer's
// backpressure), EOS when a source ends. Run, on a goroutine the caller
// owns, forms the batches, scales their frames and sends them on Out until
// every source has ended after Close, or ctx ends.
type Mux struct {
	mu      sync.Mutex
	b       *batcher
	sh      *shaper
	changed chan struct{} // closed and replaced on a state change while Pushes wait
	waiters int           // Pushes waiting for room
	kick    chan struct{}
	out     chan *Batch
	done    chan struct{}
	ran     bool
}

// New returns a muxer for cfg (validated here).
func New(cfg Config) (*Mux, error) {
	if err := ds3d.CheckConfig(&cfg); err != nil {
		return nil, err
	}
	// One batch closed ahead of the one Run is sending: more would let a
	// slow consumer pile up frames inside the muxer instead of holding the
	// producers back.
	return &Mux{b: newBatcher(cfg, 1), sh: newShaper(cfg), changed: make(chan struct{}),
		kick: make(chan struct{}, 1), out: make(chan *Batch), done: make(chan struct{})}, nil
}

// Out delivers the batches; it is closed when Run returns. The receiver
// owns each batch and calls Release when done with it.
func (m *Mux) Out() <-chan *Batch { return m.out }

// AddSource adds a source; its frames may be pushed from now on.
func (m *Mux) AddSource(id int32) error {
	return m.locked(func(now time.Time) error { return m.b.add(id) })
}

// RemoveSource ends a source at once: its queued frames are released
// (counted as Removed); frames already placed in a batch go out with it.
func (m *Mux) RemoveSource(id int32) error {
	return m.locked(func(now time.Time) error { return m.b.end(id, true, now) })
}

// EOS ends a source after its queued frames.
func (m *Mux) EOS(id int32) error {
	return m.locked(func(now time.Time) error { return m.b.end(id, false, now) })
}

// Close says no source will be added any more: once every source has
// ended, the last batch carries EOS and Out is closed.
func (m *Mux) Close() {
	_ = m.locked(func(now time.Time) error { m.b.close(now); return nil })
}

// Stats returns each source's frame counts.
func (m *Mux) Stats() map[int32]SourceStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.b.stats()
}

func (m *Mux) locked(fn func(time.Time) error) error {
	select {
	case <-m.done:
		return ErrStopped
	default:
	}
	m.mu.Lock()
	err := fn(time.Now())
	m.broadcast()
	m.mu.Unlock()
	m.poke()
	return err
}

// broadcast wakes every waiting Push; the caller holds mu. Without
// waiters there is nothing to wake and no channel to allocate.
func (m *Mux) broadcast() {
	if m.waiters == 0 {
		return
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

func (m *Mux) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// Push hands a frame of source id to the muxer, which owns in.Image from
// now on (it is released when the frame is dropped). It blocks while the
// source's queue is full (not for live sources, whose oldest frame is
// dropped instead) until there is room, ctx ends or Run returns; in.Image
// is released on those errors too.
func (m *Mux) Push(ctx context.Context, id int32, in Input) error {
	for {
		select {
		case <-m.done:
			in.Image.Release()
			return ErrStopped
		default:
		}
		m.mu.Lock()
		ok, err := m.b.push(id, in, time.Now())
		ch := m.changed
		if ok {
			m.broadcast()
		} else if err == nil {
			m.waiters++
		}
		m.mu.Unlock()
		if err != nil {
			in.Image.Release()
			return err
		}
		if ok {
			m.poke()
			return nil
		}
		var cerr error
		select {
		case <-ch:
		case <-ctx.Done():
			cerr = ctx.Err()
		case <-m.done:
		}
		m.mu.Lock()
		m.waiters--
		m.mu.Unlock()
		if cerr != nil {
			in.Image.Release()
			return cerr
		}
	}
}

// Run forms and sends batches until the last one (every source ended after
// Close) is sent, returning nil, or until ctx ends, returning ctx.Err()
// after releasing every frame it held. Run runs once.
func (m *Mux) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.ran {
		m.mu.Unlock()
		return errors.New("mux: Run called twice")
	}
	m.ran = true
	m.mu.Unlock()
	defer close(m.out)
	defer func() {
		m.mu.Lock()
		close(m.done)
		m.b.releaseAll()
		m.broadcast()
		m.mu.Unlock()
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		m.mu.Lock()
		now := time.Now()
		m.b.step(now, false)
		f, ok := m.b.take()
		if ok {
			m.b.step(now, false) // room for the next batch to close
		}
		dl, hasDl := m.b.deadline()
		m.broadcast()
		m.mu.Unlock()
		if ok {
			if len(f.frames) == 0 && f.eos {
				return nil
			}
			if err := m.send(ctx, f); err != nil {
				return err
			}
			if f.eos {
				return nil
			}
			continue
		}
		var tc <-chan time.Time
		if hasDl {
			timer.Reset(max(time.Until(dl), 0))
			tc = timer.C
		}
		select {
		case <-m.kick:
		case <-tc:
		case <-ctx.Done():
			return ctx.Err()
		}
		if hasDl && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (m *Mux) send(ctx context.Context, f formed) error {
	b, _ := m.sh.batches.Get().(*Batch)
	if b == nil {
		b = &Batch{}
	}
	b.sh = m.sh
	err := m.sh.build(ctx, f, m.sh.metas.Get(), b)
	m.mu.Lock()
	m.b.recycle(f.frames)
	m.mu.Unlock()
	if err != nil {
		b.Release()
		return err
	}
	select {
	case m.out <- b:
		return nil
	case <-ctx.Done():
		b.Release()
		return ctx.Err()
	}
}
