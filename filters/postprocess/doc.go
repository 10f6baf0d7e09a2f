// Package postprocess holds the 3D detection post-processing of a lidar
// pipeline as plain functions on []ds3d.Box3D: rotated bird's-eye-view
// (BEV) IoU, 3D IoU, greedy rotated NMS (class-agnostic or class-aware),
// score threshold and top-k, and the decoder of PointPillars/SECOND anchor
// heads (OpenPCDet's AnchorHeadSingle with ResidualCoder), plus the
// registered ds3d::datafilter box_postprocess.
//
// # BEV and 3D IoU
//
// A box's BEV footprint is the rectangle of its centre (CX, CY), length DX
// along the heading Yaw (radians, counter-clockwise about +z from +x) and
// width DY, with corners in counter-clockwise order as ds3d.Box3D.Corners.
// The intersection of two footprints is computed exactly (up to float64
// rounding) by Sutherland–Hodgman clipping (Sutherland and Hodgman,
// "Reentrant polygon clipping", CACM 17(1), 1974) of one rectangle by the
// four half-planes of the other, and its area by the shoelace formula:
//
//	IoU_BEV = I / (A_a + A_b − I),   A = DX·DY
//	IoU_3D  = I·h / (V_a + V_b − I·h), h = max(0, min(top) − max(bottom)), V = DX·DY·DZ
//
// with z at the box centre (bottom = CZ − DZ/2). Geometry runs in float64
// from the float32 box fields, like the numpy peer (bench_nms.py). Sizes
// are taken in absolute value; a box with a zero, NaN or infinite size or
// centre has no area and overlaps nothing (IoU 0, never NaN).
//
// # NMS
//
// NMS.Run is the greedy NMS of OpenPCDet's iou3d_nms (and of
// ../shared/peers/bench_nms.py): boxes are visited in descending score
// order (ties keep their input order: a stable sort), each visited box
// that is not suppressed is kept, and it suppresses every later box whose
// BEV IoU with it is strictly above the threshold. A circumscribed-circle
// test skips pairs that cannot overlap. Class-aware NMS only lets boxes
// of the same ClassID suppress each other. NMS holds its scratch, so a
// reused NMS allocates nothing.
//
// # Anchor-head decoding
//
// See AnchorHead for the exact OpenPCDet conventions (anchor layout,
// ResidualCoder residuals, direction classifier).
package postprocess
