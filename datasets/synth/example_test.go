package synth_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/datasets/synth"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// A scene from a seed, one VLP-16 frame with its ground truth: the
// reported (motion-distorted) points with ring and time, the same points
// undistorted to the frame's timestamp, the ego pose and the boxes.
func Example() {
	scene, err := synth.NewScene(1, synth.Options{Frames: 5, Speed: 15, YawRate: 0.3})
	if err != nil {
		panic(err)
	}
	sensor, err := synth.NewSensor("vlp16")
	if err != nil {
		panic(err)
	}
	fd := scene.Frame(2, sensor) // reuse buffers with NewScanner(...).Scan in loops
	fmt.Println(fd.Points.Columns())
	fmt.Println("points == undistorted points:", fd.Points.Points() == fd.Undistorted.Points())
	t := ds3d.AsFloat32(fd.Points)[fd.Points.Column(ds3d.ColTime)]
	fmt.Printf("first point at %+.4f s (the sweep starts behind the car)\n", t)
	fmt.Printf("pose at %.1f s: x %.2f m, yaw %.2f rad\n", fd.Time, fd.Pose.X, fd.Pose.Yaw)
	cars := 0
	for _, b := range fd.Boxes {
		if b.Label == "Car" {
			cars++
		}
	}
	fmt.Println("cars within 100 m:", cars > 0)
	// Output:
	// [x y z intensity ring time]
	// points == undistorted points: true
	// first point at -0.0500 s (the sweep starts behind the car)
	// pose at 0.2 s: x 3.00 m, yaw 0.06 rad
	// cars within 100 m: true
}
