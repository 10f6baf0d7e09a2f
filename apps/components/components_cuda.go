//go:build cuda

package components

// The CUDA inference backend (infer_2d's backend = "cuda") registers
// itself only in builds with the cuda tag.
import _ "github.com/ds3d-go/ds3d-go/core2d/infer/gpuinfer"
