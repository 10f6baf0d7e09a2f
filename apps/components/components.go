// Package components links every ds3d-go component into a program: it
// blank-imports each package whose init registers something by side effect
// (ds3d.Register, ds3d.RegisterElsewhere, lidar.RegisterFormat,
// pcap.RegisterSensor, infer.RegisterBackend), as a program imports
// image/png to decode PNG. The ds3d command imports it, and so does any
// program that embeds ds3d-go and wants every component a config may name:
//
//	import _ "github.com/ds3d-go/ds3d-go/apps/components"
//
// `ds3d components` prints what is registered; TestImportsEveryRegistrar
// fails when a package that registers is missing here. The list, by layer:
//
//   - ds3d/builtin: the framework's own sources and sinks (passthrough,
//     counting and datamap file sinks); ds3d/appio: app_source and
//     app_sink, which connect a pipeline to Go code.
//   - core2d: bridge (2D batch → datamap), infer/infer2d (2D inference),
//     mux (stream batching), osd (on-screen display, video and object
//     file sinks), source (uri_source: files, video, rtsp), track (2D
//     multi-object trackers).
//   - sensors: bus (bus_subscribe: datamaps from NATS JetStream), camera
//     (image sequences), depth (RGB-D), lidar (file loader
//     and the point-cloud formats), lidar/las (the LAS/LAZ format),
//     lidar/pcap (pcap replay) and the live UDP drivers lidar/hesai,
//     lidar/ouster, lidar/velodyne; ros2/replay (rosbag2 bags) and
//     foxglove (a Foxglove WebSocket server's topics); multisource
//     (multi_source: streams added and removed at run time).
//   - filters: align, analytics, depth2point, deskew, detect, imagetensor,
//     lidarinfer, outlier, pointcloud, postprocess, sweeps, voxelize.
//   - fusion: late (2D/3D late fusion), mixer (time sync), paint (point
//     painting), track3d (3D tracking), worldtrack (one world-frame
//     track list from several units' tracks).
//   - render: bagrecord (rosbag2 bags), bus (bus_publish), foxglove (the Foxglove WebSocket
//     server), msgbroker (broker sinks and cloud-to-device commands),
//     smartrecord (event recordings), gl (OpenGL viewer), raster (pure-Go
//     PNG renderer), writer (result file writers).
//   - gpu: the CUDA components with -tags cuda; without it, only their
//     names, so that a config naming one is told to rebuild.
//
// Left out on purpose: sensors/ros2/bag/db3 (reading rosbag2's SQLite3
// .db3 storage), which links a pure-Go SQLite; the ds3d command imports
// it, and so can any program that reads .db3 bags.
//
// components_cuda.go adds core2d/infer/gpuinfer (the CUDA inference
// backend) under the cuda build tag.
package components

import (
	_ "github.com/ds3d-go/ds3d-go/ds3d/appio"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"

	_ "github.com/ds3d-go/ds3d-go/core2d/bridge"
	_ "github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	_ "github.com/ds3d-go/ds3d-go/core2d/mux"
	_ "github.com/ds3d-go/ds3d-go/core2d/osd"
	_ "github.com/ds3d-go/ds3d-go/core2d/source"
	_ "github.com/ds3d-go/ds3d-go/core2d/track"

	_ "github.com/ds3d-go/ds3d-go/sensors/bus"
	_ "github.com/ds3d-go/ds3d-go/sensors/camera"
	_ "github.com/ds3d-go/ds3d-go/sensors/depth"
	_ "github.com/ds3d-go/ds3d-go/sensors/foxglove"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/hesai"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/las"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
	_ "github.com/ds3d-go/ds3d-go/sensors/multisource"
	_ "github.com/ds3d-go/ds3d-go/sensors/ros2/replay"

	_ "github.com/ds3d-go/ds3d-go/filters/align"
	_ "github.com/ds3d-go/ds3d-go/filters/analytics"
	_ "github.com/ds3d-go/ds3d-go/filters/depth2point"
	_ "github.com/ds3d-go/ds3d-go/filters/deskew"
	_ "github.com/ds3d-go/ds3d-go/filters/detect"
	_ "github.com/ds3d-go/ds3d-go/filters/imagetensor"
	_ "github.com/ds3d-go/ds3d-go/filters/lidarinfer"
	_ "github.com/ds3d-go/ds3d-go/filters/outlier"
	_ "github.com/ds3d-go/ds3d-go/filters/pointcloud"
	_ "github.com/ds3d-go/ds3d-go/filters/postprocess"
	_ "github.com/ds3d-go/ds3d-go/filters/sweeps"
	_ "github.com/ds3d-go/ds3d-go/filters/voxelize"

	_ "github.com/ds3d-go/ds3d-go/fusion/late"
	_ "github.com/ds3d-go/ds3d-go/fusion/mixer"
	_ "github.com/ds3d-go/ds3d-go/fusion/paint"
	_ "github.com/ds3d-go/ds3d-go/fusion/track3d"
	_ "github.com/ds3d-go/ds3d-go/fusion/worldtrack"

	_ "github.com/ds3d-go/ds3d-go/render/bagrecord"
	_ "github.com/ds3d-go/ds3d-go/render/bus"
	_ "github.com/ds3d-go/ds3d-go/render/foxglove"
	_ "github.com/ds3d-go/ds3d-go/render/gl"
	_ "github.com/ds3d-go/ds3d-go/render/msgbroker"
	_ "github.com/ds3d-go/ds3d-go/render/raster"
	_ "github.com/ds3d-go/ds3d-go/render/smartrecord"
	_ "github.com/ds3d-go/ds3d-go/render/writer"

	_ "github.com/ds3d-go/ds3d-go/gpu"
)
