package deskew_test

import (
	"math"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/synth"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/deskew"
)

// TestSynthSequences runs the component on datasets/synth sequences (ray
// cast HDL-64E sweeps of a street with a moving ego, each point measured at
// its own firing time, with the undistorted ground truth): at up to 20 m/s
// and 30°/s the corrected points lie within 2 cm of the truth, with the
// twist from the config and from the ego poses (whose backward difference
// is exact for the scenes' constant twist); the first datamap of a pose
// sequence passes unchanged.
func TestSynthSequences(t *testing.T) {
	yaw := 30 * math.Pi / 180
	sensor, err := synth.NewSensor("hdl64e")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name       string
		speed, yaw float64
	}{{"straight-20mps", 20, 0}, {"turn-20mps-30dps", 20, yaw}, {"turn-5mps-minus30dps", 5, -yaw}} {
		t.Run(c.name, func(t *testing.T) {
			scene, err := synth.NewScene(7, synth.Options{Frames: 3, Speed: c.speed, YawRate: c.yaw})
			if err != nil {
				t.Fatal(err)
			}
			byConfig := newFilter(t, func(cf *deskew.Config) {
				cf.Linear, cf.Angular = []float64{c.speed, 0, 0}, []float64{0, 0, c.yaw}
			})
			byPose := newFilter(t, func(cf *deskew.Config) { cf.TwistSource = "ego_pose" })
			sc := synth.NewScanner(sensor, synth.DefaultLidarOptions())
			var fd synth.FrameData
			for i := 0; i < 3; i++ {
				sc.Scan(&fd, scene, i)
				if !slices.Equal(fd.Points.Columns(), synth.Columns) {
					t.Fatalf("synth columns %v", fd.Points.Columns())
				}
				cols := fd.Points.Stride()
				truth := ds3d.AsFloat32(fd.Undistorted)[:fd.Undistorted.Shape.Elements()]
				raw := slices.Clone(ds3d.AsFloat32(fd.Points)[:fd.Points.Shape.Elements()])
				mk := func() *ds3d.DataMap {
					m := ds3d.NewDataMap()
					m.SetFrame(ds3d.KeyLidarXYZI, fd.Points)
					m.SetTimestamp(int64(math.Round(fd.Time * 1e9)))
					m.Set(ds3d.KeyEgoPose, fd.Pose.Mat4())
					return m
				}
				before, _ := distances(raw, truth, cols)
				got := run(t, byConfig, mk())
				worst, p99 := distances(got, truth, cols)
				t.Logf("frame %d (%d points): config twist: max %.2f mm, p99 %.2f mm off the truth (%.3f m before)", i, len(got)/cols, worst*1e3, p99*1e3, before)
				if worst > 0.02 || (c.speed > 10 && before < 0.3) {
					t.Errorf("frame %d: config twist leaves a point %.4f m off the truth (want ≤ 0.02)", i, worst)
				}
				for k := 3; k < len(got); k += cols {
					for j := 0; j < cols-3; j++ {
						if got[k+j] != raw[k+j] {
							t.Fatalf("column %d of point %d changed", 3+j, k/cols)
						}
					}
				}
				got = run(t, byPose, mk())
				if i == 0 {
					if !slices.Equal(got, raw) || byPose.Passed() != 1 {
						t.Errorf("first pose datamap changed (passed %d)", byPose.Passed())
					}
					continue
				}
				worst, p99 = distances(got, truth, cols)
				t.Logf("frame %d: ego_pose twist: max %.2f mm, p99 %.2f mm", i, worst*1e3, p99*1e3)
				if worst > 0.02 {
					t.Errorf("frame %d: ego_pose twist leaves a point %.4f m off the truth", i, worst)
				}
			}
		})
	}
}
