// Package testenv is the one place where a test decides to skip or fail for
// want of something outside the repository: a tool on PATH, Debian's Python
// with the modules a reference script needs, a peer library, a data set. Off
// CI a missing piece skips the test with a message saying how to get it;
// under CI=true it fails, so CI never goes green by skipping. A reference
// that is present but crashes, exits non-zero or prints what the test cannot
// parse is always a failure (RunPython, Output), never a skip: a broken
// reference proves nothing either way.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// CI reports whether the tests run under CI (CI set to anything but "" or
// "false"), where a missing prerequisite is a failure.
func CI() bool {
	v := os.Getenv("CI")
	return v != "" && v != "false" && v != "0"
}

// SkipOrFail skips the test with the message, or fails it under CI.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		tb.Fatal(msg + " (CI is set, so this is a failure, not a skip)")
	}
	tb.Skip(msg)
}

// Tool returns the path of a program on PATH, or skips/fails with the
// install hint (e.g. "apt-get install pcl-tools").
func Tool(tb testing.TB, name, hint string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(tb, "%s not found on PATH (%s)", name, hint)
	}
	return p
}

// PythonPath is the interpreter reference scripts run with: $DS3D_PYTHON, or
// Debian's /usr/bin/python3, whose numpy, SciPy, OpenCV and Open3D come from
// the packages `make setup` installs (a python3 earlier on PATH may lack them).
func PythonPath() string {
	if p := os.Getenv("DS3D_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// debianPackage names the Debian package that provides a Python module, for
// the install hint.
var debianPackage = map[string]string{
	"numpy":      "python3-numpy",
	"scipy":      "python3-scipy",
	"cv2":        "python3-opencv",
	"open3d":     "python3-open3d",
	"jsonschema": "python3-jsonschema",
}

var pyChecks sync.Map // interpreter and module list -> error

// Python returns PythonPath after checking that it runs and imports every
// named module; otherwise it skips, or fails under CI.
func Python(tb testing.TB, modules ...string) string {
	tb.Helper()
	py := PythonPath()
	key := py + " " + strings.Join(modules, ",")
	v, ok := pyChecks.Load(key)
	if !ok {
		src := "import sys"
		for _, m := range modules {
			src += "; import " + m
		}
		out, err := exec.Command(py, "-c", src).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, bytes.TrimSpace(out))
		}
		v, _ = pyChecks.LoadOrStore(key, errOrNil{err})
	}
	if err := v.(errOrNil).err; err != nil {
		var pkgs []string
		for _, m := range modules {
			if p, ok := debianPackage[m]; ok {
				pkgs = append(pkgs, p)
			}
		}
		hint := "make setup"
		if len(pkgs) > 0 {
			hint = "apt-get install " + strings.Join(pkgs, " ")
		}
		SkipOrFail(tb, "%s with %s is needed for the reference (%s): %v", py, strings.Join(modules, ", "), hint, err)
	}
	return py
}

type errOrNil struct{ err error }

// RunPython runs a reference script (a file path or, with "-c", inline code)
// with Python(tb, modules...) and returns its standard output. A script that
// exits non-zero fails the test with its standard error: that is a broken
// reference, not a missing one.
func RunPython(tb testing.TB, modules []string, args ...string) []byte {
	tb.Helper()
	py := Python(tb, modules...)
	return Output(tb, exec.Command(py, args...))
}

// Output runs a reference command and returns its standard output, failing
// the test (never skipping) when it cannot start or exits non-zero.
func Output(tb testing.TB, cmd *exec.Cmd) []byte {
	tb.Helper()
	var stderr bytes.Buffer
	if cmd.Stderr == nil {
		cmd.Stderr = &stderr
	}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		what := "could not run"
		if errors.As(err, &ee) {
			what = "failed"
		}
		tb.Fatalf("reference %s %s: %v\n%s", strings.Join(cmd.Args, " "), what, err, tail(stderr.String(), 4000))
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
