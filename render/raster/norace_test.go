//go:build !race

package raster_test

const raceEnabled = false
