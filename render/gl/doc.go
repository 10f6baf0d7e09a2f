// Package gl is the OpenGL viewer: it registers the ds3d::datarender
// component gl_render, which draws each datamap's lidar points (coloured by
// intensity, height, range or a fixed colour on render/raster's Turbo colour
// map), its 3D boxes as wireframes (12 edges and a cross on the front face,
// +x of the box, in the class colour of core2d/draw.BoxColor, with labels in
// core2d/draw's 5×7 font), a ground grid and the x/y/z axes, through GLFW and
// OpenGL 3.3 core — in a window with mouse orbit/pan/zoom and keys, or
// headless into a framebuffer object of a hidden window, writing PNG frames
// and, with output_video, an H.264 MP4 (ffmpeg) or Motion-JPEG AVI.
//
// # Ensemble
//
// A render_graph (see Layout) tiles the window like ds3d's ensemble
// render: texture3d_render tiles show a camera image with the lidar points
// and boxes projected through DS3D::CamN_IntrinsicMatrix and
// DS3D::LidarToCamN_ExtrinsicMatrix, lidar3d_render tiles a perspective,
// top or front view; each tile draws in its own viewport and scissor. With
// color_by = "rgb" points take a colour image's colour at their
// DS3D::PointColorCoord (RGB-D clouds); hud = true adds a status line.
// An analytics result (analytics_key, filters/analytics) adds its zones
// and lines on the ground z = grid_z of every lidar tile and its counts at
// the top left (analytics.go).
//
// # Threads
//
// GLFW and a GL context belong to one OS thread. The package owns one
// goroutine that locks its OS thread, initialises GLFW and runs every GLFW
// and GL call of every renderer in the process; Start, Draw, Render and Close
// hand it work and wait. It starts with the first renderer and terminates
// GLFW and ends with the last Close. There is no EGL path: even headless
// rendering needs an X server (Xvfb and Mesa's llvmpipe work); without one
// Start fails with ErrNoDisplay instead of letting GLFW panic.
//
// # Pixel conventions
//
// Matrices are OpenGL's column-major clip = P·V·[x y z 1]ᵀ in the lidar
// frame (x forward, y left, z up). The perspective view is gluLookAt(
// view_position, view_target, view_up) followed by gluPerspective(
// perspective_fov (vertical, degrees), window_width/window_height,
// perspective_near, perspective_far). Window coordinates are
// x_w = (x_ndc + 1)/2·W and y_w = (y_ndc + 1)/2·H with the origin at the
// bottom-left and pixel centres at half-integers; written images have the
// top row first, so a point lands in image pixel (⌊x_w⌋, ⌊H − y_w⌋) — the
// same pixel as render/raster's camera convention ⌊u + ½⌋ with
// u = x_w − ½. Points are point_size squares centred there.
//
// The BEV view is the orthographic top view of render/raster's package doc:
// over x_range × y_range in a window_width × window_height frame,
// res_u = (y_max − y_min)/W, res_v = (x_max − x_min)/H, and a point (x, y)
// falls in pixel (⌊(y_max − y)/res_u⌋, ⌊(x_max − x)/res_v⌋); higher points
// are drawn over lower ones.
//
// # Frame path
//
// Points are uploaded straight from the frame's memory (no copy, no per-point
// CPU work: the shader colours them); boxes and labels are built in staging
// []float32 buffers reused from frame to frame. Every upload orphans its
// buffer (glBufferData with nil) before glBufferSubData, and buffers grow
// geometrically. Readback (glReadPixels into a reused buffer, rows flipped
// into a reused image) and PNG encoding (reused encoder buffers) complete the
// headless path. Camera images are uploaded with glTexSubImage2D straight
// from the frame. Drawing and reading back a frame allocates nothing; see
// docs/PERF.md for timings.
//
// A datamap without a key a tile draws (lidar, boxes, image, calibration)
// is drawn without it, with one warning per key; a value of the wrong type
// is an error naming the key.
package gl
