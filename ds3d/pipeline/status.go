package pipeline

import (
	"errors"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// State is where a graph is in its life, as Status reports it.
type State string

// The states of a graph. A graph moves from built to starting to running
// (or draining) and ends finished, failed or stopped.
const (
	StateBuilt    State = "built"    // New returned; Run has not been called
	StateStarting State = "starting" // Run was called; some loader has not started yet
	StateRunning  State = "running"  // every loader has started
	StateDraining State = "draining" // Drain was called; the streams are ending
	StateFailed   State = "failed"   // a component failed; Run returns (or returned) its error
	StateStopped  State = "stopped"  // Run's context ended before the streams did
	StateFinished State = "finished" // every sink saw end of stream
)

// Status is a snapshot of a graph's life, safe to take from any goroutine
// while it runs: what a readiness probe reads.
type Status struct {
	State State
	// Sources is the number of loaders, SourcesStarted how many of them
	// have started (their Start, if they have one, returned).
	Sources, SourcesStarted int
	// Err is the first component failure (StateFailed) or the context's
	// cause (StateStopped); nil otherwise.
	Err error
}

// ErrStopped is what UpdateConfig's error wraps when the component no
// longer runs.
var ErrStopped = errors.New("has stopped")

// Status reports the graph's state. A failure shows as soon as the
// component returns its error, while the others are still stopping.
func (g *Graph) Status() Status {
	var s Status
	for _, n := range g.nodes {
		if n.cfg.Kind == ds3d.KindLoader {
			s.Sources++
			if n.started.Load() {
				s.SourcesStarted++
			}
		}
	}
	if e := g.failure.Load(); e != nil {
		s.State, s.Err = StateFailed, *e
		return s
	}
	if g.done.Load() {
		s.State = StateFinished
		if e := g.end.Load(); e != nil && *e != nil {
			s.State, s.Err = StateStopped, *e
		}
		return s
	}
	switch {
	case !g.ran.Load():
		s.State = StateBuilt
	case g.draining():
		s.State = StateDraining
	case s.SourcesStarted < s.Sources:
		s.State = StateStarting
	default:
		s.State = StateRunning
	}
	return s
}

func (g *Graph) draining() bool {
	select {
	case <-g.drain:
		return true
	default:
		return false
	}
}

// Config returns the config a component runs with now (its *Config struct,
// changes made through UpdateConfig included), or nil when there is no
// component of that name or it takes no config. It must not be modified.
func (g *Graph) Config(component string) any {
	for _, n := range g.nodes {
		if n.cfg.Name == component {
			return n.live.Load()
		}
	}
	return nil
}

// LatencyBuckets reports the latency histogram of the i-th component (in
// config order, as Metrics lists them): fn is called for each non-empty
// bucket in increasing order with the bucket's upper bound (every datamap
// counted in it took at most upper, and more than the previous bucket's
// upper bound) and its count. It returns the sum of all the latencies
// recorded. The buckets are 1/16 of a power of two wide, so power-of-two
// nanosecond bounds aggregate them exactly.
func (g *Graph) LatencyBuckets(i int, fn func(upper time.Duration, n uint64)) (sum time.Duration) {
	h := &g.nodes[i].stats.lat
	for b := range h.b {
		if c := h.b[b].Load(); c > 0 {
			fn(time.Duration(bucketUpper(b)), uint64(c))
		}
	}
	return time.Duration(h.sum.Load())
}

// PoolStater is a component that owns frame pools and reports them (the
// loaders that allocate frames): the metrics read it at scrape time.
type PoolStater interface {
	PoolStats() []ds3d.PoolStat
}

// SourceCounter is a component that counts the datamaps it produced per
// DS3D::SourceId: fn is called once per source with the running total.
type SourceCounter interface {
	SourceCounts(fn func(source int64, datamaps uint64))
}

// ComponentPools are the pools of one component.
type ComponentPools struct {
	Component string
	Pools     []ds3d.PoolStat
}

// Pools reports the frame pools of the components that expose theirs
// (PoolStater), in config order.
func (g *Graph) Pools() []ComponentPools {
	var out []ComponentPools
	for _, n := range g.nodes {
		if p, ok := n.comp.(PoolStater); ok {
			out = append(out, ComponentPools{Component: n.cfg.Name, Pools: p.PoolStats()})
		}
	}
	return out
}

// SourceCount is a number of datamaps of one DS3D::SourceId: produced by
// a loader that counts per source (SourceCounter), or arrived at a sink.
type SourceCount struct {
	Component string
	Kind      string // the component's kind, ds3d::dataloader or ds3d::datarender
	Source    int64
	// Other is set on a sink's count of the datamaps whose sources found
	// no place in its table (more than 64 sources); Source is then 0.
	Other    bool
	Datamaps uint64
}

// SourceCounts reports the datamaps per source that the loaders counting
// them produced and that reached each sink, in config order. Datamaps
// without a DS3D::SourceId are not counted.
func (g *Graph) SourceCounts() []SourceCount {
	var out []SourceCount
	for _, n := range g.nodes {
		name, kind := n.cfg.Name, string(n.cfg.Kind)
		if c, ok := n.comp.(SourceCounter); ok {
			c.SourceCounts(func(s int64, k uint64) {
				out = append(out, SourceCount{Component: name, Kind: kind, Source: s, Datamaps: k})
			})
		}
		if n.cfg.Kind == ds3d.KindRender {
			other := n.stats.sources.each(func(s int64, k uint64) {
				out = append(out, SourceCount{Component: name, Kind: kind, Source: s, Datamaps: k})
			})
			if other > 0 {
				out = append(out, SourceCount{Component: name, Kind: kind, Other: true, Datamaps: other})
			}
		}
	}
	return out
}
