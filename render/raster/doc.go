// Package raster draws point clouds and 3D boxes into plain Go images — no
// cgo, no OpenGL — as a bird's-eye view (BEV) of the lidar frame or projected
// into a camera image, and registers the ds3d::datarender component
// raster_render that writes each datamap's picture as a PNG file. Drawing
// functions reuse the caller's *image.RGBA and allocate nothing per frame.
// An analytics result (analytics_key, filters/analytics) is drawn over
// either view with core2d/osd's overlay: zones and lines in the BEV's
// metres or on the ground plane z = ground_z projected into the camera,
// flagged objects, and the counts (DrawAnalyticsBEV, DrawAnalyticsCamera).
//
// # BEV pixel convention (shared with the OpenGL viewer)
//
// The lidar frame is x forward, y left, z up. In the BEV image forward (+x)
// is up and left (+y) is left, so the viewer looks down from above with the
// car driving towards the top of the picture. A BEV covers
// x ∈ [XRange[0], XRange[1]] and y ∈ [YRange[0], YRange[1]] metres in an image
// of W×H pixels. With res_u = (y_max − y_min)/W and res_v = (x_max − x_min)/H
// metres per pixel (both equal to Resolution when it is set, and then
// W = round((y_max − y_min)/Resolution), H = round((x_max − x_min)/Resolution)),
// a point (x, y) has continuous image coordinates
//
//	u = (y_max − y) / res_u   (column, 0 at the left edge, growing to the right = −y)
//	v = (x_max − x) / res_v   (row, 0 at the top edge, growing downwards = −x)
//
// and falls in pixel (⌊u⌋, ⌊v⌋): pixel (i, j) covers u ∈ [i, i+1), v ∈ [j, j+1)
// and its centre (i + ½, j + ½) is the point y = y_max − (i + ½)·res_u,
// x = x_max − (j + ½)·res_v — the same cell indexing as a voxel or pillar grid.
// Points outside [0, W)×[0, H) are not drawn; z is ignored except for
// colouring. Lines (box edges, grid) join the pixels of their end points.
//
// # Camera pixel convention
//
// Camera images follow the pinhole convention of ds3d.Intrinsics (OpenCV,
// KITTI): a lidar point p goes to the camera frame as c = T·p (T the
// lidar→camera ds3d.Mat4), then u = (fx·c.x + skew·c.y)/c.z + cx,
// v = fy·c.y/c.z + cy, where integer (u, v) are pixel centres, so the point
// falls in pixel (⌊u + ½⌋, ⌊v + ½⌋). Points with c.z below the near plane
// (Near, default 0.1 m) are dropped; box edges crossing it are clipped in 3D
// before projection and in 2D to the image. Distortion is not applied.
//
// Points are drawn in the order given (later points over earlier ones), or
// depth-tested when CameraOptions.Depth is given (nearest wins), then boxes,
// then labels. A box's colour is Box3D.Color
// when any channel is non-zero, else Palette[ClassID mod len(Palette)], or
// the unknown-class grey for ClassID < 0. Labels use a built-in 5×7 bitmap
// font (upper-case letters, digits and a little punctuation; lower case is
// drawn as upper case).
//
// # Ensemble
//
// With a render_graph (gl_render's keys, shared through render/layout)
// raster_render tiles one window_width × window_height picture:
// texture3d_render tiles scale their camera image over the tile (bilinear,
// pixel centres mapped (x + ½)·W/w − ½ as an OpenGL LINEAR texture) and
// project through the intrinsics scaled the same way, so a point at image
// position u lands in tile column ⌊(u + ½)·w/W⌋; lidar3d_render tiles draw
// the BEV above or a front view (along +x from behind: column
// (y_max − y)/res_u, row (z_max − z)/res_v, points with x in x_range).
// Perspective tiles are gl_render's only and are refused by Validate.
package raster
