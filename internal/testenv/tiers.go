package testenv

import (
	"os"
	"testing"
)

// SkipUnderRace skips a test that cannot hold or cannot finish under the
// race detector (allocation counts, timing, full-model runs 10-50x slower).
// It is not a CI failure: `make test` runs every package that calls it a
// second time without -race (the Makefile finds them by this name), so the
// check still runs on the shipped build.
func SkipUnderRace(tb testing.TB, why string) {
	tb.Helper()
	if RaceEnabled {
		tb.Skip("under -race: " + why + " (runs in make test's non-race pass)")
	}
}

// E2E skips a test of the second tier — real servers, a browser, process
// kills, model zoos, long runs — unless DS3D_E2E is set, as `make e2e` does.
// Such tests are named TestE2E… so that `make e2e` can run them alone.
func E2E(tb testing.TB) {
	tb.Helper()
	if os.Getenv("DS3D_E2E") == "" {
		tb.Skip("end-to-end tier: runs in make e2e (DS3D_E2E=1)")
	}
}
