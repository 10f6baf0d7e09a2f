//go:build cuda

package main

// The GPU path's components (to_gpu, to_cpu, gpu_roi_crop,
// gpu_pillar_scatter_prep) exist only in builds with the cuda tag: package
// gpu imports gorgonia.org/cu, whose init needs a GPU.
import _ "github.com/ds3d-go/ds3d-go/gpu"
