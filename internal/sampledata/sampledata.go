// Package sampledata finds the real sensor data sets that tests run on: the
// fuller sets in ../shared/data beside the repository (or $DS3D_SHARED_DATA)
// and the small bundled samples in datasets/samples. A test that needs a set
// which is absent is skipped with a message saying where it looked — except
// when CI is set, where a missing set is a failure, so CI never goes green by
// skipping (the rule lives in internal/testenv).
package sampledata

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// RepoRoot returns the repository root (the folder holding go.mod), found by
// walking up from the working directory.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("sampledata: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("sampledata: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SharedDir returns the shared data root: $DS3D_SHARED_DATA, or
// ../shared/data beside the repository. It does not check that it exists.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("DS3D_SHARED_DATA"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(tb), "..", "shared", "data")
}

// Shared returns the path of a set (or a file inside one) under the shared
// data root, e.g. Shared(t, "kitti-object/training/velodyne/000000.bin").
// When it is absent the test is skipped, or fails when CI is set.
func Shared(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(SharedDir(tb), rel)
	if _, err := os.Stat(p); err != nil {
		testenv.SkipOrFail(tb, "sampledata: shared data %s not found at %s (clone the shared data beside the repository or set DS3D_SHARED_DATA)", rel, p)
	}
	return p
}

// Peers returns the folder of the peer scripts, ../shared/peers beside the
// repository (bench_numpy.py, bench_nms.py, …), checking that rel (a file
// inside it) exists. When it is absent the test is skipped, or fails when
// CI is set.
func Peers(tb testing.TB, rel string) string {
	tb.Helper()
	d := filepath.Join(RepoRoot(tb), "..", "shared", "peers")
	if _, err := os.Stat(filepath.Join(d, rel)); err != nil {
		testenv.SkipOrFail(tb, "sampledata: peer %s not found in %s (clone ../shared beside the repository)", rel, d)
	}
	return d
}

// Sample returns the path of a file in the bundled samples
// (datasets/samples/...), failing the test when it is missing: bundled
// samples are part of the repository.
func Sample(tb testing.TB, rel string) string {
	tb.Helper()
	p := filepath.Join(RepoRoot(tb), "datasets", "samples", rel)
	if _, err := os.Stat(p); err != nil {
		tb.Fatalf("sampledata: bundled sample %s missing: %v", rel, err)
	}
	return p
}
