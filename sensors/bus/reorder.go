package bus

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// idWindow remembers the last n ids (first in, first out): a redelivered
// datamap whose first copy got through within the window is recognised.
type idWindow struct {
	set  map[string]struct{}
	ring []string
	next int
}

func newIDWindow(n int) *idWindow {
	return &idWindow{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// add records id and reports whether it is new.
func (w *idWindow) add(id string) bool {
	if _, ok := w.set[id]; ok {
		return false
	}
	if old := w.ring[w.next]; old != "" {
		delete(w.set, old)
	}
	w.ring[w.next] = id
	w.set[id] = struct{}{}
	w.next = (w.next + 1) % len(w.ring)
	return true
}

// reorderBuf holds datamaps per source and hands them on in frame-number
// order. A source's next expected frame is the one after the last handed
// on, and frame 0 before anything went on; a datamap waits for a missing
// predecessor until the source holds `size` datamaps or its oldest has
// waited `wait`, then the smallest goes on and the gap is given up.
type reorderBuf struct {
	size  int
	wait  time.Duration
	srcs  map[int64]*srcBuf
	order []int64 // sources in first-seen order, for fair pops
	n     int
	late  atomic.Uint64
}

type srcBuf struct {
	next  int64
	known bool
	held  []held // sorted by frame
}

type held struct {
	frame int64
	m     *ds3d.DataMap
	at    time.Time
}

func newReorderBuf(size int, wait time.Duration) *reorderBuf {
	return &reorderBuf{size: size, wait: wait, srcs: map[int64]*srcBuf{}}
}

func (r *reorderBuf) len() int { return r.n }

func (r *reorderBuf) push(src, frame int64, m *ds3d.DataMap, now time.Time) {
	s := r.srcs[src]
	if s == nil {
		s = &srcBuf{}
		r.srcs[src] = s
		r.order = append(r.order, src)
	}
	if s.known && frame < s.next {
		r.late.Add(1)
	}
	i, _ := slices.BinarySearchFunc(s.held, frame, func(h held, f int64) int {
		switch {
		case h.frame < f:
			return -1
		case h.frame > f:
			return 1
		}
		return 0
	})
	s.held = slices.Insert(s.held, i, held{frame: frame, m: m, at: now})
	r.n++
}

// pop returns a datamap that may go on now, or nil. force hands on the
// oldest-waiting source's smallest frame regardless.
func (r *reorderBuf) pop(now time.Time, force bool) *ds3d.DataMap {
	var pick *srcBuf
	for _, id := range r.order {
		s := r.srcs[id]
		if len(s.held) == 0 {
			continue
		}
		h := s.held[0]
		ready := (s.known && h.frame <= s.next) || (!s.known && h.frame == 0) || len(s.held) >= r.size || now.Sub(oldest(s.held)) >= r.wait
		if ready {
			pick = s
			break
		}
		if force && (pick == nil || oldest(s.held).Before(oldest(pick.held))) {
			pick = s
		}
	}
	if pick == nil {
		return nil
	}
	h := pick.held[0]
	pick.held = slices.Delete(pick.held, 0, 1)
	r.n--
	if !pick.known || h.frame >= pick.next {
		pick.next, pick.known = h.frame+1, true
	}
	return h.m
}

func oldest(hs []held) time.Time {
	t := hs[0].at
	for _, h := range hs[1:] {
		if h.at.Before(t) {
			t = h.at
		}
	}
	return t
}

// releaseAll drops what is held (at close: those datamaps are not acked and
// come again after ack_wait).
func (r *reorderBuf) releaseAll() {
	for _, s := range r.srcs {
		for _, h := range s.held {
			h.m.Release()
		}
		s.held = nil
	}
	r.n = 0
}
