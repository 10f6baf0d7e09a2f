// Package smartrecord is the smart_record render component, ds3d-go's
// counterpart of DeepStream's Smart Record: it keeps the last cache_seconds
// of datamaps in memory (copies of the keys it records, so no pooled frame
// is ever held and the loaders never stall) and, when asked by
// StartRecording — a cloud-to-device command, another component, or a
// schedule in the config — writes the datamaps from T − before to
// T + duration, T being the timestamp of the latest datamap seen when the
// request arrived. Sensor data goes to a rosbag2 bag in MCAP storage through
// render/bagrecord (the same topics and message types as mcap_writer), a
// colour frame key to an H.264 MP4 through core2d/osd's ffmpeg writer (the
// video_sink path). Render only copies and queues; one writer goroutine per
// component does the disk work, and Close finishes every open recording.
// docs/MESSAGING.md ("Smart record") describes the timing rules and bounds.
package smartrecord
