package lidar

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

type writer struct {
	name   string
	ext    string
	write  func(*bytes.Buffer, *Cloud) error
	shaped bool // keeps width×height and viewpoint
}

var writers = []writer{
	{"pcd-ascii", ".pcd", func(b *bytes.Buffer, c *Cloud) error { return WritePCD(b, c, "ascii") }, true},
	{"pcd-binary", ".pcd", func(b *bytes.Buffer, c *Cloud) error { return WritePCD(b, c, "binary") }, true},
	{"pcd-binary_compressed", ".pcd", func(b *bytes.Buffer, c *Cloud) error { return WritePCD(b, c, "binary_compressed") }, true},
	{"ply-ascii", ".ply", func(b *bytes.Buffer, c *Cloud) error { return WritePLY(b, c, "ascii") }, false},
	{"ply-binary_little_endian", ".ply", func(b *bytes.Buffer, c *Cloud) error { return WritePLY(b, c, "binary_little_endian") }, false},
}

// sameCloud compares what a writer must keep: points, fields with their
// values, intensity name, and for PCD the shape and viewpoint.
func sameCloud(t *testing.T, what string, got, want *Cloud, shaped bool) {
	t.Helper()
	if !sameFloats(ds3d.AsFloat32(got.Points), ds3d.AsFloat32(want.Points)) {
		t.Errorf("%s: points differ", what)
	}
	if got.Intensity != want.Intensity || got.NaNs != want.NaNs {
		t.Errorf("%s: intensity %q NaNs %d, want %q %d", what, got.Intensity, got.NaNs, want.Intensity, want.NaNs)
	}
	if shaped && (got.Width != want.Width || got.Height != want.Height || got.Viewpoint != want.Viewpoint) {
		t.Errorf("%s: %d×%d %v, want %d×%d %v", what, got.Width, got.Height, got.Viewpoint, want.Width, want.Height, want.Viewpoint)
	}
	if len(got.Fields) != len(want.Fields) {
		t.Fatalf("%s: %d fields, want %d", what, len(got.Fields), len(want.Fields))
	}
	for i := range want.Fields {
		g, w := &got.Fields[i], &want.Fields[i]
		if g.Name != w.Name || g.Type != w.Type || g.Count != w.Count || (g.Data == nil) != (w.Data == nil) {
			t.Errorf("%s: field %s %s×%d data %v, want %s %s×%d data %v", what, g.Name, g.Type, g.Count, g.Data != nil,
				w.Name, w.Type, w.Count, w.Data != nil)
			continue
		}
		if !sameValues(g.Data, w.Data, w.Type) {
			t.Errorf("%s: field %s values differ", what, w.Name)
		}
	}
}

// sameValues compares field bytes; float NaNs match any NaN.
func sameValues(a, b []byte, typ ScalarType) bool {
	if bytes.Equal(a, b) {
		return true
	}
	if len(a) != len(b) || !typ.isFloat() {
		return false
	}
	sz := typ.Size()
	for i := 0; i < len(a); i += sz {
		x, y := scalarAt(a[i:], typ, false), scalarAt(b[i:], typ, false)
		if !bytes.Equal(a[i:i+sz], b[i:i+sz]) && !(math.IsNaN(x) && math.IsNaN(y)) {
			return false
		}
	}
	return true
}

// TestRoundTrip writes every real file in every encoding and reads it back.
func TestRoundTrip(t *testing.T) {
	for _, rf := range realFiles {
		t.Run(rf.rel, func(t *testing.T) {
			orig, err := ReadFile(sampledata.Shared(t, rf.rel), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range writers {
				var buf bytes.Buffer
				if err := w.write(&buf, orig); err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				var back Cloud
				if err := Decode(&back, "roundtrip"+w.ext, buf.Bytes(), ReadOptions{}); err != nil {
					t.Fatalf("%s: %v", w.name, err)
				}
				sameCloud(t, w.name, &back, orig, w.shaped)
			}
			var buf bytes.Buffer
			if err := WriteBin(&buf, orig); err != nil {
				t.Fatal(err)
			}
			frame := ds3d.NewLidarFrame(0)
			if err := DecodeInto(frame, "roundtrip.bin", buf.Bytes(), ReadOptions{}); err != nil {
				t.Fatal(err)
			}
			if !sameFloats(ds3d.AsFloat32(frame), ds3d.AsFloat32(orig.Points)) {
				t.Error("bin: points differ")
			}
		})
	}
}

// TestRoundTripAllTypes gives a real KITTI scan one extra field of every
// scalar type, count 2, with values taken from its own coordinates, and
// checks that PCD keeps them all exactly in every encoding.
func TestRoundTripAllTypes(t *testing.T) {
	c, err := ReadFile(sampledata.Shared(t, "kitti-object/training/velodyne/000001.bin"), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pts := ds3d.AsFloat32(c.Points)
	n := c.Len()
	for typ := Int8; typ <= Float64; typ++ {
		sz := typ.Size()
		data := make([]byte, n*2*sz)
		for i := 0; i < n; i++ {
			for k := 0; k < 2; k++ {
				v := float64(pts[4*i+k]) * 1000 // mm, so the integers vary
				b := data[(2*i+k)*sz:]
				switch typ {
				case Float32:
					binary.LittleEndian.PutUint32(b, math.Float32bits(float32(v)))
				case Float64:
					binary.LittleEndian.PutUint64(b, math.Float64bits(v)*uint64(1+i%2)) // all 64 bits in play
				default:
					putUint(b, uint64(int64(v))*0x9E3779B97F4A7C15, sz) // spread over the type's range
				}
			}
		}
		c.Fields = append(c.Fields, Field{Name: "t_" + typ.String(), Type: typ, Count: 2, Data: data})
	}
	c.Width, c.Height = n/2, 2 // n is even: an organised shape to keep
	c.Viewpoint = [7]float64{1.5, -2, 0.25, 0.7071067811865476, 0, 0.7071067811865476, 0}
	for _, w := range writers[:3] {
		var buf bytes.Buffer
		if err := w.write(&buf, c); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		var back Cloud
		if err := Decode(&back, "types.pcd", buf.Bytes(), ReadOptions{}); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		sameCloud(t, w.name, &back, c, true)
	}
	var buf bytes.Buffer
	if err := WritePLY(&buf, c, "ascii"); err == nil {
		t.Error("PLY cannot hold count-2 or 64-bit integer fields, yet WritePLY succeeded")
	}
}

// TestWriteFramesOnly writes a cloud that is only a frame (no Fields): the
// writers fall back to x y z intensity float32.
func TestWriteFramesOnly(t *testing.T) {
	frame := ds3d.NewLidarFrame(0)
	if err := ReadFileInto(frame, sampledata.Shared(t, "kitti-object/training/velodyne/000002.bin"), ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, w := range writers {
		var buf bytes.Buffer
		if err := w.write(&buf, &Cloud{Points: frame}); err != nil {
			t.Fatal(err)
		}
		back := ds3d.NewLidarFrame(0)
		if err := DecodeInto(back, "f"+w.ext, buf.Bytes(), ReadOptions{}); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if !sameFloats(ds3d.AsFloat32(back), ds3d.AsFloat32(frame)) {
			t.Errorf("%s: points differ", w.name)
		}
	}
}
