package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// Report is docs/perf.json: one run of every comparison.
type Report struct {
	GeneratedBy string            `json:"generated_by"`
	Date        string            `json:"date"` // UTC, RFC 3339
	Machine     Machine           `json:"machine"`
	Versions    map[string]string `json:"versions"` // peer library → version, as found on the machine
	DurationS   float64           `json:"duration_s"`
	Rows        []Result          `json:"rows"`
}

// Machine describes where the run happened.
type Machine struct {
	CPU          string  `json:"cpu"` // /proc/cpuinfo "model name"
	Cores        int     `json:"cores"`
	Go           string  `json:"go"`
	GOEXPERIMENT string  `json:"goexperiment"`
	Tags         string  `json:"tags"`
	LoadStart    float64 `json:"loadavg_1m_start"`
	LoadEnd      float64 `json:"loadavg_1m_end"`
}

// Result is one row of the table: one op, one thread count, ours against one peer.
type Result struct {
	ID      string  `json:"id"`
	Op      string  `json:"op"`
	Input   string  `json:"input"`
	Threads int     `json:"threads"`
	Unit    string  `json:"unit"`    // what one time measures: "frame", "cloud", "hop", …
	Go      Side    `json:"go"`      // ds3d-go
	Peer    Side    `json:"peer"`    // the peer library
	Ratio   float64 `json:"ratio"`   // peer time ÷ ds3d-go time: > 1 means ds3d-go is faster; 0 when a side is missing
	Note    string  `json:"note"`    // where the two sides do different work
	Status  string  `json:"status"`  // ok | missing (peer or data not installed) | failed
	Reason  string  `json:"reason"`  // why missing or failed
	Command string  `json:"command"` // how to rerun the peer by hand (paths relative to the repository)
}

// Side is one side's measurement: the median of Runs, in nanoseconds per unit.
type Side struct {
	Name    string    `json:"name"`              // benchmark name or peer name
	Version string    `json:"version,omitempty"` // peer version
	Threads int       `json:"threads,omitempty"` // threads the side really used
	NS      float64   `json:"ns"`                // median ns per unit
	Runs    []float64 `json:"runs,omitempty"`    // ns per unit of each run (Go: each -count; peers: each round)
}

// fmtDur prints a duration given in ns with three significant digits.
func fmtDur(ns float64) string {
	if ns <= 0 || math.IsNaN(ns) {
		return "—"
	}
	units := []struct {
		div  float64
		name string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	for _, u := range units {
		if ns >= u.div || u.name == "ns" {
			v := ns / u.div
			switch {
			case v >= 100:
				return fmt.Sprintf("%.0f %s", v, u.name)
			case v >= 10:
				return fmt.Sprintf("%.1f %s", v, u.name)
			default:
				return fmt.Sprintf("%.2f %s", v, u.name)
			}
		}
	}
	return ""
}

func fmtRatio(r float64) string {
	switch {
	case r <= 0:
		return "—"
	case r >= 10:
		return fmt.Sprintf("**%.0f×**", r)
	default:
		return fmt.Sprintf("**%.2f×**", r)
	}
}

// cell escapes a table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Markdown renders the headline table of docs/PERF.md.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Written by `make perf` (`go run ./internal/perfrun`; every figure also in docs/perf.json) on %s, "+
		"%s, %d cores, %s, GOEXPERIMENT=%s, -tags %s; 1-minute load average %.2f at the start, %.2f at the end; "+
		"the run took %.0f s. Each time is the median of the runs in docs/perf.json; ds3d-go and the peer ran back "+
		"to back on the same input. **Speed-up = peer time ÷ ds3d-go time** (above 1: ds3d-go is faster). "+
		"Threads: GOMAXPROCS (-cpu) for ds3d-go (the engine's own thread count for the models); OMP_NUM_THREADS, "+
		"cv2.setNumThreads or intraOpNumThreads for the peer. Times are per the unit after the slash.\n\n",
		r.Date[:10], r.Machine.CPU, r.Machine.Cores, r.Machine.Go, r.Machine.GOEXPERIMENT, r.Machine.Tags,
		r.Machine.LoadStart, r.Machine.LoadEnd, r.DurationS)
	b.WriteString("| op | input | peer | ds3d-go, 1 thread | peer | speed-up | ds3d-go, 2 threads | peer | speed-up | note |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range groupRows(r.Rows) {
		x := g[0]
		peer := x.Peer.Name
		if v := shortVersion(x.Peer.Version); strings.Contains(v, " ") {
			peer += " (" + v + ")"
		} else if v != "" && !strings.Contains(peer, v) {
			peer += " " + v
		}
		fmt.Fprintf(&b, "| %s | %s | %s |", cell(x.Op), cell(x.Input), cell(peer))
		var notes []string
		for _, th := range []int{1, 2} {
			var y *Result
			for i := range g {
				if g[i].Threads == th {
					y = &g[i]
				}
			}
			if y == nil {
				b.WriteString(" — | — | — |")
				continue
			}
			goT := fmtDur(y.Go.NS)
			if y.Go.NS > 0 && y.Unit != "" {
				goT += " /" + y.Unit
			}
			fmt.Fprintf(&b, " %s | %s | %s |", cell(goT), cell(fmtDur(y.Peer.NS)), fmtRatio(y.Ratio))
			if y.Status != "ok" {
				notes = append(notes, fmt.Sprintf("%d thread(s) %s: %s", th, y.Status, firstLine(y.Reason)))
			}
			if th > 1 && y.Peer.Threads > 0 && y.Peer.Threads < th && y.Peer.NS > 0 {
				notes = append(notes, "peer single-threaded: same time in both columns")
			}
		}
		if x.Note != "" {
			notes = append(notes, x.Note)
		}
		fmt.Fprintf(&b, " %s |\n", cell(dedup(notes)))
	}
	return b.String()
}

const (
	beginMark = "<!-- perf:begin -->"
	endMark   = "<!-- perf:end -->"
)

// ReplaceBlock puts table between the perf markers of doc; without markers
// the block goes after the first paragraph of the title (the "# Performance" line).
func ReplaceBlock(doc []byte, table string) ([]byte, error) {
	block := beginMark + "\n" + table + endMark
	s := string(doc)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	switch {
	case i >= 0 && j > i:
		return []byte(s[:i] + block + s[j+len(endMark):]), nil
	case i >= 0 || j >= 0:
		return nil, fmt.Errorf("only one of %s and %s found", beginMark, endMark)
	}
	nl := strings.Index(s, "\n")
	if nl < 0 || !strings.HasPrefix(s, "# ") {
		return nil, fmt.Errorf("no %s markers and no title line to put the table under", beginMark)
	}
	head := "\n## Headline: ds3d-go against its peers (`make perf`)\n\n" + block + "\n"
	return []byte(s[:nl+1] + head + s[nl+1:]), nil
}

// WriteJSON writes the report, indented, with a final newline.
func (r *Report) WriteJSON(path string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// groupRows gathers the results of one row id (its thread counts), in order.
func groupRows(rs []Result) [][]Result {
	var out [][]Result
	at := map[string]int{}
	for _, x := range rs {
		if i, ok := at[x.ID]; ok {
			out[i] = append(out[i], x)
			continue
		}
		at[x.ID] = len(out)
		out = append(out, []Result{x})
	}
	return out
}

func dedup(notes []string) string {
	var keep []string
	for _, n := range notes {
		if !slices.Contains(keep, n) {
			keep = append(keep, n)
		}
	}
	return strings.Join(keep, "; ")
}

// shortVersion drops a Debian epoch and revision: "7:5.1.9-0+deb12u1" → "5.1.9".
// Versions joined by ", " ("opencv 4.6.0, scipy 1.10.1") are kept whole.
func shortVersion(v string) string {
	if strings.Contains(v, " ") {
		return v
	}
	if _, after, ok := strings.Cut(v, ":"); ok {
		v = after
	}
	if i := strings.IndexAny(v, "+-~"); i > 0 {
		v = v[:i]
	}
	return v
}
