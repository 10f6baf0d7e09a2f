// Package pointcloud holds the basic point-cloud datafilters of a lidar
// pipeline, each a plain Go function (or a small reusable struct holding
// scratch) on [N,C] float32 frames — C ≥ 3, columns x, y, z[, intensity, …] —
// and a registered ds3d::datafilter component: ROI crop and PCL-style
// pass-through (roi_crop), rigid transforms (point_transform), intensity
// normalisation (intensity_normalize), PCL VoxelGrid centroid downsampling
// (voxel_downsample) and PointPillars pillarization (pillar_scatter_prep).
// Functions write into caller-owned output frames (Resize reuses their
// buffers), so a steady stream allocates nothing; components take their
// output frames from a ds3d.FramePool of mem_pool_size. Filters that keep
// points (crop, pass-through, transform, subsample) copy every column of a
// kept point and give the output the input's column names (ds3d
// Frame.Columns); the voxel grid averages every column; pillarization
// reads the columns its model names (point_columns). Points with a NaN or
// infinite x, y or z are dropped by crop, pass-through, voxel and pillar
// filters; the results match the peers in ../shared/peers (numpy masks bit
// for bit, PCL VoxelGrid's voxel indices) as each function documents.
package pointcloud
