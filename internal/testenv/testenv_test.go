package testenv_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// recorder stands in for a test: Skip and Fatal end its goroutine, as
// testing's do.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	panic(r)
}
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	panic(r)
}
func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }

func record(f func(tb testing.TB)) *recorder {
	r := &recorder{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if v := recover(); v != nil && v != r {
				panic(v)
			}
		}()
		f(r)
	}()
	wg.Wait()
	return r
}

func TestMissingPrerequisite(t *testing.T) {
	for _, ci := range []string{"", "false", "true", "1"} {
		t.Setenv("CI", ci)
		for name, f := range map[string]func(testing.TB){
			"SkipOrFail": func(tb testing.TB) { testenv.SkipOrFail(tb, "no %s", "thing") },
			"Tool":       func(tb testing.TB) { testenv.Tool(tb, "ds3d-no-such-tool", "apt-get install nothing") },
			"Python": func(tb testing.TB) {
				t.Setenv("DS3D_PYTHON", "/nonexistent/python3")
				testenv.Python(tb, "numpy")
			},
		} {
			r := record(f)
			wantFail := testenv.CI()
			if r.failed != wantFail || r.skipped == wantFail {
				t.Errorf("CI=%q %s: skipped %v failed %v (%s)", ci, name, r.skipped, r.failed, r.msg)
			}
		}
	}
}

func TestBrokenReferenceFails(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := record(func(tb testing.TB) {
			testenv.Output(tb, exec.Command("sh", "-c", "echo broken >&2; exit 3"))
		})
		if !r.failed || r.skipped || !strings.Contains(r.msg, "broken") {
			t.Errorf("CI=%q: a reference exiting 3 gave skipped %v failed %v (%s)", ci, r.skipped, r.failed, r.msg)
		}
		r = record(func(tb testing.TB) { testenv.Output(tb, exec.Command("/nonexistent/tool")) })
		if !r.failed || r.skipped {
			t.Errorf("CI=%q: a reference that cannot start gave skipped %v failed %v", ci, r.skipped, r.failed)
		}
	}
	if out := record(func(tb testing.TB) {
		if got := string(testenv.Output(tb, exec.Command("sh", "-c", "printf ok"))); got != "ok" {
			tb.Fatalf("stdout %q", got)
		}
	}); out.failed || out.skipped {
		t.Errorf("a working reference: %s", out.msg)
	}
}
