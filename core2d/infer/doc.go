// Package infer is ds3d-go's pure-Go inference engine: it compiles an ONNX
// graph (read by package onnx) into a Session — nodes in topological order,
// static shapes inferred, shape-computing and constant subgraphs folded,
// Conv followed by an activation (Sigmoid, SiLU, Relu, Clip, LeakyRelu,
// HardSigmoid, HardSwish) fused, exporters' element-wise chains (SiLU,
// HardSwish, the erf GELU, LayerNorm) made single kernels, a Linear
// layer's MatMul, bias Add and GELU or Relu made one GEMM,
// BatchNormalization folded into the preceding Conv, and every
// intermediate tensor given a slot in a static
// memory plan so that Session.Run allocates nothing in steady state.
// Convolutions run as GEMMs with weights packed at compile time (1×1 reading
// the input in place, k×k through im2col blocks, depthwise as a direct
// stencil over a padded, stride-phase-split copy) split across a persistent worker pool that
// Close stops. The inner loops live in package kernels: built with
// GOEXPERIMENT=simd they use simd/archsimd and assembly (AVX-512, else
// AVX2+FMA, chosen at run time; about 12× faster); the default build uses
// portable scalar kernels. The infer_2d component and the YOLOX, YOLOv8
// and SSD parsers are package infer2d; other engines (gpuinfer) plug in
// through RegisterBackend. Activations are float32 NCHW;
// integer tensors exist only as constants. Summary reports a model's ops,
// parameters and FLOPs without running it.
package infer
