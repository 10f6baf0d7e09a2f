package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// TestSynthCommand generates two VLP-16 frames in every format and reads
// them back with the project's own readers: the KITTI dataset reader, the
// PCD reader (ring and time fields) and the rosbag2 inspector.
func TestSynthCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var out, errb bytes.Buffer
	code := Run([]string{"synth", "--out", dir, "--seed", "5", "--frames", "2", "--sensor", "vlp16",
		"--format", "kitti,nuscenes,pcd,mcap", "--truth", "--progress", "1"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "synth: 2/2 frames") {
		t.Errorf("no progress line: %q", errb.String())
	}
	ds, err := kitti.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ids, err := ds.IDs(); err != nil || len(ids) != 2 {
		t.Fatalf("kitti ids %v, %v", ids, err)
	}
	fr, err := ds.Frame("000001")
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Objects) == 0 {
		t.Error("frame 000001 has no labels")
	}
	c, err := lidar.ReadFile(filepath.Join(dir, "pcd", "000001.pcd"), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range c.Fields {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, " "); got != "x y z intensity ring time" || c.Len() < 10000 {
		t.Errorf("pcd fields %q, %d points", got, c.Len())
	}
	if _, err := os.Stat(filepath.Join(dir, "undistorted", "000001.pcd")); err != nil {
		t.Error(err)
	}
	bi, err := bag.Inspect(filepath.Join(dir, "bag"), false)
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := bi.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/points  sensor_msgs/msg/PointCloud2  2 msgs", "/points_undistorted", "/boxes", "/tf", "ring(float32@16) time(float32@20)"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("bag inspection lacks %q:\n%s", want, text.String())
		}
	}
	nb, err := os.ReadFile(filepath.Join(dir, "nuscenes_boxes.jsonl"))
	if err != nil || bytes.Count(nb, []byte("\n")) != 2 || !bytes.Contains(nb, []byte(`"category_name":"vehicle.car"`)) {
		t.Errorf("nuscenes_boxes.jsonl: %v, %.200s", err, nb)
	}
}

// TestSynthBadFlags: usage errors exit 2 naming the flag.
func TestSynthBadFlags(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--out DIR is required"},
		{[]string{"--out", dir, "--sensor", "hdl32"}, `--sensor: synth: unknown sensor "hdl32"`},
		{[]string{"--out", dir, "--format", "kitti,las"}, `--format: synth: unknown format "las"`},
		{[]string{"--out", dir, "--frames", "0"}, "--frames 0: want 1..100000"},
		{[]string{"--out", dir, "--dropout", "1"}, "--dropout 1"},
		{[]string{"--out", dir, "extra"}, `unexpected argument "extra"`},
	} {
		var out, errb bytes.Buffer
		if code := Run(append([]string{"synth"}, c.args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}
