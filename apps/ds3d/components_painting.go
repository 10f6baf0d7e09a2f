package main

// PointPainting (point_painting): lidar points decorated with the 2D
// detectors' class scores.
import _ "github.com/ds3d-go/ds3d-go/fusion/paint"
