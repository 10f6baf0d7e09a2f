// Package osd is the 2D core's on-screen display (DeepStream's nvdsosd)
// and video writers: it draws 2D boxes, labels in core2d/draw's built-in
// bitmap font, track trails, class masks (alpha-blended), projected lidar
// points (coloured by depth) and analytics results (zones, lines with
// their positive side, flagged objects, counts: AnalyticsOverlay, shared
// with render/raster and render/gl) into RGB/RGBA frames in place, and
// writes frames as PNG/JPEG files, Motion-JPEG AVI (a pure-Go RIFF writer)
// or H.264 MP4/MPEG-TS through an ffmpeg subprocess fed rgb24 over its
// stdin, and streams H.264 live (RTSP, SRT, RTP, UDP) through ffmpeg behind
// a bounded queue that drops rather than waits. The components are osd (a
// datafilter drawing into the frame), video_sink (a datarender writing
// avi/mp4/ts/png/jpeg or streaming to a URL) and object_file_sink
// (per-frame JSON lines in DeepStream's minimal schema and MOTChallenge txt
// of the objects).
package osd
