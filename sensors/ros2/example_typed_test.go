package ros2_test

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/spatial/r3"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// A lidar mounted 1.2 m up on a robot that drives along x: where is a
// point 10 m ahead of the lidar, in the odometry frame, half-way between
// two odometry samples (x 0 → 2 m, heading 0 → 90°, so 1 m and 45° then)?
func ExampleTFTree() {
	tree := ros2.NewTFTree(0)
	tree.Add(ros2.TransformStamped{Header: ros2.HeaderAt(0, "base_link"), ChildFrameID: "lidar",
		Transform: ros2.Transform{Translation: [3]float64{0, 0, 1.2}, Rotation: [4]float64{0, 0, 0, 1}}}, true)
	for i, x := range []float64{0, 2} {
		tree.Add(ros2.TransformStamped{Header: ros2.HeaderAt(int64(i)*1e9, "odom"), ChildFrameID: "base_link",
			Transform: ros2.Transform{Translation: [3]float64{x, 0, 0}, Rotation: [4]float64{0, 0, math.Sin(float64(i) * math.Pi / 4), math.Cos(float64(i) * math.Pi / 4)}}}, false)
	}
	m, err := tree.Lookup("odom", "lidar", 5e8)
	if err != nil {
		fmt.Println(err)
		return
	}
	p := m.Apply(r3.Vec{X: 10})
	fmt.Printf("%.3f %.3f %.3f\n", p.X, p.Y, p.Z)
	_, err = tree.Lookup("odom", "lidar", 2e9)
	fmt.Println(err != nil)
	// Output:
	// 8.071 7.071 1.200
	// true
}

// A point frame with a per-point time column becomes a PointCloud2 with
// one float32 field per column.
func ExampleAppendPointCloud2() {
	f := ds3d.NewTensorFrame(ds3d.DTypeF32, 2, 5)
	f.Type = ds3d.FrameLidarXYZI
	f.SetColumns(ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColTime)
	copy(ds3d.AsFloat32(f), []float32{1, 2, 3, 0.5, -0.05, 4, 5, 6, 0.25, 0})
	msg, err := ros2.AppendPointCloud2(nil, ros2.HeaderAt(1_700_000_000_000_000_000, "velodyne"), f)
	if err != nil {
		fmt.Println(err)
		return
	}
	pc, _ := ros2.DecodePointCloud2(msg)
	for _, fl := range pc.Fields {
		fmt.Print(fl.Name, "@", fl.Offset, " ")
	}
	fmt.Println(pc.PointStep, pc.Width)
	// Output: x@0 y@4 z@8 intensity@12 time@16 20 2
}
