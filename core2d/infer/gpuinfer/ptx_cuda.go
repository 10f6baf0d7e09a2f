//go:build cuda

package gpuinfer

import _ "embed"

// gpuinferPTX is kernels/gpuinfer.ptx, made from kernels/gpuinfer.cu by
// kernels/gen-ptx.sh (clang-16, sm_80 PTX); the driver JIT-compiles it for
// the card when a Session opens.
//
//go:embed kernels/gpuinfer.ptx
var gpuinferPTX string
