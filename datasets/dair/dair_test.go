package dair

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

const root = "v2x-roadside/dair-v2x-c-pair"

// readPCD is the test's own reader for the DAIR PCD: header up to "DATA
// binary_compressed", then compressed and raw sizes (uint32 LE) and an LZF
// block holding the fields one after another (all x, all y, all z, all
// intensity), float32 LE.
func readPCD(t *testing.T, path string) (xyz [][3]float32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("DATA binary_compressed\n"))
	if i < 0 {
		t.Fatalf("%s: not binary_compressed", path)
	}
	header := string(b[:i])
	var n int
	for _, l := range strings.Split(header, "\n") {
		if f := strings.Fields(l); len(f) == 2 && f[0] == "POINTS" {
			n, _ = strconv.Atoi(f[1])
		}
	}
	body := b[i+len("DATA binary_compressed\n"):]
	csize := binary.LittleEndian.Uint32(body)
	usize := binary.LittleEndian.Uint32(body[4:])
	raw := lzf(t, body[8:8+csize], int(usize))
	if len(raw) != n*16 {
		t.Fatalf("%d bytes for %d points", len(raw), n)
	}
	f := func(field, k int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(raw[(field*n+k)*4:]))
	}
	xyz = make([][3]float32, n)
	for k := range xyz {
		xyz[k] = [3]float32{f(0, k), f(1, k), f(2, k)}
	}
	return xyz
}

// lzf decompresses LibLZF data (literal runs: ctrl < 32, ctrl+1 bytes;
// back references: length ctrl>>5 (+ next byte when 7) + 2, offset
// ((ctrl&31)<<8 | next) + 1).
func lzf(t *testing.T, in []byte, size int) []byte {
	out := make([]byte, 0, size)
	for i := 0; i < len(in); {
		ctrl := int(in[i])
		i++
		if ctrl < 32 {
			out = append(out, in[i:i+ctrl+1]...)
			i += ctrl + 1
			continue
		}
		l := ctrl >> 5
		if l == 7 {
			l += int(in[i])
			i++
		}
		ref := len(out) - ((ctrl&31)<<8 | int(in[i])) - 1
		i++
		for k := 0; k < l+2; k++ {
			out = append(out, out[ref+k])
		}
	}
	if len(out) != size {
		t.Fatalf("lzf: %d bytes, want %d", len(out), size)
	}
	return out
}

func TestInfraFrame(t *testing.T) {
	dir := sampledata.Shared(t, root)
	f, err := InfraFrame(dir, "001366")
	if err != nil {
		t.Fatal(err)
	}
	// PROVENANCE.md: 8 objects (Car, Motorcyclist, Trafficcone), 53,653 points.
	if len(f.Boxes) != 8 {
		t.Fatalf("%d boxes, want 8", len(f.Boxes))
	}
	count := map[string]int{}
	for _, b := range f.Boxes {
		count[b.Label]++
	}
	if count["Car"] != 4 || count["Motorcyclist"] != 3 || count["Trafficcone"] != 1 {
		t.Errorf("types %v", count)
	}
	// First object of the file: Motorcyclist, h 1.615864 w 0.836943 l
	// 1.884392 at (45.7304, -8.0187, -0.9150), rotation 0.0816.
	b := f.Boxes[0]
	if b.Label != "Motorcyclist" || b.ClassID != 7 || b.DX != float32(1.884392) || b.DY != float32(0.836943) || b.DZ != float32(1.615864) ||
		b.CX != float32(45.73039064448539) || b.CZ != float32(-0.9150367168753375) || b.Yaw != float32(0.08158691445777524) {
		t.Errorf("box 0 = %+v", b)
	}
	if l := f.Labels[0]; l.BBox.Left != float32(915.604187) || math.Abs(float64(l.BBox.Width)-(953.042236-915.604187)) > 1e-4 {
		t.Errorf("2d box %+v", l.BBox)
	}

	pts := readPCD(t, f.PointCloudPath)
	if len(pts) != 53653 {
		t.Errorf("%d points, want 53653", len(pts))
	}
	// PROVENANCE.md: "infra Car 486 pts with z-as-centre vs 318 with
	// z-as-bottom". It does not say which car; one of them must match.
	found := false
	for i, b := range f.Boxes {
		n, nb := 0, 0
		bottom := b
		bottom.CZ += b.DZ / 2 // z read as the bottom: the box sits DZ/2 higher
		for _, p := range pts {
			if b.Contains(p[0], p[1], p[2]) {
				n++
			}
			if bottom.Contains(p[0], p[1], p[2]) {
				nb++
			}
		}
		t.Logf("box %d %-12s %4d points (z as bottom: %d)", i, b.Label, n, nb)
		if b.Label == "Car" && abs(n-486) <= 2 && abs(nb-318) <= 2 {
			found = true
		}
	}
	if !found {
		t.Error("no Car box holds 486 points (318 with z as bottom), as PROVENANCE.md says one does")
	}
}

func TestPairsAndI2V(t *testing.T) {
	dir := sampledata.Shared(t, root)
	pairs, err := ReadPairs(filepath.Join(dir, "cooperative", "selected_data_info.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].InfraID != "001366" || pairs[0].VehicleID != "017314" ||
		pairs[0].SystemErrorOffsetX != -0.7 || pairs[0].SystemErrorOffsetY != -0.54 {
		t.Fatalf("pairs %+v", pairs)
	}
	e, err := I2V(dir, pairs[0].VehicleID)
	if err != nil {
		t.Fatal(err)
	}
	if e.Transform[3] != -5.6465017752668185 || e.From != "virtuallidar" || e.To != "lidar" {
		t.Errorf("i2v %+v", e)
	}
}

func TestReadLabelsErrors(t *testing.T) {
	p := sampledata.Shared(t, root+"/infrastructure-side/label/virtuallidar/001366.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.json")
	cases := []struct{ name, in, want string }{
		{"truncated", string(b[:500]), "dair " + bad + ": line 1, column 500 (byte 499): unexpected end of JSON input"},
		{"missing h", strings.Replace(string(b), `"h": 1.615864, `, "", 1), "dair " + bad + ": object 0: missing 3d_dimensions.h"},
		{"text", strings.Replace(string(b), `"w": 0.836943`, `"w": "wide"`, 1), `"wide" is not a number`},
		{"object", "{}", "dair " + bad + ": line 1, column"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(bad, []byte(c.in), 0o644)
			_, err := ReadLabels(bad)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
