//go:build !race

package lidarinfer

const raceEnabled = false
