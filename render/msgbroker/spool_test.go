package msgbroker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func testSpool(t *testing.T, dir string, maxBytes, segBytes int64, log *slog.Logger) *spool {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sp, err := openSpool(SpoolConfig{Dir: dirPath(dir), MaxBytes: maxBytes, SegmentBytes: segBytes, Fsync: "never"}, log)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func dirPath(d string) ds3d.Path { return ds3d.Path(d) }

// msgN is the n-th test message: its payload names n, the topic and the
// sensor vary, every third is protobuf.
func msgN(n int) *message {
	return &message{buf: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, n, strings.Repeat("x", n%50)),
		topic: fmt.Sprintf("ds3d/%d", n%3), sensor: fmt.Sprint(n % 3), proto: n%3 == 0}
}

func putAll(t *testing.T, sp *spool, from, to int) (evicted int) {
	t.Helper()
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for i := from; i < to; i++ {
		e, err := sp.put(msgN(i))
		if err != nil {
			t.Fatal(err)
		}
		evicted += e
	}
	return evicted
}

// takeAll reads every unread message; ack acknowledges each as it comes.
func takeAll(t *testing.T, sp *spool, ack bool) []*message {
	t.Helper()
	var out []*message
	for {
		m := &message{}
		if !sp.take(m) {
			return out
		}
		if ack {
			sp.ack(m.at)
		}
		out = append(out, m)
	}
}

func wantMsgs(t *testing.T, got []*message, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("%d messages read, want %d (%d..%d)", len(got), to-from, from, to-1)
	}
	for i, m := range got {
		w := msgN(from + i)
		if !bytes.Equal(m.buf, w.buf) || m.topic != w.topic || m.sensor != w.sensor || m.proto != w.proto || !m.spooled {
			t.Fatalf("message %d: got %q %s %s %v, want %q %s %s %v", from+i, m.buf, m.topic, m.sensor, m.proto, w.buf, w.topic, w.sensor, w.proto)
		}
	}
}

func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.seg"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSpoolOrderAndRestart: messages come back in the order put, across
// segments; after a close, a reopened spool holds exactly the ones not
// acknowledged, and a spool read and acknowledged to its end leaves no
// segment file.
func TestSpoolOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	sp := testSpool(t, dir, 1<<20, 4096, nil)
	putAll(t, sp, 0, 300)
	if n := len(segFiles(t, dir)); n < 3 {
		t.Fatalf("%d segment files for 300 messages of 4 KiB segments, want several", n)
	}
	if got := sp.count.Load(); got != 300 {
		t.Fatalf("count %d, want 300", got)
	}
	// Read 120, acknowledge 100: the other 20 are in flight when the
	// process ends, so the next run must send them again.
	got := takeAll(t, sp, false)[:120]
	wantMsgs(t, got[:120], 0, 120)
	for _, m := range got[:100] {
		sp.ack(m.at)
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}

	sp = testSpool(t, dir, 1<<20, 4096, nil)
	if got := sp.count.Load(); got != 200 {
		t.Fatalf("reopened: count %d, want the 200 not acknowledged", got)
	}
	putAll(t, sp, 300, 310)
	wantMsgs(t, takeAll(t, sp, true), 100, 310)
	if sp.active || sp.count.Load() != 0 {
		t.Fatalf("read to its end: active %v, count %d", sp.active, sp.count.Load())
	}
	if err := sp.close(); err != nil {
		t.Fatal(err)
	}
	if f := segFiles(t, dir); len(f) != 0 {
		t.Fatalf("an emptied spool left %v", f)
	}
	sp = testSpool(t, dir, 1<<20, 4096, nil)
	if sp.count.Load() != 0 || sp.take(&message{}) {
		t.Fatal("a spool emptied and reopened is not empty")
	}
	sp.close()
}

// TestSpoolBound: over max_bytes the oldest segments go; what is left is
// the newest messages, contiguous, and every message is either read or
// counted as evicted.
func TestSpoolBound(t *testing.T) {
	dir := t.TempDir()
	const maxBytes, seg = 64 << 10, 8 << 10
	sp := testSpool(t, dir, maxBytes, seg, nil)
	defer sp.close()
	const n = 5000
	evicted := putAll(t, sp, 0, n)
	var size int64
	for _, f := range segFiles(t, dir) {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	if size > maxBytes {
		t.Errorf("spool files hold %d bytes, bound %d", size, maxBytes)
	}
	if evicted == 0 {
		t.Fatalf("%d messages fit in %d bytes?", n, maxBytes)
	}
	got := takeAll(t, sp, true)
	if evicted+len(got) != n {
		t.Fatalf("%d evicted + %d read != %d put", evicted, len(got), n)
	}
	wantMsgs(t, got, evicted, n)
}

// TestSpoolTornTail: a record cut short by a crash, and one whose bytes
// changed, are skipped with a warning naming the file and the offset where
// the bad record begins; the records before them are sent.
func TestSpoolTornTail(t *testing.T) {
	for _, damage := range []string{"cut", "flip"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			sp := testSpool(t, dir, 1<<20, 1<<16, nil)
			putAll(t, sp, 0, 10)
			seg := segFiles(t, dir)[0]
			st, err := os.Stat(seg)
			if err != nil {
				t.Fatal(err)
			}
			good := st.Size() // where record 10 will begin
			putAll(t, sp, 10, 11)
			sp.close()
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if damage == "cut" {
				data = data[:len(data)-3]
			} else {
				data[len(data)-2] ^= 0x40
			}
			if err := os.WriteFile(seg, data, 0o600); err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			sp = testSpool(t, dir, 1<<20, 1<<16, slog.New(slog.NewTextHandler(&logs, nil)))
			defer sp.close()
			if !strings.Contains(logs.String(), seg) || !strings.Contains(logs.String(), fmt.Sprintf("offset=%d", good)) {
				t.Errorf("the warning does not name %s at offset %d:\n%s", seg, good, logs.String())
			}
			wantMsgs(t, takeAll(t, sp, true), 0, 10)
			// Writing goes on in a new segment.
			putAll(t, sp, 20, 25)
			wantMsgs(t, takeAll(t, sp, true), 20, 25)
		})
	}
}

// refusedAddr is a loopback port with no listener: connections are
// refused at once.
func refusedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestSinkSpoolsWhileBrokerAway: with the broker unreachable, every
// message goes to the spool (none dropped, the queue is not in the way),
// Close does not wait for the broker, and a new sink on the same folder
// starts with them all.
func TestSinkSpoolsWhileBrokerAway(t *testing.T) {
	for _, proto := range []string{"mqtt", "redis"} {
		t.Run(proto, func(t *testing.T) {
			addr := refusedAddr(t)
			dir := t.TempDir()
			cfg := DefaultConfig()
			cfg.Protocol = proto
			cfg.MQTT.Broker = "tcp://" + addr
			cfg.Redis.Addr = addr
			cfg.QueueLen = 4
			cfg.Connect = 200 * time.Millisecond
			cfg.CloseTO = 10 * time.Second
			cfg.Spool = SpoolConfig{Dir: dirPath(dir), MaxBytes: 1 << 20, SegmentBytes: 64 << 10, Fsync: "segment"}
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			const n = 50
			m := boxesMap(0, 1)
			defer m.Release()
			for i := range n {
				m.SetInt64(ds3d.KeyFrameNumber, int64(i))
				if err := s.Render(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			t0 := time.Now()
			s.Close()
			if d := time.Since(t0); d > 3*time.Second {
				t.Errorf("Close took %v with the broker away and a spool to keep the messages", d)
			}
			st := s.Stats()
			if st.Dropped != 0 || st.Sent != 0 || st.Spooled != n || st.Queued != 0 {
				t.Fatalf("stats %+v, want all %d spooled", st, n)
			}
			s2, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s2.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := s2.Stats(); st.Spooled != n {
				t.Errorf("a new sink on the folder: %+v, want %d spooled", st, n)
			}
			s2.Close()
		})
	}
}

// FuzzSpoolSegment feeds the segment decoder arbitrary bytes, seeded with a
// segment file the spool wrote: it never panics, never reads past the end,
// and every record it accepts decodes, and re-encoded reads back the same.
func FuzzSpoolSegment(f *testing.F) {
	dir := f.TempDir()
	sp, err := openSpool(SpoolConfig{Dir: dirPath(dir), MaxBytes: 1 << 20, SegmentBytes: 1 << 16, Fsync: "never"}, slog.New(slog.DiscardHandler))
	if err != nil {
		f.Fatal(err)
	}
	sp.mu.Lock()
	for i := range 8 {
		if _, err := sp.put(msgN(i)); err != nil {
			f.Fatal(err)
		}
	}
	sp.mu.Unlock()
	sp.close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)-1])
	}
	f.Add([]byte(spoolMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		sc := newSegmentScanner(bytes.NewReader(data))
		start := int64(len(spoolMagic))
		for {
			body, err := sc.next()
			if err != nil {
				break
			}
			if sc.off > int64(len(data)) {
				t.Fatalf("offset %d past the %d bytes", sc.off, len(data))
			}
			proto, topic, sensor, payload, err := decodeRecord(body)
			if err != nil {
				t.Fatalf("accepted record does not decode: %v", err)
			}
			re := appendRecord([]byte(spoolMagic), &message{buf: payload, topic: string(topic), sensor: string(sensor), proto: proto})
			body2, err := newSegmentScanner(bytes.NewReader(re)).next()
			if err != nil {
				t.Fatalf("record at %d, re-encoded: %v", start, err)
			}
			p2, t2, s2, pl2, _ := decodeRecord(body2)
			if p2 != proto || !bytes.Equal(t2, topic) || !bytes.Equal(s2, sensor) || !bytes.Equal(pl2, payload) {
				t.Fatalf("record at %d does not read back the same", start)
			}
			start = sc.off
		}
	})
}

// TestSpoolConfig: the spool's keys are checked when the config loads.
func TestSpoolConfig(t *testing.T) {
	dir := t.TempDir()
	if err := parse(t, "[component.config.spool]\ndir = \""+dir+"\"\nmax_bytes = 1048576\nsegment_bytes = 65536\nfsync = \"always\""); err != nil {
		t.Fatalf("a good spool: %v", err)
	}
	for _, c := range []struct{ keys, want string }{
		{"dir = \"" + dir + "\"\nmax_bytes = 1048576\nsegment_bytes = 1048576", "spool.segment_bytes"},
		{"dir = \"" + dir + "\"\nfsync = \"sometimes\"", "fsync"},
		{"dir = \"" + dir + "\"\nmax_bytes = 100", "max_bytes"},
		{"dir = \"" + dir + "\"\nsegment_bytes = 10", "segment_bytes"},
	} {
		err := parse(t, "[component.config.spool]\n"+c.keys)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %s", c.keys, err, c.want)
		}
	}
}

// TestSpoolLocked: a second spool on a folder in use fails to open, naming
// the folder; once the first is closed it opens.
func TestSpoolLocked(t *testing.T) {
	dir := t.TempDir()
	sp := testSpool(t, dir, 1<<20, 4096, nil)
	_, err := openSpool(SpoolConfig{Dir: dirPath(dir), MaxBytes: 1 << 20, SegmentBytes: 4096, Fsync: "never"}, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second open: %v, want an error naming the folder in use", err)
	}
	sp.close()
	testSpool(t, dir, 1<<20, 4096, nil).close()
}

// TestSpoolFsyncModes: every fsync policy writes, rotates, reopens and
// reads back the same messages.
func TestSpoolFsyncModes(t *testing.T) {
	for _, mode := range []string{"never", "segment", "always"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			cfg := SpoolConfig{Dir: dirPath(dir), MaxBytes: 1 << 20, SegmentBytes: 4096, Fsync: mode}
			sp, err := openSpool(cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			putAll(t, sp, 0, 60)
			if err := sp.close(); err != nil {
				t.Fatal(err)
			}
			if sp, err = openSpool(cfg, slog.New(slog.DiscardHandler)); err != nil {
				t.Fatal(err)
			}
			defer sp.close()
			wantMsgs(t, takeAll(t, sp, true), 0, 60)
		})
	}
}
