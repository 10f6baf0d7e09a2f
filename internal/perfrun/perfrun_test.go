package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseBench reads a captured `go test -bench` output (BenchmarkCrop and
// BenchmarkLoadBin, -test.cpu 1 and 2, -test.count 2).
func TestParseBench(t *testing.T) {
	got := ParseBench(readTestdata(t, "gobench.txt"))
	for _, c := range []struct {
		name  string
		procs int
		runs  int
	}{
		{"BenchmarkCrop/kitti-000000", 1, 2},
		{"BenchmarkCrop/kitti-000000", 2, 2},
		{"BenchmarkLoadBin/kitti-000000-file", 1, 2},
	} {
		full := benchName(c.name, c.procs)
		if len(got[full]) != c.runs {
			t.Errorf("%s: %d runs %v, want %d", full, len(got[full]), got[full], c.runs)
		}
		for _, v := range got[full] {
			if v <= 1e3 || v > 1e7 {
				t.Errorf("%s: %v ns/op out of range", full, v)
			}
		}
	}
	// The -cpu 1 name has no suffix, so "…/kitti-000000" must not swallow the -2 lines.
	if a, b := got["BenchmarkCrop/kitti-000000"], got["BenchmarkCrop/kitti-000000-2"]; len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		t.Errorf("1- and 2-thread runs mixed up: %v %v", a, b)
	}
}

// TestParsePeers reads captured peer outputs: pcl_bench's JSON lines and the
// line TestDepthSpeedVsNumpy logs.
func TestParsePeers(t *testing.T) {
	pcl := readTestdata(t, "pcl_bench.jsonl")
	for _, op := range []string{"load_pcd", "crop_roi", "voxel_0.2", "sor_k16"} {
		ms, err := JSONField(map[string]string{"op": op}, "ms_median", 1)(pcl)
		if err != nil || len(ms) != 1 || ms[0] <= 0 {
			t.Errorf("pcl_bench %s: %v %v", op, ms, err)
		}
	}
	if _, err := JSONField(map[string]string{"op": "nope"}, "ms_median", 1)(pcl); err == nil {
		t.Error("an absent op parsed")
	}
	if ms, err := JSONField(map[string]string{"peer": "pcl-*", "op": "crop_roi"}, "ms_median", 1)(pcl); err != nil || len(ms) != 1 {
		t.Errorf("prefix match: %v %v", ms, err)
	}
	log := readTestdata(t, "depth_test.txt")
	goMS, err1 := Regexp(`Go ([0-9.]+) ms`, 1)(log)
	npMS, err2 := Regexp(`numpy ([0-9.]+) ms`, 1)(log)
	if err1 != nil || err2 != nil || len(goMS) != 1 || len(npMS) != 1 || !(goMS[0] < npMS[0]) {
		t.Errorf("depth log: Go %v (%v), numpy %v (%v)", goMS, err1, npMS, err2)
	}
	sum, err := Sum(Regexp(`Go ([0-9.]+) ms`, 1), Regexp(`numpy ([0-9.]+) ms`, 1))(log)
	if err != nil || sum[0] != goMS[0]+npMS[0] {
		t.Errorf("Sum = %v, %v", sum, err)
	}
}

func TestShortVersion(t *testing.T) {
	for v, want := range map[string]string{"7:5.1.9-0+deb12u1": "5.1.9", "1.13.0+dfsg-3": "1.13.0", "1.24.2": "1.24.2", "": ""} {
		if got := shortVersion(v); got != want {
			t.Errorf("shortVersion(%q) = %q, want %q", v, got, want)
		}
	}
	vs := map[string]string{"opencv": "4.6.0", "scipy": "1.10.1"}
	if got := resolveVersion(vs, "opencv+scipy"); got != "opencv 4.6.0, scipy 1.10.1" {
		t.Errorf("resolveVersion = %q", got)
	}
}

func TestFmtDur(t *testing.T) {
	for ns, want := range map[float64]string{0: "—", 277: "277 ns", 49123: "49.1 µs", 1.234e6: "1.23 ms", 154.4e6: "154 ms", 2.5e9: "2.50 s"} {
		if got := fmtDur(ns); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", ns, got, want)
		}
	}
}

// TestTable writes the headline table of a small report into a document:
// first without markers (the block goes under the title), then again with
// them (only the block changes).
func TestTable(t *testing.T) {
	rep := &Report{Date: "2026-11-26T10:00:00Z", Machine: Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", GOEXPERIMENT: "simd", Tags: "turbojpeg"},
		Rows: []Result{
			{ID: "crop", Op: "ROI crop", Input: "KITTI 000000", Threads: 1, Unit: "cloud", Status: "ok", Ratio: 4.7,
				Go: Side{NS: 49e3}, Peer: Side{Name: "PCL CropBox", Version: "1.13.0", NS: 230e3}},
			{ID: "nms-numpy", Op: "rotated NMS", Input: "2000 | boxes", Threads: 2, Unit: "frame", Status: "ok", Ratio: 55,
				Note: "grid NMS vs O(n²) numpy", Go: Side{NS: 0.277e6}, Peer: Side{Name: "numpy", Version: "1.24.2", NS: 15.1e6}},
			{ID: "yolox-ort", Op: "YOLOX-Nano", Threads: 1, Status: "missing", Reason: "onnxruntime-node not found",
				Go: Side{NS: 7.7e6}, Peer: Side{Name: "onnxruntime-node"}},
		}}
	md := rep.Markdown()
	for _, want := range []string{
		"| ROI crop | KITTI 000000 | PCL CropBox 1.13.0 | 49.0 µs /cloud | 230 µs | **4.70×** | — | — | — |",
		`| rotated NMS | 2000 \| boxes | numpy 1.24.2 | — | — | — | 277 µs /frame | 15.1 ms | **55×** | grid NMS vs O(n²) numpy |`,
		"| YOLOX-Nano |  | onnxruntime-node | 7.70 ms | — | — | — | — | — | 1 thread(s) missing: onnxruntime-node not found |",
		"AMD EPYC", "2026-11-26",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "**—**") {
		t.Error("a missing ratio is printed in bold")
	}
	doc := []byte("# Performance\n\nIntro.\n\n## Detail\n\nkept\n")
	out, err := ReplaceBlock(doc, md)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if !strings.HasPrefix(s, "# Performance\n") || !strings.Contains(s, beginMark+"\n"+md+endMark) || !strings.HasSuffix(s, "## Detail\n\nkept\n") {
		t.Fatalf("first insertion:\n%s", s)
	}
	out2, err := ReplaceBlock(out, "| new |\n")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out2), "ROI crop") || !strings.Contains(string(out2), beginMark+"\n| new |\n"+endMark) ||
		strings.Count(string(out2), beginMark) != 1 || !strings.HasSuffix(string(out2), "kept\n") {
		t.Fatalf("replacement:\n%s", out2)
	}
	if _, err := ReplaceBlock([]byte("# T\n"+beginMark+"\n"), "x"); err == nil {
		t.Error("a lone begin marker was accepted")
	}
	// The JSON keeps what the table shows.
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"ratio":4.7`) {
		t.Errorf("json: %s %v", b, err)
	}
}

// TestRowsWellFormed: every row names its Go benchmark (or test) and a peer
// command, ids are unique, and the JSON carries no absolute path of the
// machine (Env.rel).
func TestRowsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rows() {
		if seen[r.ID] {
			t.Errorf("duplicate id %s", r.ID)
		}
		seen[r.ID] = true
		if r.Go.Pkg == "" || (r.Go.Test == "" && (r.Go.Bench == "" || r.Go.Benchtime == "" || (r.Go.Name == "" && r.Go.NameFor == nil))) {
			t.Errorf("%s: incomplete Go side %+v", r.ID, r.Go)
		}
		if r.Go.Test != "" && r.Go.Parse == nil {
			t.Errorf("%s: a test timing needs Parse", r.ID)
		}
		if r.Peer.Cmd == nil || (r.Peer.Parse == nil && r.Peer.ParseFor == nil && r.Peer.Wall == 0) || r.Peer.Name == "" || r.Peer.Version == "" {
			t.Errorf("%s: incomplete peer %q", r.ID, r.Peer.Name)
		}
		if r.Op == "" || r.Input == "" || r.Unit == "" {
			t.Errorf("%s: op, input and unit are needed", r.ID)
		}
	}
	e := &Env{Root: "/home/x/ds3d-go", Shared: "/home/x/shared", Work: "/tmp/ds3d-perf"}
	if got := e.rel("/home/x/shared/peers/a.py /home/x/ds3d-go/internal/p /tmp/ds3d-perf/bin/x.test"); got != "../shared/peers/a.py internal/p $WORK/bin/x.test" {
		t.Errorf("rel: %q", got)
	}
}
