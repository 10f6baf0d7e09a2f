package eval

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func at(label string, x, y float64, score float32) ds3d.Box3D {
	return ds3d.Box3D{CX: float32(x), CY: float32(y), DX: 4, DY: 1.8, DZ: 1.5, Label: label, Score: score, TrackID: -1}
}

// TestRecallWithinHand: worked out by hand in the comments.
func TestRecallWithinHand(t *testing.T) {
	gt := [][]ds3d.Box3D{{
		at("Car", 10, 0, 1), at("Car", 20, 0, 1), at("Motorcyclist", 30, 5, 1), at("Trafficcone", 40, 0, 1),
	}, {
		at("Car", 0, 0, 1), at("Car", 1.5, 0, 1), // one detection between them, nearer the second
	}}
	pred := [][]ds3d.Box3D{{
		at("Car", 10.5, 0, 0.9),     // 0.5 m from car 1
		at("Cyclist", 21, 0, 0.8),   // 1 m from car 2: found by any class, not as Car
		at("Cyclist", 30, 6.5, 0.7), // 1.5 m from the motorcyclist: Cyclist is its class
		at("Car", 50, 0, 0.6),       // nothing within 2 m
	}, {
		at("Car", 1.4, 0, 0.5), // 0.1 m from the second car, 1.4 m from the first: the closest pair wins
	}}
	r, err := RecallWithin(gt, pred, 2, DAIRToDetector)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][3]int{"Car": {4, 2, 3}, "Motorcyclist": {1, 1, 1}, "Trafficcone": {1, 0, 0}} // GT, found, found any
	for _, c := range r.Classes {
		if w := want[c.Class]; [3]int{c.NumGT, c.Found, c.FoundAny} != w {
			t.Errorf("%s: %+v, want GT %d found %d any %d", c.Class, c, w[0], w[1], w[2])
		}
	}
	if len(r.Classes) != 3 || r.Unmatched != 1 || r.Detections != 5 {
		t.Errorf("%+v: want 3 classes, 5 detections, 1 unmatched", r)
	}
	if tot := r.Total(); tot.NumGT != 6 || tot.Found != 3 || tot.FoundAny != 4 || tot.Recall() != 0.5 {
		t.Errorf("total %+v", tot)
	}
	if _, err := RecallWithin(gt, pred[:1], 2, nil); err == nil {
		t.Error("frame count mismatch accepted")
	}
}

func nb(name string, x, y float64, score float32, pts int) NuBox {
	return NuBox{Name: name, Box: at(name, x, y, score), Points: pts}
}

// TestNuScenesHand: one sample, cars at 10 and 20 m; detections 0.9 at
// 0.3 m from the first, 0.8 far from both, 0.7 at 1.5 m from the second.
//
// d ∈ {0.5, 1}: TP FP FP → rec ½ ½ ½, prec 1 ½ ⅓. numpy.interp at r = k/100:
// 1 below ½, ⅓ at ½ (the last point), 0 above. calc_ap over k = 11…100:
// (39·0.9 + (⅓ − 0.1)) / 90 / 0.9 = 35.3̅ / 81.
// d ∈ {2, 4}: TP FP TP → rec ½ ½ 1, prec 1 ½ ⅔: 1 below ½, ½ at ½ (the last
// of the equal recalls), then ½ + (r − ½)/3 up to ⅔ at 1:
// (39·0.9 + 0.4 + Σ_{m=1}^{50} (0.4 + m/300)) / 81 = (35.1 + 0.4 + 24.25) / 81.
func TestNuScenesHand(t *testing.T) {
	gt := [][]NuBox{{
		nb("car", 10, 0, 1, 5), nb("car", 20, 0, 1, 9),
		nb("car", 5, 0, 1, 0),         // no points: not scored
		nb("pedestrian", 45, 0, 1, 3), // beyond pedestrians' 40 m
	}}
	pred := [][]NuBox{{
		nb("car", 10.3, 0, 0.9, 0), nb("car", 30, 0, 0.8, 0), nb("car", 21.5, 0, 0.7, 0),
		nb("car", 60, 0, 0.95, 0), // beyond 50 m: dropped, not an FP
	}}
	r, err := NuScenes(gt, pred)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := (35.1+(1.0/3-0.1))/81, (35.1+0.4+24.25)/81
	car, _ := r.Get("car")
	want := []float64{lo, lo, hi, hi}
	for i, w := range want {
		if math.Abs(car.AP[i]-w) > 1e-12 {
			t.Errorf("car AP@%vm = %.9f, want %.9f", NuScenesThresholds[i], car.AP[i], w)
		}
	}
	if car.NumGT != 2 || math.Abs(car.Mean-(lo+hi)/2) > 1e-12 {
		t.Errorf("car %+v", car)
	}
	if ped, _ := r.Get("pedestrian"); ped.NumGT != 0 || ped.Mean != 0 {
		t.Errorf("pedestrian %+v", ped)
	}
	if math.Abs(r.MAP-(lo+hi)/20) > 1e-12 || math.Abs(r.MAPWithGT-(lo+hi)/2) > 1e-12 {
		t.Errorf("mAP %v (want %v), with GT %v (want %v)", r.MAP, (lo+hi)/20, r.MAPWithGT, (lo+hi)/2)
	}
	// all wrong: AP 0
	r, _ = NuScenes(gt, [][]NuBox{{nb("car", 40, 0, 0.9, 0)}})
	if car, _ := r.Get("car"); car.Mean != 0 {
		t.Errorf("no TP: %+v", car)
	}
}

func TestInterpMatchesNumpy(t *testing.T) {
	xp := []float64{0.5, 0.5, 1}
	fp := []float64{1, 0.5, 2.0 / 3}
	for _, c := range []struct{ x, want float64 }{{0, 1}, {0.5, 0.5}, {0.75, 0.5 + 0.25/3}, {1, 2.0 / 3}, {1.01, 0}} {
		if got := interp(c.x, xp, fp); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("interp(%v) = %v, want %v", c.x, got, c.want)
		}
	}
}

// TestMOT3DHand: id 1 walks x = 0, 1, 2 followed by track 7 at 0.5 m; id 2
// stands at (10, 0) for two frames, matched by track 8 (1 m) then track 9
// (1.5 m: an ID switch); frame 2 has a false positive far away.
// MOTA = 1 − (0 misses + 1 switch + 1 FP) / 5 = 0.6; MOTP = (0.5 + 1 + 0.5 +
// 1.5 + 0.5) / 5 = 0.8 m; IDF1: 1↔7 (3 frames) and 2↔8 (1) → IDTP 4,
// 2·4 / (5 + 6) = 8/11.
func TestMOT3DHand(t *testing.T) {
	id := func(b ds3d.Box3D, tid int64) ds3d.Box3D { b.TrackID = tid; return b }
	gt := [][]ds3d.Box3D{
		{id(at("Car", 0, 0, 1), 1), id(at("Car", 10, 0, 1), 2)},
		{id(at("Car", 1, 0, 1), 1), id(at("Car", 10, 0, 1), 2)},
		{id(at("Car", 2, 0, 1), 1)},
	}
	pred := [][]ds3d.Box3D{
		{id(at("Car", 0, 0.5, 1), 7), id(at("Car", 11, 0, 1), 8)},
		{id(at("Car", 1, 0.5, 1), 7), id(at("Car", 10, 1.5, 1), 9)},
		{id(at("Car", 2, 0.5, 1), 7), id(at("Car", 50, 0, 1), 10)},
	}
	m, err := MOT3D(gt, pred, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if m.NumMatches != 4 || m.NumSwitches != 1 || m.NumFalsePositives != 1 || m.NumMisses != 0 ||
		math.Abs(m.MOTA-0.6) > 1e-12 || math.Abs(m.MOTP-0.8) > 1e-12 || math.Abs(m.IDF1-8.0/11) > 1e-12 || m.MostlyTracked != 2 {
		t.Errorf("%+v", m)
	}
	// with a 1.2 m gate the 1.5 m pair is a miss and an FP instead of a switch
	m, _ = MOT3D(gt, pred, 1.2, true)
	if m.NumSwitches != 0 || m.NumMisses != 1 || m.NumFalsePositives != 2 {
		t.Errorf("1.2 m gate: %+v", m)
	}
	pred[0][0].TrackID = -1
	if _, err := MOT3D(gt, pred, 2, true); err == nil || !strings.Contains(err.Error(), "without a track id") {
		t.Errorf("untracked prediction: %v", err)
	}
}

func TestReadBoxFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "b.jsonl")
	os.WriteFile(p, []byte(`{"frame":0,"timestamp_ns":5,"source_id":2,"boxes":[{"center":[1,2,3],"size":[4,1.5,1.6],"yaw":0.5,"class_id":0,"label":"Car","score":0.75,"track_id":4,"velocity":[1,0]}]}
{"frame":1,"source_id":2,"boxes":[]}
`), 0o644)
	fs, err := ReadBoxFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 2 || fs[0].SourceID != 2 || len(fs[0].Boxes) != 1 || fs[0].Boxes[0].CY != 2 || fs[0].Boxes[0].TrackID != 4 ||
		fs[0].Boxes[0].Score != 0.75 || fs[0].Boxes[0].VX != 1 || len(fs[1].Boxes) != 0 || fs[1].Frame != 1 {
		t.Errorf("%+v", fs)
	}
	for _, c := range []struct{ in, want string }{
		{"{\"frame\":0,\"boxes\":[]}\n{\"frame\":1,\"boxes\":[{\"center\":[1,2],\"size\":[1,1,1]}]}\n", "line 2: box 0: center and size need 3 numbers each"},
		{"{\"frame\":0,\"boxes\":[{\"center\":[1,null,2],\"size\":[1,1,1]}]}", "line 1: box 0: center or size holds null"},
		{"{\"frame\":0,\"boxes\":[", "line 1: unexpected end of JSON input"},
		{"\n\n", "no box lines"},
	} {
		os.WriteFile(p, []byte(c.in), 0o644)
		if _, err := ReadBoxFile(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadBoxFile(f *testing.F) {
	f.Add([]byte(`{"frame":0,"boxes":[{"center":[1,2,3],"size":[4,1.5,1.6],"yaw":0.5,"label":"Car","score":0.75,"track_id":4}]}`))
	f.Add([]byte("{}\n{\"boxes\":null}"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "f.jsonl")
		os.WriteFile(p, b, 0o644)
		ReadBoxFile(p) // must not panic
	})
}

// NuScenesRecallWithin on a hand-made sample: the far car (60 m > 50 m
// class range) and the pedestrian without lidar points are not scored; the
// near car is found by a car 0.5 m away; the truck prediction 1 m from the
// second car is a class-agnostic match with the wrong class.
func TestNuScenesRecallWithinHand(t *testing.T) {
	box := func(x, y float32) ds3d.Box3D { return ds3d.Box3D{CX: x, CY: y, DX: 4, DY: 2, DZ: 1.5, Score: 0.5} }
	gt := [][]NuBox{{
		{Name: "car", Box: box(10, 0), Points: 5},
		{Name: "car", Box: box(60, 0), Points: 9},
		{Name: "pedestrian", Box: box(5, 5), Points: 0},
		{Name: "car", Box: box(-20, 3), Points: 2},
	}}
	pred := [][]NuBox{{
		{Name: "car", Box: box(10.5, 0)},
		{Name: "truck", Box: box(-20, 4)},
		{Name: "pedestrian", Box: box(5, 5.2)},
	}}
	r, err := NuScenesRecallWithin(gt, pred, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Classes) != 1 || r.Classes[0].Class != "car" || r.Classes[0].NumGT != 2 || r.Classes[0].Found != 1 || r.Classes[0].FoundAny != 2 {
		t.Errorf("classes %+v, want car: 2 scored, 1 found as car, 2 by any class", r.Classes)
	}
	if r.Matched != 2 || r.ClassCorrect != 1 || r.ClassAccuracy() != 0.5 {
		t.Errorf("matched %d, class-correct %d, accuracy %v; want 2, 1, 0.5", r.Matched, r.ClassCorrect, r.ClassAccuracy())
	}
	if r.Detections != 3 || r.Unmatched != 1 {
		t.Errorf("detections %d, unmatched %d; want 3, 1", r.Detections, r.Unmatched)
	}
}
