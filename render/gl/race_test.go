//go:build race

package gl_test

const raceEnabled = true
