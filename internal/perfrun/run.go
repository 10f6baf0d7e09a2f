package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Row is one comparison of docs/PERF.md: one ds3d-go benchmark against one peer.
type Row struct {
	ID, Op, Input string
	Unit          string // what one time is for ("cloud", "frame", "hop", …)
	Note          string // where the two sides do different work
	Threads       []int  // thread counts to run; nil: 1 and 2
	Go            GoSide
	Peer          PeerSide
}

// GoSide is a benchmark of the repository (or, with Test set, a timing a test prints).
type GoSide struct {
	Pkg       string // ./filters/pointcloud
	Bench     string // -test.bench pattern
	Name      string // the benchmark's name as printed, without the -GOMAXPROCS suffix
	Benchtime string // -test.benchtime (a fixed count "Nx" keeps the run bounded)
	Count     int    // -test.count; 0: the runner's -count
	Env       []string
	Scale     float64 // ns/op × Scale = ns per Unit; 0 means 1
	// Per thread count: the name and GOMAXPROCS to use (benchmarks whose
	// sub-benchmarks set their own threads, e.g. YOLOXNano/1thread).
	NameFor func(threads int) (name string, procs int)
	// Test, with Parse: the time is printed by a test (-test.run Test -test.v), in ms.
	Test  string
	Parse Parser
}

// PeerSide is the peer: a command whose output Parse turns into ms per Unit.
type PeerSide struct {
	Name     string
	Version  string                                 // key of Report.Versions
	Needs    func(e *Env) string                    // "" when the peer can run, else why not (row: missing)
	Cmd      func(e *Env, threads int) (Cmd, error) // the command for a thread count
	Parse    Parser                                 // ms per Unit, one value per run or round
	ParseFor func(threads int) Parser               // instead of Parse, when one output holds every thread count
	Wall     float64                                // > 0: the command's wall time ÷ Wall is the time per Unit (Parse unused)
	Single   bool                                   // single-threaded peer: run once, reported at 1 thread for every row
}

// Cmd is a command to run: Dir relative to the repository root ("" = root).
type Cmd struct {
	Dir  string
	Args []string
	Env  []string
}

// Env is the state of one run: paths, built binaries, memoised outputs.
type Env struct {
	Root, Shared, Work string // absolute: repository, ../shared, scratch folder
	Count              int
	ORTDir             string
	Verbose            bool

	bins    map[string]string // package → test binary
	outs    map[string]cmdOut
	preps   map[string]error
	Reports map[string]string // versions
}

type cmdOut struct {
	out  []byte
	wall time.Duration
	err  error
}

func (e *Env) goEnv() []string {
	return append(os.Environ(), "GOEXPERIMENT=simd")
}

// run runs c once per distinct (dir, env, args): rows that read the same
// peer output (PCL's bench prints every op) share one run.
func (e *Env) run(c Cmd) ([]byte, time.Duration, error) {
	key := c.Dir + "\x00" + strings.Join(c.Env, "\x00") + "\x00" + strings.Join(c.Args, "\x00")
	if o, ok := e.outs[key]; ok {
		return o.out, o.wall, o.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Args[0], c.Args[1:]...)
	cmd.Dir = filepath.Join(e.Root, c.Dir)
	cmd.Env = append(e.goEnv(), c.Env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	t0 := time.Now()
	err := cmd.Run()
	wall := time.Since(t0)
	if err != nil {
		tail := buf.String()
		if len(tail) > 1500 {
			tail = "…" + tail[len(tail)-1500:]
		}
		err = fmt.Errorf("%s: %v\n%s", e.rel(strings.Join(c.Args, " ")), err, tail)
	}
	if e.Verbose {
		fmt.Fprintf(os.Stderr, "  $ %s (%.1f s)\n", e.rel(strings.Join(c.Args, " ")), wall.Seconds())
	}
	e.outs[key] = cmdOut{buf.Bytes(), wall, err}
	return buf.Bytes(), wall, err
}

// rel writes s with this machine's paths replaced by repository-relative ones.
func (e *Env) rel(s string) string {
	if e.ORTDir != "" {
		s = strings.ReplaceAll(s, e.ORTDir, "$ORT_DIR")
	}
	s = strings.ReplaceAll(s, e.Work, "$WORK")
	s = strings.ReplaceAll(s, e.Shared, "../shared")
	s = strings.ReplaceAll(s, e.Root+"/", "")
	return s
}

// testBin builds (once) the test binary of pkg.
func (e *Env) testBin(pkg string) (string, error) {
	if b, ok := e.bins[pkg]; ok {
		return b, nil
	}
	name := strings.NewReplacer("./", "", "/", "_").Replace(pkg) + ".test"
	bin := filepath.Join(e.Work, "bin", name)
	_, _, err := e.run(Cmd{Args: []string{"go", "test", "-c", "-tags", "turbojpeg", "-o", bin, pkg}})
	if err != nil {
		return "", err
	}
	e.bins[pkg] = bin
	return bin, nil
}

// prep runs a preparation step once; later calls return its first error.
func (e *Env) prep(name string, f func() error) error {
	if err, ok := e.preps[name]; ok {
		return err
	}
	err := f()
	e.preps[name] = err
	return err
}

func (e *Env) shared(rel string) string { return filepath.Join(e.Shared, rel) }
func (e *Env) work(rel string) string   { return filepath.Join(e.Work, rel) }

var skipRx = regexp.MustCompile(`--- SKIP: \S+\n\s+\S+\.go:\d+: (.*)`)

// runGo measures the Go side at threads; it returns ns per unit of each run,
// the name, and whether the benchmark skipped itself (missing data), with the reason.
func (e *Env) runGo(r *Row, threads int) (runs []float64, name string, skip string, err error) {
	g := &r.Go
	bin, err := e.testBin(g.Pkg)
	if err != nil {
		return nil, "", "", err
	}
	name, procs := g.Name, threads
	if g.NameFor != nil {
		name, procs = g.NameFor(threads)
	}
	count := g.Count
	if count == 0 {
		count = e.Count
	}
	c := Cmd{Dir: g.Pkg, Env: g.Env, Args: []string{bin, "-test.cpu", strconv.Itoa(procs)}}
	if g.Test != "" {
		c.Args = append(c.Args, "-test.run", g.Test, "-test.v", "-test.count", "1")
	} else {
		c.Args = append(c.Args, "-test.run", "^$", "-test.bench", g.Bench, "-test.benchtime", g.Benchtime,
			"-test.count", strconv.Itoa(count))
	}
	out, _, err := e.run(c)
	if m := skipRx.FindSubmatch(out); m != nil {
		return nil, name, string(m[1]), nil
	}
	if err != nil {
		return nil, name, "", err
	}
	if g.Test != "" {
		ms, perr := g.Parse(out)
		if perr != nil {
			return nil, name, "", fmt.Errorf("%s: %v", g.Test, perr)
		}
		for _, v := range ms {
			runs = append(runs, v*1e6)
		}
		return runs, g.Test, "", nil
	}
	full := benchName(name, procs)
	ns := ParseBench(out)[full]
	if len(ns) == 0 {
		return nil, full, "", fmt.Errorf("no result for %s in:\n%s", full, tail(out))
	}
	scale := g.Scale
	if scale == 0 {
		scale = 1
	}
	for _, v := range ns {
		runs = append(runs, v*scale)
	}
	return runs, full, "", nil
}

// runPeer measures the peer at threads: ns per unit of each run or round.
func (e *Env) runPeer(r *Row, threads int) ([]float64, Cmd, error) {
	p := &r.Peer
	c, err := p.Cmd(e, threads)
	if err != nil {
		return nil, c, err
	}
	out, wall, err := e.run(c)
	if err != nil {
		return nil, c, err
	}
	if p.Wall > 0 {
		return []float64{float64(wall.Nanoseconds()) / p.Wall}, c, nil
	}
	parse := p.Parse
	if p.ParseFor != nil {
		parse = p.ParseFor(threads)
	}
	ms, err := parse(out)
	if err != nil {
		return nil, c, fmt.Errorf("%s: %v\n%s", e.rel(strings.Join(c.Args, " ")), err, tail(out))
	}
	ns := make([]float64, len(ms))
	for i, v := range ms {
		ns[i] = v * 1e6
	}
	return ns, c, nil
}

func tail(b []byte) string {
	if len(b) > 1200 {
		return "…" + string(b[len(b)-1200:])
	}
	return string(b)
}

// Measure runs row r at threads and returns its result.
func (e *Env) Measure(r *Row, threads int) Result {
	res := Result{ID: r.ID, Op: r.Op, Input: r.Input, Threads: threads, Unit: r.Unit, Note: r.Note, Status: "ok"}
	res.Peer.Name = r.Peer.Name
	res.Peer.Version = resolveVersion(e.Reports, r.Peer.Version)
	res.Peer.Threads = threads
	if r.Peer.Single {
		res.Peer.Threads = 1
	}
	runs, name, skip, err := e.runGo(r, threads)
	res.Go.Name = name
	res.Go.Threads = threads
	switch {
	case err != nil:
		res.Status, res.Reason = "failed", "ds3d-go: "+e.rel(err.Error())
		return res
	case skip != "":
		res.Status, res.Reason = "missing", "ds3d-go benchmark skipped: "+e.rel(skip)
		return res
	}
	res.Go.Runs, res.Go.NS = runs, median(runs)
	if r.Peer.Needs != nil {
		if why := r.Peer.Needs(e); why != "" {
			res.Status, res.Reason = "missing", why
			return res
		}
	}
	pt := threads
	if r.Peer.Single {
		pt = 1
	}
	pruns, c, err := e.runPeer(r, pt)
	res.Command = e.rel(cmdLine(c))
	if err != nil {
		res.Status, res.Reason = "failed", "peer: "+e.rel(err.Error())
		return res
	}
	res.Peer.Runs, res.Peer.NS = pruns, median(pruns)
	if res.Go.NS > 0 {
		res.Ratio = res.Peer.NS / res.Go.NS
	}
	return res
}

func cmdLine(c Cmd) string {
	var b strings.Builder
	if c.Dir != "" {
		fmt.Fprintf(&b, "(cd %s && ", c.Dir)
	}
	for _, v := range c.Env {
		b.WriteString(v + " ")
	}
	b.WriteString(strings.Join(c.Args, " "))
	if c.Dir != "" {
		b.WriteString(")")
	}
	return b.String()
}

// pythonVersions asks Debian's python3 for the versions of its peer modules.
func (e *Env) versions() map[string]string {
	v := map[string]string{}
	out, err := exec.Command("/usr/bin/python3", "-c", `import json, importlib
r = {}
for m, k in (("numpy", "numpy"), ("cv2", "opencv"), ("open3d", "open3d"), ("scipy", "scipy")):
    try:
        r[k] = importlib.import_module(m).__version__
    except Exception:
        pass
print(json.dumps(r))`).Output()
	if err == nil {
		_ = json.Unmarshal(out, &v)
	}
	deb := func(pkg string) string {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", pkg).Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	if s := deb("libpcl-dev"); s != "" {
		v["pcl"] = s
	} else if s := deb("pcl-tools"); s != "" {
		v["pcl"] = s
	}
	if s := deb("gstreamer1.0-tools"); s != "" {
		v["gstreamer"] = s
	}
	if out, err := exec.Command("ffmpeg", "-version").Output(); err == nil {
		if f := strings.Fields(string(out)); len(f) > 2 {
			v["ffmpeg"] = f[2]
		}
	}
	if b, err := os.ReadFile(filepath.Join(e.ORTDir, "node_modules/onnxruntime-node/package.json")); err == nil {
		var p struct{ Version string }
		if json.Unmarshal(b, &p) == nil {
			v["onnxruntime-node"] = p.Version
		}
	}
	if s := deb("lz4"); s != "" {
		v["lz4"] = s
	}
	if b, err := os.ReadFile(filepath.Join(e.Root, bagNPM, "node_modules/@mcap/core/package.json")); err == nil {
		var p struct{ Version string }
		if json.Unmarshal(b, &p) == nil {
			v["@mcap/core"] = p.Version
		}
	}
	v["go"], _, _ = strings.Cut(runtime.Version(), "-") // go1.26.8, without -X:simd
	if out, err := exec.Command("node", "--version").Output(); err == nil {
		v["node"] = strings.TrimSpace(string(out))
	}
	return v
}

// cpuModel reads /proc/cpuinfo's first "model name".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadavg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// resolveVersion looks key up in vs; "a+b" gives "a 1.0, b 2.0".
func resolveVersion(vs map[string]string, key string) string {
	if !strings.Contains(key, "+") {
		return vs[key]
	}
	var parts []string
	for k := range strings.SplitSeq(key, "+") {
		if v := vs[k]; v != "" {
			parts = append(parts, k+" "+shortVersion(v))
		}
	}
	return strings.Join(parts, ", ")
}
