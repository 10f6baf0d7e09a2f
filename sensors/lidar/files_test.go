package lidar

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// realFile is one real file with the facts its PROVENANCE.md states.
type realFile struct {
	rel       string // under the shared data root
	format    string
	encoding  string
	points    int
	w, h      int // organised shape; 0: N×1
	nans      int
	intensity string // field read as intensity; "" none
	fields    string // space-separated field names in file order
	// Ranges quoted in PROVENANCE.md to 4 decimals; nil when not quoted.
	lo, hi *[3]float64
	ilo    float64
	ihi    float64 // intensity range when quoted (ihi > ilo)
}

// realFiles lists every point cloud under shared/data with its facts from
// pcd-ply/, kitti-object/, nuscenes-mini-sample/, v2x-roadside/ and
// lidar-raw/ PROVENANCE.md.
var realFiles = []realFile{
	{rel: "pcd-ply/pcl/bunny.pcd", format: "pcd", encoding: "ascii", points: 397, fields: "x y z",
		lo: &[3]float64{-0.0939, 0.0374, -0.0550}, hi: &[3]float64{0.0596, 0.1845, 0.0578}},
	{rel: "pcd-ply/pcl/lamppost.pcd", format: "pcd", encoding: "ascii", points: 1771, fields: "x y z",
		lo: &[3]float64{-11.1719, -0.3750, -5.4480}, hi: &[3]float64{-9.7656, 0.5938, 0.4670}},
	{rel: "pcd-ply/pcl/octants.pcd", format: "pcd", encoding: "ascii", points: 8, fields: "x y z"},
	{rel: "pcd-ply/pcl/nhood_test.pcd", format: "pcd", encoding: "ascii", points: 36, fields: "x y z intensity",
		intensity: "intensity"},
	{rel: "pcd-ply/pcl/colored_cloud.pcd", format: "pcd", encoding: "binary", points: 1000, w: 1, h: 1000,
		fields: "x y z rgb normal_x normal_y normal_z curvature"},
	{rel: "pcd-ply/pcl/milk.pcd", format: "pcd", encoding: "binary_compressed", points: 13704, fields: "x y z"},
	{rel: "pcd-ply/pcl/cturtle.pcd", format: "pcd", encoding: "binary_compressed", points: 167198,
		fields: "x y z intensity", intensity: "intensity"},
	{rel: "pcd-ply/pcl/five_people.pcd", format: "pcd", encoding: "binary_compressed", points: 307200, w: 640, h: 480,
		nans: 68125, fields: "x y z rgba"},
	{rel: "pcd-ply/pcl/cube.ply", format: "ply", encoding: "binary_little_endian", points: 24, fields: "x y z"},
	{rel: "pcd-ply/open3d/cloud_bin_0.pcd", format: "pcd", encoding: "binary", points: 3903,
		fields: "x y z normal_x normal_y normal_z rgb"},
	{rel: "pcd-ply/open3d/color.ply", format: "ply", encoding: "binary_little_endian", points: 3017,
		fields: "x y z nx ny nz red green blue alpha"},
	{rel: "pcd-ply/open3d/knot.ply", format: "ply", encoding: "binary_little_endian", points: 1440, fields: "x y z"},
	{rel: "pcd-ply/open3d/sphere.ply", format: "ply", encoding: "binary_little_endian", points: 642, fields: "x y z"},
	{rel: "pcd-ply/open3d/simple.xyz", format: "xyz", encoding: "ascii", points: 4, fields: "x y z",
		lo: &[3]float64{0, 0, 0}, hi: &[3]float64{1, 1, 1}},
	{rel: "v2x-roadside/dair-v2x-c-pair/infrastructure-side/velodyne/001366.pcd", format: "pcd",
		encoding: "binary_compressed", points: 53653, fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 1},
	{rel: "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd", format: "pcd", encoding: "binary",
		points: 14831, intensity: "intensity",
		fields: "x y z intensity return_type channel azimuth elevation distance time_stamp"},
	{rel: "lidar-raw/velodyne/golden/nebula_vlp32c_1713492677464078412.pcd", format: "pcd", encoding: "binary",
		points: 26216, fields: "x y z"},
	{rel: "lidar-raw/hesai/golden/nebula_xt32_dual_1673400678101968885.pcd", format: "pcd", encoding: "binary",
		points: 63021, fields: "x y z"},
	{rel: "kitti-object/training/velodyne/000000.bin", format: "bin", encoding: "float32", points: 115384,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "kitti-object/training/velodyne/000001.bin", format: "bin", encoding: "float32", points: 120268,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "kitti-object/training/velodyne/000002.bin", format: "bin", encoding: "float32", points: 126891,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "kitti-object/training/velodyne/000003.bin", format: "bin", encoding: "float32", points: 113110,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "kitti-object/training/velodyne/000004.bin", format: "bin", encoding: "float32", points: 115976,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "kitti-object/mmdet3d-demo/000008.bin", format: "bin", encoding: "float32", points: 17238,
		fields: "x y z intensity", intensity: "intensity", ilo: 0, ihi: 0.99},
	{rel: "nuscenes-mini-sample/n015-2018-07-24-11-22-45+0800__LIDAR_TOP__1532402927647951.pcd.bin", format: "pcd.bin",
		encoding: "float32", points: 34688, fields: "x y z intensity ring", intensity: "intensity", ilo: 0, ihi: 255},
}

func TestRealFiles(t *testing.T) {
	for _, rf := range realFiles {
		t.Run(rf.rel, func(t *testing.T) {
			path := sampledata.Shared(t, rf.rel)
			c, err := ReadFile(path, ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != rf.format || c.Encoding != rf.encoding {
				t.Errorf("format %s %s, want %s %s", c.Format, c.Encoding, rf.format, rf.encoding)
			}
			if c.Len() != rf.points {
				t.Errorf("%d points, want %d", c.Len(), rf.points)
			}
			if c.Points.Type != ds3d.FrameLidarXYZI || c.Points.DType != ds3d.DTypeF32 ||
				c.Points.Shape.String() != "["+itoa(rf.points)+",4]" {
				t.Errorf("frame %s %s %s, want lidar_xyzi f32 [%d,4]", c.Points.Type, c.Points.DType, c.Points.Shape, rf.points)
			}
			w, h := rf.w, rf.h
			if w == 0 {
				w, h = rf.points, 1
			}
			if c.Width != w || c.Height != h {
				t.Errorf("shape %d×%d, want %d×%d", c.Width, c.Height, w, h)
			}
			if c.NaNs != rf.nans {
				t.Errorf("%d NaN points, want %d", c.NaNs, rf.nans)
			}
			if c.Intensity != rf.intensity {
				t.Errorf("intensity field %q, want %q", c.Intensity, rf.intensity)
			}
			var names []string
			for _, f := range c.Fields {
				names = append(names, f.Name)
			}
			if got := strings.Join(names, " "); got != rf.fields {
				t.Errorf("fields %q, want %q", got, rf.fields)
			}
			lo, hi, ilo, ihi := bounds(ds3d.AsFloat32(c.Points))
			if rf.lo != nil {
				for k := 0; k < 3; k++ {
					// PROVENANCE rounds to 4 decimals.
					if math.Abs(float64(lo[k])-rf.lo[k]) > 5e-5 || math.Abs(float64(hi[k])-rf.hi[k]) > 5e-5 {
						t.Errorf("axis %d range [%v, %v], want [%v, %v]", k, lo[k], hi[k], rf.lo[k], rf.hi[k])
					}
				}
			}
			if rf.ihi > rf.ilo && (ilo < float32(rf.ilo) || ihi > float32(rf.ihi)) {
				t.Errorf("intensity range [%v, %v] outside [%v, %v]", ilo, ihi, rf.ilo, rf.ihi)
			}
			if rf.intensity == "" && (ilo != 0 || ihi != 0) {
				t.Errorf("no intensity field, but column 3 spans [%v, %v]", ilo, ihi)
			}
			// The frame-only paths agree with the full decode.
			frame := ds3d.NewLidarFrame(0)
			if err := ReadFileInto(frame, path, ReadOptions{}); err != nil {
				t.Fatal(err)
			}
			if !sameFloats(ds3d.AsFloat32(frame), ds3d.AsFloat32(c.Points)) {
				t.Error("ReadFileInto differs from ReadFile")
			}
		})
	}
}

// TestNuScenesRing checks the fifth float of the nuScenes sweep, which
// PROVENANCE.md gives as the ring 0..31.
func TestNuScenesRing(t *testing.T) {
	path := sampledata.Shared(t, realFiles[len(realFiles)-1].rel)
	c, err := ReadFile(path, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ring := c.Field("ring")
	if ring == nil || ring.Type != Float32 || len(ring.Data) != 4*34688 {
		t.Fatalf("ring field %+v", ring)
	}
	seen := map[float64]bool{}
	for i := 0; i < c.Len(); i++ {
		seen[ring.Value(i, 0)] = true
	}
	if len(seen) != 32 {
		t.Errorf("%d distinct rings, want 32", len(seen))
	}
	for r := range seen {
		if r < 0 || r > 31 || r != math.Trunc(r) {
			t.Errorf("ring %v outside 0..31", r)
		}
	}
	// Stride 5 with size 3 drops intensity too.
	c3, err := ReadFile(path, ReadOptions{ElementSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	p, p3 := ds3d.AsFloat32(c.Points), ds3d.AsFloat32(c3.Points)
	for i := 0; i < c.Len(); i++ {
		if p3[4*i] != p[4*i] || p3[4*i+1] != p[4*i+1] || p3[4*i+2] != p[4*i+2] || p3[4*i+3] != 0 {
			t.Fatalf("point %d: %v with size 3, %v with size 4", i, p3[4*i:4*i+4], p[4*i:4*i+4])
		}
	}
	if c3.Intensity != "" || c3.Field("intensity") == nil || c3.Field("intensity").Data == nil {
		t.Errorf("size 3: intensity %q, field %+v: want it kept as a field", c3.Intensity, c3.Field("intensity"))
	}
}

// TestIntensityField reads another field as intensity: the VLP-16 file's
// channel (U2), which for a 16-laser Velodyne VLP-16 lies in 0..15.
func TestIntensityField(t *testing.T) {
	path := sampledata.Shared(t, "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd")
	c, err := ReadFile(path, ReadOptions{IntensityField: "channel"})
	if err != nil {
		t.Fatal(err)
	}
	_, _, lo, hi := bounds(ds3d.AsFloat32(c.Points))
	if c.Intensity != "channel" || lo < 0 || hi != 15 {
		t.Errorf("channel as intensity: %q [%v, %v], want within [0, 15] up to 15", c.Intensity, lo, hi)
	}
	if f := c.Field("channel"); f == nil || f.Data != nil {
		t.Errorf("channel lives in the frame, so its Data should be nil: %+v", f)
	}
	if f := c.Field("intensity"); f == nil || f.Type != Uint8 || len(f.Data) != c.Len() {
		t.Errorf("intensity should now be a kept uint8 field: %+v", f)
	}
	if _, err := ReadFile(path, ReadOptions{IntensityField: "reflectivity"}); err == nil ||
		!strings.Contains(err.Error(), `"reflectivity"`) {
		t.Errorf("missing intensity field: err %v", err)
	}
}

func TestInspect(t *testing.T) {
	path := sampledata.Shared(t, "pcd-ply/pcl/five_people.pcd")
	in, err := Inspect(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Points != 307200 || in.NaNs != 68125 || in.Width != 640 || in.Height != 480 || in.Format != "pcd" ||
		in.Encoding != "binary_compressed" || len(in.Fields) != 4 || in.Fields[3].Data != nil {
		t.Errorf("info %+v", in)
	}
	var b strings.Builder
	if err := in.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"five_people.pcd (2007625 bytes)", "pcd binary_compressed", "307200 (organised 640×480)",
		"rgba:uint32", "nan points:      68125", "x:               [-1.9311, 2.9885]", "points:          307200 (organised 640×480)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("WriteText lacks %q:\n%s", want, b.String())
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// sameFloats compares bit for bit except that any NaN equals any NaN
// (text formats cannot keep NaN payloads).
func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) && !(a[i] != a[i] && b[i] != b[i]) {
			return false
		}
	}
	return true
}

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(sampledata.Shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
