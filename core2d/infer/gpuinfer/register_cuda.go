//go:build cuda

package gpuinfer

import (
	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// runner adapts a Session to infer.Runner (infer's IOInfo type).
type runner struct{ *Session }

func (r runner) Inputs() []infer.IOInfo  { return toInfer(r.Session.Inputs()) }
func (r runner) Outputs() []infer.IOInfo { return toInfer(r.Session.Outputs()) }

func toInfer(v []IOInfo) []infer.IOInfo {
	out := make([]infer.IOInfo, len(v))
	for i, x := range v {
		out[i] = infer.IOInfo{Name: x.Name, Shape: x.Shape}
	}
	return out
}

// infer_2d's backend = "cuda" opens the model here (a binary built with
// -tags cuda links this package through apps/components/components_cuda.go).
func init() {
	infer.RegisterBackend("cuda", func(m *onnx.Model, opt infer.BackendOptions) (infer.Runner, error) {
		s, err := Open(m, Options{Precision: opt.Precision, Batch: opt.Batch, Device: opt.Device})
		if err != nil {
			return nil, err
		}
		return runner{s}, nil
	})
}
