// Package mux is the 2D core's stream muxer (DeepStream's nvstreammux): it
// batches frames of N video sources into batches of up to batch_size
// frames with one meta.FrameMeta each (source id, frame number, PTS),
// scales them to the output size with a separable bilinear resampler
// (OpenCV INTER_LINEAR's convention, optional letterbox padding), and
// applies nvstreammux's rules: batched_push_timeout, max_same_source_frames,
// per-source fps limits, sync_inputs by timestamp, live sources that drop
// instead of waiting, end of stream per source and for the batch, and
// sources added and removed at run time. Mux is the Go API (producers call
// Push from their goroutines; Run owns the batching goroutine and sends on
// Out); stream_mux is the ds3d datamixer over the same rules (pad sink_N
// is source N). Every frame pushed is accounted for: batched, dropped by a
// rule and counted, or released with its removed source.
package mux
