package lidar_test

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// samples is the bundled sample data of the repository (datasets/samples),
// found relative to this package's folder, where `go test` runs.
func samples(rel string) string {
	return filepath.Join("..", "..", "datasets", "samples", rel)
}

// A loader decodes each scan into a frame from its pool; the buffer is
// reused, so steady state allocates nothing per scan.
func ExampleReadFileInto() {
	pool, _ := ds3d.NewFramePool(4, func() *ds3d.Frame { return ds3d.NewLidarFrame(130000) })
	frame := pool.TryGet()
	defer frame.Release()
	err := lidar.ReadFileInto(frame, samples("kitti/velodyne/000000.bin"), lidar.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(frame.Type, frame.Shape)
	// Output: lidar_xyzi [115384,4]
}

// ReadFile keeps everything else the file holds beside the points: the
// fields in file order, the organisation (width × height) and the encoding.
func ExampleReadFile() {
	c, err := lidar.ReadFile(samples("v2x/dair-v2x-c/infrastructure-side/velodyne/001366.pcd"), lidar.ReadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Format, c.Encoding, c.Width, c.Height, c.NaNs, c.Intensity)
	var fields []string
	for _, f := range c.Fields {
		fields = append(fields, fmt.Sprint(f.Name, ":", f.Type))
	}
	fmt.Println(strings.Join(fields, " "))
	fmt.Println(c.Points.Type, c.Points.Shape)
	// Output:
	// pcd binary_compressed 53653 1 0 intensity
	// x:float32 y:float32 z:float32 intensity:float32
	// lidar_xyzi [53653,4]
}
