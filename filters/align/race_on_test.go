//go:build race

package align

// raceEnabled skips the timing tests under the race detector.
const raceEnabled = true
