//go:build race

package meta

// raceOn: the race detector makes sync.Pool drop items at random, so pool
// reuse cannot be measured under -race.
const raceOn = true
