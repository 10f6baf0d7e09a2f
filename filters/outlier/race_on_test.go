//go:build race

package outlier

// raceEnabled skips the timing tests under the race detector.
const raceEnabled = true
