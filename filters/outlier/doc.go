// Package outlier holds point-cloud outlier removal and ground
// segmentation as plain Go types with reusable scratch and registered
// ds3d::datafilter components:
//
//   - Statistical (statistical_outlier_removal): PCL's
//     StatisticalOutlierRemoval (Rusu et al., "Towards 3D point cloud based
//     object maps for household environments", RAS 56(11), 2008): a point
//     is an outlier when the mean distance to its k nearest neighbours is
//     above mean + std_mul·stddev of those means over the cloud. The kept
//     set equals PCL's (pcl_outlier_removal) on KITTI; see Statistical.Filter
//     for the float32/float64 steps that make it so.
//   - Radius (radius_outlier_removal): PCL's RadiusOutlierRemoval.
//   - Ground (ransac_ground_segmentation): a seeded RANSAC plane with a
//     tilt limit and a least-squares refit.
//
// Radius queries use KDTree, an exact 3D k-d tree whose squared distances
// are computed like FLANN's (PCL's KdTreeFLANN). Statistical answers its
// k-nearest-neighbour queries 16 at a time over a Morton-ordered bounding
// box hierarchy (mortonTree, sorBatch): the same float32 distances, with a
// bound that proves each result exact or redoes that query exhaustively. Points with a
// NaN or infinite x, y or z are removed by every filter here. Frames are
// [N,C≥3] float32 (x, y, z first); output frames keep every column (ring,
// time, … travel with their point), the input's column names and the input
// order.
package outlier
