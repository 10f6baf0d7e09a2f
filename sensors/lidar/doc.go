// Package lidar reads and writes point-cloud files — raw float .bin (KITTI,
// nuScenes .pcd.bin), PCD v0.5/v0.7 (ascii, binary, binary_compressed), PLY
// (ascii and binary of either byte order) and plain .xyz — into the
// framework's lidar frame: [N,4] float32 x, y, z, intensity, decoded into a
// caller's (pooled) frame so that a steady loader allocates nothing. Every
// other field of a file is kept beside the frame in a Cloud with its own type
// and count, along with the organised width×height, the viewpoint and the
// number of NaN points, so that a file written back is the file read. Formats
// register themselves in init(), as image/png does with image.RegisterFormat;
// a new format touches only its own file. Errors name the file and the place
// (header line or byte offset) and say what was expected; corrupt input is an
// error, never a panic.
package lidar
