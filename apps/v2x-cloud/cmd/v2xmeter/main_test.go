package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The report's figures on hand-made files: three frames sent (one of them
// seen twice: a republish), two received (one twice), one never; latencies
// 40 ms and 100 ms, worked out by hand.
func TestReportJoinsSentAndReceived(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent.tsv")
	mqtt := filepath.Join(dir, "mqtt.log")
	// t0 = 1796695917.000000000 s
	const t0 = int64(1796695917) * 1e9
	write(t, sent, strings.Join([]string{
		"0\t0\t" + itoa(t0),
		"0\t1\t" + itoa(t0+10e6),
		"0\t1\t" + itoa(t0+20e6), // republished: the first sighting counts
		"1\t0\t" + itoa(t0+30e6),
	}, "\n")+"\n")
	write(t, mqtt, strings.Join([]string{
		`1796695917.040000000 {"version":"1.0","source_id":0,"frame_number":0,"objects":[]}`,
		`1796695917.110000000 {"version":"1.0","source_id":0,"frame_number":1,"objects":[]}`,
		`1796695917.150000000 {"version":"1.0","source_id":0,"frame_number":1,"objects":[]}`,
	}, "\n")+"\n")
	var out strings.Builder
	ok, err := report([]string{"-sent", sent, "-mqtt", mqtt, "-expect", "4"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Errorf("report passed a run with a lost frame:\n%s", out.String())
	}
	for _, want := range []string{
		"frames sent        3 (expected 4)",
		"payloads received  3 (2 frames, 1 duplicates, 0 of frames not seen sent)",
		"loss               2", // source 1 frame 0 never arrived, one expected frame never sent
		"p50 40.0 ms, p99 100.0 ms, max 100.0 ms",
		// 2 frames from the first publish (t0) to the last frame's first
		// receipt (t0+110 ms; the duplicate at 150 ms delivers nothing new)
		"18.2 datamaps/s end to end (2 frames in 0.11 s",
		"RESULT             FAIL",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestReportPassesACompleteRun(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent.tsv")
	mqtt := filepath.Join(dir, "mqtt.log")
	write(t, sent, "3\t7\t1000000000\n")
	write(t, mqtt, `1.5 {"source_id":3,"frame_number":7}`+"\n")
	var out strings.Builder
	ok, err := report([]string{"-sent", sent, "-mqtt", mqtt, "-expect", "1"}, &out)
	if err != nil || !ok {
		t.Fatalf("ok %v, err %v:\n%s", ok, err, out.String())
	}
	if !strings.Contains(out.String(), "p50 500.0 ms") {
		t.Errorf("latency of 1.0 s → 1.5 s not 500 ms:\n%s", out.String())
	}
}

func TestReportRejectsBadLines(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent.tsv")
	mqtt := filepath.Join(dir, "mqtt.log")
	write(t, sent, "0\t0\t5\n")
	for _, c := range []struct{ line, want string }{
		{"nopayload", "mqtt.log:1: want a receipt time"},
		{`x.1 {"source_id":0,"frame_number":0}`, `receipt time "x.1"`},
		{`1.0 {"source_id":0}`, "without source_id or frame_number"},
		{`1.0 {"source_id":`, "mqtt.log:1: payload"},
	} {
		write(t, mqtt, c.line+"\n")
		_, err := report([]string{"-sent", sent, "-mqtt", mqtt}, &strings.Builder{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.line, err, c.want)
		}
	}
}

func TestParseUnix(t *testing.T) {
	for s, want := range map[string]int64{
		"1796695917.429269693": 1796695917429269693,
		"12.5":                 12_500_000_000,
		"7":                    7_000_000_000,
		"1.1234567891":         1_123_456_789, // beyond nanoseconds: cut
	} {
		got, err := parseUnix(s)
		if err != nil || got != want {
			t.Errorf("parseUnix(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
}

func TestQuantileNearestRank(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	// Nearest rank: p50 of 1..100 is the 50th value, p99 the 99th.
	if q := quantile(s, 0.5); q != 50 {
		t.Errorf("p50 %d, want 50", q)
	}
	if q := quantile(s, 0.99); q != 99 {
		t.Errorf("p99 %d, want 99", q)
	}
	if q := quantile(s[:1], 0.99); q != 1 {
		t.Errorf("p99 of one value %d, want 1", q)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
