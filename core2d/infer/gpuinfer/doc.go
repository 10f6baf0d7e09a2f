// Package gpuinfer runs an ONNX graph (the models core2d/infer runs on the
// CPU; YOLOX-Nano is the reference) on an NVIDIA GPU through the CUDA driver
// API. Compile walks the onnx.Model, fuses Conv+Sigmoid(+Mul) (SiLU) and a
// following residual Add into the convolution, writes every Concat input
// straight into its slice of the Concat output, and lays all activations
// out in one static device arena; the Session (build tag "cuda") uploads
// the weights once, records the kernel launches on one stream into a CUDA
// graph and replays it per Run: no host synchronisation between layers.
// Convolutions are implicit GEMMs in exact fp32 (FMA), TF32 or FP16 tensor
// cores (mma.sync), chosen by Options.Precision; depthwise convolutions,
// pooling, Resize and data movement have their own kernels
// (kernels/gpuinfer.cu, committed as PTX and embedded). Without the "cuda"
// tag the package holds only the planner (Compile, Plan), which needs no
// GPU and imports no CUDA binding.
package gpuinfer
