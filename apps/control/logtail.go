package control

import (
	"bytes"
	"log/slog"
	"sync"
	"unicode/utf8"
)

// Bounds of the log tail: lines kept, and the bytes kept of one line.
const (
	DefaultLogLines = 500
	maxLogLine      = 2048
)

// LogTail keeps the last lines of a run's log for the dashboard: a ring of
// at most N lines in slog's text format, each with a sequence number so a
// page asks only for what it has not seen. Writing costs one copy of the
// line under a mutex; nothing waits for a reader.
type LogTail struct {
	mu    sync.Mutex
	lines []LogLine // ring: the line of sequence s sits at s % len
	next  uint64    // sequence number of the next line
}

// LogLine is one line of the tail.
type LogLine struct {
	Seq  uint64 `json:"seq"`
	Text string `json:"text"`
}

// NewLogTail keeps the last n lines (DefaultLogLines when n ≤ 0).
func NewLogTail(n int) *LogTail {
	if n <= 0 {
		n = DefaultLogLines
	}
	return &LogTail{lines: make([]LogLine, n)}
}

// Handler is a slog handler writing into the tail in slog's text format;
// join it to a run's own handler with slog.NewMultiHandler.
func (t *LogTail) Handler(level slog.Leveler) slog.Handler {
	return slog.NewTextHandler(t, &slog.HandlerOptions{Level: level})
}

// Write takes one or more lines (slog's text handler writes one record per
// call); a line longer than 2 KiB is cut at a rune boundary and marked.
func (t *LogTail) Write(p []byte) (int, error) {
	n := len(p)
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 {
		line := p
		if i := bytes.IndexByte(p, '\n'); i >= 0 {
			line, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) > maxLogLine {
			cut := maxLogLine
			for cut > 0 && !utf8.RuneStart(line[cut]) {
				cut--
			}
			line = append(line[:cut:cut], " …(cut)"...)
		}
		t.lines[t.next%uint64(len(t.lines))] = LogLine{Seq: t.next, Text: string(line)}
		t.next++
	}
	return n, nil
}

// Since returns the lines kept with a sequence number ≥ seq, oldest first,
// and the sequence number the next line will have (the next call's seq).
func (t *LogTail) Since(seq uint64) (lines []LogLine, next uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	first := uint64(0)
	if t.next > uint64(len(t.lines)) {
		first = t.next - uint64(len(t.lines))
	}
	seq = max(seq, first)
	lines = make([]LogLine, 0, t.next-min(seq, t.next))
	for s := seq; s < t.next; s++ {
		lines = append(lines, t.lines[s%uint64(len(t.lines))])
	}
	return lines, t.next
}
