//go:build !race

package paint

const raceEnabled = false
