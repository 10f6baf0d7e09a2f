// Package track3d is 3D multi-object tracking of lidar boxes (ds3d has
// none; Autoware's multi_object_tracker and AB3DMOT are the models). Each
// track is a Kalman filter on the box: centre (x, y, z) with a constant
// velocity, heading and size as slowly varying constants. The model is
// block-diagonal — every axis is predicted and measured on its own — so the
// filter runs as independent 2-state (position, velocity) and 1-state
// filters, which is exactly the full 10-state filter of AB3DMOT with
// diagonal noise (a test checks it against that filter written with
// gonum/mat) and costs no matrix allocation. Detections are associated per
// class by an optimal assignment (Hungarian) on BEV centre distance within a
// gate, solved alone for each connected component of the pairs within the
// gate (a hash grid of the predictions finds them): the full assignment's
// pairs at a cost linear in the boxes of a scene of separated objects. The
// heading measurement is unwrapped to the track's (and flipped by π when a
// detector reports the box backwards). Tracks are tentative until
// confirmed by `probation_age` hits, coast through up to `max_shadow_age`
// missed frames (output as shadows when asked), and are deleted after that;
// confirmed tracks get ids unique per stream and velocities (Box3D.VX, VY).
// Per class (`class_motion`) or for all (`motion_model`), a track may
// instead run the constant turn-rate and velocity model (CTRV: x, y, heading,
// speed, yaw rate) as an extended Kalman filter with exact Jacobians, for
// vehicles whose heading is where they go; z and the sizes stay as above.
package track3d
