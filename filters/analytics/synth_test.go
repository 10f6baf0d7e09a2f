package analytics

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/synth"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/fusion/track3d"
)

// TestSynth3D runs analytics_3d in the world frame on a synthetic street
// (datasets/synth: the ego drives at 10 m/s among cars, vans, trucks,
// cyclists and pedestrians with exact trajectories). The generated boxes,
// stripped of ids and velocities and given 5 cm of position noise, go
// through tracker_3d in the lidar frame; analytics_3d takes them to the
// world through DS3D::EgoPose. Two lines cross the street. Checked
// against the scene's own trajectories:
//   - every crossing of an object seen for at least 8 frames before it is
//     found, in its direction, within a frame and 1.5 m, and no other;
//   - a zone over the street: every entry likewise, and an over-speed
//     event for each object more than 0.5 m/s over its 12 m/s limit, none
//     for one more than 0.5 m/s under it;
//   - speeds of tracks 15 frames old are within 0.5 m/s of the object's.
func TestSynth3D(t *testing.T) {
	const frames, maxDist = 80, 50.0
	scene, err := synth.NewScene(7, synth.Options{Frames: frames})
	if err != nil {
		t.Fatal(err)
	}
	rules := defaultRules(Labels3D)
	rules.SpeedTau = 1
	rules.MaxGap = 5
	lineX := []float64{30, 55}
	for i, x := range lineX {
		rules.Lines = append(rules.Lines, LineConfig{ID: string(rune('a' + i)), SourceID: -1, Points: [][2]float64{{x, -20}, {x, 20}}})
	}
	// A zone over the street between x = 35 and 50 with a 12 m/s limit.
	const zx0, zx1, limit = 35.0, 50.0, 12.0
	rules.Zones = []ZoneConfig{{ID: "z", SourceID: -1, Polygon: [][2]float64{{zx0, -20}, {zx1, -20}, {zx1, 20}, {zx0, 20}}, MaxSpeed: limit}}
	f, err := NewFilter3D(&Config3D{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), ResultKey: string(ds3d.KeyAnalytics),
		EventsKey: string(ds3d.KeyAnalyticsEvents), Frame: "world", Velocity: "auto", RulesConfig: rules})
	if err != nil {
		t.Fatal(err)
	}
	tr := track3d.New(track3d.DefaultConfig().Params())
	rng := rand.New(rand.NewPCG(1, 2))

	type gtCross struct {
		obj, frame int
		dir        int8
		x, y       float64
		found      bool
		required   bool // seen 8 frames before: the tracker has had time to confirm it
	}
	var want, entries []gtCross
	fast := map[int]bool{} // objects over the limit by more than 0.5 m/s when they enter the zone
	seen := map[int]int{}  // object → frames seen so far
	var events []ds3d.AnalyticsEvent
	var eventFrames []int
	speedChecks, speedBad, maxErr := 0, 0, 0.0
	for i := range frames {
		ts := synth.FrameTime(i)
		pose := scene.EgoPose(ts)
		gt := scene.Boxes(nil, pose, ts, maxDist)
		dets := make([]ds3d.Box3D, len(gt))
		for k, b := range gt {
			b.TrackID, b.VX, b.VY = -1, 0, 0
			b.CX += float32(0.05 * rng.NormFloat64())
			b.CY += float32(0.05 * rng.NormFloat64())
			dets[k] = b
		}
		// The truth: objects that were visible last frame and are now,
		// whose trajectory went over a line between the two frames.
		for _, b := range gt {
			o := &scene.Objects[b.TrackID]
			n := seen[o.ID]
			seen[o.ID] = n + 1
			if n < 1 || o.Speed == 0 {
				continue
			}
			x0, _ := o.At(synth.FrameTime(i - 1))
			x1, y1 := o.At(ts)
			if x0p, _ := o.At(synth.FrameTime(i - 1)); (x0p < zx0 || x0p > zx1) && x1 >= zx0 && x1 <= zx1 && math.Abs(y1) < 20 {
				entries = append(entries, gtCross{obj: o.ID, frame: i, x: x1, y: y1, required: n >= 8})
				if o.Speed > limit+0.5 && n >= 8 {
					fast[o.ID] = true
				}
			}
			for _, lx := range lineX {
				if (x0-lx)*(x1-lx) < 0 && math.Abs(y1) < 20 {
					dir := int8(1) // ends at x < lx: the left of (lx, −20)→(lx, 20)
					if x1 > lx {
						dir = -1
					}
					want = append(want, gtCross{obj: o.ID, frame: i, dir: dir, x: x1, y: y1, required: n >= 8})
				}
			}
		}
		m := ds3d.NewDataMap()
		m.Set(ds3d.KeyLidar3DBboxRawData, append([]ds3d.Box3D(nil), tr.Update(int64(ts*1e9), dets)...))
		m.Set(ds3d.KeyEgoPose, pose.Mat4())
		m.SetTimestamp(int64(ts * 1e9))
		if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
			t.Fatal(err)
		}
		res, err := ds3d.Get[*ds3d.Analytics](m, ds3d.KeyAnalytics)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Events {
			events = append(events, e)
			eventFrames = append(eventFrames, i)
		}
		// Speeds of settled tracks against the nearest object's.
		for _, ob := range res.Objects {
			if ob.Age < 15 || math.IsNaN(float64(ob.Speed)) {
				continue
			}
			best, bestD := -1, 1.0
			for k := range scene.Objects {
				x, y := scene.Objects[k].At(ts)
				if d := math.Hypot(x-ob.Pos[0], y-ob.Pos[1]); d < bestD {
					best, bestD = k, d
				}
			}
			if best < 0 {
				continue
			}
			speedChecks++
			d := math.Abs(float64(ob.Speed) - scene.Objects[best].Speed)
			maxErr = math.Max(maxErr, d)
			if d > 0.5 {
				speedBad++
				if speedBad <= 5 {
					t.Errorf("frame %d track %d: speed %.2f m/s, object %d (%s) %.2f", i, ob.TrackID, ob.Speed, best,
						scene.Objects[best].Class, scene.Objects[best].Speed)
				}
			}
		}
		m.Release()
	}
	if speedChecks < 100 {
		t.Errorf("only %d speed checks: the scene does not exercise speeds", speedChecks)
	}
	required := 0
	for _, w := range want {
		if w.required {
			required++
		}
	}
	if required < 3 {
		t.Fatalf("only %d crossings in the scene: it does not exercise the lines", len(want))
	}
	used := make([]bool, len(events))
	for wi := range want {
		w := &want[wi]
		for k, e := range events {
			if !used[k] && e.Type == ds3d.EventLineCrossing && e.Direction == w.dir && abs(eventFrames[k]-w.frame) <= 1 &&
				math.Hypot(e.Pos[0]-w.x, e.Pos[1]-w.y) < 1.5 {
				used[k], w.found = true, true
				break
			}
		}
		if !w.found && w.required {
			t.Errorf("crossing of object %d (%s) at frame %d, direction %d not found", w.obj, scene.Objects[w.obj].Class, w.frame, w.dir)
		}
	}
	// Zone entries, likewise; and an over-speed event for every object well
	// over the limit, none for one well under it.
	for wi := range entries {
		w := &entries[wi]
		for k, e := range events {
			if !used[k] && e.Type == ds3d.EventZoneEntry && abs(eventFrames[k]-w.frame) <= 1 && math.Hypot(e.Pos[0]-w.x, e.Pos[1]-w.y) < 1.5 {
				used[k], w.found = true, true
				break
			}
		}
		if !w.found && w.required {
			t.Errorf("entry of object %d at frame %d not found", w.obj, w.frame)
		}
	}
	overSpeed := 0
	for _, e := range events {
		if e.Type != ds3d.EventOverSpeed {
			continue
		}
		overSpeed++
		best, bestD := -1, 1.5
		for k := range scene.Objects {
			x, y := scene.Objects[k].At(float64(e.Timestamp) / 1e9)
			if d := math.Hypot(x-e.Pos[0], y-e.Pos[1]); d < bestD {
				best, bestD = k, d
			}
		}
		if best < 0 || scene.Objects[best].Speed < limit-0.5 {
			t.Errorf("over-speed event of track %d at (%.1f, %.1f): nearest object %d", e.TrackID, e.Pos[0], e.Pos[1], best)
		}
		delete(fast, best)
	}
	for id := range fast {
		t.Errorf("object %d (%.1f m/s) entered the zone without an over-speed event", id, scene.Objects[id].Speed)
	}
	t.Logf("%d zone entries in the truth; %d over-speed events", len(entries), overSpeed)
	extra := 0
	for k, e := range events {
		if (e.Type == ds3d.EventLineCrossing || e.Type == ds3d.EventZoneEntry) && !used[k] {
			extra++
			t.Errorf("crossing event not in the truth: frame %d track %d at (%.1f, %.1f) dir %d", eventFrames[k], e.TrackID, e.Pos[0], e.Pos[1], e.Direction)
		}
	}
	t.Logf("%d crossings in the truth (%d of objects seen 8 frames before); %d other crossing or entry events; %d speed checks, %d off by more than 0.5 m/s, largest error %.3f m/s",
		len(want), required, extra, speedChecks, speedBad, maxErr)
}
