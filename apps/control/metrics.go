package control

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// latencyBounds are the upper bounds of the exported latency histogram:
// powers of two nanoseconds from 1 µs to 17 s, less one nanosecond, so
// each aggregates whole buckets of the runtime's histogram and the
// cumulative counts are exact.
var latencyBounds = func() []float64 {
	var b []float64
	for k := 10; k <= 34; k++ {
		b = append(b, float64(int64(1)<<k-1)/1e9)
	}
	return b
}()

var states = []pipeline.State{pipeline.StateBuilt, pipeline.StateStarting, pipeline.StateRunning,
	pipeline.StateDraining, pipeline.StateFailed, pipeline.StateStopped, pipeline.StateFinished}

// collector reads a graph's counters at scrape time.
type collector struct {
	g       *pipeline.Graph
	p       *config.Pipeline
	name    string
	version string

	framesIn, framesOut, drops, xfers *prometheus.Desc
	latency, quantile, fps            *prometheus.Desc
	queued, queueCap                  *prometheus.Desc
	state, sinkFrames, sources, info  *prometheus.Desc
	sourcesStarted                    *prometheus.Desc
	poolInUse, poolSize, sourceMaps   *prometheus.Desc
	revision                          string
}

func newCollector(g *pipeline.Graph, p *config.Pipeline, version string) *collector {
	comp := []string{"pipeline", "component", "impl", "kind"}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("ds3d_"+name, help, labels, nil)
	}
	pl := []string{"pipeline"}
	if version == "" {
		version = "unknown"
	}
	return &collector{g: g, p: p, name: pipelineName(p), version: version,
		framesIn:       d("component_frames_in_total", "Datamaps the component took from its input queue.", comp...),
		framesOut:      d("component_frames_out_total", "Datamaps the component emitted.", comp...),
		drops:          d("component_drops_total", "Datamaps dropped at the component's input queue (leaky) or by the component itself.", comp...),
		xfers:          d("component_gpu_to_host_total", "GPU frames the runtime copied to the host before the component saw them.", comp...),
		latency:        d("component_latency_seconds", "Time the component spent per datamap (a loader: producing one).", comp...),
		quantile:       d("component_latency_quantile_seconds", "Latency quantiles since the start, from the runtime's histogram (within 6 %).", append(comp, "quantile")...),
		fps:            d("component_fps", "Datamaps per second over the component's active time (out, or in for sinks).", comp...),
		queued:         d("component_queue_length", "Items waiting in the component's input queue.", comp...),
		queueCap:       d("component_queue_capacity", "Capacity of the component's input queue.", comp...),
		state:          d("pipeline_state", "1 for the pipeline's current state, 0 for the others.", "pipeline", "state"),
		sinkFrames:     d("pipeline_sink_frames_total", "Datamaps that reached the sinks.", pl...),
		sources:        d("pipeline_sources", "Number of sources (loaders).", pl...),
		sourcesStarted: d("pipeline_sources_started", "Sources that have started.", pl...),
		info:           d("build_info", "Always 1; the labels tell the build.", "version", "goversion", "revision"),
		poolInUse:      d("pool_frames_in_use", "Frames of the component's pool handed out and not yet back (at mem_pool_size the component waits).", "pipeline", "component", "pool"),
		poolSize:       d("pool_frames", "Capacity of the component's frame pool (mem_pool_size).", "pipeline", "component", "pool"),
		sourceMaps:     d("source_datamaps_total", "Datamaps per DS3D::SourceId: produced by a loader that counts per source (kind dataloader), or arrived at a sink (kind datarender); rate() gives each source's datamaps per second.", "pipeline", "component", "kind", "source"),
		revision:       vcsRevision(),
	}
}

// vcsRevision is the commit the binary was built from, when the go
// command recorded it ("" in tests and builds outside a checkout).
func vcsRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.framesIn, c.framesOut, c.drops, c.xfers, c.latency, c.quantile, c.fps,
		c.queued, c.queueCap, c.state, c.sinkFrames, c.sources, c.sourcesStarted, c.info,
		c.poolInUse, c.poolSize, c.sourceMaps} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ms := c.g.Metrics()
	counts := make([]uint64, len(latencyBounds))
	for i, m := range ms {
		lv := []string{c.name, m.Name, m.Impl, strings.TrimPrefix(m.Kind, "ds3d::")}
		ch <- prometheus.MustNewConstMetric(c.framesIn, prometheus.CounterValue, float64(m.In), lv...)
		ch <- prometheus.MustNewConstMetric(c.framesOut, prometheus.CounterValue, float64(m.Out), lv...)
		ch <- prometheus.MustNewConstMetric(c.drops, prometheus.CounterValue, float64(m.Drops), lv...)
		ch <- prometheus.MustNewConstMetric(c.xfers, prometheus.CounterValue, float64(m.Transfers), lv...)
		ch <- prometheus.MustNewConstMetric(c.fps, prometheus.GaugeValue, m.FPS, lv...)
		ch <- prometheus.MustNewConstMetric(c.quantile, prometheus.GaugeValue, m.P50.Seconds(), append(lv, "0.5")...)
		ch <- prometheus.MustNewConstMetric(c.quantile, prometheus.GaugeValue, m.P99.Seconds(), append(lv, "0.99")...)
		if m.QueueCap > 0 {
			ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(m.Queued), lv...)
			ch <- prometheus.MustNewConstMetric(c.queueCap, prometheus.GaugeValue, float64(m.QueueCap), lv...)
		}
		clear(counts)
		var total uint64
		sum := c.g.LatencyBuckets(i, func(upper time.Duration, n uint64) {
			total += n
			s := float64(upper) / 1e9
			for j, b := range latencyBounds {
				if s <= b {
					counts[j] += n
					break
				}
			}
		})
		buckets := make(map[float64]uint64, len(latencyBounds))
		var cum uint64
		for j, b := range latencyBounds {
			cum += counts[j]
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(c.latency, total, sum.Seconds(), buckets, lv...)
	}
	st := c.g.Status()
	for _, s := range states {
		v := 0.0
		if s == st.State {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, c.name, string(s))
	}
	ch <- prometheus.MustNewConstMetric(c.sinkFrames, prometheus.CounterValue, float64(c.g.SinkFrames()), c.name)
	ch <- prometheus.MustNewConstMetric(c.sources, prometheus.GaugeValue, float64(st.Sources), c.name)
	ch <- prometheus.MustNewConstMetric(c.sourcesStarted, prometheus.GaugeValue, float64(st.SourcesStarted), c.name)
	ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, c.version, runtime.Version(), c.revision)
	// A series twice in one scrape fails the whole scrape: pools of one
	// name get their index appended, counts of one source are summed.
	for _, cp := range c.g.Pools() {
		seen := map[string]bool{}
		for i, p := range cp.Pools {
			name := p.Name
			if seen[name] {
				name += "#" + strconv.Itoa(i)
			}
			seen[name] = true
			ch <- prometheus.MustNewConstMetric(c.poolInUse, prometheus.GaugeValue, float64(p.InUse), c.name, cp.Component, name)
			ch <- prometheus.MustNewConstMetric(c.poolSize, prometheus.GaugeValue, float64(p.Size), c.name, cp.Component, name)
		}
	}
	type src struct {
		comp, kind, id string
	}
	var order []src
	sums := map[src]uint64{}
	for _, sc := range c.g.SourceCounts() {
		k := src{sc.Component, strings.TrimPrefix(sc.Kind, "ds3d::"), strconv.FormatInt(sc.Source, 10)}
		if sc.Other {
			k.id = "other"
		}
		if _, ok := sums[k]; !ok {
			order = append(order, k)
		}
		sums[k] += sc.Datamaps
	}
	for _, k := range order {
		ch <- prometheus.MustNewConstMetric(c.sourceMaps, prometheus.CounterValue, float64(sums[k]), c.name, k.comp, k.kind, k.id)
	}
}
