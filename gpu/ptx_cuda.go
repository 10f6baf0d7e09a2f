//go:build cuda

package gpu

import _ "embed"

// kernelPTX is kernels/pointcloud.ptx (kernels/gen-ptx.sh), loaded with
// cuModuleLoadData when a Context opens; the driver JIT-compiles it.
//
//go:embed kernels/pointcloud.ptx
var kernelPTX string
