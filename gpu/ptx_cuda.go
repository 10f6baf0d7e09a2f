//go:build cuda

package gpu

import _ "embed"

// module is one embedded PTX file (kernels/<name>.ptx, made from
// kernels/<name>.cu by kernels/gen-ptx.sh) and the kernels a Context looks
// up in it. Every kernel name is unique across modules: Context.launch finds
// a kernel by name alone. See the package doc for how to add one.
type module struct {
	name    string
	ptx     string
	kernels []string
}

var (
	//go:embed kernels/pointcloud.ptx
	pointcloudPTX string
	//go:embed kernels/vision.ptx
	visionPTX string
	//go:embed kernels/nms.ptx
	nmsPTX string
)

// modules are loaded with cuModuleLoadData when a Context opens; the driver
// JIT-compiles the sm_80 PTX for the card (and caches the result).
var modules = []module{
	{"pointcloud", pointcloudPTX, []string{"scan_top", "crop_reduce", "crop_down", "spin",
		"pil_cells", "pil_flag_reduce", "pil_flag_down", "pil_count", "pil_alloc", "pil_scatter", "pil_features"}},
	{"vision", visionPTX, []string{"proj_depth", "proj_finish", "proj_uvd", "d2p_reduce", "d2p_down", "letterbox"}},
	{"nms", nmsPTX, []string{"nms_mask", "nms_greedy"}},
}
