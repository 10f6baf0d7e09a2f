// Package analytics draws conclusions from tracks, as DeepStream's
// nvdsanalytics does, in 2D and in 3D: the analytics filter reads 2D
// tracks (DS3D::Object2DBboxKey[_N], per stream, in pixels or in metres on
// the ground through an image-to-ground homography), the analytics_3d
// filter reads 3D tracks (tracker_3d's boxes, on the ground plane of the
// sensor or of the world frame through DS3D::EgoPose). Zones (polygons,
// with inverse ROI) give entries, exits, dwell, occupancy, overcrowding,
// over-speed and wrong-way; lines give crossings with their direction;
// named directions flag objects moving along them; a minimum track age
// keeps young tracks out of the counts. One Engine evaluates the rules,
// rule by rule over a frame's objects, without allocating in steady state;
// results (ds3d.Analytics), events (ds3d.AnalyticsEvent) and Prometheus
// counts leave it. docs/ANALYTICS.md pins the semantics down.
package analytics
