//go:build !race

package meta

const raceOn = false
