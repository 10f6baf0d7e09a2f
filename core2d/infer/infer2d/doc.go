// Package infer2d is the infer_2d component (DeepStream's nvinfer role) and
// the models it knows: nvinfer preprocessing (net_scale_factor, offsets,
// colour format, letterbox — one resampling routine, which YOLOX's
// Letterbox also runs), the YOLOX, YOLOv8 and SSD output parsers and the
// RegisterParser registry for others, per-class thresholds and class-wise
// NMS, classifier and segmentation outputs, and the YOLOX detector type
// that `ds3d infer` uses. The network itself runs on core2d/infer's engine
// or on a backend registered there (core2d/infer/gpuinfer). The component
// registers itself in init(): a blank import makes infer_2d available.
package infer2d
