package main

// The V2X component: hard voxelization (voxelize) for V2XFusion/CenterPoint
// models.
import (
	_ "github.com/ds3d-go/ds3d-go/filters/voxelize"
)
