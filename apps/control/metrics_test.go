package control_test

import (
	"bytes"
	"math"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// scrape fetches /metrics and parses it with the Prometheus text parser.
func (r *run) scrape() map[string]*dto.MetricFamily {
	r.t.Helper()
	a := r.get("/metrics")
	if a.status != http.StatusOK {
		r.t.Fatalf("/metrics: %d %s", a.status, a.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(a.body))
	if err != nil {
		r.t.Fatalf("/metrics does not parse: %v", err)
	}
	return fams
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// series returns the value of family name for a component (and quantile).
func series(t *testing.T, fams map[string]*dto.MetricFamily, name, comp string, extra ...string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no metric family %s", name)
	}
	for _, m := range f.GetMetric() {
		if label(m, "component") != comp {
			continue
		}
		if len(extra) == 2 && label(m, extra[0]) != extra[1] {
			continue
		}
		return m
	}
	t.Fatalf("%s has no series for component %q %v", name, comp, extra)
	return nil
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.GetCounter().GetValue()
	case m.Gauge != nil:
		return m.GetGauge().GetValue()
	}
	return math.NaN()
}

// TestMetricsWhileRunning scrapes /metrics while a realtime pipeline runs
// (test_source at 200 Hz → passthrough → counting_sink, 300 datamaps) and
// checks each series against Graph.Metrics taken just before and just
// after the scrape, then, once the pipeline has finished, exactly — and
// against the counting_sink's own count.
func TestMetricsWhileRunning(t *testing.T) {
	r := start(t, chainDoc(true, "test_source\ncount = 300\nrate_hz = 200\npoints = 64", "passthrough", "counting_sink"), setup{start: true})
	r.waitFor("frames at the sink", func() bool { return r.g.SinkFrames() >= 50 })
	before := r.g.Metrics()
	fams := r.scrape()
	after := r.g.Metrics()
	if r.g.SinkFrames() >= 300 {
		t.Fatal("the pipeline finished before the scrape: not a scrape while running")
	}
	for i, m := range before {
		for _, c := range []struct {
			name   string
			lo, hi uint64
		}{
			{"ds3d_component_frames_in_total", m.In, after[i].In},
			{"ds3d_component_frames_out_total", m.Out, after[i].Out},
			{"ds3d_component_drops_total", m.Drops, after[i].Drops},
		} {
			s := series(t, fams, c.name, m.Name)
			if v := value(s); v < float64(c.lo) || v > float64(c.hi) {
				t.Errorf("%s{component=%q} = %v, outside [%d, %d]", c.name, m.Name, v, c.lo, c.hi)
			}
			if label(s, "impl") != m.Impl || label(s, "pipeline") != "ctl" {
				t.Errorf("%s{component=%q}: labels %v", c.name, m.Name, s.GetLabel())
			}
		}
	}
	if v := value(series(t, fams, "ds3d_pipeline_state", "", "state", "running")); v != 1 {
		// the state series carry no component label
		t.Errorf("pipeline_state{state=running} = %v during the run", v)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "ds3d_build_info", "ds3d_component_queue_length"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}

	// After the run nothing moves: the scrape must equal Graph.Metrics.
	fams = r.scrape()
	final := r.g.Metrics()
	sink := r.g.Component("sink").(*builtin.Counter)
	if sink.Count() != 300 {
		t.Fatalf("the sink counted %d datamaps, want 300", sink.Count())
	}
	for _, m := range final {
		want := map[string]float64{
			"ds3d_component_frames_in_total":  float64(m.In),
			"ds3d_component_frames_out_total": float64(m.Out),
			"ds3d_component_drops_total":      float64(m.Drops),
			"ds3d_component_fps":              m.FPS,
		}
		for name, w := range want {
			if v := value(series(t, fams, name, m.Name)); v != w {
				t.Errorf("%s{component=%q} = %v, Graph.Metrics says %v", name, m.Name, v, w)
			}
		}
		p50 := value(series(t, fams, "ds3d_component_latency_quantile_seconds", m.Name, "quantile", "0.5"))
		p99 := value(series(t, fams, "ds3d_component_latency_quantile_seconds", m.Name, "quantile", "0.99"))
		if p50 != m.P50.Seconds() || p99 != m.P99.Seconds() {
			t.Errorf("%s: quantiles %v/%v, Graph.Metrics says %v/%v", m.Name, p50, p99, m.P50, m.P99)
		}
		// One latency per datamap handled: produced by the loader, taken by the others.
		n := m.In
		if m.Kind == "ds3d::dataloader" {
			n = m.Out
		}
		h := series(t, fams, "ds3d_component_latency_seconds", m.Name).GetHistogram()
		if h.GetSampleCount() != n {
			t.Errorf("%s: latency histogram counts %d, want %d", m.Name, h.GetSampleCount(), n)
		}
		// The runtime's p50 lies in the exported bucket where the
		// cumulative count first reaches half: within (le/2, le].
		rank := uint64(math.Ceil(0.5 * float64(n)))
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() >= rank {
				le := b.GetUpperBound()
				if s := m.P50.Seconds(); s > le || s <= le/2 {
					t.Errorf("%s: p50 %v outside the histogram's bucket (%g, %g]", m.Name, m.P50, le/2, le)
				}
				break
			}
		}
		if h.GetSampleSum() <= 0 || h.GetSampleSum() > float64(n)*m.P99.Seconds()*2+1 {
			t.Errorf("%s: latency sum %v implausible for %d datamaps of p99 %v", m.Name, h.GetSampleSum(), n, m.P99)
		}
	}
	if v := value(series(t, fams, "ds3d_component_frames_in_total", "sink")); v != float64(sink.Count()) {
		t.Errorf("sink frames_in %v, the counting_sink counted %d", v, sink.Count())
	}
	if v := fams["ds3d_pipeline_sink_frames_total"].GetMetric()[0].GetCounter().GetValue(); v != 300 {
		t.Errorf("pipeline_sink_frames_total = %v", v)
	}
	if v := value(series(t, fams, "ds3d_pipeline_state", "", "state", string(pipeline.StateFinished))); v != 1 {
		t.Errorf("pipeline_state{state=finished} = %v after the run", v)
	}
	bi := fams["ds3d_build_info"].GetMetric()[0]
	if label(bi, "version") != "test" || !strings.HasPrefix(label(bi, "goversion"), "go") {
		t.Errorf("build_info labels %v", bi.GetLabel())
	}
}

// TestQueueMetrics: behind a sink that takes 20 ms a datamap, a source that
// runs as fast as it can keeps the sink's queue (4 deep by default) full,
// and the scrape shows it.
func TestQueueMetrics(t *testing.T) {
	r := start(t, chainDoc(false, "test_source\ncount = 0", "counting_sink\ndelay = \"20ms\""), setup{start: true})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() >= 3 })
	fams := r.scrape()
	if c := value(series(t, fams, "ds3d_component_queue_capacity", "sink")); c != 4 {
		t.Errorf("sink queue capacity %v, want 4", c)
	}
	if n := value(series(t, fams, "ds3d_component_queue_length", "sink")); n < 3 || n > 4 {
		t.Errorf("sink queue length %v behind a slow sink, want 3 or 4", n)
	}
	for _, m := range fams["ds3d_component_queue_length"].GetMetric() {
		if label(m, "component") == "source" {
			t.Error("a source has no input queue, yet reports one")
		}
	}
}
