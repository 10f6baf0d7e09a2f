package analytics

import (
	"math"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// box returns a 20×40 box whose bottom centre (the anchor) is (x, y).
func box(id int64, label string, x, y float64) ds3d.Object2D {
	return ds3d.Object2D{Left: float32(x - 10), Top: float32(y - 40), Width: 20, Height: 40, TrackID: id, Label: label, ClassID: -1}
}

// scenario runs frames (one slice of objects each) at 10 fps through a
// filter with c's rules and returns every frame's result.
func scenario(t *testing.T, c RulesConfig, frames [][]ds3d.Object2D) []*ds3d.Analytics {
	t.Helper()
	c.ResultRing = len(frames) + 1
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c})
	if err != nil {
		t.Fatal(err)
	}
	var out []*ds3d.Analytics
	for i, objs := range frames {
		out = append(out, f.Analyse(0, int64(i+1)*100_000_000, int64(i), objs))
	}
	return out
}

type ev struct {
	frame int
	typ   ds3d.AnalyticsEventType
	rule  string
	track int64
	dir   int8
}

func events(res []*ds3d.Analytics) []ev {
	var out []ev
	for i, r := range res {
		for _, e := range r.Events {
			out = append(out, ev{i, e.Type, e.RuleID, e.TrackID, e.Direction})
		}
	}
	return out
}

// TestSemantics2D walks boxes past a line and through a zone and checks
// every event against positions worked out by hand: the line x = 100 from
// y = 0 to 200 (A→B downwards, so its positive side, cross(B−A, P−A) > 0,
// is x < 100); the zone the square 120..180 × 50..150.
func TestSemantics2D(t *testing.T) {
	c := defaultRules(COCOLabels)
	c.SpeedTau = 0
	c.CountClasses = []string{"person", "car"}
	c.Lines = []LineConfig{{ID: "L", SourceID: -1, Points: [][2]float64{{100, 0}, {100, 200}}}}
	c.Zones = []ZoneConfig{{ID: "Z", SourceID: -1, Polygon: [][2]float64{{120, 50}, {180, 50}, {180, 150}, {120, 150}},
		Overcrowding: 2, MaxSpeed: 150, Expected: []float64{-1, 0}}}
	c.Directions = []DirectionConfig{{ID: "east", SourceID: -1, Points: [][2]float64{{0, 0}, {1, 0}}}}
	var frames [][]ds3d.Object2D
	for i := range 16 {
		x := 50 + 10*float64(i) // track 1: 10 px a frame, 100 px/s, on x = 100 at frame 5
		objs := []ds3d.Object2D{box(1, "person", x, 100)}
		// Track 2 touches the line (frame 2) and goes back.
		if i < 5 {
			objs = append(objs, box(2, "person", []float64{80, 90, 100, 90, 80}[i], 20))
		}
		// Track 3 passes below the segment's end (y = 300): no crossing.
		objs = append(objs, box(3, "car", x, 300))
		// Track 4, a car, sits in the zone from frame 9 at 200 px/s for
		// two frames, then stops: an over-speed car; with track 1 in the
		// zone it makes it overcrowded.
		if i >= 8 {
			objs = append(objs, box(4, "car", []float64{130, 150, 170, 170, 170, 170, 170, 170}[i-8], 60))
		}
		frames = append(frames, objs)
	}
	res := scenario(t, c, frames)
	got := events(res)
	want := []ev{
		{6, ds3d.EventLineCrossing, "L", 1, -1}, // x 100 (on the line) → 110: ends on the negative side
		{7, ds3d.EventZoneEntry, "Z", 1, 0},     // x = 120: on the border is inside
		{7, ds3d.EventWrongWay, "Z", 1, 0},      // moving +x in a zone that expects −x
		{8, ds3d.EventOvercrowding, "Z", -1, 0}, // track 4 appears inside: two objects
		{9, ds3d.EventOverSpeed, "Z", 4, 0},     // track 4's second frame: 200 px/s > 150
		{9, ds3d.EventWrongWay, "Z", 4, 0},      // and +x too
	}
	// Track 1 reaches x = 190 at frame 14: exit after 7 frames (0.7 s).
	want = append(want, ev{14, ds3d.EventZoneExit, "Z", 1, 0})
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d: %v, want %v", i, got[i], want[i])
		}
	}
	// Track 4 appeared inside (frame 8): a track's first state enters nothing.
	for _, r := range res {
		for _, e := range r.Events {
			if e.Type == ds3d.EventZoneExit && math.Abs(float64(e.Dwell)-0.7) > 1e-6 {
				t.Errorf("dwell %g s, want 0.7", e.Dwell)
			}
		}
	}
	// Frame 11: both tracks in the zone, track 4 stopped; person and car
	// rows; track 1 is wrong-way (moving +x against the zone's −x) and
	// moves east.
	r := res[11]
	rows := map[string]ds3d.AnalyticsCount{}
	for _, n := range r.Counts {
		rows[r.Rules[n.Rule].ID+"/"+n.Label] = n
	}
	if z := rows["Z/"]; z.Inside != 2 || !z.Overcrowded || z.TotalEntries != 1 || z.WrongWay != 1 || z.TotalOvercrowdings != 1 {
		t.Errorf("zone row at frame 11: %+v", z)
	}
	if z := rows["Z/person"]; z.Inside != 1 || z.TotalEntries != 1 {
		t.Errorf("zone person row: %+v", z)
	}
	if z := rows["Z/car"]; z.Inside != 1 || z.TotalEntries != 0 || z.OverSpeed != 0 {
		t.Errorf("zone car row: %+v (track 4 stopped at frame 11)", z)
	}
	if l := rows["L/"]; l.TotalNegative != 1 || l.TotalPositive != 0 {
		t.Errorf("line row: %+v", l)
	}
	o := r.Objects[0]
	if o.TrackID != 1 || o.Speed != 100 || !o.WrongWay || o.Directions != 1<<2 || o.Zones != 1 || math.Abs(float64(o.Dwell)-0.4) > 1e-6 {
		t.Errorf("track 1 at frame 11: %+v", o)
	}
	if o := res[6].Objects[0]; o.Crossed != 1 || o.CrossDir != -1 {
		t.Errorf("track 1 at frame 6: crossed %d dir %d", o.Crossed, o.CrossDir)
	}
}

// TestMinTrackAge checks DeepStream's minimum-age mode: a track that
// crosses at its second frame is not counted with min_track_age = 3, and
// one that crosses later is.
func TestMinTrackAge(t *testing.T) {
	c := defaultRules(COCOLabels)
	c.MinTrackAge = 3
	c.Lines = []LineConfig{{ID: "L", SourceID: -1, Points: [][2]float64{{100, 0}, {100, 200}}}}
	var frames [][]ds3d.Object2D
	for i := range 6 {
		frames = append(frames, []ds3d.Object2D{box(1, "person", 95+10*float64(i), 50), box(2, "person", 75+10*float64(i), 150)})
	}
	got := events(scenario(t, c, frames))
	want := []ev{{3, ds3d.EventLineCrossing, "L", 2, -1}} // track 2: x 95 → 105 at its fourth frame
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("events %v, want %v", got, want)
	}
}

// TestInverseROI checks that an inverse zone holds what is outside its
// polygon, and that a zone limited to a class counts only that class.
func TestInverseROI(t *testing.T) {
	c := defaultRules(COCOLabels)
	sq := [][2]float64{{0, 0}, {100, 0}, {100, 100}, {0, 100}}
	c.Zones = []ZoneConfig{{ID: "out", SourceID: -1, Polygon: sq, Inverse: true}, {ID: "cars", SourceID: -1, Polygon: sq, Classes: []string{"car"}}}
	res := scenario(t, c, [][]ds3d.Object2D{{box(1, "person", 50, 50), box(2, "car", 50, 50), box(3, "car", 150, 50), box(-1, "person", 300, 300)}})
	r := res[0]
	if r.Counts[0].Inside != 2 || r.Counts[1].Inside != 1 {
		t.Errorf("inside: inverse %d (want 2: track 3 and the untracked one), cars %d (want 1)", r.Counts[0].Inside, r.Counts[1].Inside)
	}
	if r.Objects[0].Zones != 0 || r.Objects[1].Zones != 2 || r.Objects[2].Zones != 1 || r.Objects[3].Zones != 1 {
		t.Errorf("zones per object: %d %d %d %d", r.Objects[0].Zones, r.Objects[1].Zones, r.Objects[2].Zones, r.Objects[3].Zones)
	}
}

// TestPerSource checks that a rule with a source id applies to that
// stream only and that streams keep separate counts.
func TestPerSource(t *testing.T) {
	c := defaultRules(COCOLabels)
	c.Lines = []LineConfig{{ID: "L", SourceID: 1, Points: [][2]float64{{100, 0}, {100, 200}}}}
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c})
	if err != nil {
		t.Fatal(err)
	}
	var n [2]int
	for i := range 4 {
		for src := range int32(2) {
			r := f.Analyse(src, int64(i+1)*1e8, int64(i), []ds3d.Object2D{box(1, "person", 85+10*float64(i), 50)})
			n[src] += len(r.Events)
		}
	}
	if n != [2]int{0, 1} {
		t.Errorf("events per source %v, want [0 1]", n)
	}
}

// TestExitAfter checks the exit of a track that vanishes inside a zone
// (the square 120..180 × 50..150, 10 fps, frame i at (i+1)·0.1 s): track 1
// enters at frame 1 (x = 130), is last seen at frame 2 (0.3 s, x = 150)
// and comes back inside at frame 10; track 2 stays inside throughout.
// With exit_after = 0.5 s the exit comes at the first frame at least 0.5 s
// after 0.3 s, frame 7, with the dwell until it was last seen (0.1 s) and
// its last position; back inside, it enters again. With max_track_gap = 3
// frames and a longer exit_after it exits when forgotten, at frame 6 (gone
// for more than 3 frames); with exit_after = 0 never.
func TestExitAfter(t *testing.T) {
	var frames [][]ds3d.Object2D
	for i := range 12 {
		objs := []ds3d.Object2D{box(2, "person", 170, 60)}
		switch {
		case i <= 2:
			objs = append(objs, box(1, "person", []float64{100, 130, 150}[i], 100))
		case i >= 10:
			objs = append(objs, box(1, "person", 160, 100))
		}
		frames = append(frames, objs)
	}
	for _, tc := range []struct {
		name      string
		exitAfter time.Duration
		gap       int
		want      []ev
	}{
		{"exit_after", 500 * time.Millisecond, 30, []ev{{1, ds3d.EventZoneEntry, "Z", 1, 0}, {7, ds3d.EventZoneExit, "Z", 1, 0}, {10, ds3d.EventZoneEntry, "Z", 1, 0}}},
		{"forgotten first", 10 * time.Second, 3, []ev{{1, ds3d.EventZoneEntry, "Z", 1, 0}, {6, ds3d.EventZoneExit, "Z", 1, 0}}},
		{"never", 0, 30, []ev{{1, ds3d.EventZoneEntry, "Z", 1, 0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultRules(COCOLabels)
			c.ExitAfter, c.MaxGap = tc.exitAfter, tc.gap
			c.Zones = []ZoneConfig{{ID: "Z", SourceID: -1, Polygon: [][2]float64{{120, 50}, {180, 50}, {180, 150}, {120, 150}}}}
			res := scenario(t, c, frames)
			got := events(res)
			if len(got) != len(tc.want) {
				t.Fatalf("events %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("event %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if len(tc.want) < 2 {
				return
			}
			f := tc.want[1].frame
			e := res[f].Events[0]
			if e.Dwell < 0.0999 || e.Dwell > 0.1001 || e.Pos != [2]float64{150, 100} || e.Label != "person" || e.Timestamp != int64(f+1)*100_000_000 {
				t.Errorf("exit %+v: want dwell 0.1 s, position (150, 100), time of frame %d", e, f)
			}
			zc := res[f].Counts[0]
			if zc.Exits != 1 || zc.TotalExits != 1 || zc.Inside != 1 {
				t.Errorf("frame %d counts %+v: want 1 exit, 1 inside (track 2)", f, zc)
			}
		})
	}
}
