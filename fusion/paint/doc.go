// Package paint is PointPainting (Vora et al., "PointPainting: Sequential
// Fusion for 3D Object Detection", CVPR 2020) as a ds3d filter,
// point_painting: every lidar point is projected into each camera with the
// calibration lidar_alignment_filter publishes (filters/align's float32
// projection, M = K·[R|t]) and decorated with C class-score channels
// appended to its own, [N, D] → [N, D+C(+1)]. Where the paper samples the
// per-pixel scores of a semantic segmentation network, this filter paints
// with 2D detection boxes (the []Object2D of infer_2d, one list per
// camera): a point's channel c is the score of the best-scoring box of
// class c that contains the point's pixel (boxes as class-wise box masks),
// 0 when no box of the class contains it. A point is painted by a camera
// only when it lies in front of it (depth > near) and inside its image; a
// point seen by several cameras keeps the maximum of each class over them.
// An optional background channel holds 1 − max over the classes (the
// paper's segmentation outputs include a background class). A frame
// allocates nothing: output frames come from a pool and the projection
// scratch is kept.
package paint
