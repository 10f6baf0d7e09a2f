package pointcloud

import (
	"context"
	"math"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

var (
	cols6       = dstest.Cols6
	widen       = dstest.WithRingTime
	key4        = dstest.Key4
	checkKept   = dstest.CheckKept
	extrasByRow = dstest.ExtrasByRow
)

// The tests of this file run each filter on KITTI 000000 widened to six
// named columns — x y z intensity ring time, ring and time derived from
// each point's own coordinates (elevation and azimuth, as a 64-channel
// spinning lidar would give them) — and check that x, y, z, intensity come
// out exactly as from the 4-column frame (whose results the peer tests
// check against PCL and numpy), that the ring and time of every kept point
// are its input row's, and that the names travel.

func TestColumnsCarried(t *testing.T) {
	src4 := kitti0(t)
	src6 := widen(src4)
	out4, out6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)

	Crop(out4, src4, kittiROI)
	Crop(out6, src6, kittiROI)
	checkKept(t, "crop", src6, out6, out4)

	PassThrough(out4, src4, 2, -1.5, 0.5, true)
	PassThrough(out6, src6, 2, -1.5, 0.5, true)
	checkKept(t, "passthrough z", src6, out6, out4)

	// in place, as roi_crop runs it
	in4, in6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	Crop(in4, src4, Unbounded)
	Crop(in6, src6, Unbounded)
	Crop(in4, in4, kittiROI)
	Crop(in6, in6, kittiROI)
	checkKept(t, "crop in place", src6, in6, in4)

	for _, random := range []bool{false, true} {
		NewSampler(5000, random, 7).Sample(out4, src4)
		NewSampler(5000, random, 7).Sample(out6, src6)
		checkKept(t, "subsample", src6, out6, out4)
	}

	NormalizeIntensity(out4, src4, 0.5, 0, 1.5)
	NormalizeIntensity(out6, src6, 0.5, 0, 1.5)
	if !slices.Equal(out6.Columns(), cols6) {
		t.Fatalf("normalize: columns %v", out6.Columns())
	}
	g, w, s := ds3d.AsFloat32(out6), ds3d.AsFloat32(out4), ds3d.AsFloat32(src6)
	for i := 0; i < src4.Points(); i++ {
		if key4(g[6*i:]) != key4(w[4*i:]) || g[6*i+4] != s[6*i+4] || g[6*i+5] != s[6*i+5] {
			t.Fatalf("normalize: point %d is %v, want %v then ring/time %v", i, g[6*i:6*i+6], w[4*i:4*i+4], s[6*i+4:6*i+6])
		}
	}

	m := ds3d.Mat4{0.99, -0.14, 0, 1, 0.14, 0.99, 0, 2, 0, 0, 1, 0.5, 0, 0, 0, 1}
	Transform(out4, src4, m)
	Transform(out6, src6, m)
	if out6.Points() != src6.Points() || !slices.Equal(out6.Columns(), cols6) {
		t.Fatalf("transform: %s %v", out6.Shape, out6.Columns())
	}
	g, w = ds3d.AsFloat32(out6), ds3d.AsFloat32(out4)
	for i := 0; i < src4.Points(); i++ {
		// the row is the input's: compare by index
		if key4(g[6*i:]) != key4(w[4*i:]) || g[6*i+4] != s[6*i+4] || g[6*i+5] != s[6*i+5] {
			t.Fatalf("transform: point %d is %v, want %v then ring/time %v", i, g[6*i:6*i+6], w[4*i:4*i+4], s[6*i+4:6*i+6])
		}
	}
}

// TestVoxelAveragesColumns: the voxel grid on the 6-column frame gives the
// 4-column centroids bit for bit, and each voxel's ring and time are the
// means of its points' — checked against a loop of this test's own: voxel
// of each point by PCL's float32 steps, float64 sums per voxel, voxels in
// increasing index. Tolerance: 1e-6 relative (both round one float64 mean
// to float32, so they agree unless summation order differs).
func TestVoxelAveragesColumns(t *testing.T) {
	src4 := kitti0(t)
	src6 := widen(src4)
	out4, out6 := ds3d.NewLidarFrame(0), ds3d.NewLidarFrame(0)
	leaf := float32(0.2)
	if _, err := Voxelize(out4, src4, leaf); err != nil {
		t.Fatal(err)
	}
	if _, err := Voxelize(out6, src6, leaf); err != nil {
		t.Fatal(err)
	}
	if out6.Points() != out4.Points() || !slices.Equal(out6.Columns(), cols6) {
		t.Fatalf("voxel: %s %v, the 4-column run gives %s", out6.Shape, out6.Columns(), out4.Shape)
	}
	// the reference: PCL's voxel index, float64 sums
	s := ds3d.AsFloat32(src6)
	inv := 1 / leaf
	minb := [3]float32{float32(math.Inf(1)), float32(math.Inf(1)), float32(math.Inf(1))}
	maxb := [3]float32{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))}
	for i := 0; i < src6.Points(); i++ {
		for a := 0; a < 3; a++ {
			minb[a] = min(minb[a], s[6*i+a])
			maxb[a] = max(maxb[a], s[6*i+a])
		}
	}
	var lo [3]float32
	var div [3]int64
	for a := 0; a < 3; a++ {
		lo[a] = float32(math.Floor(float64(minb[a] * inv)))
		div[a] = int64(math.Floor(float64(maxb[a]*inv))) - int64(lo[a]) + 1
	}
	type acc struct {
		n   int
		sum [6]float64
	}
	vox := map[int64]*acc{}
	for i := 0; i < src6.Points(); i++ {
		var ijk [3]int64
		for a := 0; a < 3; a++ {
			ijk[a] = int64(int32(float32(math.Floor(float64(s[6*i+a]*inv))) - lo[a]))
		}
		idx := ijk[0] + ijk[1]*div[0] + ijk[2]*div[0]*div[1]
		v := vox[idx]
		if v == nil {
			v = &acc{}
			vox[idx] = v
		}
		v.n++
		for c := 0; c < 6; c++ {
			v.sum[c] += float64(s[6*i+c])
		}
	}
	keys := make([]int64, 0, len(vox))
	for k := range vox {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	if len(keys) != out6.Points() {
		t.Fatalf("voxel: %d voxels, the test's loop finds %d", out6.Points(), len(keys))
	}
	g, w := ds3d.AsFloat32(out6), ds3d.AsFloat32(out4)
	worst := 0.0
	for m, k := range keys {
		if key4(g[6*m:]) != key4(w[4*m:]) {
			t.Fatalf("voxel %d: %v, the 4-column run gives %v", m, g[6*m:6*m+4], w[4*m:4*m+4])
		}
		v := vox[k]
		for c := 0; c < 6; c++ {
			want := v.sum[c] / float64(v.n)
			d := math.Abs(float64(g[6*m+c]) - want)
			if d > 1e-6*max(1, math.Abs(want)) {
				t.Fatalf("voxel %d (%d points) column %s: %v, mean of its points %v", m, v.n, cols6[c], g[6*m+c], want)
			}
			worst = max(worst, d)
		}
	}
	t.Logf("%d voxels, max |Δ| %.3g vs the float64 means", len(keys), worst)
}

// TestPillarColumns: point_columns picks the model's columns by name. The
// default (x y z intensity) on the 6-column frame gives the 4-column
// tensors byte for byte; a time feature carries each point's own time; a
// frame without a named column is a clear error.
func TestPillarColumns(t *testing.T) {
	src4 := kitti0(t)
	src6 := widen(src4)
	run := func(p PillarParams, src *ds3d.Frame) (*ds3d.Frame, *ds3d.Frame, *ds3d.Frame, error) {
		z, err := NewPillarizer(p)
		if err != nil {
			t.Fatal(err)
		}
		feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
		_, err = z.Pillarize(feat, coords, num, src)
		return feat, coords, num, err
	}
	f4, c4, n4, err := run(DefaultPillarParams, src4)
	if err != nil {
		t.Fatal(err)
	}
	f6, c6, n6, err := run(DefaultPillarParams, src6)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range [][2]*ds3d.Frame{{f4, f6}, {c4, c6}, {n4, n6}} {
		if x[0].Shape != x[1].Shape || string(x[0].Data[:x[0].Bytes()]) != string(x[1].Data[:x[1].Bytes()]) {
			t.Fatalf("pillars of the 6-column frame differ from the 4-column ones (%s vs %s)", x[1].Shape, x[0].Shape)
		}
	}

	// x y z i time: the time feature of each point is its input row's
	p := DefaultPillarParams
	p.PointColumns = []string{"x", "y", "z", "intensity", "time"}
	p.Features = []Feature{FeatX, FeatY, FeatZ, FeatI, ColumnFeature(4)}
	ft, _, nt, err := run(p, src6)
	if err != nil {
		t.Fatal(err)
	}
	byRow := extrasByRow(src6)
	P, maxPts := ft.Shape.D[0], ft.Shape.D[1]
	fv, nv := ds3d.AsFloat32(ft), ds3d.AsInt32(nt)
	checked := 0
	for q := 0; q < P; q++ {
		for r := 0; r < maxPts; r++ {
			o := fv[(q*maxPts+r)*5 : (q*maxPts+r)*5+5]
			if r >= int(nv[q]) {
				if o[4] != 0 {
					t.Fatalf("pillar %d padded slot %d: time %v, want 0", q, r, o[4])
				}
				continue
			}
			found := false
			for _, ex := range byRow[key4(o)] {
				found = found || ex[1] == o[4]
			}
			if !found {
				t.Fatalf("pillar %d slot %d: %v has time %v, its input rows have %v", q, r, o[:4], o[4], byRow[key4(o)])
			}
			checked++
		}
	}
	if P != f4.Shape.D[0] || checked == 0 {
		t.Fatalf("%d pillars (4-column run: %d), %d points checked", P, f4.Shape.D[0], checked)
	}

	if _, _, _, err := run(p, src4); err == nil || !strings.Contains(err.Error(),
		`pillar_scatter_prep point_columns: frame has no "time" column (its columns: x y z intensity)`) {
		t.Errorf("4-column frame, time wanted: %v", err)
	}
	// a frame without names: x y z intensity by position, nothing else
	anon := ds3d.NewTensorFrame(ds3d.DTypeF32, src6.Points(), 6)
	copy(anon.Data, src6.Data)
	if _, _, _, err := run(DefaultPillarParams, anon); err != nil {
		t.Errorf("unnamed frame, default columns: %v", err)
	}
	if _, _, _, err := run(p, anon); err == nil || !strings.Contains(err.Error(), `no "time" column (its columns: 6 unnamed)`) {
		t.Errorf("unnamed frame, time wanted: %v", err)
	}
	for _, bad := range []PillarParams{
		{PointColumns: []string{"x", "y"}},
		{PointColumns: []string{"x", "y", "z", "x"}},
		{PointColumns: []string{"x", "y", "z"}},                                             // feature i needs a fourth
		{PointColumns: []string{"x", "y", "z", "i"}, Features: []Feature{ColumnFeature(4)}}, // no column 4
	} {
		q := DefaultPillarParams
		q.PointColumns = bad.PointColumns
		if bad.Features != nil {
			q.Features = bad.Features
		}
		if _, err := NewPillarizer(q); err == nil {
			t.Errorf("point columns %v, features %v accepted", q.PointColumns, q.Features)
		}
	}
}

// TestComponentsColumns: the components pass names through the pool and
// look filter_field and point_columns up by name.
func TestComponentsColumns(t *testing.T) {
	src6 := widen(kitti0(t))
	run := func(impl string, edit func(any), in *ds3d.Frame) (*ds3d.DataMap, error) {
		s, _ := ds3d.Lookup(impl)
		c := s.NewConfig()
		edit(c)
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatalf("%s: %v", impl, err)
		}
		f, err := s.Build(c, &ds3d.Env{Name: impl})
		if err != nil {
			t.Fatal(err)
		}
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, in)
		var out *ds3d.DataMap
		err = f.(ds3d.Filter).Process(context.Background(), m, func(m *ds3d.DataMap) error { out = m; return nil })
		return out, err
	}
	// PassThrough on the ring column: rings 10..20 only
	m, err := run("roi_crop", func(c any) {
		c.(*CropConfig).FilterField, c.(*CropConfig).FilterLimit = "ring", []float64{10, 20}
	}, src6)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := m.Frame(ds3d.KeyLidarXYZI)
	want := 0
	s := ds3d.AsFloat32(src6)
	for i := 0; i < src6.Points(); i++ {
		if r := s[6*i+4]; r >= 10 && r <= 20 {
			want++
		}
	}
	if out.Points() != want || want == 0 || !slices.Equal(out.Columns(), cols6) {
		t.Errorf("roi_crop on ring: %d points %v, want %d with %v", out.Points(), out.Columns(), want, cols6)
	}
	for i, o := 0, ds3d.AsFloat32(out); i < out.Points(); i++ {
		if r := o[6*i+4]; r < 10 || r > 20 {
			t.Fatalf("roi_crop on ring: point %d has ring %v", i, r)
		}
	}
	_, err = run("roi_crop", func(c any) {
		c.(*CropConfig).FilterField, c.(*CropConfig).FilterLimit = "ring", []float64{10, 20}
	}, kitti0(t))
	if err == nil || !strings.Contains(err.Error(), `roi_crop filter_field: frame has no "ring" column (its columns: x y z intensity)`) {
		t.Errorf("roi_crop on ring of a 4-column frame: %v", err)
	}
	m, err = run("pillar_scatter_prep", func(c any) {
		c.(*PillarConfig).PointColumns = []string{"x", "y", "z", "intensity", "time"}
		c.(*PillarConfig).Features = []string{"x", "y", "z", "time", "xc"}
	}, src6)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := m.Frame(ds3d.KeyLidarFeatureTensor); f.Shape.D[2] != 5 {
		t.Errorf("pillar features %s, want F = 5", f.Shape)
	}
	_, err = run("pillar_scatter_prep", func(c any) {
		c.(*PillarConfig).PointColumns = []string{"x", "y", "z", "intensity", "time"}
		c.(*PillarConfig).Features = []string{"x", "time"}
	}, kitti0(t))
	if err == nil || !strings.Contains(err.Error(), `no "time" column (its columns: x y z intensity)`) {
		t.Errorf("pillar_scatter_prep time of a 4-column frame: %v", err)
	}
	_, err = run("intensity_normalize", func(c any) {}, ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(3, 3)))
	if err == nil || !strings.Contains(err.Error(), `no "intensity" column (its columns: x y z)`) {
		t.Errorf("intensity_normalize of an x y z frame: %v", err)
	}
}

// TestColumnsZeroAllocs: the named 6-column path allocates nothing in
// steady state either.
func TestColumnsZeroAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	src := widen(kitti0(t))
	dst := ds3d.NewLidarFrame(0)
	v := VoxelGrid{Leaf: [3]float32{0.2, 0.2, 0.2}}
	p := DefaultPillarParams
	p.PointColumns = []string{"x", "y", "z", "intensity", "time"}
	p.Features = []Feature{FeatX, FeatY, FeatZ, FeatI, ColumnFeature(4), FeatXp}
	z, err := NewPillarizer(p)
	if err != nil {
		t.Fatal(err)
	}
	feat, coords, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	smp := NewSampler(4000, true, 1)
	for name, fn := range map[string]func(){
		"crop":      func() { Crop(dst, src, kittiROI) },
		"transform": func() { Transform(dst, src, ds3d.Identity4) },
		"normalize": func() { NormalizeIntensity(dst, src, 255, 0, 1) },
		"subsample": func() { smp.Sample(dst, src) },
		"voxel":     func() { v.Filter(dst, src) },
		"pillarize": func() { z.Pillarize(feat, coords, num, src) },
	} {
		fn()
		if a := testing.AllocsPerRun(3, fn); a != 0 {
			t.Errorf("%s: %v allocations per frame, want 0", name, a)
		}
	}
}
