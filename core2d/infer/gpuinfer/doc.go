// Package gpuinfer runs an ONNX graph (the models core2d/infer runs on the
// CPU; YOLOX-Nano is the reference) on an NVIDIA GPU through the CUDA driver
// API. Compile walks the onnx.Model, fuses Conv+Sigmoid(+Mul) (SiLU) and a
// following residual Add into the convolution, writes every Concat input
// straight into its slice of the Concat output, folds chained Slices and
// merges same-shape copies into one launch, and lays all activations out in
// one static device arena; the Session (build tag "cuda") uploads the
// weights once, records the kernel launches on one stream into a CUDA graph
// and replays it per Run: no host synchronisation between layers.
//
// Convolutions are implicit GEMMs whose tile height (16, 32 or 64 output
// channels) is chosen per layer from its shape, in exact fp32 (FMA), 3xTF32
// ("tf32": fp32-level accuracy on tensor cores), plain TF32 ("tf32-fast") or
// FP16 tensor cores (mma.sync), chosen by Options.Precision; a dense
// convolution with few output channels (the stem) runs a direct kernel, and
// depthwise convolutions, pooling, Resize and data movement have their own
// kernels (kernels/gpuinfer.cu, committed as PTX and embedded).
//
// Open(model, Options) gives a Session with the runner interface of
// core2d/infer's Session (Inputs, Outputs, Run(inputs, outputs [][]float32),
// Close), so the infer_2d component can use it for backend "cuda". Without
// the "cuda" tag the package holds only the planner (Compile, Plan,
// Options, IOInfo), which needs no GPU and imports no CUDA binding.
package gpuinfer
