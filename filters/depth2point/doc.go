// Package depth2point turns depth images into point clouds — DeepStream-3D's
// depth2point datafilter. Each valid depth pixel (u, v) with raw value d
// becomes the camera-frame point (camera x right, y down, z forward)
//
//	z = d · unit,  y = (v − cy) · z / fy,  x = (u − cx − skew · (v − cy) / fy) · z / fx
//
// where unit is DS3D::DepthScaleUnit (metres per raw unit) and the pinhole
// intrinsics come from DS3D::Cam0_IntrinsicMatrix (the depth camera's). Pixels
// are visited row by row; a raw 0 (no return), a non-finite value, or a depth
// outside [min_depth, max_depth] is skipped. Beside DS3D::PointXYZ ([N,3] f32)
// the filter emits DS3D::PointColorCoord ([N,2] f32): where each point falls
// in the colour image, registered with the depth image as the RGB-D loaders
// deliver it — normalised texture coordinates ((u + ½)/W, (v + ½)/H), the
// centre of the pixel as OpenGL samples it, or pixel indices (u, v).
package depth2point
