package lidar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// replaceOnce edits a real file's bytes, failing when old is not there.
func replaceOnce(t *testing.T, b []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%q not in the file", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

// TestBadInput damages real files; every error must name the file, the
// place (line or byte) and what was expected.
func TestBadInput(t *testing.T) {
	kitti := readShared(t, "kitti-object/training/velodyne/000000.bin")
	bunny := readShared(t, "pcd-ply/pcl/bunny.pcd")
	colored := readShared(t, "pcd-ply/pcl/colored_cloud.pcd")
	milk, _, _, streamAt := milkStream(t)
	cube := readShared(t, "pcd-ply/pcl/cube.ply")
	vlp16 := readShared(t, "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd")

	corruptMilk := bytes.Clone(milk)
	corruptMilk[streamAt] = 0xE0 // first run: a back reference into nothing
	cutMilk := bytes.Clone(milk)
	binary.LittleEndian.PutUint32(cutMilk[streamAt-8:], uint32(len(milk)-streamAt-100))

	for _, tc := range []struct {
		name, file string
		data       []byte
		opts       ReadOptions
		want       []string // substrings of the message
		line       int
		offset     int64
	}{
		{"truncated bin", "000000.bin", kitti[:len(kitti)-7], ReadOptions{},
			[]string{"bin 000000.bin: byte 1846128: file size 1846137 bytes is not a multiple of 16"}, 0, 1846128},
		{"nuscenes stride", "x.pcd.bin", kitti[:1008], ReadOptions{},
			[]string{"x.pcd.bin", "not a multiple of 20"}, 0, 1000},
		{"bad element size", "000000.bin", kitti, ReadOptions{ElementSize: 4, ElementStride: 3},
			[]string{"000000.bin", "stride"}, 0, -1},
		{"FIELDS vs SIZE", "bunny.pcd", replaceOnce(t, bunny, "SIZE 4 4 4", "SIZE 4 4"), ReadOptions{},
			[]string{"pcd bunny.pcd: line 4: FIELDS has 3 names but SIZE has 2"}, 4, -1},
		{"FIELDS vs TYPE", "bunny.pcd", replaceOnce(t, bunny, "TYPE F F F", "TYPE F F F F"), ReadOptions{},
			[]string{"pcd bunny.pcd: line 5: FIELDS has 3 names but TYPE has 4"}, 5, -1},
		{"bad TYPE/SIZE", "bunny.pcd", replaceOnce(t, bunny, "SIZE 4 4 4", "SIZE 4 4 2"), ReadOptions{},
			[]string{"bunny.pcd: line 5: field z has TYPE F and SIZE 2: expected F with 4 or 8"}, 5, -1},
		{"POINTS vs WIDTH", "bunny.pcd", replaceOnce(t, bunny, "POINTS 397", "POINTS 398"), ReadOptions{},
			[]string{"bunny.pcd: line 9: POINTS 398 but WIDTH×HEIGHT is 397×1 = 397"}, 9, -1},
		{"lying count ascii", "bunny.pcd",
			replaceOnce(t, replaceOnce(t, bunny, "POINTS 397", "POINTS 398"), "WIDTH 397", "WIDTH 398"), ReadOptions{},
			[]string{"bunny.pcd:", "byte 10878: data ends after 397 of 398 points"}, 408, 10878},
		{"lying count binary", "colored_cloud.pcd",
			replaceOnce(t, replaceOnce(t, colored, "POINTS 1000", "POINTS 1001"), "HEIGHT 1000", "HEIGHT 1001"), ReadOptions{},
			[]string{"colored_cloud.pcd: line 10: byte 32241: data ends after 1000 of 1001 points"}, 10, 32241},
		{"lying count compressed", "milk.pcd",
			replaceOnce(t, replaceOnce(t, milk, "POINTS 13704", "POINTS 13705"), "WIDTH 13704", "WIDTH 13705"), ReadOptions{},
			[]string{"milk.pcd: line 10: byte", "binary_compressed holds 164448 bytes uncompressed, but 13705 points of 12 bytes need 164460"},
			10, int64(streamAt - 4)},
		{"corrupt LZF", "milk.pcd", corruptMilk, ReadOptions{},
			[]string{"pcd milk.pcd: byte", "corrupt binary_compressed data", "before the output start"}, 0, int64(streamAt)},
		{"LZF stream cut", "milk.pcd", cutMilk[:len(cutMilk)-100], ReadOptions{},
			[]string{"milk.pcd: byte", "corrupt binary_compressed data"}, 0, -2},
		{"unknown key", "bunny.pcd", replaceOnce(t, bunny, "VERSION .5", "VERZION .5"), ReadOptions{},
			[]string{"bunny.pcd: line 2: unknown header key \"VERZION\""}, 2, -1},
		{"ascii value", "bunny.pcd", replaceOnce(t, bunny, "0.0054216 0.11349", "0.0054216 0.1x349"), ReadOptions{},
			[]string{"bunny.pcd: line 11: field y: \"0.1x349\" is not a number"}, 11, -1},
		{"missing intensity", "vlp16.pcd", vlp16, ReadOptions{IntensityField: "reflectivity"},
			[]string{"vlp16.pcd: line 11: no field \"reflectivity\""}, 11, -1},
		{"no DATA", "bunny.pcd", bunny[:100], ReadOptions{},
			[]string{"bunny.pcd:", "header ends without a DATA line"}, 0, -1},
		{"PLY unknown type", "cube.ply", replaceOnce(t, cube, "property float y", "property float128 y"), ReadOptions{},
			[]string{"ply cube.ply: line 6: property y has unknown type \"float128\": expected char, uchar"}, 6, -1},
		{"PLY unknown list type", "cube.ply", replaceOnce(t, cube, "list uchar int", "list uchar quad"), ReadOptions{},
			[]string{"ply cube.ply: line 9:", "unknown type"}, 9, -1},
		{"PLY truncated", "cube.ply", cube[:300], ReadOptions{},
			[]string{"ply cube.ply: line 4: byte 300: vertex data ends after"}, 4, 300},
		{"PLY vertex count", "cube.ply", replaceOnce(t, cube, "element vertex 24", "element vertex 9999"), ReadOptions{},
			[]string{"cube.ply", "vertex data ends after"}, 4, -2},
		{"PLY no format", "cube.ply", replaceOnce(t, cube, "format binary_little_endian 1.0\n", ""), ReadOptions{},
			[]string{"cube.ply: line", "no format line"}, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c Cloud
			err := Decode(&c, tc.file, tc.data, tc.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			var fe *FormatError
			if errors.As(err, &fe) {
				if tc.line > 0 && fe.Line != tc.line {
					t.Errorf("line %d, want %d (%v)", fe.Line, tc.line, err)
				}
				if tc.offset != -2 && fe.Offset != tc.offset {
					t.Errorf("offset %d, want %d (%v)", fe.Offset, tc.offset, err)
				}
			} else if tc.line > 0 || tc.offset >= 0 {
				t.Errorf("error %T is not a *FormatError", err)
			}
			// The frame path fails the same way.
			if err := DecodeInto(ds3d.NewLidarFrame(0), tc.file, tc.data, tc.opts); err == nil {
				t.Error("DecodeInto: no error")
			}
		})
	}
}

func TestUnknownFormat(t *testing.T) {
	err := Decode(&Cloud{}, "scan.las", []byte("LASF...."), ReadOptions{})
	if err == nil || !strings.Contains(err.Error(), "scan.las: unknown point-cloud format") {
		t.Errorf("err %v", err)
	}
	if err := Decode(&Cloud{}, "x.pcd", nil, ReadOptions{Format: "e57"}); err == nil || !strings.Contains(err.Error(), `"e57"`) {
		t.Errorf("err %v", err)
	}
	// Sniffing: a PCD under a name with no known extension.
	bunny := readShared(t, "pcd-ply/pcl/bunny.pcd")
	var c Cloud
	if err := Decode(&c, "bunny.txt", bunny, ReadOptions{}); err != nil || c.Format != "pcd" || c.Len() != 397 {
		t.Errorf("sniffed %s %d points, err %v", c.Format, c.Len(), err)
	}
}
