package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

// Options tune a run.
type Options struct {
	// Realtime replays loaders at the pace of their DS3D::Timestamp values
	// (overrides the config's pipeline.realtime when set).
	Realtime bool
	// Log receives component logs; nil discards them.
	Log *slog.Logger
	// Headless is passed to every component's Env: renderers open no window.
	Headless bool
}

// item is what travels on a queue: a datamap, or end of stream for a port.
type item struct {
	m    *ds3d.DataMap
	port int
	eos  bool
}

// queue is a component's input: one channel shared by all its ports (a
// mixer's sink_N), so one goroutine serves them in arrival order.
type queue struct {
	ch chan item
}

// edge is one outgoing link, with the push policy that applies to it.
type edge struct {
	q     *queue
	port  int
	leaky string
	drops *atomic.Uint64 // the consumer's drop counter
}

// push delivers m under the edge's policy. EOS never drops.
func (e *edge) push(ctx context.Context, it item) error {
	if !it.eos {
		switch e.leaky {
		case config.LeakyUpstream:
			select {
			case e.q.ch <- it:
			default:
				e.drops.Add(1)
				it.m.Release()
			}
			return nil
		case config.LeakyDownstream:
			for {
				select {
				case e.q.ch <- it:
					return nil
				default:
				}
				select {
				case old := <-e.q.ch:
					if old.eos { // never lose an EOS: put it back and wait
						select {
						case e.q.ch <- old:
						case <-ctx.Done():
							return ctx.Err()
						}
						continue
					}
					e.drops.Add(1)
					old.m.Release()
				default:
				}
			}
		}
	}
	select {
	case e.q.ch <- it:
		return nil
	case <-ctx.Done():
		if !it.eos {
			it.m.Release()
		}
		return ctx.Err()
	}
}

type node struct {
	g        *Graph
	cfg      *config.Component
	comp     any
	in       *queue
	outs     []edge
	stats    counters
	gpuAware bool // takes GPU frames as they are (ds3d.GPUAware); others get host copies
	log      *slog.Logger

	// emit state: the datamap being processed, and whether it was emitted.
	cur     *ds3d.DataMap
	curSent bool
	emitFn  ds3d.Emit
	ctx     context.Context

	// runtime config changes (UpdateConfig): handed to the node's goroutine,
	// which applies them between two datamaps.
	updates chan update
	stopped chan struct{} // closed when the node's goroutine returns
	updMu   sync.Mutex    // one change at a time
	// live is the config the component runs: set by its own goroutine when
	// it applies a change, so it stays right when UpdateConfig's caller
	// stops waiting before the change lands.
	live atomic.Value
	// started is set once the component's Start (if any) has returned
	// without error: Status counts the loaders that have.
	started atomic.Bool
}

// update is a validated config change on its way to a node's goroutine.
type update struct {
	cfg  any
	done chan error
}

// Graph is a built pipeline, ready to Run once.
type Graph struct {
	name     string
	dir      string // the config's folder
	realtime bool
	nodes    []*node
	drain    chan struct{}
	drainMu  sync.Once
	sinkSeen atomic.Uint64
	ran      atomic.Bool
	// Status's record: done once Run has returned; failure holds the
	// first component error (set as it happens, before Run returns) and
	// end the error Run returned.
	done    atomic.Bool
	failure atomic.Pointer[error]
	end     atomic.Pointer[error]
}

// New builds every component of p. Errors name the component.
func New(p *config.Pipeline, opts Options) (*Graph, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Graph{name: p.Name, dir: p.Dir, realtime: p.Realtime || opts.Realtime, drain: make(chan struct{})}
	byCfg := map[*config.Component]*node{}
	for _, c := range p.Components {
		n := &node{g: g, cfg: c, log: log.With("component", c.Name),
			updates: make(chan update), stopped: make(chan struct{})}
		if c.Config != nil {
			n.live.Store(c.Config) // atomic.Value takes no nil
		}
		env := &ds3d.Env{Name: c.Name, ConfigDir: p.Dir, Inputs: c.Inputs, Realtime: g.realtime, Headless: opts.Headless, Log: n.log, Pipeline: g}
		comp, err := c.Spec.Build(c.Config, env)
		if err != nil {
			g.closeAll()
			return nil, fmt.Errorf("component %q (%s): %w", c.Name, c.Impl, err)
		}
		n.comp = comp
		if c.Kind.HasInput() {
			size := c.QueueSize
			if c.Inputs > 1 {
				size *= c.Inputs
			}
			n.in = &queue{ch: make(chan item, size)}
		}
		n.emitFn = n.emit
		g.nodes = append(g.nodes, n)
		byCfg[c] = n
	}
	for _, e := range p.Edges {
		from, to := byCfg[e.From], byCfg[e.To]
		leaky := to.cfg.Leaky
		if from.cfg.WithQueue == "src" {
			leaky = from.cfg.Leaky
		}
		from.outs = append(from.outs, edge{q: to.in, port: e.Port, leaky: leaky, drops: &to.stats.drops})
	}
	return g, nil
}

func (g *Graph) closeAll() {
	for _, n := range g.nodes {
		if c, ok := n.comp.(io.Closer); ok {
			_ = c.Close()
		}
	}
}

// UpdateConfig changes keys of a running component's config: changes maps
// keys of its [component.config] table to values as TOML decodes them
// (config.ParseUpdate reads them from text). Only keys its spec marks
// `runtime:"true"` may change; the new config is validated like a config at
// load, then handed to the component's goroutine, which applies it (the
// component's ds3d.Updater) between two datamaps. A refused change leaves
// the component as it was. It waits for the component to apply the change,
// ctx to end, or the component to stop. The control API and remote
// commands change running pipelines through it.
func (g *Graph) UpdateConfig(ctx context.Context, component string, changes map[string]any) error {
	var n *node
	for _, x := range g.nodes {
		if x.cfg.Name == component {
			n = x
		}
	}
	if n == nil {
		return fmt.Errorf("pipeline: no component %q", component)
	}
	if _, ok := n.comp.(ds3d.Updater); !ok {
		return &config.Error{Component: component, Msg: fmt.Sprintf("%s has no runtime-updatable keys", n.cfg.Impl)}
	}
	n.updMu.Lock()
	defer n.updMu.Unlock()
	cfg, err := config.Update(n.cfg, n.live.Load(), n.g.dir, changes)
	if err != nil {
		return err
	}
	u := update{cfg: cfg, done: make(chan error, 1)}
	select {
	case n.updates <- u:
	case <-n.stopped:
		return fmt.Errorf("component %q %w", component, ErrStopped)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err = <-u.done:
	case <-ctx.Done():
		return ctx.Err() // the change is applied or refused all the same
	}
	if err != nil {
		return &config.Error{Component: component, Msg: "update refused: " + err.Error()}
	}
	return nil
}

// applyUpdate runs on the node's goroutine.
func (n *node) applyUpdate(u update) {
	err := n.call(func() error { return n.comp.(ds3d.Updater).Update(u.cfg) })
	if err == nil {
		n.live.Store(u.cfg)
	}
	u.done <- err
}

// Drain asks the loaders to stop: they end their streams as if their data
// ran out, so everything downstream flushes and Run returns normally. It is
// what Ctrl-C does; calling it more than once is harmless.
func (g *Graph) Drain() { g.drainMu.Do(func() { close(g.drain) }) }

// SinkFrames is the number of datamaps that reached the sinks so far.
func (g *Graph) SinkFrames() uint64 { return g.sinkSeen.Load() }

// Total returns the number of datamaps the loaders will produce when every
// loader knows it (implements Len() int), else -1.
func (g *Graph) Total() int {
	total, any := 0, false
	for _, n := range g.nodes {
		if n.cfg.Kind != ds3d.KindLoader {
			continue
		}
		l, ok := n.comp.(interface{ Len() int })
		if !ok || l.Len() < 0 {
			return -1
		}
		total += l.Len()
		any = true
	}
	if !any {
		return -1
	}
	return total
}

// Metrics returns each component's measurements, in config order.
func (g *Graph) Metrics() []Metrics {
	out := make([]Metrics, len(g.nodes))
	for i, n := range g.nodes {
		m := n.stats.snapshot()
		m.Name, m.Impl, m.Kind = n.cfg.Name, n.cfg.Impl, string(n.cfg.Kind)
		// Components that drop on their own (a mixer discarding unmatched
		// datamaps) report it here, beside the queues' drops.
		if d, ok := n.comp.(interface{ Dropped() uint64 }); ok {
			m.Drops += d.Dropped()
		}
		if n.in != nil {
			m.Queued, m.QueueCap = len(n.in.ch), cap(n.in.ch)
		}
		out[i] = m
	}
	return out
}

// Run runs the graph until every sink has seen end of stream (nil), a
// component fails (its error, naming it), or ctx ends (ctx.Err()). All
// goroutines have exited when Run returns, and every component that is an
// io.Closer has been closed. A graph runs once.
func (g *Graph) Run(ctx context.Context) error {
	if !g.ran.CompareAndSwap(false, true) {
		return errors.New("pipeline: a graph runs once; build a new one")
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; g.failure.Store(&err) })
		cancel(err)
	}
	for _, n := range g.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.run(ctx); err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
				fail(fmt.Errorf("component %q (%s): %w", n.cfg.Name, n.cfg.Impl, err))
			}
		}()
	}
	wg.Wait()
	// Give pooled frames back: whatever is still queued after a stop.
	for _, n := range g.nodes {
		if n.in == nil {
			continue
		}
		for {
			select {
			case it := <-n.in.ch:
				if !it.eos {
					it.m.Release()
				}
				continue
			default:
			}
			break
		}
	}
	// Close only now, downstream first: a component may hand frames that
	// live in its resources (pinned or device memory) to the ones after
	// it, so none is closed while another can still read its frames.
	for i := len(g.nodes) - 1; i >= 0; i-- {
		n := g.nodes[i]
		if c, ok := n.comp.(io.Closer); ok {
			if err := n.call(c.Close); err != nil && firstErr == nil && context.Cause(ctx) == nil {
				firstErr = fmt.Errorf("component %q (%s): close: %w", n.cfg.Name, n.cfg.Impl, err)
				g.failure.Store(&firstErr)
			}
		}
	}
	err := firstErr
	if err == nil {
		err = context.Cause(ctx)
	}
	g.end.Store(&err)
	g.done.Store(true)
	return err
}

// call runs fn, turning a panic into an error so one broken component stops
// the pipeline with its name instead of killing the process. The per-datamap
// paths (next, process) inline the same recovery so they allocate nothing.
func (n *node) call(fn func() error) (err error) {
	defer n.recoverInto(&err)
	return fn()
}

func (n *node) recoverInto(err *error) {
	if r := recover(); r != nil {
		n.log.Error("panic", "value", r, "stack", string(debug.Stack()))
		*err = fmt.Errorf("panic: %v", r)
	}
}

func (n *node) next(ctx context.Context, l ds3d.Loader) (m *ds3d.DataMap, err error) {
	defer n.recoverInto(&err)
	return l.Next(ctx)
}

func (n *node) process(ctx context.Context, it item) (err error) {
	defer n.recoverInto(&err)
	if ds3d.ToHost != nil && !n.gpuAware {
		k, err := ds3d.ToHost(ctx, it.m)
		if err != nil {
			return fmt.Errorf("copying GPU frames to the host: %w", err)
		}
		n.stats.xfers.Add(uint64(k))
	}
	switch n.cfg.Kind {
	case ds3d.KindMixer:
		return n.comp.(ds3d.Mixer).Push(ctx, it.port, it.m, n.emitFn)
	case ds3d.KindRender:
		return n.comp.(ds3d.Render).Render(ctx, it.m)
	}
	return n.comp.(ds3d.Filter).Process(ctx, it.m, n.emitFn)
}

func (n *node) run(ctx context.Context) (err error) {
	defer close(n.stopped)
	n.ctx = ctx
	if g, ok := n.comp.(ds3d.GPUAware); ok {
		n.gpuAware = g.AcceptsGPUFrames()
	}
	if s, ok := n.comp.(ds3d.Starter); ok {
		if err := n.call(func() error { return s.Start(ctx) }); err != nil {
			return fmt.Errorf("start: %w", err)
		}
	}
	n.started.Store(true)
	if n.cfg.Kind == ds3d.KindLoader {
		return n.runLoader(ctx)
	}
	return n.runConsumer(ctx)
}

// emit sends m to every outgoing edge: clones to all but the last, which
// takes m itself, so fan-out costs a shallow copy and frames are shared.
func (n *node) emit(m *ds3d.DataMap) error {
	if m == nil {
		return errors.New("emit of a nil datamap")
	}
	if m == n.cur {
		n.curSent = true
	}
	n.stats.out.Add(1)
	last := len(n.outs) - 1
	for i := range n.outs {
		x := m
		if i < last {
			x = m.Clone()
		}
		if err := n.outs[i].push(n.ctx, item{m: x, port: n.outs[i].port}); err != nil {
			// push released its copy; the original is ours until the last edge.
			if i < last {
				m.Release()
			}
			return err
		}
	}
	return nil
}

func (n *node) sendEOS(ctx context.Context) error {
	for i := range n.outs {
		if err := n.outs[i].push(ctx, item{eos: true, port: n.outs[i].port}); err != nil {
			return err
		}
	}
	return nil
}

func (n *node) runLoader(ctx context.Context) error {
	l := n.comp.(ds3d.Loader)
	// Loaders get a context that Drain also ends, so a loader blocked on a
	// socket notices; what a drained loader returns counts as end of stream.
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	go func() {
		select {
		case <-n.g.drain:
			lcancel()
		case <-lctx.Done():
		}
	}()
	var pace pacer
	for {
		select {
		case <-n.g.drain:
			return n.sendEOS(ctx)
		case u := <-n.updates:
			n.applyUpdate(u)
			continue
		default:
		}
		start := time.Now()
		m, err := n.next(lctx, l)
		if err != nil {
			if errors.Is(err, io.EOF) || (lctx.Err() != nil && ctx.Err() == nil) {
				return n.sendEOS(ctx)
			}
			return err
		}
		now := time.Now()
		n.stats.lat.record(now.Sub(start))
		n.stats.touch(now)
		if n.g.realtime {
			if ts, ok := m.Timestamp(); ok {
				if err := pace.wait(ctx, n.g.drain, ts); err != nil {
					m.Release()
					if errors.Is(err, errDrained) {
						return n.sendEOS(ctx)
					}
					return err
				}
			}
		}
		if err := n.emit(m); err != nil {
			return err
		}
	}
}

func (n *node) runConsumer(ctx context.Context) error {
	open := n.cfg.Inputs
	isMixer := n.cfg.Kind == ds3d.KindMixer
	isSink := n.cfg.Kind == ds3d.KindRender
	for open > 0 {
		var it item
		select {
		case it = <-n.in.ch:
		case u := <-n.updates:
			n.applyUpdate(u)
			continue
		case <-ctx.Done():
			return ctx.Err()
		}
		if it.eos {
			open--
			if pc, ok := n.comp.(ds3d.PortCloser); ok && open > 0 {
				if err := n.call(func() error { return pc.ClosePort(ctx, it.port, n.emitFn) }); err != nil {
					return err
				}
			}
			continue
		}
		n.stats.in.Add(1)
		n.cur, n.curSent = it.m, false
		if isSink { // before process, which may release the datamap
			n.stats.countSource(it.m)
		}
		start := time.Now()
		err := n.process(ctx, it)
		now := time.Now()
		n.stats.lat.record(now.Sub(start))
		n.stats.touch(now)
		if !isMixer && !n.curSent {
			it.m.Release()
		}
		n.cur = nil
		if isSink {
			n.g.sinkSeen.Add(1)
		}
		if err != nil {
			return err
		}
	}
	if f, ok := n.comp.(ds3d.Flusher); ok {
		if err := n.call(func() error { return f.Flush(ctx, n.emitFn) }); err != nil {
			return fmt.Errorf("flush: %w", err)
		}
	}
	return n.sendEOS(ctx)
}

var errDrained = errors.New("drained")

// pacer holds a loader back to the rate of its timestamps: the first
// datamap goes at once, datamap k at t0 + (ts_k − ts_0).
type pacer struct {
	started bool
	ts0     int64
	t0      time.Time
	timer   *time.Timer
}

func (p *pacer) wait(ctx context.Context, drain <-chan struct{}, ts int64) error {
	if !p.started {
		p.started, p.ts0, p.t0 = true, ts, time.Now()
		return nil
	}
	d := time.Until(p.t0.Add(time.Duration(ts - p.ts0)))
	if d <= 0 {
		return nil
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	select {
	case <-p.timer.C:
		return nil
	case <-drain:
		p.timer.Stop()
		return errDrained
	case <-ctx.Done():
		p.timer.Stop()
		return ctx.Err()
	}
}

// Component returns the built component named name, or nil, so that
// callers (and tests) can read a sink's results after Run.
func (g *Graph) Component(name string) any {
	for _, n := range g.nodes {
		if n.cfg.Name == name {
			return n.comp
		}
	}
	return nil
}
