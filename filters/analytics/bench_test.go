package analytics

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// benchScene is 100 tracked objects walking on a 1920×1080 image with 8
// zones (hexagons) and 8 lines: the cost budget's case.
type benchScene struct {
	f    *Filter
	objs []ds3d.Object2D
	vel  [][2]float32
}

func newBenchScene(tb testing.TB) *benchScene {
	tb.Helper()
	c := defaultRules(COCOLabels)
	c.CountClasses = []string{"person", "car"}
	for i := range 8 {
		cx, cy := 200+float64(i%4)*450, 300+float64(i/4)*450
		var poly [][2]float64
		for k := range 6 {
			a := float64(k) * math.Pi / 3
			poly = append(poly, [2]float64{cx + 150*math.Cos(a), cy + 150*math.Sin(a)})
		}
		c.Zones = append(c.Zones, ZoneConfig{ID: fmt.Sprintf("z%d", i), SourceID: -1, Polygon: poly, Overcrowding: 5, MaxSpeed: 200, Expected: []float64{1, 0}})
	}
	for i := range 8 {
		x := 100 + float64(i)*230
		c.Lines = append(c.Lines, LineConfig{ID: fmt.Sprintf("l%d", i), SourceID: -1, Points: [][2]float64{{x, 50}, {x + 40, 1030}}})
	}
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c})
	if err != nil {
		tb.Fatal(err)
	}
	s := &benchScene{f: f}
	for i := range 100 {
		label := "person"
		if i%3 == 0 {
			label = "car"
		}
		s.objs = append(s.objs, ds3d.Object2D{Left: float32(19*i%1800) + 10, Top: float32(37*i%900) + 10, Width: 40, Height: 90,
			Label: label, TrackID: int64(i + 1), ClassID: -1})
		a := float64(i) * 2.39996
		s.vel = append(s.vel, [2]float32{float32(6 * math.Cos(a)), float32(6 * math.Sin(a))})
	}
	return s
}

// step moves every object (bouncing off the image border) and analyses
// the frame.
func (s *benchScene) step(frame int64) *ds3d.Analytics {
	for i := range s.objs {
		o, v := &s.objs[i], &s.vel[i]
		o.Left += v[0]
		o.Top += v[1]
		if o.Left < 0 || o.Left > 1880 {
			v[0] = -v[0]
		}
		if o.Top < 0 || o.Top > 990 {
			v[1] = -v[1]
		}
	}
	return s.f.Analyse(0, frame*33_333_333, frame, s.objs)
}

// BenchmarkAnalytics2D is one frame of 100 tracked objects and 16 rules.
func BenchmarkAnalytics2D(b *testing.B) {
	s := newBenchScene(b)
	for i := range 100 {
		s.step(int64(i + 1))
	}
	b.ReportAllocs()
	b.ResetTimer()
	fr := int64(101)
	for b.Loop() {
		s.step(fr)
		fr++
	}
}

// TestAnalyticsAllocs checks that a frame in steady state allocates
// nothing.
func TestAnalyticsAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	s := newBenchScene(t)
	fr := int64(1)
	for range 200 {
		s.step(fr)
		fr++
	}
	events := 0
	allocs := testing.AllocsPerRun(200, func() {
		events += len(s.step(fr).Events)
		fr++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per frame", allocs)
	}
	if events == 0 {
		t.Error("no events in 200 frames: the scene does not exercise the rules")
	}
}

// TestProcessAllocs checks both components' Process on a datamap: no
// allocation per frame once warm (results, events and their keys
// included).
func TestProcessAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	s := newBenchScene(t)
	m := ds3d.NewDataMap()
	defer m.Release()
	emit := func(*ds3d.DataMap) error { return nil }
	fr := int64(1)
	// Values boxed once, updated in place: the test's own Set allocates
	// nothing, so what is counted is the component's.
	objs, boxesAny := any(s.objs), any(nil)
	step2D := func() {
		for i := range s.objs {
			s.objs[i].Left += s.vel[i][0]
		}
		m.Set("o", objs)
		m.SetTimestamp(fr * 33_333_333)
		fr++
		if err := s.f.Process(context.Background(), m, emit); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		step2D()
	}
	if n := testing.AllocsPerRun(100, step2D); n != 0 {
		t.Errorf("analytics: %v allocations per frame", n)
	}

	c := defaultRules(Labels3D)
	// In the world frame: the pose below puts the boxes 100 m further in x.
	c.Lines = []LineConfig{{ID: "l", SourceID: -1, Points: [][2]float64{{110, -20}, {110, 20}}}}
	c.Zones = []ZoneConfig{{ID: "z", SourceID: -1, Polygon: [][2]float64{{100, -8}, {120, -8}, {120, 8}, {100, 8}}, MaxSpeed: 5}}
	f3, err := NewFilter3D(&Config3D{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), ResultKey: "r", EventsKey: "e",
		Frame: "world", Velocity: "auto", RulesConfig: c})
	if err != nil {
		t.Fatal(err)
	}
	boxes := make([]ds3d.Box3D, 100)
	for i := range boxes {
		boxes[i] = ds3d.Box3D{CX: float32(i % 30), CY: float32(i/30) - 2, DZ: 1.5, TrackID: int64(i), Label: "Car", VX: 8}
	}
	boxesAny = boxes
	pose := any(ds3d.Translation([3]float64{100, -3, 0}))
	step3D := func() {
		for i := range boxes {
			boxes[i].CX += 0.8
			if boxes[i].CX > 40 {
				boxes[i].CX = 0
			}
		}
		m.Set(ds3d.KeyLidar3DBboxRawData, boxesAny)
		m.Set(ds3d.KeyEgoPose, pose)
		m.SetTimestamp(fr * 100_000_000)
		fr++
		if err := f3.Process(context.Background(), m, emit); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		step3D()
	}
	events := 0
	if n := testing.AllocsPerRun(100, func() {
		step3D()
		ev, _ := ds3d.Get[*ds3d.AnalyticsEvents](m, "e")
		events += len(ev.Events)
	}); n != 0 {
		t.Errorf("analytics_3d: %v allocations per frame", n)
	}
	if events == 0 {
		t.Error("analytics_3d: no events: the scene does not exercise the rules")
	}
}
