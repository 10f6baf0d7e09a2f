// Command perfrun runs every peer comparison that docs/PERF.md quotes, in
// one run, at 1 and 2 threads: each row's ds3d-go benchmark (`go test
// -bench`, GOMAXPROCS set by -test.cpu, GOEXPERIMENT=simd, -tags turbojpeg)
// and then its peer (PCL, Open3D, numpy, OpenCV, GStreamer, ffmpeg,
// onnxruntime-node from ../shared/peers or the packages' testdata) on the
// same input. It writes docs/perf.json and the headline table of
// docs/PERF.md (between <!-- perf:begin --> and <!-- perf:end -->).
//
//	make perf                                 # = go run ./internal/perfrun
//	go run ./internal/perfrun -rows 'crop|voxel' -json /tmp/p.json -md ''
//
// A peer that is not installed makes its row "missing" (with the reason);
// a benchmark or peer that fails makes it "failed" and the exit status 1,
// after everything that ran has been written. Not part of `make test`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"
)

func main() {
	var (
		rowsRx  = flag.String("rows", "", "run only the rows whose id matches this regexp")
		threads = flag.String("threads", "1,2", "thread counts")
		count   = flag.Int("count", 3, "runs of each Go benchmark (-test.count); the median is reported")
		shared  = flag.String("shared", "../shared", "shared folder (peers/ and data/)")
		work    = flag.String("work", filepath.Join(os.TempDir(), "ds3d-perf"), "scratch folder (test binaries, generated inputs)")
		jsonOut = flag.String("json", "docs/perf.json", "JSON output ('' for none)")
		mdOut   = flag.String("md", "docs/PERF.md", "markdown file whose perf block is rewritten ('' for none)")
		verbose = flag.Bool("v", false, "print every command")
		from    = flag.String("from", "", "measure nothing: rewrite the table (and -json) from this perf.json, with the rows' descriptions as the code has them now")
	)
	flag.Parse()
	if *from != "" {
		if err := rewrite(*from, *jsonOut, *mdOut); err != nil {
			fmt.Fprintln(os.Stderr, "perfrun:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*rowsRx, *threads, *count, *shared, *work, *jsonOut, *mdOut, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "perfrun:", err)
		os.Exit(1)
	}
}

func run(rowsRx, threadList string, count int, shared, work, jsonOut, mdOut string, verbose bool) error {
	t0 := time.Now()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return fmt.Errorf("run from the repository root (no go.mod in %s)", root)
	}
	if !filepath.IsAbs(shared) {
		shared = filepath.Join(root, shared)
	}
	shared = filepath.Clean(shared)
	if _, err := os.Stat(filepath.Join(shared, "peers")); err != nil {
		return fmt.Errorf("no peers folder in %s (-shared)", shared)
	}
	for _, d := range []string{"bin", "nms-out", "ppdump"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return err
		}
	}
	var ths []int
	for s := range strings.SplitSeq(threadList, ",") {
		var t int
		if _, err := fmt.Sscan(s, &t); err != nil || t < 1 {
			return fmt.Errorf("-threads %q", threadList)
		}
		ths = append(ths, t)
	}
	ortDir := os.Getenv("ORT_DIR")
	if ortDir == "" {
		ortDir = defaultORTDir
	}
	e := &Env{Root: root, Shared: shared, Work: work, Count: count, ORTDir: ortDir, Verbose: verbose,
		bins: map[string]string{}, outs: map[string]cmdOut{}, preps: map[string]error{}}
	e.Reports = e.versions()
	goVer := strings.TrimSpace(runtime.Version())
	if out, _, err := e.run(Cmd{Args: []string{"go", "env", "GOVERSION"}}); err == nil {
		goVer = strings.TrimSpace(string(out))
	}
	rep := &Report{
		GeneratedBy: "make perf (go run ./internal/perfrun)",
		Date:        t0.UTC().Format(time.RFC3339),
		Machine: Machine{CPU: cpuModel(), Cores: runtime.NumCPU(), Go: goVer, GOEXPERIMENT: "simd", Tags: "turbojpeg",
			LoadStart: loadavg()},
		Versions: e.Reports,
	}
	var rx *regexp.Regexp
	if rowsRx != "" {
		if rx, err = regexp.Compile(rowsRx); err != nil {
			return err
		}
	}
	var rows []Row
	for _, r := range Rows() {
		if rx == nil || rx.MatchString(r.ID) {
			rows = append(rows, r)
		}
	}
	n := 0
	for _, r := range rows {
		n += len(rowThreads(r, ths))
	}
	fmt.Printf("perf: %d rows on %s (%d cores, load %.2f), scratch %s\n", n, rep.Machine.CPU, rep.Machine.Cores, rep.Machine.LoadStart, work)
	i, failed := 0, 0
	for _, r := range rows {
		for _, t := range rowThreads(r, ths) {
			i++
			ts := time.Now()
			res := e.Measure(&r, t)
			rep.Rows = append(rep.Rows, res)
			line := fmt.Sprintf("[%d/%d] %-17s %d thr  ds3d-go %-9s  %-28s %-9s", i, n, r.ID, t, fmtDur(res.Go.NS),
				trunc(res.Peer.Name, 28), fmtDur(res.Peer.NS))
			switch res.Status {
			case "ok":
				line += fmt.Sprintf("  %5.2f×", res.Ratio)
			default:
				line += "  " + strings.ToUpper(res.Status) + ": " + firstLine(res.Reason)
			}
			if res.Status == "failed" {
				failed++
			}
			fmt.Printf("%s  (%.1f s)\n", line, time.Since(ts).Seconds())
		}
	}
	rep.Machine.LoadEnd = loadavg()
	rep.DurationS = float64(time.Since(t0).Round(time.Second)) / 1e9
	if err := writeOutputs(rep, jsonOut, mdOut); err != nil {
		return err
	}
	fmt.Printf("perf: %d rows in %.0f s; %d failed\n", len(rep.Rows), rep.DurationS, failed)
	if failed > 0 {
		for _, r := range rep.Rows {
			if r.Status == "failed" {
				fmt.Fprintf(os.Stderr, "FAILED %s (%d threads): %s\n", r.ID, r.Threads, r.Reason)
			}
		}
		return fmt.Errorf("%d rows failed", failed)
	}
	return nil
}

// rowThreads is the thread counts a row runs at: its own list, or ths.
func rowThreads(r Row, ths []int) []int {
	if r.Threads != nil {
		return r.Threads
	}
	return ths
}

func trunc(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// rewrite regenerates the outputs from a perf.json without measuring.
func rewrite(from, jsonOut, mdOut string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return fmt.Errorf("%s: %v", from, err)
	}
	byID := map[string]Row{}
	for _, r := range Rows() {
		byID[r.ID] = r
	}
	for i := range rep.Rows {
		x := &rep.Rows[i]
		if r, ok := byID[x.ID]; ok {
			x.Op, x.Input, x.Unit, x.Note, x.Peer.Name = r.Op, r.Input, r.Unit, r.Note, r.Peer.Name
			x.Command = strings.ReplaceAll(x.Command, defaultORTDir, "$ORT_DIR")
			if v := resolveVersion(rep.Versions, r.Peer.Version); v != "" {
				x.Peer.Version = v
			}
		}
	}
	return writeOutputs(&rep, jsonOut, mdOut)
}

func writeOutputs(rep *Report, jsonOut, mdOut string) error {
	if jsonOut != "" {
		if err := rep.WriteJSON(jsonOut); err != nil {
			return err
		}
		fmt.Println("perf: wrote", jsonOut)
	}
	if mdOut != "" {
		doc, err := os.ReadFile(mdOut)
		if err != nil {
			return err
		}
		doc, err = ReplaceBlock(doc, rep.Markdown())
		if err != nil {
			return fmt.Errorf("%s: %v", mdOut, err)
		}
		if err := os.WriteFile(mdOut, doc, 0o644); err != nil {
			return err
		}
		fmt.Println("perf: wrote the table of", mdOut)
	}
	return nil
}

// defaultORTDir is where ../shared/peers/install_peers.sh puts onnxruntime-node.
const defaultORTDir = "/tmp/peerbench/ortnode"
