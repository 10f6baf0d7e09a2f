// Package mixer holds multisensor_mixer, the ds3d::datamixer that merges N
// sensor streams into one: every key of a datamap arriving on input P is
// renamed with the "+P" suffix (DS3D::LidarXYZI+0, DS3D::ColorFrame_2+1), and
// inputs are matched by DS3D::Timestamp under one of two policies:
//
//   - approximate_time (ROS 2 message_filters' ApproximateTime, made exact):
//     sets of one datamap per input with the smallest time span containing
//     the pivot (the latest of the inputs' oldest datamaps); each datamap is
//     used once, consecutive sets never cross, a set wider than
//     max_interval_ms is never formed, and a set is published only once no
//     later arrival could narrow it.
//   - publish_on (ds3d's mixer, made time-aware): every datamap of one input
//     (e.g. the lidar) is published with, from each other input, the queued
//     datamap nearest in time (within max_interval_ms), once every other
//     input has shown a timestamp at or after it, or after timeout_ms.
//
// Per-input drops (datamaps never published, late or out-of-order arrivals)
// are counted and reported through the runtime's drop metric and at close.
package mixer
