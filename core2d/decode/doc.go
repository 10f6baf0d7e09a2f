// Package decode holds the 2D core's image and video decoders, each
// decoding into caller-owned (pooled) frames: JPEG through libjpeg-turbo
// (cgo, build tag turbojpeg; image/jpeg otherwise) behind one JPEG type
// that reports corrupt and truncated data with byte offsets; Motion-JPEG
// AVI files in pure Go (the RIFF AVI 1.0 container: `avih`, the video
// stream's `strh`/`strf`, the `movi` list of `##dc`/`##db` chunks, with or
// without `idx1`, `JUNK` and nested `LIST`s skipped); and H.264, H.265,
// MPEG-4 files and rtsp:// streams through an ffmpeg subprocess that
// writes raw RGB, RGBA or NV12 frames to a pipe, with each frame's PTS.
//
// It also holds the image file I/O that sensors/camera, sensors/depth and
// core2d/source share: ReadFile (into a reused buffer), ImageSize (header
// only), Decode and DecodeFile (any format registered with
// image.RegisterFormat), NewColorFrame and ToFrame (an image.Image into a
// pooled RGB or RGBA frame).
package decode
