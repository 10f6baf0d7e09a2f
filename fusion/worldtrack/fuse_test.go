package worldtrack

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/datasets/dair"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/detect"
	"github.com/ds3d-go/ds3d-go/fusion/track3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// pose is a roadside unit's placement: world = R(yaw)·local + (x, y).
type pose struct{ x, y, yaw float64 }

func (p pose) toWorld(x, y float64) (float64, float64) {
	s, c := math.Sincos(p.yaw)
	return c*x - s*y + p.x, s*x + c*y + p.y
}

func (p pose) toLocal(x, y float64) (float64, float64) {
	s, c := math.Sincos(p.yaw)
	x, y = x-p.x, y-p.y
	return c*x + s*y, -s*x + c*y
}

// unitView is what one unit's lidar gives the worker: the points of the
// world scene that lie in the unit's region of interest (its own frame, x
// in [0, reach], |y| ≤ 30 m), moved to the world frame by the pose the
// unit believes it has (truth plus a calibration error).
func unitView(t *testing.T, scene []float32, truth, believed pose, reach float64) *ds3d.Frame {
	t.Helper()
	var pts []float32
	for i := 0; i+3 < len(scene); i += 4 {
		lx, ly := truth.toLocal(float64(scene[i]), float64(scene[i+1]))
		if lx < 0 || lx > reach || math.Abs(ly) > 30 {
			continue
		}
		wx, wy := believed.toWorld(lx, ly)
		pts = append(pts, float32(wx), float32(wy), scene[i+2], scene[i+3])
	}
	f := ds3d.NewLidarFrame(len(pts) / 4)
	copy(ds3d.AsFloat32(f), pts)
	return f
}

// TestFuseDAIRTwoUnits: the DAIR-V2X-C infrastructure frame is the world
// scene; no second real unit overlaps it in the samples (one roadside frame;
// TUMTraf's sample has cameras only), so two units look at it from
// different places: A at the world origin looking +x (sees x ≤ 55 m), B at
// (110, 0) looking back −x (sees x ≥ 30 m), B's pose off by 0.4 m and 0.5°
// as a calibration error is. Each unit's points go through
// model_free_detector (the v2x-cloud worker's settings) and its own
// tracker_3d for 8 frames at 10 Hz (B 50 ms after A); the fuser gets the
// tracked lists in turn. Checked against the frame's labels (not the
// fuser's rule): every labelled object tracked by both units is one fused
// box, one tracked by one unit is one fused box, the fused ids are unique
// and do not change from frame to frame, and the fused list is shorter
// than the two lists together by the objects both track.
func TestFuseDAIRTwoUnits(t *testing.T) {
	frame := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(frame, sampledata.Sample(t, "v2x/dair-v2x-c/infrastructure-side/velodyne/001366.pcd"), lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	labels, err := dair.ReadLabels(sampledata.Sample(t, "v2x/dair-v2x-c/infrastructure-side/label/virtuallidar/001366.json"))
	if err != nil {
		t.Fatal(err)
	}
	scene := ds3d.AsFloat32(frame)
	a := pose{}
	bTruth := pose{x: 110, y: 0, yaw: math.Pi}
	bBelieved := pose{x: 110.4, y: 0, yaw: math.Pi + 0.5*math.Pi/180}
	views := []*ds3d.Frame{unitView(t, scene, a, a, 55), unitView(t, scene, bTruth, bBelieved, 80)}

	spec, ok := ds3d.Lookup("model_free_detector")
	if !ok {
		t.Fatal("model_free_detector is not registered")
	}
	dc := spec.NewConfig().(*detect.Config)
	dc.XRange, dc.YRange, dc.ZRange = []float64{-110, 110}, []float64{-110, 110}, []float64{-3.5, 1.5}
	dc.FOVDeg, dc.CellSize, dc.MinPoints = 0, 0.3, 10
	if err := ds3d.CheckConfig(dc); err != nil {
		t.Fatal(err)
	}
	dets := make([][]ds3d.Box3D, 2)
	for u, v := range views {
		dets[u] = detect.New(dc.Params()).Detect(nil, v)
	}
	trackers := []*track3d.Tracker{track3d.New(track3d.DefaultConfig().Params()), track3d.New(track3d.DefaultConfig().Params())}

	cfg := DefaultConfig()
	fl := NewFilter(cfg)
	var tracked [2][]ds3d.Box3D
	var fused []ds3d.Box3D
	idAt := map[int]int64{} // label index → fused id of the last frames
	const frames = 8
	for k := range frames {
		for u := range 2 {
			ts := int64(k)*100_000_000 + int64(u)*50_000_000
			tracked[u] = append(tracked[u][:0], trackers[u].Update(ts, dets[u])...)
			m := ds3d.NewDataMap()
			m.SetInt64(ds3d.KeySourceID, int64(u))
			m.SetTimestamp(ts)
			m.Set(ds3d.KeyLidar3DBboxRawData, append([]ds3d.Box3D(nil), tracked[u]...))
			if err := fl.Process(context.Background(), m, func(out *ds3d.DataMap) error {
				fused, err = ds3d.Get[[]ds3d.Box3D](out, ds3d.KeyLidar3DBboxRawData)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			m.Release()
			if k < 4 {
				continue // tracks are confirmed from the third frame on
			}
			ids := map[int64]bool{}
			for _, b := range fused {
				if b.TrackID >= 0 && ids[b.TrackID] {
					t.Fatalf("frame %d: fused id %d twice", k, b.TrackID)
				}
				ids[b.TrackID] = true
			}
			for li, l := range labels {
				near := within(fused, l.X, l.Y, 2.5)
				if len(near) != 1 {
					continue
				}
				if prev, ok := idAt[li]; ok && prev != near[0].TrackID {
					t.Errorf("frame %d unit %d: the %s at (%.1f, %.1f) changed fused id %d → %d", k, u, l.Type, l.X, l.Y, prev, near[0].TrackID)
				}
				idAt[li] = near[0].TrackID
			}
		}
	}

	both, one := 0, 0
	for _, l := range labels {
		if l.Type == "Trafficcone" {
			continue
		}
		na, nb, nf := len(within(tracked[0], l.X, l.Y, 2.5)), len(within(tracked[1], l.X, l.Y, 2.5)), len(within(fused, l.X, l.Y, 2.5))
		t.Logf("%-12s at (%6.1f, %6.1f): tracked by A %d, by B %d; fused boxes there %d", l.Type, l.X, l.Y, na, nb, nf)
		switch {
		case na == 1 && nb == 1:
			both++
			if nf != 1 {
				t.Errorf("the %s at (%.1f, %.1f), tracked by both units, is %d fused boxes, want 1", l.Type, l.X, l.Y, nf)
			}
		case na+nb == 1:
			one++
			if nf != 1 {
				t.Errorf("the %s at (%.1f, %.1f), tracked by one unit, is %d fused boxes, want 1", l.Type, l.X, l.Y, nf)
			}
		}
	}
	if both < 2 || one < 2 {
		t.Errorf("%d labelled objects tracked by both units and %d by one: the layout should give at least 2 of each", both, one)
	}
	if len(fused) > len(tracked[0])+len(tracked[1])-both {
		t.Errorf("%d fused boxes from %d + %d tracks with %d objects in both: duplicates left", len(fused), len(tracked[0]), len(tracked[1]), both)
	}
	t.Logf("unit A %d tracks, unit B %d, fused %d; %d labelled objects in both views, %d in one", len(tracked[0]), len(tracked[1]), len(fused), both, one)
}

// within returns the boxes whose BEV centre is within r of (x, y).
func within(bs []ds3d.Box3D, x, y, r float64) []ds3d.Box3D {
	var out []ds3d.Box3D
	for _, b := range bs {
		if math.Hypot(float64(b.CX)-x, float64(b.CY)-y) <= r {
			out = append(out, b)
		}
	}
	return out
}

// TestFuserRules: the rules on hand-made lists. Two boxes of one unit a
// metre apart stay two objects; another unit's box between them joins the
// nearer; a box of another class is not joined (class_aware); the fused id
// is the older track's and survives the unit that gave it leaving; a unit
// older than max_age takes no part; the fused centre moves by velocity.
func TestFuserRules(t *testing.T) {
	f := New(Params{GateM: 2, ClassAware: true, MaxAgeNS: 300_000_000})
	box := func(x, y float64, track int64, class int32) ds3d.Box3D {
		return ds3d.Box3D{CX: float32(x), CY: float32(y), DX: 4, DY: 2, DZ: 1.5, ClassID: class, Score: 0.8, TrackID: track}
	}
	out := f.Update(nil, 0, 0, []ds3d.Box3D{box(10, 0, 1, 0), box(11, 0, 2, 0)})
	if len(out) != 2 || out[0].TrackID == out[1].TrackID {
		t.Fatalf("one unit's two boxes: %+v", out)
	}
	idOf := map[float32]int64{out[0].CX: out[0].TrackID, out[1].CX: out[1].TrackID}
	out = f.Update(nil, 1, 50_000_000, []ds3d.Box3D{box(10.8, 0.2, 7, 0), box(30, 0, 8, 0), box(11.2, 5, 9, 2)})
	if len(out) != 4 {
		t.Fatalf("%d fused boxes, want 4 (10|10.8 apart? no: 11 and 10.8 join; 10; 30; the class-2 box): %+v", len(out), out)
	}
	var joined *ds3d.Box3D
	for i := range out {
		if math.Abs(float64(out[i].CX)-10.9) < 0.01 {
			joined = &out[i]
		}
	}
	if joined == nil || joined.TrackID != idOf[11] {
		t.Fatalf("the box at 10.8 should join the one at 11 (centre 10.9, id %d): %+v", idOf[11], out)
	}
	// Unit 0 goes stale (older than max_age): unit 1's track 7 keeps the
	// fused id it shared with unit 0's track 2.
	out = f.Update(nil, 1, 500_000_000, []ds3d.Box3D{box(10.8, 0.2, 7, 0)})
	if len(out) != 1 || out[0].TrackID != idOf[11] || out[0].CX != 10.8 {
		t.Fatalf("unit 0 stale: %+v, want unit 1's box alone with id %d", out, idOf[11])
	}
	// Velocity: a box 0.2 s old moving at 5 m/s is fused 1 m further on.
	b := box(0, 0, 3, 0)
	b.VX = 5
	f.Update(nil, 2, 600_000_000, []ds3d.Box3D{b})
	out = f.Update(nil, 1, 800_000_000, nil)
	if len(out) != 1 || math.Abs(float64(out[0].CX)-1) > 1e-6 {
		t.Fatalf("moved box: %+v, want centre x 1", out)
	}
}

// TestFuserAllocs: in steady state (same units, same tracks) Update
// allocates nothing when dst has room.
func TestFuserAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "the race detector allocates")
	f := New(Params{GateM: 2, ClassAware: true, MaxAgeNS: int64(time.Second)})
	lists := [3][]ds3d.Box3D{}
	for u := range lists {
		for k := range 20 {
			lists[u] = append(lists[u], ds3d.Box3D{CX: float32(4*k) + 0.3*float32(u), CY: float32(u), DX: 4, DY: 2, DZ: 1.5, Score: 0.5, TrackID: int64(k)})
		}
	}
	dst := make([]ds3d.Box3D, 0, 64)
	ts := int64(0)
	step := func() {
		for u := range lists {
			ts += 30_000_000
			dst = f.Update(dst[:0], int64(u), ts, lists[u])
		}
	}
	step()
	step()
	if len(dst) != 20 {
		t.Fatalf("%d fused boxes, want 20", len(dst))
	}
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%v allocations per round of 3 updates, want 0", n)
	}
}

// BenchmarkFuserUpdate: 4 units of 30 tracks each, half of each unit's
// objects also seen by the next unit; one op is one unit's update.
func BenchmarkFuserUpdate(b *testing.B) {
	f := New(Params{GateM: 2, ClassAware: true, MaxAgeNS: int64(time.Second)})
	var lists [4][]ds3d.Box3D
	for u := range lists {
		for k := range 30 {
			lists[u] = append(lists[u], ds3d.Box3D{CX: float32(5*(k+15*u)) + 0.2, CY: 1, DX: 4, DY: 2, DZ: 1.5, Score: 0.6, TrackID: int64(k)})
		}
	}
	dst := make([]ds3d.Box3D, 0, 128)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		u := i % 4
		dst = f.Update(dst[:0], int64(u), int64(i)*25_000_000, lists[u])
	}
}
