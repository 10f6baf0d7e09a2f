// Package writer holds ds3d::datarender components that store results as
// files: kitti_label_writer (3D boxes per frame as KITTI label_2 text, converted
// from the lidar frame back to KITTI's rectified-camera bottom-centre
// convention with a KITTI calibration file), json_box_writer (one JSON line
// of boxes per datamap, DeepStream-3D's lidarfilewrite equivalent) and
// pointcloud_writer (each lidar frame as PCD, PLY or KITTI .bin through
// sensors/lidar). A key missing from a datamap is warned about once and
// skipped; a value of the wrong type under a configured key is an error.
package writer
