package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// NATSServer returns a nats-server binary built from the version of
// github.com/nats-io/nats-server/v2 that go.mod pins: no Debian package
// carries it, and the module is the server the project's tests and demo
// run against. It is built once into the user cache folder
// (ds3d-go/nats-server-VERSION/nats-server), under an exclusive file lock
// because test binaries of several packages (and the demo script, which
// uses the same path) may ask for it at once. Without the go command the
// test skips, or fails under CI; a failed build is a failure.
func NATSServer(tb testing.TB) string {
	tb.Helper()
	gobin := Tool(tb, "go", "the Go toolchain builds nats-server from its module")
	out, err := exec.Command(gobin, "list", "-m", "-f", "{{.Version}}", "github.com/nats-io/nats-server/v2").Output()
	if err != nil {
		tb.Fatalf("go list -m nats-server: %v", err)
	}
	version := strings.TrimSpace(string(out))
	cache, err := os.UserCacheDir()
	if err != nil {
		tb.Fatal(err)
	}
	dir := filepath.Join(cache, "ds3d-go", "nats-server-"+version)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	defer lockFile(tb, filepath.Join(dir, "lock"))()
	bin := filepath.Join(dir, "nats-server")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command(gobin, "build", "-o", bin+".tmp", "github.com/nats-io/nats-server/v2")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build nats-server %s: %v\n%s", version, err, tail(string(out), 4000))
	}
	if err := os.Rename(bin+".tmp", bin); err != nil {
		tb.Fatal(err)
	}
	return bin
}
