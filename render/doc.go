// Package render holds the sinks that show or store results: the OpenGL
// viewer and its ensemble layouts (GLFW), headless offscreen output, a
// pure-Go raster fallback and result file writers, each a registered
// ds3d::datarender component (DESIGN.md §1).
package render
