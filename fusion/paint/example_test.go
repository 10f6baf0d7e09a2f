package paint_test

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/fusion/paint"
)

// A camera looking along lidar +x sees the point 10 m ahead at the image
// centre, inside a car box: the point gains car 0.8, person 0 and the
// background 1 − 0.8.
func Example() {
	f, _ := paint.New(&paint.Config{InputGroup: ds3d.InputGroup{InputKey: "DS3D::LidarXYZI"}, OutputGroup: ds3d.OutputGroup{OutputKey: string(paint.KeyLidarPainted)}, Cameras: 1,
		ObjectsKey: "DS3D::Object2DBboxKey", IntrinsicsKey: "DS3D::CamN_IntrinsicMatrix", ExtrinsicsKey: "DS3D::LidarToCamN_ExtrinsicMatrix",
		Classes: []string{"car", "person"}, Background: true, Near: 0.5, PoolGroup: ds3d.PoolGroup{MemPoolSize: 1}})
	m := ds3d.NewDataMap()
	pts := ds3d.NewLidarFrame(1)
	copy(ds3d.AsFloat32(pts), []float32{10, 0, 0, 0.5})
	m.SetFrame(ds3d.KeyLidarXYZI, pts)
	m.Set(ds3d.KeyObject2DBbox.Sensor(0), []ds3d.Object2D{{Left: 40, Top: 40, Width: 20, Height: 20, Label: "car", Score: 0.8}})
	m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(0), ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 50, Cy: 50, Width: 100, Height: 100})
	m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(0), ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1})
	_ = f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
		out, _ := m.Frame(paint.KeyLidarPainted)
		fmt.Println(out.Shape, ds3d.AsFloat32(out))
		return nil
	})
	m.Release()
	// Output: [1,7] [10 0 0 0.5 0.8 0 0.19999999]
}
