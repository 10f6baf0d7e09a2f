// Package gpu runs ds3d-go's preprocessing on an NVIDIA GPU through the CUDA
// driver API (gorgonia.org/cu), with results bit-identical to the CPU
// references: ROI crop and PointPillars pillarization (filters/pointcloud),
// lidar→camera projection and z-buffer depth maps (filters/align),
// depth→points (filters/depth2point), greedy rotated-BEV NMS
// (filters/postprocess) and the letterbox/normalise of an image into an NCHW
// tensor (core2d/infer's LetterboxRGB); plus the to_gpu, to_cpu,
// gpu_roi_crop and gpu_pillar_scatter_prep pipeline components. Everything
// that imports cu sits behind the "cuda" build tag, because cu's init calls
// cuInit and exits without a GPU; a plain build of this package is this
// comment, the checks of gpu_pillar_scatter_prep's point columns
// (pillarcols.go) and the tests that the CPU build never links cu.
//
// One Context owns one CUDA context: a goroutine locked to its OS thread
// makes every CUDA call (Context.do hands it work), with one stream, a
// device buffer pool by power-of-two size class, and page-locked host
// frames (NewPinnedFrame). A frame in device memory has Mem == MemGPU and
// DevPtr set; each kernel wrapper takes CPU frames (copies up, computes,
// copies down) or device frames (the result stays on the device).
//
// Kernels, and how to add some (a GPU inference backend can reuse this):
// write device code in kernels/NAME.cu (no CUDA headers: see the #defines at
// the top of pointcloud.cu; clang builtins for atomics and shuffles), run
// `make gpu-ptx` (kernels/gen-ptx.sh: clang-16 → sm_80 PTX, built with
// -ffp-contract=off so every float op is mul.rn/add.rn and never fused,
// which is what makes bit-identical results possible), commit NAME.ptx next
// to NAME.cu, embed it in ptx_cuda.go and list its kernel names in
// `modules`: a Context loads every module when it opens, the driver
// JIT-compiles the PTX for the card, and Context.launch/launchGrid find a
// kernel by name (names are unique across modules; arguments are int,
// int32, float32, float64, int64, uint64 or cu.DevicePtr, at most 32).
// CI (.ci/cuda-check.sh) vets the cuda build against a CUDA 11.8 header and
// link stub, assembles every committed PTX with ptxas for sm_80 and sm_90
// and checks it is what gen-ptx.sh makes from the .cu. gpu/Makefile.inc and
// gpu/run-device.sh say how the tests and benchmarks run on a GPU machine;
// docs/PERF.md and docs/ACCURACY.md hold what they measured.
package gpu
