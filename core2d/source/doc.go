// Package source is the 2D core's video source, the `uri_source` dataloader
// (DeepStream's uridecodebin/nvurisrcbin): one URI — a Motion-JPEG AVI read
// in pure Go, any other video file or an rtsp:// stream decoded by an
// ffmpeg subprocess, or a glob of JPEG/PNG images — decoded into pooled
// RGB or RGBA colour frames, one datamap per frame, with looping, a frame
// limit, real-time pacing and end of stream, and a choice between failing
// the pipeline and ending only this source when the input goes bad.
package source
