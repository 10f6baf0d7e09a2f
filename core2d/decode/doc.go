// Package decode holds the 2D core's video and image decoders. This first
// part reads Motion-JPEG AVI files in pure Go: the RIFF AVI 1.0 container
// (the `avih` main header, the video stream's `strh`/`strf`, the `movi` list
// of `##dc`/`##db` frame chunks, with or without an `idx1` index, RIFF
// `JUNK` and nested `LIST`s skipped), each frame a baseline JPEG decoded by
// image/jpeg. H.264/H.265 and RTSP go through an ffmpeg subprocess in a later
// part of this package.
package decode
