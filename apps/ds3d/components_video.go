package main

// The 2D video source (issue 7): uri_source. nvtracker_2d (core2d/track)
// is linked by main.go.
import (
	_ "github.com/ds3d-go/ds3d-go/core2d/source"
)
