package main

// The point-cloud filter components that main.go does not link yet.
import (
	_ "github.com/ds3d-go/ds3d-go/filters/sweeps"
)
