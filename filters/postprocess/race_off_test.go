//go:build !race

package postprocess

const raceEnabled = false
