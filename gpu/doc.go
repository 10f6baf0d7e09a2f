// Package gpu runs ds3d-go's point-cloud filters on an NVIDIA GPU through the
// CUDA driver API (gorgonia.org/cu), with results bit-identical to the CPU
// code in filters/pointcloud: ROI crop (inclusive box, order kept, via a
// prefix sum) and PointPillars pillarization (first-come pillar order, same
// caps, same float32 operation order). The kernels are kernels/*.cu,
// compiled to committed PTX by kernels/gen-ptx.sh (clang-16, no CUDA
// toolkit) and embedded; everything that imports cu sits behind the "cuda"
// build tag, because cu's init calls cuInit and exits without a GPU. A plain
// build of this package is this comment and a test that the CPU build never
// links cu; `make build-cuda` / `make gpu-test` (gpu/Makefile.inc) build the
// GPU side against a CUDA 11.8 header and link stub, and docs/PERF.md
// records how it was run and measured.
package gpu
