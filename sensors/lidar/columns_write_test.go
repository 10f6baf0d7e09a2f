package lidar

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

var driverColumns = []string{"x", "y", "z", "intensity", "ring", "time", "return"}

// driverFrame is an [N,7] frame shaped like the lidar drivers' output.
func driverFrame(n int) *ds3d.Frame {
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 7))
	f.SetColumns(driverColumns...)
	d := ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		a := float64(i) * 0.37
		d[7*i], d[7*i+1], d[7*i+2] = float32(10*math.Cos(a)), float32(10*math.Sin(a)), float32(math.Sin(a/7))-1.5
		d[7*i+3], d[7*i+4] = float32(i%256), float32(i%16)
		d[7*i+5], d[7*i+6] = float32(i)*1.3e-5+1e-7, float32(i%3)
	}
	return f
}

// TestWriteNamedColumns: PCD (every encoding) and PLY (both) written from a
// frame with named columns keep every column under its name, as float32,
// and read back bit for bit: x y z intensity into the points frame, ring,
// time and return as fields.
func TestWriteNamedColumns(t *testing.T) {
	src := driverFrame(1000)
	want := ds3d.AsFloat32(src)
	dir := t.TempDir()
	for _, c := range []struct{ ext, enc string }{{".pcd", "ascii"}, {".pcd", "binary"}, {".pcd", "binary_compressed"},
		{".ply", "ascii"}, {".ply", "binary_little_endian"}} {
		name := filepath.Join(dir, "cols_"+c.enc+c.ext)
		if err := WriteFile(name, &Cloud{Points: src}, c.enc); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(name, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, f := range got.Fields {
			names = append(names, f.Name)
			if f.Type != Float32 || f.Count != 1 {
				t.Errorf("%s: field %s is %s × %d, want float32 × 1", name, f.Name, f.Type, f.Count)
			}
		}
		if strings.Join(names, " ") != strings.Join(driverColumns, " ") {
			t.Fatalf("%s: fields %v, want %v", name, names, driverColumns)
		}
		pts := ds3d.AsFloat32(got.Points)
		for i := 0; i < got.Len(); i++ {
			for k := 0; k < 7; k++ {
				v := float32(0)
				if k < 4 {
					v = pts[4*i+k]
				} else {
					v = float32(got.Fields[k].Value(i, 0))
				}
				if math.Float32bits(v) != math.Float32bits(want[7*i+k]) {
					t.Fatalf("%s: point %d column %s: %v, want %v", name, i, driverColumns[k], v, want[7*i+k])
				}
			}
		}
	}
	// Unnamed wide frames are refused rather than written with made-up names.
	bad := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FramePointXYZ, ds3d.NewShape(3, 6))
	if err := WriteFile(filepath.Join(dir, "bad.pcd"), &Cloud{Points: bad}, ""); err == nil || !strings.Contains(err.Error(), "not named") {
		t.Errorf("unnamed [N,6] frame: %v", err)
	}
}

// TestPCLReadsNamedColumns has PCL read what we write: pcl_convert_pcd_ascii_binary
// turns our binary_compressed PCD into ASCII, and pcl_ply2pcd our binary PLY
// into an ASCII PCD; the test parses PCL's text itself and finds every
// column under its name with our values (PCL prints 7 significant digits).
func TestPCLReadsNamedColumns(t *testing.T) {
	conv := testenv.Tool(t, "pcl_convert_pcd_ascii_binary", "apt-get install pcl-tools")
	ply2pcd := testenv.Tool(t, "pcl_ply2pcd", "apt-get install pcl-tools")
	src := driverFrame(500)
	want := ds3d.AsFloat32(src)
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.pcd")
	if err := WriteFile(ours, &Cloud{Points: src}, "binary_compressed"); err != nil {
		t.Fatal(err)
	}
	oursPLY := filepath.Join(dir, "ours.ply")
	if err := WriteFile(oursPLY, &Cloud{Points: src}, "binary_little_endian"); err != nil {
		t.Fatal(err)
	}
	viaPCD := filepath.Join(dir, "pcl_ascii.pcd")
	testenv.Output(t, exec.Command(conv, ours, viaPCD, "0"))
	viaPLY := filepath.Join(dir, "pcl_from_ply.pcd")
	testenv.Output(t, exec.Command(ply2pcd, "-format", "0", oursPLY, viaPLY))
	for _, name := range []string{viaPCD, viaPLY} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		var fields []string
		body := -1
		for i, l := range lines {
			if f := strings.Fields(l); len(f) > 0 && f[0] == "FIELDS" {
				fields = f[1:]
			}
			if strings.HasPrefix(l, "DATA ascii") {
				body = i + 1
				break
			}
		}
		if body < 0 || len(lines)-body != 500 {
			t.Fatalf("%s: no ASCII body of 500 points", name)
		}
		col := map[string]int{}
		for i, f := range fields {
			col[f] = i
		}
		for k, c := range driverColumns {
			j, ok := col[c]
			if !ok {
				t.Fatalf("%s: PCL's fields %v lack %s", name, fields, c)
			}
			for i := 0; i < 500; i++ {
				v, err := strconv.ParseFloat(strings.Fields(lines[body+i])[j], 64)
				if err != nil {
					t.Fatalf("%s line %d: %v", name, body+i+1, err)
				}
				w := float64(want[7*i+k])
				if math.Abs(v-w) > 1e-6*math.Abs(w)+1e-12 {
					t.Fatalf("%s: point %d %s = %v, want %v", name, i, c, v, w)
				}
			}
		}
	}
}
