package main

// The 2D core's stream muxer (stream_mux), on-screen display and video
// writers (osd, video_sink, object_file_sink) and 2D→3D bridge
// (video_bridge_2d3d).
import (
	_ "github.com/ds3d-go/ds3d-go/core2d/bridge"
	_ "github.com/ds3d-go/ds3d-go/core2d/mux"
	_ "github.com/ds3d-go/ds3d-go/core2d/osd"
)
