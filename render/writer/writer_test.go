package writer_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin" // test_source feeds the writers
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/render/writer"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// build makes a registered component from a TOML config body.
func build(t *testing.T, impl, body string, env *ds3d.Env) any {
	t.Helper()
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"w\"\n" +
		"[[component]]\nname = \"w\"\ntype = \"ds3d::datarender\"\nimpl = \"" + impl + "\"\n[component.config]\n" + body + "\n"
	p, err := config.Parse("test.toml", t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	c := p.Components[1]
	if env == nil {
		env = &ds3d.Env{Name: "w"}
	}
	v, err := c.Spec.Build(c.Config, env)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := v.(ds3d.Starter); ok {
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return v
}

func render(t *testing.T, r any, m *ds3d.DataMap) {
	t.Helper()
	if err := r.(ds3d.Render).Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

// TestKITTILabelRoundTrip: label_2 → Box3D (datasets/kitti, lidar frame) →
// kitti_label_writer → label_2 again. Sizes and positions come back within
// 1e-3; rotation_y within 1e-3 too, though not exactly: Box3D is upright in
// the lidar frame and KITTI boxes in the rectified camera frame (≈0.6°
// apart), so the heading loses its small component along the camera's y
// axis on the way in (see KITTIConverter.Convert).
func TestKITTILabelRoundTrip(t *testing.T) {
	type set struct {
		root string
		ids  []string
	}
	sets := []set{{filepath.Dir(filepath.Dir(sampledata.Sample(t, "kitti/calib/000000.txt"))), []string{"000000"}}}
	if testenv.CI() || dirExists(filepath.Join(sampledata.SharedDir(t), "kitti-object/training")) {
		sets = append(sets, set{sampledata.Shared(t, "kitti-object/training"), []string{"000000", "000001", "000002", "000003", "000004"}})
	} else {
		t.Log("shared KITTI training set absent: round trip on the bundled 000000 only")
	}
	var worst [7]float64
	names := [7]string{"h", "w", "l", "x", "y", "z", "ry"}
	objects := 0
	for _, s := range sets {
		ds, err := kitti.Open(s.root)
		if err != nil {
			t.Fatal(err)
		}
		for fi, id := range s.ids {
			fr, err := ds.Frame(id)
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			w := build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q\nscore_column = \"never\"\nimage_width = 1242\nimage_height = 375", out, fr.CalibPath), nil)
			m := ds3d.NewDataMap()
			m.Set(ds3d.KeyLidar3DBboxRawData, fr.Boxes())
			m.SetInt64(ds3d.KeyFrameNumber, int64(fi+7))
			render(t, w, m)
			m.Release()
			back, err := kitti.ReadLabels(filepath.Join(out, fmt.Sprintf("%06d.txt", fi+7)))
			if err != nil {
				t.Fatal(err)
			}
			if len(back) != len(fr.Objects) {
				t.Fatalf("%s: %d rows back, want %d", id, len(back), len(fr.Objects))
			}
			for i, o := range fr.Objects {
				b := back[i]
				if b.Type != o.Type {
					t.Errorf("%s row %d: type %q, want %q", id, i, b.Type, o.Type)
				}
				got := [7]float64{b.H, b.W, b.L, b.X, b.Y, b.Z, b.RotY}
				want := [7]float64{o.H, o.W, o.L, o.X, o.Y, o.Z, o.RotY}
				for k := range got {
					d := math.Abs(got[k] - want[k])
					if k == 6 {
						d = math.Abs(math.Remainder(got[k]-want[k], 2*math.Pi))
					}
					worst[k] = max(worst[k], d)
					if d > 1e-4 { // 4 decimals written; the tilt is carried, so nothing else is lost
						t.Errorf("%s row %d (%s): %s = %.5f, want %.5f", id, i, o.Type, names[k], got[k], want[k])
					}
				}
				// The projected 2D box is close to the annotated one (KITTI's
				// 2D boxes are drawn by hand, so only roughly).
				if math.Abs(float64(b.BBox.Left-o.BBox.Left)) > 40 || math.Abs(float64(b.BBox.Top-o.BBox.Top)) > 40 {
					t.Errorf("%s row %d: 2D box %+v, label %+v", id, i, b.BBox, o.BBox)
				}
				if math.Abs(math.Remainder(b.Alpha-o.Alpha, 2*math.Pi)) > 0.02 {
					t.Errorf("%s row %d: alpha %.3f, want %.3f", id, i, b.Alpha, o.Alpha)
				}
				objects++
			}
		}
	}
	t.Logf("%d objects; largest differences: h %.1e w %.1e l %.1e x %.1e y %.1e z %.1e ry %.1e",
		objects, worst[0], worst[1], worst[2], worst[3], worst[4], worst[5], worst[6])
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func TestKITTIScoreColumn(t *testing.T) {
	calibPath := sampledata.Sample(t, "kitti/calib/000000.txt")
	out := t.TempDir()
	w := build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q", out, calibPath), nil)
	m := ds3d.NewDataMap()
	m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{
		{CX: 10, CY: 1, CZ: -1, DX: 4, DY: 2, DZ: 1.5, ClassID: 0, Score: 0.75, TrackID: -1},
		{CX: 20, CY: -3, CZ: -1, DX: 4, DY: 2, DZ: 1.5, ClassID: 5, Label: "my class", TrackID: -1},
		{CX: float32(math.NaN()), DX: 1, DY: 1, DZ: 1},
	})
	render(t, w, m)
	m.Release()
	data, _ := os.ReadFile(filepath.Join(out, "000000.txt"))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%q", data)
	}
	f0, f1 := strings.Fields(lines[0]), strings.Fields(lines[1])
	if len(f0) != 16 || f0[0] != "Car" || f0[15] != "0.7500" || len(f1) != 15 || f1[0] != "my_class" {
		t.Errorf("lines:\n%s", data)
	}
	labels, err := kitti.ParseLabels(strings.NewReader(string(data)), "out")
	if err != nil || labels[0].Score != 0.75 {
		t.Fatalf("%v %+v", err, labels)
	}
	// Yaw 0 (heading +x lidar = forward) is rotation_y ≈ −π/2 in KITTI.
	if math.Abs(labels[0].RotY+math.Pi/2) > 0.02 {
		t.Errorf("rotation_y %v, want about −π/2", labels[0].RotY)
	}
}

func TestJSONLines(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sub", "boxes.jsonl")
	w := build(t, "json_box_writer", fmt.Sprintf("path = %q", out), nil)
	boxes := []ds3d.Box3D{
		{CX: 1.5, CY: -2.25, CZ: 0.1, DX: 4.2, DY: 1.8, DZ: 1.6, Yaw: 0.3, ClassID: 0, Label: "Car \"quoted\"\n", Score: 0.9, TrackID: 12, VX: 3},
		{CX: float32(math.NaN()), DX: float32(math.Inf(1)), ClassID: -1, Label: "bad\xff", TrackID: -1},
	}
	for i := 0; i < 3; i++ {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetTimestamp(int64(i) * 100_000_000)
		m.SetInt64(ds3d.KeySourceID, 4)
		if i != 1 {
			m.Set(ds3d.KeyLidar3DBboxRawData, boxes[:i/2+1])
		}
		render(t, w, m)
		m.Release()
	}
	if err := w.(interface{ Close() error }).Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type jbox struct {
		Center   []*float32 `json:"center"`
		Size     []*float32 `json:"size"`
		Yaw      float32    `json:"yaw"`
		ClassID  int32      `json:"class_id"`
		Label    string     `json:"label"`
		Score    float32    `json:"score"`
		TrackID  int64      `json:"track_id"`
		Velocity []float32  `json:"velocity"`
	}
	var lines []struct {
		Frame  int64  `json:"frame"`
		TS     int64  `json:"timestamp_ns"`
		Source int64  `json:"source_id"`
		Boxes  []jbox `json:"boxes"`
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l = struct {
			Frame  int64  `json:"frame"`
			TS     int64  `json:"timestamp_ns"`
			Source int64  `json:"source_id"`
			Boxes  []jbox `json:"boxes"`
		}{}
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != 3 || lines[1].Boxes == nil || len(lines[1].Boxes) != 0 || len(lines[2].Boxes) != 2 {
		t.Fatalf("%+v", lines)
	}
	b := lines[0].Boxes[0]
	if *b.Center[0] != 1.5 || *b.Center[1] != -2.25 || *b.Center[2] != 0.1 || *b.Size[0] != 4.2 || b.Yaw != 0.3 ||
		b.Label != "Car \"quoted\"\n" || b.Score != 0.9 || b.TrackID != 12 || b.Velocity[0] != 3 || lines[2].TS != 200_000_000 || lines[0].Source != 4 {
		t.Errorf("box back %+v", b)
	}
	if bad := lines[2].Boxes[1]; bad.Center[0] != nil || bad.Size[0] != nil || bad.Label != "bad\ufffd" || bad.ClassID != -1 {
		t.Errorf("NaN box back %+v", bad)
	}
}

func TestPointCloudRoundTrip(t *testing.T) {
	src, err := lidar.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin"), lidar.ReadOptions{ElementSize: 4, ElementStride: 4})
	if err != nil {
		t.Fatal(err)
	}
	in := ds3d.AsFloat32(src.Points)
	for _, tc := range []struct{ file, enc string }{
		{"%06d.pcd", "ascii"}, {"%06d.pcd", "binary"}, {"%06d.pcd", "binary_compressed"}, {"f%03d.pcd", ""},
		{"%06d.ply", "ascii"}, {"%06d.ply", ""}, {"%06d.bin", ""},
	} {
		t.Run(tc.file+"-"+tc.enc, func(t *testing.T) {
			out := t.TempDir()
			w := build(t, "pointcloud_writer", fmt.Sprintf("output_dir = %q\nfilename = %q\nencoding = %q", out, tc.file, tc.enc), nil)
			m := ds3d.NewDataMap()
			m.SetFrame(ds3d.KeyLidarXYZI, src.Points)
			m.SetInt64(ds3d.KeyFrameNumber, 3)
			render(t, w, m)
			m.Release()
			back, err := lidar.ReadFile(filepath.Join(out, fmt.Sprintf(tc.file, 3)), lidar.ReadOptions{ElementSize: 4, ElementStride: 4, IntensityField: "intensity"})
			if err != nil {
				t.Fatal(err)
			}
			got := ds3d.AsFloat32(back.Points)
			if len(got) != len(in) {
				t.Fatalf("%d floats back, want %d", len(got), len(in))
			}
			for i := range in {
				if got[i] != in[i] {
					t.Fatalf("float %d: %v, want %v", i, got[i], in[i])
				}
			}
		})
	}
}

// TestWritersConfigAndMissingKeys: bad configs name their key; a datamap
// without the writer's key warns once.
func TestWritersConfigAndMissingKeys(t *testing.T) {
	for _, tc := range []struct{ impl, body, key string }{
		{"kitti_label_writer", `output_dir = ""` + "\ncalib_file = \"c.txt\"", "output_dir"},
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \"c.txt\"\nscore_column = \"maybe\"", "score_column"},
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \".\"\nfilename = \"x.txt\"", "filename"}, // "." exists: the test's folder
		{"kitti_label_writer", `output_dir = "o"` + "\ncalib_file = \"c.txt\"", "calib_file"},                 // does not exist
		{"kitti_label_writer", `output_dir = "o"`, "calib_file"},
		{"json_box_writer", `path = ""`, "path"},
		{"pointcloud_writer", `output_dir = "o"` + "\nfilename = \"%d.las\"", "filename"},
		{"pointcloud_writer", `output_dir = "o"` + "\nfilename = \"%d.ply\"\nencoding = \"binary_compressed\"", "encoding"},
		{"pointcloud_writer", `output_dir = ""`, "output_dir"},
	} {
		doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"test_source\"\nlink_to = \"w\"\n" +
			"[[component]]\nname = \"w\"\ntype = \"ds3d::datarender\"\nimpl = \"" + tc.impl + "\"\n[component.config]\n" + tc.body + "\n"
		if _, err := config.Parse("t.toml", t.TempDir(), []byte(doc)); err == nil || !strings.Contains(err.Error(), `config.`+tc.key+`"`) {
			t.Errorf("%s %s: %v, want an error on %s", tc.impl, tc.body, err, tc.key)
		}
	}
	var warns int
	env := &ds3d.Env{Name: "w", Log: slog.New(warnCounter{&warns})}
	out := t.TempDir()
	ws := []any{
		build(t, "kitti_label_writer", fmt.Sprintf("output_dir = %q\ncalib_file = %q", out, sampledata.Sample(t, "kitti/calib/000000.txt")), env),
		build(t, "json_box_writer", fmt.Sprintf("path = %q", filepath.Join(out, "b.jsonl")), env),
		build(t, "pointcloud_writer", fmt.Sprintf("output_dir = %q", out), env),
	}
	for i := 0; i < 3; i++ {
		for _, w := range ws {
			m := ds3d.NewDataMap()
			render(t, w, m)
			m.Release()
		}
	}
	if warns != 3 {
		t.Errorf("%d warnings, want one per writer", warns)
	}
}

type warnCounter struct{ n *int }

func (w warnCounter) Enabled(context.Context, slog.Level) bool { return true }
func (w warnCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		*w.n++
	}
	return nil
}
func (w warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w warnCounter) WithGroup(string) slog.Handler      { return w }
