//go:build cuda

package main

// infer_2d's backend = "cuda": the GPU inference engine registers itself.
import _ "github.com/ds3d-go/ds3d-go/core2d/infer/gpuinfer"
