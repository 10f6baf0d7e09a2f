package lidar_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// The examples have no "Output:" line on purpose: they need the shared data,
// and tests over it skip when it is absent, which an example cannot.
// TestRealFiles and TestInspect check the same facts.

// sharedData is the shared data root beside the repository.
func sharedData(rel string) string {
	if d := os.Getenv("DS3D_SHARED_DATA"); d != "" {
		return filepath.Join(d, rel)
	}
	return filepath.Join("..", "..", "..", "shared", "data", rel)
}

// A loader decodes each scan into a frame from its pool; the buffer is
// reused, so steady state allocates nothing per scan.
func ExampleReadFileInto() {
	pool, _ := ds3d.NewFramePool(4, func() *ds3d.Frame { return ds3d.NewLidarFrame(130000) })
	frame := pool.TryGet()
	defer frame.Release()
	err := lidar.ReadFileInto(frame, sharedData("kitti-object/training/velodyne/000000.bin"), lidar.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(frame.Type, frame.Shape)
	// Prints: lidar_xyzi [115384,4]
}

// ReadFile keeps everything else the file holds beside the points.
func ExampleReadFile() {
	c, err := lidar.ReadFile(sharedData("pcd-ply/pcl/five_people.pcd"), lidar.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rgba := c.Field("rgba")
	fmt.Println(c.Format, c.Encoding, c.Width, c.Height, c.NaNs, rgba.Type, len(rgba.Data)/4)
	// Prints: pcd binary_compressed 640 480 68125 uint32 307200
}
