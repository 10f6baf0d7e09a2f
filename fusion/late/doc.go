// Package late is late (object-level) lidar–camera fusion, as ds3d's
// FusedDetection and Autoware's roi_detected_object_fusion do it: every 3D
// box is projected into each camera — its 8 corners through the camera's
// intrinsics and lidar→camera extrinsics (corners behind the near plane are
// dropped; a box with fewer than 2 corners in front is not seen) — and the
// bounding rectangle of the projection, clipped to the image, is matched to
// the camera's 2D detections by IoU. Matching is an optimal assignment
// (Hungarian: the most pairs above iou_threshold, then the largest total
// IoU) per camera, with core2d/track/assign; a 3D box
// seen by several cameras keeps its best match. A matched box takes the 2D
// detection's class and a fused score (mean, max or product of the two
// scores); unmatched boxes are kept or dropped by config.
package late
