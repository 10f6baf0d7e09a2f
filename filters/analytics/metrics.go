package analytics

import (
	"strconv"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/prometheus/client_golang/prometheus"
)

// Counters keeps the latest counts of every stream for the metrics, which
// are read on another goroutine (a Prometheus scrape).
type Counters struct {
	mu    sync.Mutex
	rules []ds3d.AnalyticsRule
	by    map[int32][]ds3d.AnalyticsCount
	order []int32
}

func newCounters(e *Engine) *Counters {
	return &Counters{rules: e.Rules(), by: map[int32][]ds3d.AnalyticsCount{}}
}

// add copies a result's counts: no allocation once the stream is known.
func (c *Counters) add(r *ds3d.Analytics) {
	c.mu.Lock()
	cur, ok := c.by[r.SourceID]
	if !ok {
		c.order = append(c.order, r.SourceID)
	}
	c.by[r.SourceID] = append(cur[:0], r.Counts...)
	c.mu.Unlock()
}

// Each calls fn with every stream's latest count rows, streams in the
// order they first came.
func (c *Counters) Each(fn func(source int32, rule *ds3d.AnalyticsRule, cnt *ds3d.AnalyticsCount)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, src := range c.order {
		cs := c.by[src]
		for i := range cs {
			fn(src, &c.rules[cs[i].Rule], &cs[i])
		}
	}
}

// Counters returns the filter's counts for the metrics.
func (f *Filter) Counters() *Counters { return f.counters }

// Collector exports the counts as Prometheus metrics, labelled with the
// pipeline and component names, the stream, the rule's id and the class
// ("all" for the all-class row):
//
//	ds3d_analytics_zone_inside{…,zone,class}                 objects in the zone now
//	ds3d_analytics_zone_entries_total / _exits_total          entries, exits since the start
//	ds3d_analytics_zone_occupancy_seconds_total               object-seconds inside
//	ds3d_analytics_zone_overcrowdings_total                   times it went over its threshold
//	ds3d_analytics_line_crossings_total{…,line,class,direction="positive|negative"}
type Collector struct {
	c                                       *Counters
	pipeline, component                     string
	inside, entries, exits, occ, crowd, crs *prometheus.Desc
}

// NewCollector returns the collector of c for a registry.
func NewCollector(c *Counters, pipeline, component string) *Collector {
	zl := []string{"pipeline", "component", "source", "zone", "class"}
	d := func(name, help string, labels []string) *prometheus.Desc {
		return prometheus.NewDesc("ds3d_analytics_"+name, help, labels, nil)
	}
	return &Collector{c: c, pipeline: pipeline, component: component,
		inside:  d("zone_inside", "Objects in the zone in the stream's last frame.", zl),
		entries: d("zone_entries_total", "Tracks that entered the zone.", zl),
		exits:   d("zone_exits_total", "Tracks that left the zone.", zl),
		occ:     d("zone_occupancy_seconds_total", "Object-seconds spent in the zone: its rate is the mean occupancy.", zl),
		crowd:   d("zone_overcrowdings_total", "Times the zone went over its overcrowding threshold.", zl),
		crs:     d("line_crossings_total", "Tracks that crossed the line, by the side they ended on.", []string{"pipeline", "component", "source", "line", "class", "direction"}),
	}
}

// Describe sends the metric descriptions.
func (m *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.inside, m.entries, m.exits, m.occ, m.crowd, m.crs} {
		ch <- d
	}
}

// Collect sends the current values.
func (m *Collector) Collect(ch chan<- prometheus.Metric) {
	m.c.Each(func(src int32, r *ds3d.AnalyticsRule, c *ds3d.AnalyticsCount) {
		class := c.Label
		if c.ClassID < 0 {
			class = "all"
		}
		s := strconv.Itoa(int(src))
		switch r.Kind {
		case ds3d.RuleZone:
			lv := []string{m.pipeline, m.component, s, r.ID, class}
			ch <- prometheus.MustNewConstMetric(m.inside, prometheus.GaugeValue, float64(c.Inside), lv...)
			ch <- prometheus.MustNewConstMetric(m.entries, prometheus.CounterValue, float64(c.TotalEntries), lv...)
			ch <- prometheus.MustNewConstMetric(m.exits, prometheus.CounterValue, float64(c.TotalExits), lv...)
			ch <- prometheus.MustNewConstMetric(m.occ, prometheus.CounterValue, c.OccupancySeconds, lv...)
			ch <- prometheus.MustNewConstMetric(m.crowd, prometheus.CounterValue, float64(c.TotalOvercrowdings), lv...)
		case ds3d.RuleLine:
			ch <- prometheus.MustNewConstMetric(m.crs, prometheus.CounterValue, float64(c.TotalPositive), m.pipeline, m.component, s, r.ID, class, "positive")
			ch <- prometheus.MustNewConstMetric(m.crs, prometheus.CounterValue, float64(c.TotalNegative), m.pipeline, m.component, s, r.ID, class, "negative")
		}
	})
}

// MetricsCollector returns the collector of the filter's counts: the
// control server registers it for components that have one.
func (f *Filter) MetricsCollector(pipeline, component string) prometheus.Collector {
	return NewCollector(f.counters, pipeline, component)
}

// MetricsCollector returns the collector of the filter's counts.
func (f *Filter3D) MetricsCollector(pipeline, component string) prometheus.Collector {
	return NewCollector(f.counters, pipeline, component)
}
