package xvfb

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// The Xvfb that Start runs is in a process group of its own, so a terminal's
// Ctrl-C (sent to ds3d's foreground group, which ds3d turns into a drain)
// does not kill the display under the renderers that are still flushing.
func TestOwnProcessGroup(t *testing.T) {
	testenv.Tool(t, "Xvfb", "apt-get install xvfb")
	old, had := os.LookupEnv("DISPLAY")
	stop, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		stop()
		if had {
			os.Setenv("DISPLAY", old)
		}
	}()
	n := strings.TrimPrefix(os.Getenv("DISPLAY"), ":")
	b, err := os.ReadFile("/tmp/.X" + n + "-lock")
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("lock file %q: %v", b, err)
	}
	theirs, err := syscall.Getpgid(pid)
	if err != nil {
		t.Fatal(err)
	}
	if ours := syscall.Getpgrp(); theirs == ours || theirs != pid {
		t.Errorf("Xvfb (pid %d) is in process group %d; ours is %d — want its own group", pid, theirs, ours)
	}
}
