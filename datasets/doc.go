// Package datasets holds readers for the public datasets ds3d-go replays —
// KITTI object (kitti), nuScenes (nuscenes), DAIR-V2X (dair), MOTChallenge
// (mot) — and, under samples/, the small bundled sample set with its
// licences that `make run` uses on a fresh machine.
package datasets
