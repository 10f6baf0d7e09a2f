package cli

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// TestROS2ReplayApp runs apps/ros2-replay on the bundled KITTI bag and reads
// the bag it writes: 20 clouds equal to KITTI's .bin bit for bit, and among
// the 20 Detection3DArrays a box near the frame's one labelled object (the
// pedestrian of label_2/000000.txt, brought into the lidar frame with the
// frame's calibration by the KITTI reader) from the third on: the tracker
// confirms a track after probation_age = 3 hits.
func TestROS2ReplayApp(t *testing.T) {
	if code, out, errs := runCmd(t, "run", "--quiet", "../ros2-replay/config.toml"); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	raw, err := os.ReadFile(sampledata.Sample(t, "kitti/velodyne/000000.bin"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := kitti.ReadLabels(sampledata.Sample(t, "kitti/label_2/000000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calib.ReadKITTI(sampledata.Sample(t, "kitti/calib/000000.txt"))
	if err != nil {
		t.Fatal(err)
	}
	truth, err := kitti.Boxes(labels, cal)
	if err != nil || len(truth) != 1 {
		t.Fatalf("bundled label: %v %v", truth, err)
	}
	b, err := bag.Open(filepath.Join("..", "..", "out", "ros2-replay", "detections"))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	near := 0
	var pc ros2.PointCloud2
	err = b.Messages(bag.Options{}, func(m *bag.Message) error {
		counts[m.Topic]++
		switch m.Topic {
		case "/ds3d/points":
			if err := pc.Unmarshal(m.Data); err != nil {
				return m.Errorf("%w", err)
			}
			f, err := pc.ToFrame(nil)
			if err != nil {
				return m.Errorf("%w", err)
			}
			if string(f.Data) != string(raw) {
				return m.Errorf("points differ from the .bin")
			}
		case "/ds3d/detections":
			_, boxes, err := ros2.DecodeDetection3DArray(m.Data)
			if err != nil {
				return m.Errorf("%w", err)
			}
			for _, bx := range boxes {
				if math.Hypot(float64(bx.CX-truth[0].CX), float64(bx.CY-truth[0].CY)) < 1 {
					near++
					break
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if counts["/ds3d/points"] != 20 || counts["/ds3d/detections"] != 20 || counts["/ds3d/detections/markers"] != 20 {
		t.Errorf("topics in the output bag: %v", counts)
	}
	if near != 18 {
		t.Errorf("the labelled %s at (%.2f, %.2f) is among the detections of %d of 20 messages, want 18", labels[0].Type, truth[0].CX, truth[0].CY, near)
	}
}
