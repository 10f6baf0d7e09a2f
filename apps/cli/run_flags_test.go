package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// logEveryConfig configures cli_test_logger.
type logEveryConfig struct {
	Delay time.Duration `toml:"delay" doc:"time spent per datamap"`
}

// logEvery is a sink that logs each datamap, repeating the attributes its
// logger already has (component) and one of its own (k), as some
// components do.
type logEvery struct {
	cfg  logEveryConfig
	env  *ds3d.Env
	seen int
}

func (l *logEvery) Render(ctx context.Context, _ *ds3d.DataMap) error {
	l.seen++
	l.env.Log.Info("seen", "component", l.env.Name, "k", l.seen, "k", l.seen)
	time.Sleep(l.cfg.Delay)
	return nil
}

// registerLogger registers cli_test_logger for one test: registered for
// good, it would show in `ds3d components --markdown`, which
// TestComponentsDocFresh compares with docs/COMPONENTS.md.
func registerLogger(t *testing.T) {
	t.Helper()
	if err := ds3d.TryRegister(ds3d.KindRender, "cli_test_logger", "Logs every datamap (cli tests).",
		func() *logEveryConfig { return &logEveryConfig{} },
		func(c *logEveryConfig, env *ds3d.Env) (any, error) { return &logEvery{cfg: *c, env: env}, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ds3d.Unregister("cli_test_logger") })
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const sourceToFile = `[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "sink"
[component.config]
count = 100

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "datamap_file_sink"
[component.config]
path = "res/x.jsonl"
`

func lineCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

func TestRunSetAndOut(t *testing.T) {
	cfg := writeConfig(t, sourceToFile)
	dir := filepath.Dir(cfg)
	code, _, errs := runCmd(t, "run", "--quiet", "--set", "src.count=3", cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := lineCount(t, filepath.Join(dir, "res", "x.jsonl")); n != 3 {
		t.Fatalf("--set src.count=3 wrote %d datamaps", n)
	}
	// --out takes the sink's relative path; flags after the config, and a
	// later --set of the same key wins.
	out := filepath.Join(t.TempDir(), "o")
	code, _, errs = runCmd(t, "run", cfg, "--quiet", "--out", out, "--set", "src.count=2", "--set", "src.count=5", "--set", "src.rate_hz=20")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := lineCount(t, filepath.Join(out, "res", "x.jsonl")); n != 5 {
		t.Fatalf("--out: %d datamaps in %s", n, out)
	}
	// A path given with --set goes under --out too; a string value
	// without quotes (as a shell leaves it) is a string.
	code, _, errs = runCmd(t, "run", "--quiet", "--out", out, "--set", "sink.path=y.jsonl", "--set", `src.count=1`, cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := lineCount(t, filepath.Join(out, "y.jsonl")); n != 1 {
		t.Fatalf("--set sink.path with --out: %d datamaps", n)
	}
	// An absolute path stays where it is.
	abs := filepath.Join(t.TempDir(), "abs.jsonl")
	code, _, errs = runCmd(t, "run", "--quiet", "--out", out, "--set", `sink.path="`+abs+`"`, "--set", "src.count=2", cfg)
	if code != 0 || lineCount(t, abs) != 2 {
		t.Fatalf("absolute path under --out: exit %d %s", code, errs)
	}
	if code, _, errs = runCmd(t, "run", "-h"); code != 0 {
		t.Errorf("run -h: exit %d", code)
	}
	for _, want := range []string{"-set COMPONENT.KEY=VALUE", "-out DIR", "datamap_file_sink.path", "raster_render.output_dir"} {
		if !strings.Contains(errs, want) {
			t.Errorf("run -h lacks %q", want)
		}
	}
	if strings.Contains(errs, "msgbroker.metadata_file") || strings.Contains(errs, "kitti_label_writer.calib_file") {
		t.Errorf("run -h lists input files among the outputs:\n%s", errs)
	}
}

// TestRunSetErrors: a bad --set is refused with the error the same value
// gives in the file, after saying which --set it was.
func TestRunSetErrors(t *testing.T) {
	cfg := writeConfig(t, sourceToFile)
	for _, c := range []struct{ set, line string }{
		{"src.cont=3", "cont = 3"},
		{"src.count=-1", "count = -1"},
		{"src.count=many", `count = "many"`},
		{"src.rate_hz=[1, 2]", "rate_hz = [1, 2]"},
	} {
		bad := writeConfig(t, strings.Replace(sourceToFile, "count = 100", c.line, 1))
		code, _, fileErr := runCmd(t, "validate", bad)
		if code != 1 {
			t.Fatalf("validate %s: exit %d", c.line, code)
		}
		// validate prints FILE:LINE: component "src": key …: the part
		// from component on is what --set must say.
		_, want, ok := strings.Cut(strings.TrimSpace(fileErr), ": component ")
		if !ok {
			t.Fatalf("validate output: %s", fileErr)
		}
		code, _, errs := runCmd(t, "run", "--quiet", "--set", c.set, cfg)
		if code != 1 || !strings.Contains(errs, "--set "+c.set+": component "+want) {
			t.Errorf("--set %s: exit %d\n%s\nwant: --set %s: component %s", c.set, code, errs, c.set, want)
		}
	}
	if code, _, errs := runCmd(t, "run", "--quiet", "--set", "nope.count=1", cfg); code != 1 || !strings.Contains(errs, `component "nope": no such component (the pipeline has src, sink)`) {
		t.Errorf("unknown component: exit %d %s", code, errs)
	}
	for _, bad := range []string{"src", "src=1", ".count=1", "src.=1"} {
		if code, _, errs := runCmd(t, "run", "--quiet", "--set", bad, cfg); code != 2 || !strings.Contains(errs, "want COMPONENT.KEY=VALUE") {
			t.Errorf("--set %s: exit %d %s", bad, code, errs)
		}
	}
}

// screen replays text as a terminal shows it: a carriage return moves
// back to the start of the line, later characters overwrite earlier ones.
func screen(text string) []string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		var buf []rune
		col := 0
		for _, r := range l {
			if r == '\r' {
				col = 0
				continue
			}
			if col < len(buf) {
				buf[col] = r
			} else {
				buf = append(buf, r)
			}
			col++
		}
		lines = append(lines, strings.TrimRight(string(buf), " "))
	}
	return lines
}

var progressRe = regexp.MustCompile(`ds3d: (\d+)/(\d+) datamaps \((\d+)%\)`)

// TestProgressLine runs a fan-out (one source, two sinks, one of which
// logs every datamap) with a fast progress line: the line counts what the
// source produced (never more than its total, as counting arrivals at
// both sinks would), and log lines are never glued onto it.
func TestProgressLine(t *testing.T) {
	registerLogger(t)
	defer func(d time.Duration) { progressEvery = d }(progressEvery)
	progressEvery = 15 * time.Millisecond
	cfg := writeConfig(t, `[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = ["log", "count"]
[component.config]
count = 40

[[component]]
name = "log"
type = "ds3d::datarender"
impl = "cli_test_logger"
[component.config]
delay = "5ms"

[[component]]
name = "count"
type = "ds3d::datarender"
impl = "counting_sink"
[component.config]
expect = 40
`)
	code, out, errs := runCmd(t, "run", "--quiet=false", cfg)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "40 datamaps from the sources, 80 arrivals at the sinks") {
		t.Errorf("summary:\n%s", out)
	}
	progress, logs := 0, 0
	for _, line := range screen(errs) {
		hasLog := strings.Contains(line, "msg=seen")
		for _, m := range progressRe.FindAllStringSubmatch(line, -1) {
			progress++
			n, _ := strconv.Atoi(m[1])
			total, _ := strconv.Atoi(m[2])
			if total != 40 || n > total {
				t.Errorf("progress %q: want at most 40 of 40", m[0])
			}
		}
		if hasLog {
			logs++
			if progressRe.MatchString(line) || !strings.HasPrefix(line, "time=") {
				t.Errorf("log line mixed with the progress line: %q", line)
			}
			if strings.Count(line, "component=log") != 1 || strings.Count(line, " k=") != 1 {
				t.Errorf("repeated attributes: %q", line)
			}
		}
	}
	if progress == 0 || logs != 40 {
		t.Errorf("saw %d progress lines and %d log lines (want some and 40):\n%q", progress, logs, errs)
	}
}
