// Package filters holds the point-cloud datafilters: crop, transform,
// voxel-grid and pillar preprocessing, outlier removal, alignment
// (projection into cameras), depth→points, the inference filter and 3D
// post-processing. Each operation is a plain Go function on frames and a
// registered ds3d::datafilter component (DESIGN.md §1).
package filters
