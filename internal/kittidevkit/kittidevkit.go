// Package kittidevkit builds and runs the KITTI object devkit's evaluator
// (../shared/peers/kitti_eval/evaluate_object_3d_offline.cpp) for tests: the
// independent reference that `ds3d eval kitti` must reproduce. It builds the
// C++ once per source version (about 20 s of CPU for boost::geometry) and
// parses what the evaluator prints and plots.
package kittidevkit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// Binary returns the evaluator built from ../shared/peers/kitti_eval with
// g++. It is kept in the user cache directory under the SHA-256 of its
// source, so later runs (and other packages' tests) reuse it; without a
// cache directory it is built in a temporary one. A missing compiler, boost
// or source skips the test, or fails it under CI.
func Binary(tb testing.TB) string {
	tb.Helper()
	gxx := testenv.Tool(tb, "g++", "apt-get install g++ libboost-dev")
	src := filepath.Join(sampledata.RepoRoot(tb), "..", "shared", "peers", "kitti_eval", "evaluate_object_3d_offline.cpp")
	code, err := os.ReadFile(src)
	if err != nil {
		testenv.SkipOrFail(tb, "KITTI devkit source not found (%v): clone ../shared beside the repository", err)
	}
	sum := sha256.Sum256(code)
	dir := tb.TempDir()
	if c, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(c, "ds3d-go", "kitti_eval-"+hex.EncodeToString(sum[:8]))
	}
	bin := filepath.Join(dir, "evaluate_object_3d_offline")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/include/boost/geometry.hpp"); err != nil {
		testenv.SkipOrFail(tb, "boost headers not found (apt-get install libboost-dev)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	tmp := filepath.Join(tb.TempDir(), "evaluate_object_3d_offline")
	if out, err := exec.Command(gxx, "-O2", "-w", "-o", tmp, src).CombinedOutput(); err != nil {
		tb.Fatalf("building the KITTI devkit: %v\n%s", err, out)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		tb.Fatal(err)
	}
	// Write under a private name, then rename: parallel test binaries may
	// build at once, and a reader must never see half a file.
	part := fmt.Sprintf("%s.%d", bin, os.Getpid())
	if err := os.WriteFile(part, b, 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(part, bin); err != nil {
		tb.Fatal(err)
	}
	return bin
}

// Result is what the evaluator printed for one run, keyed by its names
// ("car_detection", "car_orientation", "car_detection_ground",
// "car_detection_3d", …): R11 per difficulty (easy, moderate, hard) as
// fractions, and the 41 precision values per difficulty of its plot file.
type Result struct {
	R11  map[string][3]float64
	Plot map[string][41][3]float64
	Out  string // the evaluator's standard output
}

// R40 is the devkit's 40-recall-position AP of one printed name: the mean
// of plot rows 2–41 (KITTI's metric since 2019).
func (r Result) R40(name string, difficulty int) float64 {
	p := r.Plot[name]
	s := 0.0
	for i := 1; i < 41; i++ {
		s += p[i][difficulty]
	}
	return s / 40
}

var apLine = regexp.MustCompile(`^(\w+) AP: (\S+) (\S+) (\S+)$`)

func parseNum(s string) (float64, error) {
	if strings.EqualFold(strings.TrimLeft(s, "+-"), "nan") {
		return math.NaN(), nil
	}
	return strconv.ParseFloat(s, 64)
}

// Run writes the result files (name → KITTI rows with a score column) into
// RESULT_DIR/data, runs the evaluator against gtDir and parses its output.
// The evaluator failing, reading another number of files than given, or
// printing no AP fails the test.
func Run(tb testing.TB, bin, gtDir string, results map[string][]byte) Result {
	tb.Helper()
	res := tb.TempDir()
	if err := os.Mkdir(filepath.Join(res, "data"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for name, b := range results {
		if err := os.WriteFile(filepath.Join(res, "data", name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	cmd := exec.Command(bin, gtDir, res)
	cmd.Dir = res
	out := string(testenv.Output(tb, cmd))
	if strings.Contains(out, "ERROR") || strings.Contains(out, "error occured") {
		tb.Fatalf("KITTI devkit failed:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("number of files for evaluation: %d", len(results))) {
		tb.Fatalf("KITTI devkit did not read %d files:\n%s", len(results), out)
	}
	r := Result{R11: map[string][3]float64{}, Plot: map[string][41][3]float64{}, Out: out}
	for _, line := range strings.Split(out, "\n") {
		m := apLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		var v [3]float64
		for k := range v {
			x, err := parseNum(m[k+2])
			if err != nil {
				tb.Fatalf("KITTI devkit line %q: %v", line, err)
			}
			v[k] = x / 100
		}
		r.R11[m[1]] = v
		r.Plot[m[1]] = readPlot(tb, filepath.Join(res, "plot", m[1]+".txt"))
	}
	if len(r.R11) == 0 {
		tb.Fatalf("KITTI devkit printed no AP:\n%s", out)
	}
	return r
}

// ReadDir returns a folder's files as Run takes them.
func ReadDir(tb testing.TB, dir string) map[string][]byte {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	m := make(map[string][]byte, len(ents))
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func readPlot(tb testing.TB, path string) [41][3]float64 {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("KITTI devkit plot file: %v", err)
	}
	defer f.Close()
	var p [41][3]float64
	sc := bufio.NewScanner(f)
	row := 0
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 || row >= 41 {
			tb.Fatalf("%s: line %d: %q, want 4 numbers on each of 41 lines", path, row+1, sc.Text())
		}
		for k := 0; k < 3; k++ {
			if p[row][k], err = parseNum(fs[k+1]); err != nil {
				tb.Fatalf("%s: line %d: %v", path, row+1, err)
			}
		}
		row++
	}
	if row != 41 {
		tb.Fatalf("%s: %d rows, want 41", path, row)
	}
	return p
}
