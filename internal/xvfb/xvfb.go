// Package xvfb starts a private X virtual framebuffer for tests that render
// with OpenGL on machines without a display (CI): the GL tests and the
// command's example-config tests share it.
package xvfb

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// Start runs `Xvfb :N -screen 0 1280x1024x24` on the first free display
// number from 90, waits for its socket and sets DISPLAY; stop ends it
// (SIGTERM, so Xvfb removes its socket and lock file) and unsets DISPLAY.
func Start() (stop func(), err error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("DISPLAY is unset and Xvfb is not installed (apt-get install xvfb)")
	}
	for n := 90 + os.Getpid()%50; n < 400; n++ {
		sock := "/tmp/.X11-unix/X" + strconv.Itoa(n)
		if _, err := os.Stat(sock); err == nil {
			continue
		}
		if _, err := os.Stat("/tmp/.X" + strconv.Itoa(n) + "-lock"); err == nil {
			continue
		}
		cmd := exec.Command(bin, ":"+strconv.Itoa(n), "-screen", "0", "1280x1024x24", "-nolisten", "tcp")
		// Its own process group: Ctrl-C in a terminal signals the whole
		// foreground group, and an Xvfb that died with ds3d's first
		// Ctrl-C (which only drains) would kill the renderers still
		// flushing with "XIO: fatal IO error". stop ends it.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting Xvfb: %w", err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		deadline := time.After(15 * time.Second)
	wait:
		for {
			select {
			case <-exited: // display taken meanwhile: try the next
				break wait
			case <-deadline:
				cmd.Process.Kill()
				<-exited
				return nil, fmt.Errorf("xvfb: Xvfb :%d did not create %s in 15 s", n, sock)
			case <-time.After(20 * time.Millisecond):
				if _, err := os.Stat(sock); err == nil {
					os.Setenv("DISPLAY", ":"+strconv.Itoa(n))
					return func() {
						// SIGTERM lets Xvfb remove its socket and lock file.
						cmd.Process.Signal(syscall.SIGTERM)
						select {
						case <-exited:
						case <-time.After(5 * time.Second):
							cmd.Process.Kill()
							<-exited
							os.Remove(sock)
							os.Remove("/tmp/.X" + strconv.Itoa(n) + "-lock")
						}
						os.Unsetenv("DISPLAY")
					}, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no free X display number for Xvfb")
}
