// Package foxglove holds foxglove_ws, a ds3d::datarender component that
// serves a pipeline's results live over the Foxglove WebSocket protocol
// (foxglove.websocket.v1), so that Foxglove, Lichtblick or any client of
// @foxglove/ws-protocol shows them as they are produced, as foxglove_bridge
// serves a ROS 2 graph. Messages are ROS 2 types in CDR, encoded by
// sensors/ros2 and advertised with its built-in ros2msg definitions:
// sensor_msgs/msg/PointCloud2 for points (one float32 field per named
// column), visualization_msgs/msg/MarkerArray and optionally
// vision_msgs/msg/Detection3DArray for 3D boxes, JPEG
// sensor_msgs/msg/CompressedImage for the camera image, and a latched
// tf2_msgs/msg/TFMessage for the lidar→camera calibration. Each message is
// encoded once, only while a client subscribes, and shared by every
// subscribed client; each client has a bounded queue and its own writer
// goroutine, and a client that falls behind loses messages (counted in
// Stats and Dropped) instead of slowing the pipeline. The protocol types
// and the client-side source, foxglove_ws_source, are in sensors/foxglove.
package foxglove
