package las_test

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/las"
)

// files: PROVENANCE.md's table (version, point format, record length,
// points, VLRs+EVLRs).
var files = []struct {
	rel            string
	ver            string
	format, reclen int
	points         int
	vlrs           int
	compressed     bool
}{
	{"laspy/simple.las", "1.2", 3, 34, 1065, 0, false},
	{"laspy/simple1_1.las", "1.1", 1, 28, 1065, 0, false},
	{"laspy/simple.laz", "1.2", 3, 34, 1065, 1, true},
	{"laspy/simple.copc.laz", "1.4", 7, 36, 1065, 4, true},
	{"laspy/extrabytes.las", "1.4", 3, 61, 1065, 1, false},
	{"laspy/autzen.las", "1.2", 1, 28, 106, 4, false},
	{"laspy/simple1_3.las", "1.3", 4, 57, 999, 5, false},
	{"laspy/vegetation_1_3.las", "1.3", 1, 28, 10683, 0, false},
	{"laspy/1_4_w_evlr.las", "1.4", 6, 30, 1000, 3, false},
	{"pdal/mvk-thin.las", "1.2", 1, 28, 6280, 5, false},
	{"pdal/sample_c.las", "1.2", 3, 34, 14408, 0, false},
	{"pdal/autzen_trim_7.las", "1.4", 7, 36, 110000, 2, false},
	{"pdal/lots_of_vlr.las", "1.1", 1, 28, 1, 390, false},
	{"pdal/permutations_1.0_0.las", "1.0", 0, 20, 1, 3, false},
	{"pdal/permutations_1.2_2.las", "1.2", 2, 26, 1, 3, false},
}

// pyInfo is the part of las_info.py --json the test compares.
type pyInfo struct {
	Header struct {
		PointCount int `json:"point_count"`
	} `json:"header"`
	Points struct {
		Decoded    int                `json:"decoded_points"`
		First      map[string]float64 `json:"first_point"`
		Min        []float64          `json:"computed_min_xyz"`
		Max        []float64          `json:"computed_max_xyz"`
		Intensity  []float64          `json:"intensity_range"`
		Returns    map[string]int     `json:"return_number_hist"`
		Classes    map[string]int     `json:"classification_hist"`
		GPS        []float64          `json:"gps_time_range"`
		RGBMax     *int               `json:"rgb_max"`
		ExtraBytes int                `json:"extra_bytes_per_point"`
	} `json:"points"`
}

func lasInfoPy(t *testing.T, path string) *pyInfo {
	t.Helper()
	tool := sampledata.Shared(t, "tools/las_info.py")
	out := testenv.RunPython(t, nil, tool, "--json", path)
	var res []pyInfo
	if err := json.Unmarshal(out, &res); err != nil || len(res) == 0 {
		t.Fatalf("las_info.py printed %.200q: %v", out, err)
	}
	return &res[0]
}

func TestFiles(t *testing.T) {
	for _, f := range files {
		t.Run(f.rel, func(t *testing.T) {
			path := sampledata.Shared(t, "las/"+f.rel)
			in, err := las.ReadInfo(path)
			if err != nil {
				t.Fatal(err)
			}
			if in.Version != f.ver || in.PointFormat != f.format || in.RecordLength != f.reclen || in.Points != int64(f.points) || len(in.VLRs) != f.vlrs || in.Compressed != f.compressed {
				t.Errorf("header: %s fmt %d len %d points %d vlrs %d compressed %v", in.Version, in.PointFormat, in.RecordLength, in.Points, len(in.VLRs), in.Compressed)
			}
			c, err := lidar.ReadFile(path, lidar.ReadOptions{})
			if f.compressed {
				var fe *lidar.FormatError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), "compressed LAS (LAZ) is not supported") {
					t.Fatalf("LAZ: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != "las" || c.Len() != f.points || c.Intensity != "intensity" {
				t.Fatalf("%s %d points", c.Format, c.Len())
			}
			py := lasInfoPy(t, path)
			pp := py.Points
			if pp.Decoded != f.points {
				t.Errorf("las_info.py decoded %d points", pp.Decoded)
			}
			for k := 0; k < 3; k++ {
				if math.Abs(in.PointsMin[k]-pp.Min[k]) > 1e-6 || math.Abs(in.PointsMax[k]-pp.Max[k]) > 1e-6 {
					t.Errorf("axis %d bounds %.6f…%.6f, las_info.py %.6f…%.6f", k, in.PointsMin[k], in.PointsMax[k], pp.Min[k], pp.Max[k])
				}
			}
			// The points are relative to c.Origin: float32 then holds them
			// to a fraction of a millimetre however large the file's
			// coordinates (UTM northings of ~5×10⁶ m here).
			pts := ds3d.AsFloat32(c.Points)
			for k, key := range []string{"x", "y", "z"} {
				want, got := pp.First[key], float64(pts[k])+c.Origin[k]
				if tol := math.Abs(float64(pts[k]))*1.2e-7 + 1e-9; math.Abs(got-want) > tol {
					t.Errorf("first point %s = %v + origin %v = %.6f, las_info.py %.6f", key, pts[k], c.Origin[k], got, want)
				}
				if math.Abs(want) > 1e5 && c.Origin[k] == 0 && c.Origin == ([3]float64{}) {
					t.Errorf("%s = %.3f kept as float32 without an origin", key, want)
				}
			}
			if pts[3] != float32(pp.First["intensity"]) {
				t.Errorf("first intensity %v, want %v", pts[3], pp.First["intensity"])
			}
			hist := func(name string) map[string]int {
				h := map[string]int{}
				fl := c.Field(name)
				for i := 0; i < c.Len(); i++ {
					h[itoa(int(fl.Value(i, 0)))]++
				}
				return h
			}
			if g := hist("return_number"); !sameHist(g, pp.Returns) {
				t.Errorf("returns %v, las_info.py %v", g, pp.Returns)
			}
			if g := hist("classification"); !sameHist(g, pp.Classes) {
				t.Errorf("classes %v, las_info.py %v", g, pp.Classes)
			}
			lo, hi := math.Inf(1), math.Inf(-1)
			for i := 0; i < c.Len(); i++ {
				lo, hi = math.Min(lo, float64(pts[4*i+3])), math.Max(hi, float64(pts[4*i+3]))
			}
			if lo != pp.Intensity[0] || hi != pp.Intensity[1] {
				t.Errorf("intensity %v…%v, las_info.py %v", lo, hi, pp.Intensity)
			}
			if g := c.Field("gps_time"); (g != nil) != (pp.GPS != nil) {
				t.Errorf("gps_time field %v, las_info.py %v", g != nil, pp.GPS)
			} else if g != nil {
				glo, ghi := math.Inf(1), math.Inf(-1)
				for i := 0; i < c.Len(); i++ {
					glo, ghi = math.Min(glo, g.Value(i, 0)), math.Max(ghi, g.Value(i, 0))
				}
				if glo != pp.GPS[0] || ghi != pp.GPS[1] {
					t.Errorf("gps %v…%v, las_info.py %v", glo, ghi, pp.GPS)
				}
			}
			if r := c.Field("red"); (r != nil) != (pp.RGBMax != nil) {
				t.Errorf("rgb field %v", r != nil)
			} else if r != nil {
				m := 0.0
				for _, n := range []string{"red", "green", "blue"} {
					fl := c.Field(n)
					for i := 0; i < c.Len(); i++ {
						m = math.Max(m, fl.Value(i, 0))
					}
				}
				if int(m) != *pp.RGBMax {
					t.Errorf("rgb max %v, las_info.py %d", m, *pp.RGBMax)
				}
			}
			if in.ExtraBytesPerPoint != pp.ExtraBytes {
				t.Errorf("extra bytes %d, las_info.py %d", in.ExtraBytesPerPoint, pp.ExtraBytes)
			}
			// Inspect goes through the registry.
			info, err := lidar.Inspect(path)
			if err != nil || info.Format != "las" || info.Points != f.points || !strings.HasPrefix(info.Encoding, "LAS "+f.ver) {
				t.Errorf("Inspect: %+v %v", info, err)
			}
		})
	}
}

func itoa(v int) string { b, _ := json.Marshal(v); return string(b) }

func sameHist(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestQuirks: PROVENANCE.md's notes.
func TestQuirks(t *testing.T) {
	in, err := las.ReadInfo(sampledata.Shared(t, "las/laspy/simple1_3.las"))
	if err != nil {
		t.Fatal(err)
	}
	// Header bounds stored unscaled; the points are right.
	if in.Min[0] != -235434519.0 || math.Abs(in.PointsMin[0]-(-235434.519)) > 1e-6 || in.StartOfWaveform != 62728 {
		t.Errorf("simple1_3: header min x %v, points min x %v, waveform at %d", in.Min[0], in.PointsMin[0], in.StartOfWaveform)
	}
	in, err = las.ReadInfo(sampledata.Shared(t, "las/laspy/1_4_w_evlr.las"))
	if err != nil {
		t.Fatal(err)
	}
	ev := in.VLRs[len(in.VLRs)-1]
	if !ev.Extended || ev.UserID != "pylastest" || ev.RecordID != 42 || len(ev.Data) != 16 || in.StartOfFirstEVLR != 32305 {
		t.Errorf("EVLR %+v at %d", ev, in.StartOfFirstEVLR)
	}
	in, err = las.ReadInfo(sampledata.Shared(t, "las/laspy/extrabytes.las"))
	if err != nil {
		t.Fatal(err)
	}
	if in.ExtraBytesPerPoint != 27 || len(in.ExtraBytes) == 0 {
		t.Errorf("extra bytes: %d per point, %d descriptors", in.ExtraBytesPerPoint, len(in.ExtraBytes))
	}
	total := 0
	for _, x := range in.ExtraBytes {
		total += x.Size
	}
	c, err := lidar.ReadFile(sampledata.Shared(t, "las/laspy/extrabytes.las"), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if f := c.Field(in.ExtraBytes[0].Name); f == nil || len(f.Data) != c.Len()*in.ExtraBytes[0].Size {
		t.Errorf("extra-bytes field %q missing or sized wrong", in.ExtraBytes[0].Name)
	}
	t.Logf("extrabytes.las descriptors: %d, %d bytes described\n%s", len(in.ExtraBytes), total, in)
}

func TestMalformed(t *testing.T) {
	data, err := os.ReadFile(sampledata.Shared(t, "las/laspy/simple.las"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated points", data[:len(data)-100], "need"},
		{"short", data[:100], "shorter than a LAS header"},
		{"version", func() []byte { b := append([]byte(nil), data...); b[25] = 9; return b }(), "LAS version 1.9"},
		{"format", func() []byte { b := append([]byte(nil), data...); b[104] = 12; return b }(), "point data record format 12"},
	} {
		var cl lidar.Cloud
		err := lidar.Decode(&cl, "x.las", c.b, lidar.ReadOptions{})
		var fe *lidar.FormatError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, rel := range []string{"laspy/simple.las", "laspy/extrabytes.las", "laspy/1_4_w_evlr.las", "laspy/simple1_3.las", "pdal/permutations_1.0_0.las", "laspy/simple.laz"} {
		b, err := os.ReadFile(filepath.Join(sampledata.SharedDir(f), "las", rel))
		if err == nil {
			f.Add(b[:min(len(b), 8192)])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c lidar.Cloud
		lidar.Decode(&c, "fuzz.las", b, lidar.ReadOptions{})
	})
}

func BenchmarkDecode(b *testing.B) {
	path := sampledata.Shared(b, "las/pdal/autzen_trim_7.las")
	data, _ := os.ReadFile(path)
	f := ds3d.NewLidarFrame(0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := lidar.DecodeInto(f, path, data, lidar.ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*f.Points())/b.Elapsed().Seconds(), "points/s")
}

// TestLoaderKeepsOrigin reads a georeferenced file (UTM-like coordinates
// of ~6×10⁵ and ~8×10⁵ m) through lidar_file_loader: the frame holds the
// points relative to DS3D::PointsOrigin, and the two together give back
// las_info.py's first point to within the file's 0.01 m quantum, which a
// float32 of the absolute coordinate (1/16 m grid there) cannot.
func TestLoaderKeepsOrigin(t *testing.T) {
	path := sampledata.Shared(t, "las/pdal/autzen_trim_7.las")
	type rec struct {
		origin ds3d.Mat4
		first  [3]float32
	}
	recs := dstest.MustRecord(t, "", "lidar_file_loader", `files = ["`+path+`"]`, func(m *ds3d.DataMap) (rec, error) {
		o, err := ds3d.Get[ds3d.Mat4](m, ds3d.KeyPointsOrigin)
		if err != nil {
			return rec{}, err
		}
		pts, err := dstest.Points(m, ds3d.KeyLidarXYZI)
		if err != nil {
			return rec{}, err
		}
		return rec{o, [3]float32{pts[0], pts[1], pts[2]}}, nil
	})
	if len(recs) != 1 {
		t.Fatalf("%d datamaps", len(recs))
	}
	py := lasInfoPy(t, path)
	for k, key := range []string{"x", "y", "z"} {
		got := float64(recs[0].first[k]) + recs[0].origin[4*k+3]
		if want := py.Points.First[key]; math.Abs(got-want) > 0.005 {
			t.Errorf("first point %s = %v + %v = %.4f, las_info.py %.4f", key, recs[0].first[k], recs[0].origin[4*k+3], got, want)
		}
	}
}
