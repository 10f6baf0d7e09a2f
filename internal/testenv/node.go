package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var nodeMu sync.Mutex

// Node prepares a folder of Node.js reference scripts (a package.json and
// package-lock.json beside them, usually under testdata) and returns the
// node binary to run them with. It runs `npm ci` in dir when node_modules is
// missing or older than the lock file (a stamp holds the lock's hash), so
// the packages come from the npm registry at the versions the lock pins,
// installed by the test itself and never by `make run`. Without node or npm
// the test skips, or fails under CI; an npm ci that fails is a failure.
func Node(tb testing.TB, dir string) string {
	tb.Helper()
	node := Tool(tb, "node", "apt-get install nodejs npm")
	npm := Tool(tb, "npm", "apt-get install npm")
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		tb.Fatalf("node references in %s: %v (run `npm install` there once and commit the lock)", dir, err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	stamp := filepath.Join(dir, "node_modules", ".ds3d-lock-sha256")
	nodeMu.Lock()
	defer nodeMu.Unlock()
	// Test binaries of several packages may share a folder and run at
	// once (go test runs packages in parallel): an exclusive lock on a file
	// beside the lock file keeps two npm ci from writing one node_modules.
	defer lockFile(tb, filepath.Join(dir, ".npm-ci.lock"))()
	if got, err := os.ReadFile(stamp); err == nil && string(got) == want {
		return node
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("npm ci in %s: %v\n%s", dir, err, tail(string(out), 4000))
	}
	if err := os.WriteFile(stamp, []byte(want), 0o644); err != nil {
		tb.Fatal(err)
	}
	return node
}

// lockFile takes an exclusive flock on path (created when missing) and
// returns its release: test binaries of several packages, run at once by
// go test, share the folders it guards.
func lockFile(tb testing.TB, path string) (unlock func()) {
	tb.Helper()
	lf, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		lf.Close()
		tb.Fatal(err)
	}
	return func() {
		syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
		lf.Close()
	}
}
