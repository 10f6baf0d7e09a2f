// Package draw holds the pixel primitives that the 2D on-screen display
// (core2d/osd) and the pure-Go renderer (render/raster) both draw with: a
// 5×7 bitmap font (Text, TextWidth), Bresenham segments (Segment, Line),
// clipped squares and pixels, the Turbo colour map and the class palette
// (Colormap, DefaultPalette, BoxColor). It works on *image.RGBA, imports
// only the standard library and registers no component, so any layer may use
// it.
package draw
