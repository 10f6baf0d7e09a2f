//go:build cuda

package gpuinfer_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/infer/gpuinfer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Open a YOLOX-Nano session at batch 4 in 3xTF32 and run one batch: the
// input is 4 images NCHW back to back, the output [4, 3549, 85].
func ExampleOpen() {
	m, err := onnx.Load("yolox_nano.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := gpuinfer.Open(m, gpuinfer.Options{Precision: "tf32", Batch: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	in := make([]float32, s.Inputs()[0].Size())
	out := make([]float32, s.Outputs()[0].Size())
	if err := s.Run([][]float32{in}, [][]float32{out}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Outputs()[0].Shape)
}
