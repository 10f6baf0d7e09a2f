// Package calib reads sensor calibration files into one representation, the
// Rig: a reference lidar, the cameras that see it — each with its pinhole
// ds3d.Intrinsics, its lidar→camera ds3d.Extrinsics and the 3×4 projection
// from lidar points to pixels — and any further rigid transforms the source
// gives (IMU→lidar, lidar→ego, ego→global, lidar→road-side base). Readers
// cover KITTI object calib.txt, the nuScenes info JSON written by
// mmdetection3d (matrices) and nuScenes quaternion poses, DAIR-V2X calib JSON,
// TUMTraf (A9) S110 calib JSON and the row-major intrinsic/extrinsic lists of
// a DeepStream-3D lidar/camera alignment config. All matrices are row-major,
// transforms map column vectors (p' = M·[x y z 1]ᵀ), the lidar frame is x
// forward, y left, z up and the camera frame x right, y down, z forward
// (DESIGN.md §2). Every error names the file and the line, key or byte offset
// at fault.
package calib
