package late

import (
	"context"
	"math"
	"math/rand"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestKITTILabelsFuseWithTheirOwn2DBoxes: each KITTI label row has a 3D box
// and a hand-drawn 2D box of the same object. Projected through the calib,
// every 3D box must be assigned to its own row's 2D box — the labels are the
// independent truth of which 2D box belongs to which 3D box.
func TestKITTILabelsFuseWithTheirOwn2DBoxes(t *testing.T) {
	ds, err := kitti.Open(sampledata.Shared(t, "kitti-object/training"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		f, err := ds.Frame(id)
		if err != nil {
			t.Fatal(err)
		}
		cam, _ := f.Rig.Camera("image_2")
		cams := []Camera{{Intrinsics: cam.Intrinsics, LidarToCam: cam.Extrinsics.Transform}}
		boxes := f.Boxes()
		var dets []ds3d.Object2D
		for _, o := range f.Objects {
			dets = append(dets, o.BBox)
		}
		// Shuffle the detections so the assignment cannot lean on order.
		perm := rand.New(rand.NewSource(int64(len(id)))).Perm(len(dets))
		shuffled := make([]ds3d.Object2D, len(dets))
		for i, p := range perm {
			shuffled[p] = dets[i]
		}
		matches := make([]Match, len(boxes))
		var m Matcher
		m.Match(matches, boxes, cams, [][]ds3d.Object2D{shuffled}, &Params{IoUThreshold: 0.3, Near: 0.5})
		for i, mt := range matches {
			total++
			if mt.Det < 0 || perm[i] != mt.Det {
				t.Errorf("%s object %d (%s): matched %+v, want detection %d", id, i, f.Objects[i].Type, mt, perm[i])
				continue
			}
			t.Logf("%s %-10s IoU %.2f", id, f.Objects[i].Type, mt.IoU)
		}
	}
	if total < 9 {
		t.Errorf("only %d objects checked", total)
	}
}

func TestIoUAndProjection(t *testing.T) {
	// By hand: [0,0,2,2] and [1,1,3,3] overlap 1 of 7.
	if v := IoU([4]float64{0, 0, 2, 2}, [4]float64{1, 1, 3, 3}); math.Abs(v-1.0/7) > 1e-12 {
		t.Errorf("IoU %v", v)
	}
	if IoU([4]float64{0, 0, 1, 1}, [4]float64{2, 2, 3, 3}) != 0 {
		t.Error("disjoint IoU")
	}
	// A camera looking along lidar +x (camera z = lidar x, x = −y, y = −z):
	// a 2 m cube 10 m ahead spans 1 ± 1/9..1/11 of f around the centre.
	cam := Camera{Intrinsics: ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 50, Cy: 50, Width: 100, Height: 100},
		LidarToCam: ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1}}
	b := ds3d.Box3D{CX: 10, DX: 2, DY: 2, DZ: 2}
	l, tp, r, bt, ok := ProjectBox(&b, &cam, 0.5)
	// Nearest face at x = 9: u = 50 ± 100/9.
	if !ok || math.Abs(l-(50-100.0/9)) > 1e-9 || math.Abs(r-(50+100.0/9)) > 1e-9 || math.Abs(tp-l) > 1e-9 || math.Abs(bt-r) > 1e-9 {
		t.Errorf("projected %v %v %v %v %v", l, tp, r, bt, ok)
	}
	behind := ds3d.Box3D{CX: -10, DX: 2, DY: 2, DZ: 2}
	if _, _, _, _, ok := ProjectBox(&behind, &cam, 0.5); ok {
		t.Error("a box behind the camera was seen")
	}
}

func TestComponentRelabels(t *testing.T) {
	cam := ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1}
	in := ds3d.NewDataMap()
	in.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{{CX: 10, DX: 2, DY: 2, DZ: 2, Label: "cluster", Score: 0.4}, {CX: -10, DX: 1, DY: 1, DZ: 1, Score: 0.9}})
	in.Set(ds3d.KeyObject2DBbox.Sensor(0), []ds3d.Object2D{{Left: 39, Top: 39, Width: 22, Height: 22, Label: "car", ClassID: 2, Score: 0.8}})
	in.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(0), ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 50, Cy: 50, Width: 100, Height: 100})
	in.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(0), cam)
	cfg := &Config{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), Cameras: 1, ObjectsKey: string(ds3d.KeyObject2DBbox),
		IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix), ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic),
		OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyFusedDetection)}, IoUThreshold: 0.3, Near: 0.5, ScoreFusion: "mean", KeepUnmatched: true, Relabel: true}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	var out *ds3d.DataMap
	if err := New(cfg).Process(context.Background(), in, func(m *ds3d.DataMap) error { out = m; return nil }); err != nil {
		t.Fatal(err)
	}
	fused, _ := ds3d.Get[[]ds3d.FusedDetection](out, ds3d.KeyFusedDetection)
	if len(fused) != 2 || fused[0].CamID != 0 || fused[0].Box3D.Label != "car" || math.Abs(float64(fused[0].FusedScore)-0.6) > 1e-6 || fused[1].CamID != -1 {
		t.Errorf("fused %+v", fused)
	}
	boxes, _ := ds3d.Get[[]ds3d.Box3D](out, ds3d.KeyLidar3DBboxRawData)
	if boxes[0].Label != "car" || boxes[1].Label != "" {
		t.Errorf("relabelled %+v", boxes)
	}
	out.Release()
}
