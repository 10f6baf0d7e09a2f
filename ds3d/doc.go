// Package ds3d is the framework core of ds3d-go: the typed datamap that flows
// between components, N-d frames with their pools, the key vocabulary shared
// with NVIDIA DeepStream-3D, the geometric value types (3D boxes, 2D objects,
// calibration), the five component interfaces (loader, filter, mixer, render,
// bridge) and the registry through which implementations announce themselves
// with a typed, self-documenting configuration. The TOML loader lives in
// ds3d/config and the graph runtime in ds3d/pipeline.
package ds3d
