package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// probeImpl is a pass-through filter of measured runs. With role
// "source", right after each source, it notes when each source's first
// datamap passed: the origin of that source's schedule (the pacer sends
// datamap k at its first datamap's time plus ts_k − ts_0). With role
// "end", after a stream's last stage, it records each datamap's latency
// from its schedule.
const probeImpl = "scalebench_probe"

type probeConfig struct {
	Role string `toml:"role" enum:"source|end" doc:"source: note each source's first datamap; end: record each datamap's latency from its schedule"`
}

func (*probeConfig) Validate() error { return nil }

type probe struct {
	o   *origins
	end bool
}

// origins holds the first wall time and timestamp per DS3D::SourceId, and
// the latencies the end probes recorded.
type origins struct {
	mu    sync.Mutex
	wall  map[int64]time.Time
	stamp map[int64]int64
	lat   []time.Duration
	err   error // a datamap reached an end probe without a schedule
}

// current is the origins of the run in progress; runs are sequential.
var current = &origins{}

func (o *origins) reset(capacity int) {
	o.mu.Lock()
	o.wall, o.stamp = map[int64]time.Time{}, map[int64]int64{}
	o.lat, o.err = make([]time.Duration, 0, capacity), nil
	o.mu.Unlock()
}

func (p *probe) Process(_ context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	now := time.Now()
	ts, _ := m.Timestamp()
	src, _ := m.Int64(ds3d.KeySourceID)
	o := p.o
	o.mu.Lock()
	if !p.end {
		if _, ok := o.wall[src]; !ok {
			o.wall[src], o.stamp[src] = now, ts
		}
	} else if w, ok := o.wall[src]; ok {
		o.lat = append(o.lat, now.Sub(w.Add(time.Duration(ts-o.stamp[src]))))
	} else if o.err == nil {
		o.err = fmt.Errorf("source %d reached an end %s without passing a source one", src, probeImpl)
	}
	o.mu.Unlock()
	return emit(m)
}

var registerOnce sync.Once

// registerProbe makes scalebench_probe available to configs built in this
// process (never to the ds3d command).
func registerProbe() {
	registerOnce.Do(func() {
		if err := ds3d.TryRegister(ds3d.KindFilter, probeImpl,
			"Pass-through filter of apps/scale-bench/cmd/scalebench: notes when each source's first datamap passed, the origin of its real-time schedule.",
			func() *probeConfig { return &probeConfig{} },
			func(c *probeConfig, _ *ds3d.Env) (any, error) { return &probe{o: current, end: c.Role == "end"}, nil }); err != nil {
			panic(err) // only a second registration under the same name, a programming error
		}
	})
}
