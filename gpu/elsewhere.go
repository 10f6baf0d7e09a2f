//go:build !cuda

package gpu

import "github.com/ds3d-go/ds3d-go/ds3d"

// Without the cuda tag the GPU components are not built; a config naming
// one is told how to get them.
func init() {
	ds3d.RegisterElsewhere("rebuild with -tags cuda (make build-cuda)",
		"to_gpu", "to_cpu", "gpu_roi_crop", "gpu_pillar_scatter_prep")
}
