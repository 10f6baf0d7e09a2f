package ds3d

// KeyEgoPose holds the pose of the ego vehicle (or of a fixed sensor's
// mount) at the datamap's DS3D::Timestamp: a Mat4 value, row-major float64,
// world-from-ego — p_world = EgoPose · [x y z 1]ᵀ for a point in the ego
// frame, metres, rigid (orthonormal rotation, no scale). This is nuScenes'
// ego_pose (ego2global in mmdetection3d's info files); a lidar's points
// reach the world frame through EgoPose · lidar2ego. Loaders that know the
// pose store it with m.Set(KeyEgoPose, pose); filters that need it (the
// sweep_accumulator) read it with Get[Mat4].
const KeyEgoPose Key = "DS3D::EgoPose"

// KeyPointsOrigin holds where a point frame's coordinates are measured
// from, when a loader moved them to keep float32 precision: a Mat4 value,
// row-major float64, a pure translation, file-from-frame — p_file =
// PointsOrigin · [x y z 1]ᵀ. Georeferenced LAS files (UTM coordinates of
// 10⁵–10⁷ m, which float32 holds only to 1/64–1 m) are read relative to a
// whole-metre point near their centre; writers that keep the file's own
// coordinates (PCD's VIEWPOINT, LAS offsets) add it back. Absent means the
// frame is in the file's coordinates.
const KeyPointsOrigin Key = "DS3D::PointsOrigin"

// Translation returns the Mat4 that moves points by t.
func Translation(t [3]float64) Mat4 {
	return Mat4{1, 0, 0, t[0], 0, 1, 0, t[1], 0, 0, 1, t[2], 0, 0, 0, 1}
}
