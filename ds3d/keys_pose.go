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
