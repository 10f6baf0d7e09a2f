package main

// The V2X components: hard voxelization (voxelize) and the v2xfusion app's
// 2×2 mosaic render.
import (
	_ "github.com/ds3d-go/ds3d-go/apps/v2xfusion"
	_ "github.com/ds3d-go/ds3d-go/filters/voxelize"
)
