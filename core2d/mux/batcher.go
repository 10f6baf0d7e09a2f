package mux

import (
	"fmt"
	"math"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Input is one frame handed to the muxer. The muxer takes over the
// caller's reference to Image (Retain first to keep one).
type Input struct {
	Image    *ds3d.Frame // RGB or RGBA u8 image frame
	PTS      int64       // presentation time stamp, ns
	FrameNum int64       // frame number in its stream; −1: counted by the muxer from 0
}

// pending is a frame waiting in a source queue or placed in a batch.
type pending struct {
	src     *source
	img     *ds3d.Frame
	pts     int64
	num     int64
	arrived int64 // wall clock, ns since the Unix epoch
	seq     uint64
}

// source is one input stream.
type source struct {
	id      int32
	q       []pending
	inBatch int // frames in the batch being formed
	ended   bool
	removed bool
	period  int64 // fps limit: least PTS spacing, ns; 0 none
	next    int64 // fps limit: the PTS from which the next frame is let in
	started bool
	count   int64 // frames counted, when the caller gives no numbers
	stats   SourceStats
}

// SourceStats counts what became of one source's frames: every frame in
// ends up in exactly one of Batched, DroppedFPS, DroppedLive, Removed (or is
// still queued).
type SourceStats struct {
	In          uint64 // frames pushed
	Batched     uint64 // frames placed in a batch
	DroppedFPS  uint64 // dropped by the max_fps limit
	DroppedLive uint64 // dropped because a live source's queue was full
	Removed     uint64 // queued when the source was removed, released
}

// formed is a batch the batcher has closed, before scaling.
type formed struct {
	frames []pending
	eos    bool // the last batch: every source has ended
}

// batcher is the muxer's state machine: per-source queues, the batch being
// formed and the rules that close it. It is not safe for concurrent use;
// Mux guards it with a mutex, the stream_mux component drives it from its
// one goroutine.
type batcher struct {
	cfg      Config
	timeout  time.Duration
	sources  []*source // in the order added
	cur      []pending
	start    time.Time // when the oldest waiting frame arrived; zero when none waits
	ready    []formed
	maxReady int
	seq      uint64
	closed   bool // no source may be added any more
	eosSent  bool
	free     [][]pending // recycled frame slices of batches sent
}

func newBatcher(cfg Config, maxReady int) *batcher {
	return &batcher{cfg: cfg, timeout: cfg.timeout(), maxReady: maxReady, cur: make([]pending, 0, cfg.BatchSize)}
}

func (b *batcher) find(id int32) *source {
	for _, s := range b.sources {
		if s.id == id {
			return s
		}
	}
	return nil
}

// add registers a source. A source id may not be reused while it runs.
func (b *batcher) add(id int32) error {
	if b.closed {
		return fmt.Errorf("mux: source %d: every source has ended; the muxer sent end of stream", id)
	}
	if s := b.find(id); s != nil && !s.ended {
		return fmt.Errorf("mux: source %d is already added", id)
	}
	s := &source{id: id, q: make([]pending, 0, b.cfg.QueueSize)}
	if f := b.cfg.maxFPS(id); f > 0 {
		s.period = int64(math.Round(1e9 / f))
	}
	for i, o := range b.sources {
		if o.id == id { // an ended source of the same id: replaced, counts kept
			s.stats = o.stats
			b.sources[i] = s
			return nil
		}
	}
	b.sources = append(b.sources, s)
	return nil
}

// letIn applies the fps limit: a frame is let in when its PTS reaches the
// due time; the due time advances by one period per frame let in (so 30 →
// 12 fps lets in exactly 12 per second), and restarts after a gap. A tenth
// of a period of slack absorbs PTS rounding (33333333 ns frames).
func (s *source) letIn(pts int64) bool {
	if s.period == 0 {
		return true
	}
	if !s.started || pts < s.next-s.period { // first frame, or PTS went back (loop)
		s.started, s.next = true, pts+s.period
		return true
	}
	if pts+s.period/10 < s.next {
		return false
	}
	s.next += s.period
	if s.next <= pts { // a gap: do not let a burst through to catch up
		s.next = pts + s.period
	}
	return true
}

// push offers a frame of source id. It returns false, keeping nothing,
// when the source's queue is full and the source is not live: the caller
// waits for room (or forces the batch out). Dropped frames are released.
func (b *batcher) push(id int32, in Input, now time.Time) (bool, error) {
	s := b.find(id)
	if s == nil || s.ended {
		return false, fmt.Errorf("mux: no running source %d (add it first; frames after its end of stream are refused)", id)
	}
	if len(s.q) >= b.cfg.QueueSize && !b.cfg.LiveSource {
		b.step(now, false)
		if len(s.q) >= b.cfg.QueueSize {
			return false, nil
		}
	}
	s.stats.In++
	if !s.letIn(in.PTS) {
		s.stats.DroppedFPS++
		in.Image.Release()
		return true, nil
	}
	if len(s.q) >= b.cfg.QueueSize { // live: the oldest goes
		s.q[0].img.Release()
		s.stats.DroppedLive++
		copy(s.q, s.q[1:])
		s.q = s.q[:len(s.q)-1]
	}
	num := in.FrameNum
	if num < 0 {
		num = s.count
	}
	s.count = num + 1
	b.seq++
	s.q = append(s.q, pending{src: s, img: in.Image, pts: in.PTS, num: num, arrived: now.UnixNano(), seq: b.seq})
	if b.start.IsZero() {
		b.start = now
	}
	b.step(now, false)
	return true, nil
}

// end marks a source ended (EOS); remove also releases its queued frames.
func (b *batcher) end(id int32, remove bool, now time.Time) error {
	s := b.find(id)
	if s == nil || s.ended {
		return fmt.Errorf("mux: no running source %d", id)
	}
	s.ended = true
	if remove {
		s.removed = true
		for _, p := range s.q {
			p.img.Release()
			s.stats.Removed++
		}
		clear(s.q)
		s.q = s.q[:0]
	}
	b.step(now, false)
	return nil
}

// close says that no source will be added: once every source has ended,
// the last batch is marked end of stream.
func (b *batcher) close(now time.Time) {
	b.closed = true
	b.step(now, false)
}

// deadline is when the waiting batch must go out, and false when no frame
// waits or there is no timeout.
func (b *batcher) deadline() (time.Time, bool) {
	if b.timeout < 0 || b.start.IsZero() {
		return time.Time{}, false
	}
	return b.start.Add(b.timeout), true
}

// step places queued frames into the batch and closes batches while the
// rules allow: full, every running source saturated, timed out, or every
// source ended. force closes a non-empty batch at once (a full queue
// that cannot wait). Batches go to ready, at most maxReady at a time.
func (b *batcher) step(now time.Time, force bool) {
	for len(b.ready) < b.maxReady {
		d, ok := b.deadline()
		expired := force || (ok && !now.Before(d))
		b.fill(expired)
		allEnded := b.allEnded()
		if len(b.cur) == 0 {
			if allEnded && b.closed && !b.eosSent && !b.anyQueued() {
				b.eosSent = true
				b.ready = append(b.ready, formed{eos: true})
			}
			if !b.anyQueued() {
				b.start = time.Time{}
			}
			return
		}
		if !(len(b.cur) >= b.cfg.BatchSize || b.saturated() || expired) {
			return
		}
		b.emit(now, allEnded && b.closed)
		force = false
	}
}

// emit closes the batch being formed.
func (b *batcher) emit(now time.Time, last bool) {
	f := formed{frames: b.cur}
	for _, p := range b.cur {
		p.src.inBatch = 0
		p.src.stats.Batched++
	}
	if n := len(b.free); n > 0 {
		b.cur, b.free = b.free[n-1][:0], b.free[:n-1]
	} else {
		b.cur = make([]pending, 0, b.cfg.BatchSize)
	}
	if last && !b.anyQueued() {
		f.eos, b.eosSent = true, true
	}
	b.ready = append(b.ready, f)
	b.start = time.Time{}
	if q := b.oldestQueued(); q != 0 {
		b.start = time.Unix(0, q)
	}
}

// fill moves queued frames into the batch: in arrival order, or with
// sync_inputs the oldest PTS first once every running source that may still
// contribute has a frame queued (any queued frame when expired).
func (b *batcher) fill(expired bool) {
	for len(b.cur) < b.cfg.BatchSize {
		var pick *source
		for _, s := range b.sources {
			mayAdd := b.cfg.MaxSameSourceFrames == 0 || s.inBatch < b.cfg.MaxSameSourceFrames
			if !mayAdd {
				continue
			}
			if len(s.q) == 0 {
				if b.cfg.SyncInputs && !s.ended && !expired {
					return // wait for this source's frame: it may be the oldest
				}
				continue
			}
			if pick == nil {
				pick = s
				continue
			}
			if b.cfg.SyncInputs {
				if s.q[0].pts < pick.q[0].pts {
					pick = s
				}
			} else if s.q[0].seq < pick.q[0].seq {
				pick = s
			}
		}
		if pick == nil {
			return
		}
		b.cur = append(b.cur, pick.q[0])
		pick.inBatch++
		copy(pick.q, pick.q[1:])
		pick.q[len(pick.q)-1] = pending{}
		pick.q = pick.q[:len(pick.q)-1]
	}
}

// saturated reports whether no running source may add to the batch: every
// one has given max_same_source_frames, or has ended with nothing queued.
func (b *batcher) saturated() bool {
	for _, s := range b.sources {
		if s.ended && len(s.q) == 0 {
			continue
		}
		if b.cfg.MaxSameSourceFrames == 0 || s.inBatch < b.cfg.MaxSameSourceFrames {
			return false
		}
	}
	return true
}

func (b *batcher) allEnded() bool {
	for _, s := range b.sources {
		if !s.ended {
			return false
		}
	}
	return true
}

func (b *batcher) anyQueued() bool {
	for _, s := range b.sources {
		if len(s.q) > 0 {
			return true
		}
	}
	return false
}

// oldestQueued is the arrival time of the oldest queued frame, 0 for none.
func (b *batcher) oldestQueued() int64 {
	var t int64
	for _, s := range b.sources {
		if len(s.q) > 0 && (t == 0 || s.q[0].arrived < t) {
			t = s.q[0].arrived
		}
	}
	return t
}

// take removes the oldest ready batch.
func (b *batcher) take() (formed, bool) {
	if len(b.ready) == 0 {
		return formed{}, false
	}
	f := b.ready[0]
	copy(b.ready, b.ready[1:])
	b.ready[len(b.ready)-1] = formed{}
	b.ready = b.ready[:len(b.ready)-1]
	return f, true
}

// recycle returns a sent batch's frame slice.
func (b *batcher) recycle(p []pending) {
	if cap(p) > 0 {
		clear(p)
		b.free = append(b.free, p[:0])
	}
}

// releaseAll drops every frame held (a stop before end of stream).
func (b *batcher) releaseAll() {
	for _, s := range b.sources {
		for _, p := range s.q {
			p.img.Release()
		}
		s.q = s.q[:0]
	}
	for _, p := range b.cur {
		p.img.Release()
	}
	b.cur = b.cur[:0]
	for _, f := range b.ready {
		for _, p := range f.frames {
			p.img.Release()
		}
	}
	b.ready = b.ready[:0]
}

// stats returns per-source counts by id.
func (b *batcher) stats() map[int32]SourceStats {
	m := make(map[int32]SourceStats, len(b.sources))
	for _, s := range b.sources {
		m[s.id] = s.stats
	}
	return m
}
