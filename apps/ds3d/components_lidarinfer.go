package main

// lidar_infer: ONNX inference on datamap tensors (ds3d tritoninferfilter).
import _ "github.com/ds3d-go/ds3d-go/filters/lidarinfer"
