//go:build race

package postprocess

// raceEnabled skips the timing tests under the race detector.
const raceEnabled = true
