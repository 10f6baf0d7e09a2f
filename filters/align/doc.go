// Package align is ds3d's lidar_alignment_filter: it publishes each
// camera's calibration with every datamap — DS3D::CamN_IntrinsicMatrix (a
// ds3d.Intrinsics value) and DS3D::LidarToCamN_ExtrinsicMatrix (a
// ds3d.Mat4, lidar → camera, row-major) — from matrices in the config or a
// KITTI calib file, and optionally projects the lidar points into each
// camera: a sparse z-buffered depth map (DS3D::DepthFrame_N, [H,W] f32
// metres or u16 in 1/depth_scale metres) and per-point (u, v, depth)
// (DS3D::PointColorCoord_N, [N,3] f32).
//
// # Projection
//
// A lidar point p = (x, y, z) (x forward, y left, z up) maps to
//
//	[u' v' w]ᵀ = M·[x y z 1]ᵀ,   M = K·[R|t]  (3×4, row-major)
//
// with [R|t] the lidar→camera extrinsic (camera x right, y down, z
// forward) and K the pinhole intrinsics; w is the depth along the optical
// axis. For KITTI, M = P_i·R0_rect·Tr_velo_to_cam (devkit readme). The
// point lands on pixel (column ⌊u'/w⌋, row ⌊v'/w⌋) when w > 10⁻³ m and the
// pixel is inside the image; the depth map keeps the smallest w per pixel
// (nearest wins) and 0 where nothing landed.
//
// Rounding (so the map equals ../shared/peers/bench_numpy.py's
// project_depth bit for bit, as the tests check on KITTI 000000–000004 with
// the reference's products in this order, not through BLAS): M is computed
// in float64, each entry summed left to right, and rounded to float32 once;
// per point, each row
// is ((m0·x + m1·y) + m2·z) + m3 in float32 with every product and sum
// rounded (no fused multiply-add), the divisions u'/w and v'/w are float32
// and ⌊·⌋ is taken of the float32 quotient. The u16 map stores
// round(w·depth_scale) saturated to [1, 65535] for landed pixels.
//
// Distortion coefficients are not applied (the KITTI images are
// rectified). Everything per frame runs on preallocated buffers and pooled
// frames: a frame allocates nothing.
package align
