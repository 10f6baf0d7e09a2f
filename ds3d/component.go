package ds3d

import (
	"context"
	"log/slog"
)

// Kind is a component kind, spelled as ds3d's `type` strings.
type Kind string

// The five kinds of DESIGN.md §4.
const (
	KindLoader Kind = "ds3d::dataloader" // source: Loader
	KindFilter Kind = "ds3d::datafilter" // 1 in → 0..n out: Filter
	KindMixer  Kind = "ds3d::datamixer"  // n in → 1 out: Mixer
	KindRender Kind = "ds3d::datarender" // sink: Render
	KindBridge Kind = "ds3d::databridge" // 2D batch → datamap: Filter
)

// Kinds lists the kinds in pipeline order.
var Kinds = []Kind{KindLoader, KindFilter, KindMixer, KindRender, KindBridge}

// Valid reports whether k is one of the five kinds.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if k == x {
			return true
		}
	}
	return false
}

// HasInput reports whether components of this kind receive datamaps.
func (k Kind) HasInput() bool { return k != KindLoader }

// HasOutput reports whether components of this kind emit datamaps.
func (k Kind) HasOutput() bool { return k != KindRender }

// Emit hands a datamap downstream; ownership goes with it. It blocks while
// the downstream queue is full (backpressure) and fails only when the
// pipeline is stopping.
type Emit func(*DataMap) error

// Loader is a source. Next returns the next datamap, owned by the caller, or
// io.EOF at the end of the stream.
type Loader interface {
	Next(ctx context.Context) (*DataMap, error)
}

// Filter turns one datamap into zero or more. Process owns in for the call:
// it may emit in itself (after changing it) or new datamaps; an in that was
// not emitted is released by the runtime when Process returns.
type Filter interface {
	Process(ctx context.Context, in *DataMap, emit Emit) error
}

// Mixer merges n inputs into one stream. Push takes ownership of in, which
// arrived on input port (pad sink_<port>): the mixer keeps it, emits it, or
// releases it.
type Mixer interface {
	Push(ctx context.Context, port int, in *DataMap, emit Emit) error
}

// Render is a sink. The runtime releases in when Render returns.
type Render interface {
	Render(ctx context.Context, in *DataMap) error
}

// Starter is implemented by components that open devices, files or windows
// before the first datamap; Start runs on the component's own goroutine.
type Starter interface {
	Start(ctx context.Context) error
}

// Flusher is implemented by filters and mixers that hold datamaps back; Flush
// runs once at end of stream, before EOS is passed on.
type Flusher interface {
	Flush(ctx context.Context, emit Emit) error
}

// PortCloser is implemented by mixers that want to know when one input ends
// while the others go on.
type PortCloser interface {
	ClosePort(ctx context.Context, port int, emit Emit) error
}

// Env is what a component's factory gets besides its config.
type Env struct {
	// Name is the component's name in the pipeline.
	Name string
	// ConfigDir is the folder of the config file; ds3d.Path fields are
	// already resolved against it.
	ConfigDir string
	// Inputs is the number of input pads linked to the component.
	Inputs int
	// Realtime is true when the pipeline replays at sensor rate.
	Realtime bool
	// Headless asks renderers to show no window (`ds3d run --headless`):
	// they render offscreen and write their files instead.
	Headless bool
	// Log is the component's logger (component=name).
	Log *slog.Logger
	// Pipeline is the pipeline the component runs in, for components that
	// steer it (cloud-to-device commands); nil when it is built alone.
	Pipeline Pipeline
}

// Logger returns the component's logger; nil when e is nil (a component
// built alone in a test), which the constructors take as "log nothing".
func (e *Env) Logger() *slog.Logger {
	if e == nil {
		return nil
	}
	return e.Log
}

// Pipeline is a running pipeline as a component may steer it. Components
// reach other components only through it, and only by name, so a command
// that names a component the pipeline lacks is an error, not a panic.
type Pipeline interface {
	// UpdateConfig changes runtime-updatable keys of the named component
	// between two of its datamaps (pipeline.Graph.UpdateConfig).
	UpdateConfig(ctx context.Context, component string, changes map[string]any) error
	// Component returns the named component as built, or nil: callers
	// check it for the interface they need (a recorder, a model swapper).
	Component(name string) any
}

// Path is a config field holding a file path. The config loader resolves a
// relative path against the config file's folder, so a pipeline runs the
// same from any working directory.
type Path string
