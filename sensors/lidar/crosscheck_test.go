package lidar

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// pySummary is what testdata/pcinfo.py (numpy, written from the format
// specs, sharing nothing with this package) says about a file.
type pySummary struct {
	Points, Nans  int
	Encoding      string
	Width, Height int
	Min, Max      []float64
	Imin, Imax    *float64
	Fields        []struct {
		Name, Type string
		Count      int
		Sum        float64
		Samples    map[string][]*float64
	}
}

// runPCInfo runs the independent reader on paths (internal/testenv's
// Python with numpy: a missing one skips, or fails under CI).
func runPCInfo(t *testing.T, paths ...string) []pySummary {
	t.Helper()
	out := testenv.RunPython(t, []string{"numpy"}, append([]string{filepath.Join("testdata", "pcinfo.py")}, paths...)...)
	var res []pySummary
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var s pySummary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("pcinfo.py output: %v", err)
		}
		res = append(res, s)
	}
	if len(res) != len(paths) {
		t.Fatalf("pcinfo.py gave %d summaries for %d files", len(res), len(paths))
	}
	return res
}

// compareSummary checks a decoded cloud against the python summary: counts
// and bounds exactly, per-field sums to rounding, sampled values exactly.
func compareSummary(t *testing.T, name string, c *Cloud, py pySummary, organised bool) {
	t.Helper()
	if c.Len() != py.Points || c.NaNs != py.Nans {
		t.Errorf("%s: %d points %d NaN, python %d %d", name, c.Len(), c.NaNs, py.Points, py.Nans)
	}
	if organised && (c.Width != py.Width || c.Height != py.Height) {
		t.Errorf("%s: %d×%d, python %d×%d", name, c.Width, c.Height, py.Width, py.Height)
	}
	pts := ds3d.AsFloat32(c.Points)
	lo, hi, ilo, ihi := bounds(pts)
	if py.Min != nil {
		for k := 0; k < 3; k++ {
			if lo[k] != float32(py.Min[k]) || hi[k] != float32(py.Max[k]) {
				t.Errorf("%s: axis %d [%v, %v], python [%v, %v]", name, k, lo[k], hi[k], py.Min[k], py.Max[k])
			}
		}
	}
	if c.Intensity != "" && py.Imin != nil && (ilo != float32(*py.Imin) || ihi != float32(*py.Imax)) {
		t.Errorf("%s: intensity [%v, %v], python [%v, %v]", name, ilo, ihi, *py.Imin, *py.Imax)
	}
	if len(c.Fields) != len(py.Fields) {
		t.Fatalf("%s: %d fields, python %d", name, len(c.Fields), len(py.Fields))
	}
	roles := map[string]int{"x": 0, "y": 1, "z": 2}
	if c.Intensity != "" {
		roles[c.Intensity] = 3
	}
	for fi, pf := range py.Fields {
		f := &c.Fields[fi]
		if f.Name != pf.Name || f.Type.String() != pf.Type || f.Count != pf.Count {
			t.Errorf("%s: field %d is %s %s×%d, python %s %s×%d", name, fi, f.Name, f.Type, f.Count, pf.Name, pf.Type, pf.Count)
			continue
		}
		role, inFrame := roles[f.Name]
		inFrame = inFrame && f.Data == nil
		value := func(i, k int) float64 {
			if inFrame {
				return float64(pts[4*i+role])
			}
			return f.Value(i, k)
		}
		sum := 0.0
		for i := 0; i < c.Len(); i++ {
			for k := 0; k < f.Count; k++ {
				if v := value(i, k); !math.IsNaN(v) && !math.IsInf(v, 0) {
					sum += v
				}
			}
		}
		if d := math.Abs(sum - pf.Sum); d > 1e-9*math.Max(1, math.Abs(pf.Sum)) {
			t.Errorf("%s: field %s sums to %v, python %v", name, f.Name, sum, pf.Sum)
		}
		for is, want := range pf.Samples {
			i, _ := strconv.Atoi(is)
			for k, w := range want {
				got := value(i, k)
				var ok bool
				switch {
				case w == nil:
					ok = math.IsNaN(got)
				case inFrame:
					ok = float32(got) == float32(*w)
				default:
					ok = got == *w
				}
				if !ok {
					t.Errorf("%s: field %s point %d[%d] = %v, python %v", name, f.Name, i, k, got, fmtPtr(w))
				}
			}
		}
	}
}

func fmtPtr(p *float64) string {
	if p == nil {
		return "NaN"
	}
	return strconv.FormatFloat(*p, 'g', -1, 64)
}

// TestCrossCheckPython decodes every real file and compares with numpy.
func TestCrossCheckPython(t *testing.T) {
	var paths []string
	var clouds []*Cloud
	for _, rf := range realFiles {
		p := sampledata.Shared(t, rf.rel)
		c, err := ReadFile(p, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		paths, clouds = append(paths, p), append(clouds, c)
	}
	py := runPCInfo(t, paths...)
	for i, c := range clouds {
		compareSummary(t, realFiles[i].rel, c, py[i], c.Format == "pcd")
		if py[i].Encoding != c.Encoding {
			t.Errorf("%s: encoding %s, python %s", realFiles[i].rel, c.Encoding, py[i].Encoding)
		}
	}
}

// TestCrossCheckWritten writes real clouds in every encoding and has numpy
// read them back: the writers (and the LZF compressor) checked by a reader
// that is not ours.
func TestCrossCheckWritten(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	var clouds []*Cloud
	var organised []bool
	for _, rel := range []string{"pcd-ply/pcl/five_people.pcd", "pcd-ply/pcl/colored_cloud.pcd",
		"pcd-ply/open3d/color.ply", "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd",
		"kitti-object/training/velodyne/000000.bin"} {
		c, err := ReadFile(sampledata.Shared(t, rel), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Join(dir, filepath.Base(rel))
		for _, out := range []struct{ ext, enc string }{{".pcd", "ascii"}, {".pcd", "binary"}, {".pcd", "binary_compressed"},
			{".ply", "ascii"}, {".ply", "binary_little_endian"}} {
			p := base + "." + out.enc + out.ext
			if err := WriteFile(p, c, out.enc); err != nil {
				t.Fatal(err)
			}
			paths, clouds, organised = append(paths, p), append(clouds, c), append(organised, out.ext == ".pcd")
		}
		if c.Format == "bin" {
			p := base + ".written.bin"
			if err := WriteFile(p, c, ""); err != nil {
				t.Fatal(err)
			}
			paths, clouds, organised = append(paths, p), append(clouds, c), append(organised, false)
		}
	}
	py := runPCInfo(t, paths...)
	for i := range paths {
		compareSummary(t, filepath.Base(paths[i]), clouds[i], py[i], organised[i])
	}
}
