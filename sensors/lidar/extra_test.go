package lidar

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestLoaderExtraFields: lidar_file_loader with extra_fields on a real
// Velodyne VLP-16 PCD written by Autoware's Nebula driver (fields x y z
// intensity return_type channel azimuth elevation distance time_stamp)
// gives [N,7] frames named x y z intensity return ring time_stamp whose
// extra columns match numpy's reading of the file (testdata/pcinfo.py,
// independent of this package): the values of points 0, n/2 and n−1 as
// float32, and the column sums (float64 over the float32 values) within
// 1e-7 relative — time_stamp holds uint32 nanoseconds, which float32
// rounds to 2^-24 relative.
func TestLoaderExtraFields(t *testing.T) {
	path := sampledata.Shared(t, "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd")
	cfg := &FileLoaderConfig{Files: []ds3d.Path{ds3d.Path(path)}, RateHz: 10, ElementSize: 4, PointsNum: 0,
		ExtraFields: []string{"return_type=return", "channel=ring", "time_stamp"}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	f, err := m.Frame(ds3d.KeyLidarXYZI)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"x", "y", "z", "intensity", "return", "ring", "time_stamp"}
	if !slices.Equal(f.Columns(), want) || f.Stride() != 7 {
		t.Fatalf("columns %v shape %s, want %v", f.Columns(), f.Shape, want)
	}
	plain := ds3d.NewLidarFrame(0)
	if err := ReadFileInto(plain, path, ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	d, p := ds3d.AsFloat32(f), ds3d.AsFloat32(plain)
	if f.Points() != plain.Points() {
		t.Fatalf("%d points, ReadFileInto %d", f.Points(), plain.Points())
	}
	for i := 0; i < f.Points(); i++ {
		if !slices.Equal(d[7*i:7*i+4], p[4*i:4*i+4]) && !slices.ContainsFunc(p[4*i:4*i+4], func(v float32) bool { return v != v }) {
			t.Fatalf("point %d: %v, ReadFileInto %v", i, d[7*i:7*i+4], p[4*i:4*i+4])
		}
	}
	py := runPCInfo(t, path)[0]
	for col, field := range map[int]string{4: "return_type", 5: "channel", 6: "time_stamp"} {
		var pf *struct {
			Name, Type string
			Count      int
			Sum        float64
			Samples    map[string][]*float64
		}
		for i := range py.Fields {
			if py.Fields[i].Name == field {
				pf = &py.Fields[i]
			}
		}
		if pf == nil {
			t.Fatalf("python lists no field %s", field)
		}
		sum := 0.0
		for i := 0; i < f.Points(); i++ {
			sum += float64(d[7*i+col])
		}
		if math.Abs(sum-pf.Sum) > 1e-7*math.Max(1, math.Abs(pf.Sum)) {
			t.Errorf("%s: column sums to %v, python %v", field, sum, pf.Sum)
		}
		for is, w := range pf.Samples {
			i, _ := strconv.Atoi(is)
			if w[0] == nil || d[7*i+col] != float32(*w[0]) {
				t.Errorf("%s of point %d: %v, python %v", field, i, d[7*i+col], w[0])
			}
		}
	}

	// fixed_points_num pads the 7-column frame with zero points
	cfg.PointsNum, cfg.FixedPointsNum = f.Points()+100, true
	l, err = NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := l.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fp, _ := mp.Frame(ds3d.KeyLidarXYZI)
	if fp.Points() != cfg.PointsNum || !slices.Equal(fp.Columns(), want) ||
		!bytes.Equal(fp.Data[:28*f.Points()], f.Data[:28*f.Points()]) ||
		slices.ContainsFunc(ds3d.AsFloat32(fp)[7*f.Points():7*cfg.PointsNum], func(v float32) bool { return v != 0 }) {
		t.Errorf("fixed_points_num: %s %v, want %d points of %v, zero padded", fp.Shape, fp.Columns(), cfg.PointsNum, want)
	}
	mp.Release()
	cfg.PointsNum, cfg.FixedPointsNum = 0, false

	// a file without the field, and bad entries
	cfg.ExtraFields = []string{"ring"}
	l, err = NewFileLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Next(context.Background()); err == nil || !strings.Contains(err.Error(),
		`extra_fields: file has no field "ring" (its fields: x y z intensity return_type channel azimuth elevation distance time_stamp)`) {
		t.Errorf("missing field: %v", err)
	}
	for _, bad := range [][]string{{"intensity"}, {"a=ring", "b=ring"}, {"=ring"}, {"channel="}} {
		cfg.ExtraFields = bad
		var ce *ds3d.ConfigError
		if err := ds3d.CheckConfig(cfg); err == nil || !errors.As(err, &ce) || ce.Key != "extra_fields" {
			t.Errorf("extra_fields %q: %v", bad, err)
		}
	}
}
