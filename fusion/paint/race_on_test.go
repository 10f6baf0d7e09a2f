//go:build race

package paint

// raceEnabled skips the allocation and timing tests under the race detector.
const raceEnabled = true
