//go:build cgo

package gl

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"sync"

	gogl "github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// glThread is the one OS thread that talks to GLFW and OpenGL. GLFW is not
// thread-safe and a GL context is current on one thread only, so every
// renderer of the process hands its work to this goroutine, which holds
// its OS thread locked for its whole life. It starts with the first
// renderer and ends (glfw.Terminate) with Shutdown.
type glThread struct {
	calls   chan glCall
	current *glfw.Window // window whose context is current
	glInit  bool
}

type glCall struct {
	fn   func() error
	done chan error
}

var thread struct {
	sync.Mutex
	t    *glThread
	refs int
}

// acquireThread starts the GL thread (and GLFW) when needed and counts a
// user; release with releaseThread.
func acquireThread() (*glThread, error) {
	thread.Lock()
	defer thread.Unlock()
	if thread.t != nil {
		thread.refs++
		return thread.t, nil
	}
	if err := checkDisplay(); err != nil {
		return nil, err
	}
	t := &glThread{calls: make(chan glCall)}
	started := make(chan error, 1)
	go t.loop(started)
	if err := <-started; err != nil {
		return nil, err
	}
	thread.t, thread.refs = t, 1
	return t, nil
}

// releaseThread drops a user. The thread and GLFW stay up when the last
// one leaves: re-initialising GLFW after glfw.Terminate in the same process
// was seen to fail intermittently (a NotInitialized error reaching the next
// CreateWindow), and a process that rendered once is likely to render again.
// Shutdown ends them.
func releaseThread() {
	thread.Lock()
	defer thread.Unlock()
	if thread.refs > 0 {
		thread.refs--
	}
}

// Shutdown terminates GLFW and ends the GL thread once no renderer uses it;
// it reports false while one still does. Programs that render and go on for
// a long time may call it to give the thread and the X connection back.
func Shutdown() bool {
	thread.Lock()
	defer thread.Unlock()
	if thread.t == nil {
		return true
	}
	if thread.refs > 0 {
		return false
	}
	t := thread.t
	thread.t = nil
	done := make(chan error, 1)
	t.calls <- glCall{fn: func() error { glfw.Terminate(); return nil }, done: done}
	<-done
	close(t.calls)
	return true
}

func (t *glThread) loop(started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := glfw.Init(); err != nil {
		started <- fmt.Errorf("gl_render: glfw init: %w", err)
		return
	}
	started <- nil
	for c := range t.calls {
		c.done <- t.run(c.fn)
	}
}

// run calls fn and turns a panic (GLFW panics on errors it calls
// programmer errors) into an error.
func (t *glThread) run(fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("gl_render: %v", p)
		}
	}()
	return fn()
}

// do runs fn on the GL thread and waits for it; done is the caller's
// reusable reply channel (capacity 1), so a call allocates nothing.
func (t *glThread) do(fn func() error, done chan error) error {
	t.calls <- glCall{fn: fn, done: done}
	return <-done
}

// makeCurrent makes w's context current on the GL thread (once per switch)
// and loads the GL entry points the first time.
func (t *glThread) makeCurrent(w *glfw.Window) error {
	if t.current == w {
		return nil
	}
	w.MakeContextCurrent()
	t.current = w
	if !t.glInit {
		if err := gogl.Init(); err != nil {
			return fmt.Errorf("gl_render: loading OpenGL: %w", err)
		}
		t.glInit = true
	}
	return nil
}

var localDisplay = regexp.MustCompile(`^(?:unix)?:(\d+)(?:\.\d+)?$`)

// checkDisplay fails clearly when DISPLAY is unset or names a local X
// server whose socket is absent: glfw.Init would only log the failure and
// panic later.
func checkDisplay() error {
	d := os.Getenv("DISPLAY")
	if d == "" {
		return fmt.Errorf("gl_render: %w: DISPLAY is not set (headless rendering still needs an X server: run under Xvfb, e.g. `Xvfb :99 -screen 0 1280x1024x24 & export DISPLAY=:99`, or use raster_render)", ErrNoDisplay)
	}
	if m := localDisplay.FindStringSubmatch(d); m != nil {
		sock := "/tmp/.X11-unix/X" + m[1]
		if _, err := os.Stat(sock); err != nil {
			return fmt.Errorf("gl_render: %w: DISPLAY=%s but there is no X server socket %s", ErrNoDisplay, d, sock)
		}
	}
	return nil
}
