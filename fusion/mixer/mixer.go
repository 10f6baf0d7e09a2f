package mixer

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Policies.
const (
	PolicyApproximateTime = "approximate_time"
	PolicyPublishOn       = "publish_on"
)

// Config configures multisensor_mixer.
type Config struct {
	Policy         string    `toml:"policy" enum:"approximate_time|publish_on" doc:"matching policy: approximate_time (minimal-span sets, ROS ApproximateTime) or publish_on (one input drives, others take the nearest)"`
	PublishOn      int       `toml:"publish_on" min:"0" doc:"publish_on policy: the input port whose every datamap is published (e.g. the lidar)"`
	MaxIntervalMs  float64   `toml:"max_interval_ms" min:"0" unit:"ms" doc:"largest allowed time span between matched datamaps, in ms; 0 means unbounded"`
	LowerBoundMs   []float64 `toml:"inter_message_lower_bound_ms" min:"0" unit:"ms" doc:"per input: the least time between two of its datamaps, in ms (lets approximate_time publish sooner); missing entries are 0"`
	QueueSize      int       `toml:"queue_size" min:"1" doc:"datamaps held per input while waiting for a match; the oldest is dropped beyond it"`
	TimeoutMs      float64   `toml:"timeout_ms" min:"0" unit:"ms" doc:"publish_on policy: wall time to wait for the other inputs before publishing with what has arrived; 0 waits until they catch up or end"`
	ForceSync      bool      `toml:"force_sync" doc:"publish_on policy: never publish without a datamap from every input (drop instead)"`
	KeepPortSuffix bool      `toml:"keep_timestamp_per_port" doc:"also keep each input's DS3D::Timestamp+P (its own timestamp) besides the set's DS3D::Timestamp"`
	RenameKeys     bool      `toml:"rename_keys" doc:"rename every key with the +P suffix of its input (false merges keys as they are; a key present on two inputs is then an error)"`
}

type msg struct {
	ts   int64
	m    *ds3d.DataMap
	used bool // already in a published set (publish_on reuses datamaps)
}

// port is one input: its queue (in timestamp order) and what it has shown.
type port struct {
	q       []msg
	last    int64 // newest timestamp seen; math.MinInt64 before the first
	closed  bool
	in      uint64
	used    uint64
	dropped uint64
}

// Mixer is the multisensor_mixer component.
type Mixer struct {
	cfg     Config
	ports   []port
	maxSpan int64 // ns; math.MaxInt64 when unbounded
	lower   []int64
	log     *slog.Logger
	drops   atomic.Uint64
	// publish_on: when the current head started waiting (wall clock).
	waitSince time.Time
	now       func() time.Time
	sel       []int // scratch: chosen index per port
	best      []int
	lastSet   []int64 // timestamps of the last published set, per port
}

// New builds a mixer for n inputs.
func New(cfg *Config, n int, log *slog.Logger) (*Mixer, error) {
	if n < 1 {
		return nil, fmt.Errorf("a mixer needs at least one input")
	}
	if cfg.Policy == PolicyPublishOn && cfg.PublishOn >= n {
		return nil, ds3d.ConfigErrorf("publish_on", "port %d does not exist: the mixer has %d inputs", cfg.PublishOn, n)
	}
	if len(cfg.LowerBoundMs) > n {
		return nil, ds3d.ConfigErrorf("inter_message_lower_bound_ms", "has %d entries for %d inputs", len(cfg.LowerBoundMs), n)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	x := &Mixer{cfg: *cfg, ports: make([]port, n), maxSpan: math.MaxInt64, lower: make([]int64, n), log: log,
		now: time.Now, sel: make([]int, n), best: make([]int, n), lastSet: make([]int64, n)}
	if cfg.MaxIntervalMs > 0 {
		x.maxSpan = int64(cfg.MaxIntervalMs * 1e6)
	}
	for i, b := range cfg.LowerBoundMs {
		x.lower[i] = int64(b * 1e6)
	}
	for i := range x.ports {
		x.ports[i].last = math.MinInt64
		x.lastSet[i] = math.MinInt64
	}
	return x, nil
}

// Dropped is the number of datamaps dropped so far, for the runtime's metrics.
func (x *Mixer) Dropped() uint64 { return x.drops.Load() }

func (x *Mixer) drop(p int, m *ds3d.DataMap) {
	x.ports[p].dropped++
	x.drops.Add(1)
	m.Release()
}

// discard removes a queued datamap: a drop unless a set already used it.
func (x *Mixer) discard(p int, q msg) {
	if q.used {
		q.m.Release()
		return
	}
	x.drop(p, q.m)
}

// Push queues in on its port and publishes whatever sets are now final.
func (x *Mixer) Push(ctx context.Context, p int, in *ds3d.DataMap, emit ds3d.Emit) error {
	if p < 0 || p >= len(x.ports) {
		in.Release()
		return fmt.Errorf("datamap on port %d of a mixer with %d inputs", p, len(x.ports))
	}
	ts, ok := in.Timestamp()
	if !ok {
		in.Release()
		return fmt.Errorf("input %d: datamap without %s: the mixer matches by time", p, ds3d.KeyTimestamp)
	}
	pt := &x.ports[p]
	pt.in++
	// Out of order (or a repeated timestamp), or not after what this input
	// already gave a published set: it can never be used without crossing
	// sets. Per-input timestamps are thus strictly increasing, which the
	// finality rules below rely on.
	if ts <= pt.last || ts <= x.lastSet[p] {
		x.drop(p, in)
		return x.process(emit, false)
	}
	pt.last = ts
	if len(pt.q) >= x.cfg.QueueSize {
		old := pt.q[0]
		copy(pt.q, pt.q[1:])
		pt.q = pt.q[:len(pt.q)-1]
		x.discard(p, old)
	}
	pt.q = append(pt.q, msg{ts: ts, m: in})
	return x.process(emit, false)
}

// ClosePort marks an input ended: nothing later will arrive on it.
func (x *Mixer) ClosePort(_ context.Context, p int, emit ds3d.Emit) error {
	x.ports[p].closed = true
	return x.process(emit, false)
}

// Flush runs at end of stream: publish what can still be formed, drop the rest.
func (x *Mixer) Flush(_ context.Context, emit ds3d.Emit) error {
	for i := range x.ports {
		x.ports[i].closed = true
	}
	if err := x.process(emit, true); err != nil {
		return err
	}
	for p := range x.ports {
		for _, q := range x.ports[p].q {
			x.discard(p, q)
		}
		x.ports[p].q = x.ports[p].q[:0]
	}
	return nil
}

// Close reports per-input counts.
func (x *Mixer) Close() error {
	var b strings.Builder
	for i, p := range x.ports {
		fmt.Fprintf(&b, " in%d=%d/%d/%d", i, p.in, p.used, p.dropped)
	}
	x.log.Info("mixer inputs (arrived/used/dropped)" + b.String())
	for p := range x.ports {
		for _, q := range x.ports[p].q {
			q.m.Release()
		}
		x.ports[p].q = nil
	}
	return nil
}

func (x *Mixer) process(emit ds3d.Emit, final bool) error {
	if x.cfg.Policy == PolicyPublishOn {
		return x.processPublishOn(emit, final)
	}
	return x.processApprox(emit)
}

// processApprox publishes every final minimal-span set.
func (x *Mixer) processApprox(emit ds3d.Emit) error {
	for {
		for i := range x.ports {
			if len(x.ports[i].q) > 0 {
				continue
			}
			if x.ports[i].closed {
				// An ended input with nothing queued: no set can ever be
				// formed again, so whatever the others hold is released.
				for p := range x.ports {
					for _, q := range x.ports[p].q {
						x.discard(p, q)
					}
					x.ports[p].q = x.ports[p].q[:0]
				}
			}
			return nil // a set needs one datamap per input
		}
		// Pivot: the latest of the oldest queued datamaps. Every set from
		// here on holds, for the pivot's input, the pivot or a later one, so
		// a set holding the pivot is the earliest that can exist.
		pivot, T := 0, int64(math.MinInt64)
		for i := range x.ports {
			if t := x.ports[i].q[0].ts; t > T {
				pivot, T = i, t
			}
		}
		// The oldest queued datamap (t0) can only be in a set with the
		// pivot's input, whose datamaps are all ≥ T: if T − t0 exceeds
		// max_interval it can never be matched. Drop it now, without
		// waiting — waiting could hold pooled frames upstream forever.
		if t0 := x.oldest(); T-t0 > x.maxSpan {
			x.dropOldest()
			continue
		}
		// Otherwise the fronts themselves form a set within max_interval,
		// so the best set through the pivot fits too.
		_, end := x.bestSet(pivot, T)
		// Final once no later arrival can narrow the set: every input has
		// shown a timestamp at or after the set's end (or its lower bound
		// says its next one will come after it), or has ended.
		for i := range x.ports {
			pt := &x.ports[i]
			if pt.closed {
				continue
			}
			if pt.last < end && (x.lower[i] == 0 || pt.last+x.lower[i] < end) {
				return nil
			}
		}
		if err := x.publish(x.best, emit); err != nil {
			return err
		}
	}
}

// bestSet finds, exactly, the set through the pivot with the smallest span
// (ties: the earliest end), leaving the chosen indices in x.best. It sweeps
// the set's start L over the queued timestamps ≤ T: for a given L each other
// input takes its first datamap at or after L, which minimises the end.
func (x *Mixer) bestSet(pivot int, T int64) (span, end int64) {
	span, end = math.MaxInt64, math.MaxInt64
	x.best[pivot] = 0
	for i := range x.ports {
		for _, cand := range x.ports[i].q {
			L := cand.ts
			if L > T {
				break
			}
			maxT, ok := T, true
			for j := range x.ports {
				if j == pivot {
					x.sel[j] = 0
					continue
				}
				k := firstAtOrAfter(x.ports[j].q, L)
				if k < 0 {
					ok = false
					break
				}
				x.sel[j] = k
				maxT = max(maxT, x.ports[j].q[k].ts)
			}
			if !ok {
				continue
			}
			if s := maxT - L; s < span || (s == span && maxT < end) {
				span, end = s, maxT
				copy(x.best, x.sel)
			}
		}
	}
	return span, end
}

func firstAtOrAfter(q []msg, t int64) int {
	for k := range q {
		if q[k].ts >= t {
			return k
		}
	}
	return -1
}

// oldest is the earliest queued timestamp (every queue is non-empty).
func (x *Mixer) oldest() int64 {
	t := int64(math.MaxInt64)
	for i := range x.ports {
		t = min(t, x.ports[i].q[0].ts)
	}
	return t
}

func (x *Mixer) dropOldest() {
	p, t := -1, int64(math.MaxInt64)
	for i := range x.ports {
		if q := x.ports[i].q; len(q) > 0 && q[0].ts < t {
			p, t = i, q[0].ts
		}
	}
	pt := &x.ports[p]
	old := pt.q[0]
	copy(pt.q, pt.q[1:])
	pt.q = pt.q[:len(pt.q)-1]
	x.drop(p, old.m)
}

// publish emits the set idx (one queue index per input, -1 for none), drops
// the datamaps queued before each chosen one, and removes the chosen.
func (x *Mixer) publish(idx []int, emit ds3d.Emit) error {
	out := ds3d.NewDataMap()
	var setTs int64 = math.MinInt64
	for p := range x.ports {
		pt := &x.ports[p]
		k := idx[p]
		if k < 0 {
			continue
		}
		for _, q := range pt.q[:k] {
			x.drop(p, q.m)
		}
		chosen := pt.q[k]
		pt.q = append(pt.q[:0], pt.q[k+1:]...)
		pt.used++
		x.lastSet[p] = chosen.ts
		setTs = max(setTs, chosen.ts)
		if err := x.merge(out, p, chosen); err != nil {
			out.Release()
			return err
		}
	}
	out.SetTimestamp(setTs)
	return emit(out)
}

// merge moves a chosen datamap's entries into out, renamed with +p.
func (x *Mixer) merge(out *ds3d.DataMap, p int, c msg) error {
	if !x.cfg.KeepPortSuffix {
		c.m.Delete(ds3d.KeyTimestamp)
	}
	var err error
	if x.cfg.RenameKeys {
		c.m.MoveTo(out, func(k ds3d.Key) ds3d.Key { return k.Port(p) })
	} else {
		c.m.Range(func(k ds3d.Key, _ any) bool {
			if out.Has(k) && k != ds3d.KeyTimestamp {
				err = fmt.Errorf("key %s arrives on two inputs; set rename_keys = true", k)
				return false
			}
			return true
		})
		if err == nil {
			c.m.MoveTo(out, nil)
		}
	}
	c.m.Release()
	return err
}

// processPublishOn publishes each queued datamap of the driving input once
// every other input has caught up with it (or ended, or timed out).
func (x *Mixer) processPublishOn(emit ds3d.Emit, final bool) error {
	d := x.cfg.PublishOn
	for len(x.ports[d].q) > 0 {
		head := x.ports[d].q[0]
		// A datamap older than another one at or before head.ts can never
		// be the nearest, for this driving datamap or a later one: let it
		// go now. Keeping it would hold its frames while this set waits for
		// a newer one — with an upstream pool of two frames (the chosen one
		// kept for reuse, one waiting) the loader could never deliver that
		// newer datamap, and the pipeline would stall.
		for i := range x.ports {
			if i != d {
				x.pruneBefore(i, head.ts)
			}
		}
		ready := true
		for i := range x.ports {
			if i == d || x.ports[i].closed {
				continue
			}
			if x.ports[i].last < head.ts {
				ready = false
			}
		}
		if !ready && !final {
			if x.cfg.TimeoutMs == 0 {
				return nil
			}
			if x.waitSince.IsZero() {
				x.waitSince = x.now()
				return nil
			}
			if x.now().Sub(x.waitSince) < time.Duration(x.cfg.TimeoutMs*1e6) {
				return nil
			}
		}
		x.waitSince = time.Time{}
		idx := x.best
		complete := true
		for i := range x.ports {
			idx[i] = -1
			if i == d {
				idx[i] = 0
				continue
			}
			k := nearest(x.ports[i].q, head.ts, x.maxSpan)
			idx[i] = k
			if k < 0 {
				complete = false
			}
		}
		if x.cfg.ForceSync && !complete {
			pt := &x.ports[d]
			pt.q = append(pt.q[:0], pt.q[1:]...)
			x.drop(d, head.m)
			continue
		}
		// Other inputs keep their chosen datamap for the next driving one
		// too (a camera at 12 Hz may be nearest to two lidar sweeps): they
		// are cloned in, and only what is older than it is dropped.
		out := ds3d.NewDataMap()
		for i := range x.ports {
			k := idx[i]
			if k < 0 {
				continue
			}
			pt := &x.ports[i]
			var chosen msg
			if i == d {
				chosen = pt.q[0]
				pt.q = append(pt.q[:0], pt.q[1:]...)
			} else {
				for _, q := range pt.q[:k] {
					x.discard(i, q)
				}
				pt.q = append(pt.q[:0], pt.q[k:]...)
				chosen = msg{ts: pt.q[0].ts, m: pt.q[0].m.Clone()}
				if pt.q[0].used {
					pt.used-- // counted once, however often it is reused
				}
				pt.q[0].used = true
			}
			pt.used++
			if err := x.merge(out, i, chosen); err != nil {
				out.Release()
				return err
			}
		}
		out.SetTimestamp(head.ts)
		if err := emit(out); err != nil {
			return err
		}
	}
	return nil
}

// pruneBefore discards port i's datamaps that are older than its latest
// datamap at or before t (equal timestamps are kept: the nearest rule
// breaks ties towards the earlier one).
func (x *Mixer) pruneBefore(i int, t int64) {
	q := x.ports[i].q
	j := -1
	for k := range q {
		if q[k].ts > t {
			break
		}
		j = k
	}
	if j <= 0 {
		return
	}
	for j > 0 && q[j-1].ts == q[j].ts {
		j--
	}
	for _, m := range q[:j] {
		x.discard(i, m)
	}
	x.ports[i].q = append(q[:0], q[j:]...)
}

// nearest returns the index of the datamap nearest to t within maxSpan
// (ties: the earlier), or -1.
func nearest(q []msg, t, maxSpan int64) int {
	best, bd := -1, int64(math.MaxInt64)
	for k := range q {
		d := q[k].ts - t
		if d < 0 {
			d = -d
		}
		if d < bd {
			best, bd = k, d
		}
	}
	if best >= 0 && bd > maxSpan {
		return -1
	}
	return best
}

func init() {
	ds3d.Register(ds3d.KindMixer, "multisensor_mixer",
		`Merges N sensor streams into one datamap per matched set, renaming keys with +P per input port: approximate_time (minimal-span sets, as ROS 2 message_filters' ApproximateTime) or publish_on (one input drives, others contribute their nearest datamap in time). Counts every dropped datamap per input.`,
		func() *Config {
			return &Config{Policy: PolicyApproximateTime, QueueSize: 8, RenameKeys: true}
		},
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env.Inputs, env.Log) })
}
