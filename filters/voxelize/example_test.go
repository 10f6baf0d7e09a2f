package voxelize_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/voxelize"
)

// Three points in a 2 × 2 × 2 m grid of 1 m voxels: the first and third
// share voxel (z 0, y 0, x 1), the second opens voxel (0, 1, 0); a point on
// the upper x border would be dropped.
func ExampleVoxelizer() {
	v, err := voxelize.New(voxelize.Params{
		Range: [6]float64{0, 0, 0, 2, 2, 2}, VoxelSize: [3]float64{1, 1, 1},
		MaxPointsPerVoxel: 2, MaxVoxels: 10, Features: 4,
	})
	if err != nil {
		panic(err)
	}
	cloud := ds3d.NewLidarFrame(3)
	copy(ds3d.AsFloat32(cloud), []float32{1.5, 0.5, 0.5, 0.1, 0.5, 1.5, 0.5, 0.2, 1.2, 0.2, 0.2, 0.3})
	feat, coords, num, nvox := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
		ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	if err := v.Voxelize(feat, coords, num, nvox, cloud); err != nil {
		panic(err)
	}
	fmt.Println("features", feat.Shape, "voxels", ds3d.AsInt32(nvox))
	fmt.Println("coords (b z y x)", ds3d.AsInt32(coords))
	fmt.Println("points per voxel", ds3d.AsInt32(num))
	fmt.Println("voxel 0", ds3d.AsFloat32(feat)[:8])
	// Output:
	// features [1,2,2,4] voxels [2]
	// coords (b z y x) [0 0 0 1 0 0 1 0]
	// points per voxel [2 1]
	// voxel 0 [1.5 0.5 0.5 0.1 1.2 0.2 0.2 0.3]
}
