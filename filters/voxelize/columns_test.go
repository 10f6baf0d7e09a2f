package voxelize

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

var (
	widen = dstest.WithRingTime
)

type row4 [4]uint32

func key4(x, y, z, i float32) row4 {
	return row4{math.Float32bits(x), math.Float32bits(y), math.Float32bits(z), math.Float32bits(i)}
}

// TestPointColumns voxelizes KITTI 000000 widened to x y z intensity ring
// time. With point_columns x y z intensity the four tensors equal, byte for
// byte, those of the 4-column frame with the first 4 channels (which
// TestMatchesNumpy checks against mmcv's rule in numpy). With point_columns
// x y z time intensity ring (a gather in another order) every kept point's
// x y z intensity are the 4-column run's, in the same slot, and its time and
// ring those of its input row. A cloud lacking a column is an error naming
// it and the cloud's columns.
func TestPointColumns(t *testing.T) {
	src4 := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(src4, sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"), lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	src6 := widen(src4)
	base := Params{Range: [6]float64{0, -40, -3, 70.4, 40, 1}, VoxelSize: [3]float64{0.1, 0.1, 0.2}, MaxPointsPerVoxel: 5, MaxVoxels: 30000}
	run := func(p Params, clouds ...*ds3d.Frame) [4]*ds3d.Frame {
		t.Helper()
		v, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		var o [4]*ds3d.Frame
		for i := range o {
			o[i] = ds3d.NewTensorFrame(ds3d.DTypeF32, 0)
		}
		if err := v.Voxelize(o[0], o[1], o[2], o[3], clouds...); err != nil {
			t.Fatal(err)
		}
		return o
	}
	legacy := base
	legacy.Features = 4
	want := run(legacy, src4)
	named := base
	named.PointColumns = []string{"x", "y", "z", "intensity"}
	for _, clouds := range [][]*ds3d.Frame{{src6}, {src4}} {
		got := run(named, clouds...)
		for i := range got {
			if got[i].Shape != want[i].Shape || !bytes.Equal(got[i].Data[:got[i].Bytes()], want[i].Data[:want[i].Bytes()]) {
				t.Fatalf("output %d of the %d-column cloud: %s, differs from the 4-column run's %s", i, clouds[0].Stride(), got[i].Shape, want[i].Shape)
			}
		}
	}

	gather := base
	gather.PointColumns = []string{"x", "y", "z", "time", "intensity", "ring"}
	got := run(gather, src6)
	for i := 1; i < 4; i++ {
		if !bytes.Equal(got[i].Data[:got[i].Bytes()], want[i].Data[:want[i].Bytes()]) {
			t.Fatalf("output %d differs from the 4-column run's", i)
		}
	}
	byRow := map[row4][][2]float32{}
	s := ds3d.AsFloat32(src6)
	for i := 0; i < src6.Points(); i++ {
		k := key4(s[6*i], s[6*i+1], s[6*i+2], s[6*i+3])
		byRow[k] = append(byRow[k], [2]float32{s[6*i+5], s[6*i+4]})
	}
	g, w, num := ds3d.AsFloat32(got[0]), ds3d.AsFloat32(want[0]), ds3d.AsInt32(got[2])
	P := base.MaxPointsPerVoxel
	checked := 0
	for v := range num {
		for r := 0; r < P; r++ {
			o, q := g[(v*P+r)*6:(v*P+r)*6+6], w[(v*P+r)*4:(v*P+r)*4+4]
			if r >= int(num[v]) {
				if slices.ContainsFunc(o, func(x float32) bool { return x != 0 }) {
					t.Fatalf("voxel %d empty slot %d: %v", v, r, o)
				}
				continue
			}
			k := key4(o[0], o[1], o[2], o[4])
			if k != key4(q[0], q[1], q[2], q[3]) {
				t.Fatalf("voxel %d slot %d: %v, the 4-column run has %v", v, r, o, q)
			}
			if !slices.Contains(byRow[k], [2]float32{o[3], o[5]}) {
				t.Fatalf("voxel %d slot %d: %v: time/ring %v %v, its input rows have %v", v, r, o, o[3], o[5], byRow[k])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no point checked")
	}
	t.Logf("%d voxels, %d points checked", len(num), checked)

	v, _ := New(gather)
	o := ds3d.NewTensorFrame(ds3d.DTypeF32, 0)
	err := v.Voxelize(o, o, o, nil, src6, src4)
	if err == nil || !strings.Contains(err.Error(), `voxelize: cloud 1: voxelize point_columns: frame has no "time" column (its columns: x y z intensity)`) {
		t.Errorf("4-column cloud, time wanted: %v", err)
	}
}

// TestPointColumnsZeroAllocs: the by-name gather allocates nothing in
// steady state.
func TestPointColumnsZeroAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	src4 := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(src4, sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin"), lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	src6 := widen(src4)
	p := DefaultParams
	p.PointColumns = []string{"x", "y", "z", "time", "intensity", "ring"}
	p.Features = 0
	v, err := New(p)
	if err != nil {
		t.Fatal(err)
	}
	feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	step := func() {
		if err := v.Voxelize(feat, coords, num, nil, src6); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if a := testing.AllocsPerRun(5, step); a != 0 {
		t.Errorf("%v allocations per cloud, want 0", a)
	}
}
