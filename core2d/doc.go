// Package core2d is the 2D core the 3D framework stands on, as DeepStream's
// is: batch/frame/object metadata (meta), image and video decoding (decode),
// stream batching (mux), the inference engine (infer), multi-object
// trackers (track), on-screen drawing (osd) and the 2D→3D bridge (bridge),
// each in its own subpackage.
package core2d
