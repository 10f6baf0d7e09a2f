// Package kernels holds the inner loops of core2d/infer's engine, on plain
// []float32 with no graph, shape or scheduling logic: the packed GEMM
// (Goto & van de Geijn blocking over an MR×NR register tile, im2col built
// on the fly for k×k convolutions), the direct 16×16 convolution tile, the
// depthwise plane kernels (3×3 in assembly, any window as a flat 1-D
// stencil: DwFlat), the 16×16 transpose, the element-wise vector
// functions (logistic, SiLU, erf, GELU, clamp, leaky, HardSigmoid,
// HardSwish, max, the four arithmetic ops on vectors and scalars),
// LayerNorm rows and the activations an op can fuse into a tile
// (Activation). Built with GOEXPERIMENT=simd on amd64 (kernels_simd.go,
// eltwise_simd.go) the kernels use simd/archsimd and the AVX-512 assembly
// of gemm8_amd64.s (written by gen_asm.py: make gen-asm),
// dwflat_amd64.s and transpose_amd64.s, chosen at run time by
// the CPU's features, falling back to the scalar loops of kernels_scalar.go;
// the default build has only those (kernels_portable.go). Every kernel
// computes the same FMA chain as its scalar form, so a model's output does
// not depend on which one ran beyond float32 rounding.
package kernels
