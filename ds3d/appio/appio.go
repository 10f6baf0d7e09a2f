package appio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// SourceConfig configures app_source.
type SourceConfig struct {
	QueueSize int `toml:"queue_size" min:"1" max:"65536" doc:"datamaps Push may hand over before the pipeline takes them; a full queue blocks Push (backpressure)"`
}

// SinkConfig configures app_sink (nothing to set: the callback is Go).
type SinkConfig struct{}

// ErrClosed is what Push returns (wrapped) once the source has sent end of
// stream or the pipeline has stopped.
var ErrClosed = errors.New("app_source is closed")

// Source is a built app_source: the loader end of a queue that the Go
// program fills with Push. Its methods are safe for concurrent use.
type Source struct {
	name  string
	ch    chan *ds3d.DataMap
	eos   chan struct{} // closed by EndOfStream
	done  chan struct{} // closed by Close (the pipeline stopped)
	eonce sync.Once
	donce sync.Once
}

// Push hands m to the pipeline, waiting while the source's queue is full.
// It takes m in every case: on error (ctx ended, end of stream already
// sent, the pipeline stopped) m has been released.
func (s *Source) Push(ctx context.Context, m *ds3d.DataMap) error {
	if m == nil {
		return fmt.Errorf("app_source %q: push of a nil datamap", s.name)
	}
	select {
	case <-s.eos:
		m.Release()
		return fmt.Errorf("app_source %q: push after end of stream: %w", s.name, ErrClosed)
	case <-s.done:
		m.Release()
		return fmt.Errorf("app_source %q: the pipeline has stopped: %w", s.name, ErrClosed)
	default:
	}
	select {
	case s.ch <- m:
	case <-s.eos:
		m.Release()
		return fmt.Errorf("app_source %q: push after end of stream: %w", s.name, ErrClosed)
	case <-s.done:
		m.Release()
		return fmt.Errorf("app_source %q: the pipeline has stopped: %w", s.name, ErrClosed)
	case <-ctx.Done():
		m.Release()
		return ctx.Err()
	}
	// A push that raced with Close may have landed after Close emptied the
	// queue: whoever sees the source closed empties it again.
	select {
	case <-s.done:
		s.drop()
	default:
	}
	return nil
}

// EndOfStream ends the source's stream once the datamaps already pushed
// have gone downstream; later pushes fail. Calling it again does nothing.
func (s *Source) EndOfStream() { s.eonce.Do(func() { close(s.eos) }) }

// Next gives the pipeline the next pushed datamap, or io.EOF after
// EndOfStream once the queue is empty.
func (s *Source) Next(ctx context.Context) (*ds3d.DataMap, error) {
	select {
	case m := <-s.ch:
		return m, nil
	case <-s.eos:
		select {
		case m := <-s.ch:
			return m, nil
		default:
			return nil, io.EOF
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close runs when the pipeline stops: pending and later pushes fail, and
// the datamaps still queued are released.
func (s *Source) Close() error {
	s.donce.Do(func() { close(s.done) })
	s.drop()
	return nil
}

func (s *Source) drop() {
	for {
		select {
		case m := <-s.ch:
			m.Release()
		default:
			return
		}
	}
}

// Handler receives each datamap that reaches an app_sink, on the sink's
// goroutine, so the pipeline waits while it runs (backpressure). The
// datamap and its frames belong to the pipeline: they are released when
// the handler returns, and pooled frames go back to their pool to be
// overwritten. Keep copies of what is needed later (m.Clone keeps the
// frames referenced instead, which holds them out of their pool until the
// clone is released). An error stops the pipeline with the sink's name.
type Handler func(ctx context.Context, m *ds3d.DataMap) error

// Sink is a built app_sink.
type Sink struct {
	name string
	fn   atomic.Pointer[Handler]
	n    atomic.Uint64
}

// Handle sets the callback; call it before the pipeline runs (a sink
// without one fails at start). Setting it again replaces it for the
// datamaps that arrive afterwards.
func (s *Sink) Handle(fn Handler) {
	if fn == nil {
		s.fn.Store(nil)
		return
	}
	s.fn.Store(&fn)
}

// Count is the number of datamaps handed to the handler so far.
func (s *Sink) Count() uint64 { return s.n.Load() }

// Start refuses to run without a handler: its datamaps would have nowhere
// to go, and a silent sink hides a missing Handle call.
func (s *Sink) Start(context.Context) error {
	if s.fn.Load() == nil {
		return fmt.Errorf("app_sink %q has no handler: call appio.SinkOf(pipeline, %q).Handle before running it", s.name, s.name)
	}
	return nil
}

// Render passes in to the handler.
func (s *Sink) Render(ctx context.Context, in *ds3d.DataMap) error {
	fn := s.fn.Load()
	if fn == nil {
		return fmt.Errorf("app_sink %q has no handler", s.name)
	}
	s.n.Add(1)
	return (*fn)(ctx, in)
}

// Pipeline is what SourceOf and SinkOf look components up in: a built
// *pipeline.Graph (or the ds3d.Pipeline a component's Env holds).
type Pipeline interface {
	Component(name string) any
}

// SourceOf returns the app_source named name in a built pipeline.
func SourceOf(p Pipeline, name string) (*Source, error) {
	switch c := p.Component(name).(type) {
	case *Source:
		return c, nil
	case nil:
		return nil, fmt.Errorf("appio: the pipeline has no component %q", name)
	default:
		return nil, fmt.Errorf("appio: component %q is a %T, not an app_source", name, c)
	}
}

// SinkOf returns the app_sink named name in a built pipeline.
func SinkOf(p Pipeline, name string) (*Sink, error) {
	switch c := p.Component(name).(type) {
	case *Sink:
		return c, nil
	case nil:
		return nil, fmt.Errorf("appio: the pipeline has no component %q", name)
	default:
		return nil, fmt.Errorf("appio: component %q is a %T, not an app_sink", name, c)
	}
}

func init() {
	ds3d.Register(ds3d.KindLoader, "app_source",
		`A source the embedding Go program feeds: it pushes datamaps with appio.SourceOf(pipeline, name).Push and ends the stream with EndOfStream (GStreamer's appsrc). The ds3d command cannot feed it.`,
		func() *SourceConfig { return &SourceConfig{QueueSize: 4} },
		func(c *SourceConfig, env *ds3d.Env) (any, error) {
			return &Source{name: env.Name, ch: make(chan *ds3d.DataMap, c.QueueSize),
				eos: make(chan struct{}), done: make(chan struct{})}, nil
		})
	ds3d.Register(ds3d.KindRender, "app_sink",
		`A sink that hands each datamap to a callback of the embedding Go program, set with appio.SinkOf(pipeline, name).Handle (GStreamer's appsink); the datamap is released when the callback returns.`,
		func() *SinkConfig { return &SinkConfig{} },
		func(_ *SinkConfig, env *ds3d.Env) (any, error) { return &Sink{name: env.Name}, nil })
}
