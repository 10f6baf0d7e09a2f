package analytics

import (
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics checks the Prometheus export: a box crossing a line and
// entering a zone shows in the counters with its labels, as a registry
// gathers them.
func TestMetrics(t *testing.T) {
	c := defaultRules(COCOLabels)
	c.CountClasses = []string{"person"}
	c.Lines = []LineConfig{{ID: "gate", SourceID: -1, Points: [][2]float64{{100, 0}, {100, 200}}}}
	c.Zones = []ZoneConfig{{ID: "yard", SourceID: -1, Polygon: [][2]float64{{120, 0}, {300, 0}, {300, 200}, {120, 200}}}}
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		f.Analyse(3, int64(i+1)*1e8, int64(i), []ds3d.Object2D{box(1, "person", 80+10*float64(i), 50)})
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(f.MetricsCollector("p", "an")); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var lv []string
			for _, l := range m.GetLabel() {
				lv = append(lv, l.GetName()+"="+l.GetValue())
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			got[mf.GetName()+"{"+strings.Join(lv, ",")+"}"] = v
		}
	}
	want := map[string]float64{
		"ds3d_analytics_line_crossings_total{class=all,component=an,direction=negative,line=gate,pipeline=p,source=3}":    1,
		"ds3d_analytics_line_crossings_total{class=all,component=an,direction=positive,line=gate,pipeline=p,source=3}":    0,
		"ds3d_analytics_line_crossings_total{class=person,component=an,direction=negative,line=gate,pipeline=p,source=3}": 1,
		"ds3d_analytics_zone_entries_total{class=all,component=an,pipeline=p,source=3,zone=yard}":                         1,
		"ds3d_analytics_zone_entries_total{class=person,component=an,pipeline=p,source=3,zone=yard}":                      1,
		"ds3d_analytics_zone_inside{class=all,component=an,pipeline=p,source=3,zone=yard}":                                1,
		"ds3d_analytics_zone_exits_total{class=all,component=an,pipeline=p,source=3,zone=yard}":                           0,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != 2*(2+5) {
		t.Errorf("%d series, want 14 (2 classes × (2 line directions + 5 zone metrics))", len(got))
	}
}
