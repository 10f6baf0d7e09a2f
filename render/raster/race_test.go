//go:build race

package raster_test

const raceEnabled = true
