//go:build linux

package msgbroker

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// Broker outages with and without the spool: with it the sink loses
// nothing; without it the frames the consumer misses equal the drops. The
// source is test_source (no boxes), so frames are told apart by the
// payloads' frame numbers alone.

const (
	spoolFrames  = 300
	spoolRate    = 50.0
	spoolOutage  = 2500 * time.Millisecond
	spoolSinkCfg = `queue_length = 5
reconnect_min = "50ms"
reconnect_max = "400ms"
[component.config.spool]
dir = %q
segment_bytes = 4096
max_bytes = 1048576
`
)

// frameSet decodes detection3d JSON payloads: the distinct frame numbers
// and the count of repeats.
func frameSet(t *testing.T, payloads [][]byte) (map[int64]bool, int) {
	t.Helper()
	frames, dups := map[int64]bool{}, 0
	for i, p := range payloads {
		d, err := msgconv.DecodeJSON(p)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if frames[d.FrameNumber] {
			dups++
		}
		frames[d.FrameNumber] = true
	}
	return frames, dups
}

// wantFrames checks that got is exactly the frames 0..n-1.
func wantFrames(t *testing.T, got map[int64]bool, n int) {
	t.Helper()
	var missing []int
	for i := range n {
		if !got[int64(i)] {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 || len(got) != n {
		t.Errorf("%d distinct frames received, want 0..%d; missing %v", len(got), n-1, missing)
	}
}

// outageKeys is the sink's config for the restart tests: spool on or off.
func outageKeys(spool bool, dir string) string {
	if spool {
		return fmt.Sprintf(spoolSinkCfg, filepath.Join(dir, "spool"))
	}
	return "queue_length = 5\nreconnect_min = \"50ms\"\nreconnect_max = \"400ms\"\n"
}

// checkOutage compares the sink's counts with the frames the consumer got.
// With the spool nothing is dropped and every frame arrives; without it the
// frames missed are exactly the ones counted as dropped.
func checkOutage(t *testing.T, spool bool, st Stats, got map[int64]bool) {
	t.Helper()
	checkOutageN(t, spool, st, got, spoolFrames)
}

// checkOutageN is checkOutage for a run of n frames.
func checkOutageN(t *testing.T, spool bool, st Stats, got map[int64]bool, n int) {
	t.Helper()
	if st.Reconnects < 1 || st.Queued != 0 || st.Spooled != 0 || st.Sent+st.Dropped != uint64(n) {
		t.Fatalf("stats %+v: want a reconnect, nothing left queued or spooled, sent + dropped = %d", st, n)
	}
	if spool {
		if st.Dropped != 0 {
			t.Errorf("stats %+v: dropped with the spool on", st)
		}
		wantFrames(t, got, n)
		return
	}
	if st.Dropped == 0 {
		t.Errorf("stats %+v: an outage with a queue of 5 and no spool dropped nothing", st)
	}
	if missed := n - len(got); uint64(missed) != st.Dropped {
		t.Errorf("the consumer missed %d frames, the sink counted %d dropped (%+v)", missed, st.Dropped, st)
	}
}

// TestE2EMQTTBrokerOutage: mosquitto is away (SIGTERM, so it saves the
// subscriber's persistent session) for 2.5 s of a 6 s run at 50 Hz with a
// queue of 5. With the spool the subscriber (clean session off, QoS 1)
// gets every frame, QoS 1 repeats counted; without it, it misses exactly
// the frames the sink counted as dropped.
func TestE2EMQTTBrokerOutage(t *testing.T) {
	testenv.E2E(t)
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			dir := t.TempDir()
			srv := mosquitto(t, "persistence true", "persistence_location "+dir+"/", "autosave_interval 1")
			sub := subscribe(t, srv.port, "ds3d/#", "ds3d-e2e-outage-sub")
			r := startTestSource(t, spoolFrames, spoolRate, fmt.Sprintf(`protocol = "mqtt"
schema = "ds3d_json"
%s[component.config.mqtt]
broker = "tcp://127.0.0.1:%d"
qos = 1`, outageKeys(spool, dir), srv.port))
			restartTiming(t, r, spoolFrames, spoolRate, func() {
				srv.stop(syscall.SIGTERM)
				time.Sleep(spoolOutage)
				srv.start()
			})
			st := r.sink.Stats()
			waitUntil(t, 15*time.Second, "the sent frames at the subscriber", func() bool {
				got, _ := frameSet(t, sub.payloads())
				return uint64(len(got)) >= st.Sent
			})
			got, dups := frameSet(t, sub.payloads())
			checkOutage(t, spool, st, got)
			t.Logf("%d frames in %v, broker away %v: %+v; %d distinct frames received, %d duplicates", spoolFrames, r.elapsed, spoolOutage, st, len(got), dups)
		})
	}
}

// TestE2ERedisOutage: redis-server killed (SIGKILL; appendfsync always
// keeps what it acknowledged) for 2.5 s of the run: with the spool the
// stream ends with every frame, without it it lacks exactly the dropped
// ones.
func TestE2ERedisOutage(t *testing.T) {
	testenv.E2E(t)
	for _, spool := range []bool{true, false} {
		t.Run(fmt.Sprintf("spool=%v", spool), func(t *testing.T) {
			srv := redisServer(t, "--appendonly", "yes", "--appendfsync", "always")
			r := startTestSource(t, spoolFrames, spoolRate, fmt.Sprintf(`protocol = "redis"
topic = "ds3d:{sensor}"
%s[component.config.redis]
addr = "127.0.0.1:%d"`, outageKeys(spool, t.TempDir()), srv.port))
			restartTiming(t, r, spoolFrames, spoolRate, func() {
				srv.stop(syscall.SIGKILL)
				time.Sleep(spoolOutage)
				srv.start()
			})
			st := r.sink.Stats()
			var payloads [][]byte
			for _, e := range redisEntries(t, srv.port, "ds3d:0") {
				payloads = append(payloads, []byte(e["payload"]))
			}
			got, dups := frameSet(t, payloads)
			checkOutage(t, spool, st, got)
			t.Logf("%d frames in %v, server away %v: %+v; %d distinct frames in the stream, %d duplicates", spoolFrames, r.elapsed, spoolOutage, st, len(got), dups)
		})
	}
}

// TestE2ESpoolAcrossRuns: a pipeline runs while the Redis server is down
// and ends with every message in the spool; the next run, with the server
// up, sends them first, then its own: the stream holds frames 0..39 of run
// 1 and then 0..39 of run 2, in that order, once each.
func TestE2ESpoolAcrossRuns(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t)
	srv.stop(syscall.SIGKILL)
	keys := fmt.Sprintf(`protocol = "redis"
topic = "ds3d:runs"
connect_timeout = "300ms"
`+spoolSinkCfg+`[component.config.redis]
addr = "127.0.0.1:%d"`, filepath.Join(t.TempDir(), "spool"), srv.port)
	const frames = 40
	r1 := startTestSource(t, frames, 200, keys)
	if err := r1.wait(t); err != nil {
		t.Fatalf("run 1: %v\n%s", err, r1.log())
	}
	if st := r1.sink.Stats(); st.Spooled != frames || st.Dropped != 0 || st.Sent != 0 {
		t.Fatalf("run 1 with the server down: %+v, want all %d spooled", st, frames)
	}
	srv.start()
	r2 := startTestSource(t, frames, 200, keys)
	if err := r2.wait(t); err != nil {
		t.Fatalf("run 2: %v\n%s", err, r2.log())
	}
	if st := r2.sink.Stats(); st.Sent != 2*frames || st.Spooled != 0 || st.Dropped != 0 {
		t.Fatalf("run 2: %+v, want its %d and run 1's %d sent", st, frames, frames)
	}
	entries := redisEntries(t, srv.port, "ds3d:runs")
	if len(entries) != 2*frames {
		t.Fatalf("%d entries in the stream, want %d", len(entries), 2*frames)
	}
	for i, e := range entries {
		d, err := msgconv.DecodeJSON([]byte(e["payload"]))
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if d.FrameNumber != int64(i%frames) {
			t.Fatalf("entry %d is frame %d, want %d (run %d)", i, d.FrameNumber, i%frames, i/frames+1)
		}
	}
}

// TestE2ESpoolSurvivesKill: a process whose sink has spooled its messages
// while the Redis server was down is killed (SIGKILL, no Close); a new
// sink on the same spool folder, with the server up, sends every one of
// them, in order.
func TestE2ESpoolSurvivesKill(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t)
	srv.stop(syscall.SIGKILL)
	dir := filepath.Join(t.TempDir(), "spool")
	cmd := exec.Command(os.Args[0], "-test.run=^TestE2ESpoolKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), "DS3D_SPOOL_CHILD="+dir, fmt.Sprintf("DS3D_SPOOL_ADDR=127.0.0.1:%d", srv.port))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			if sc.Text() == "SPOOLED" {
				ok = true
				break
			}
		}
		ready <- ok
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("the child ended without spooling: %s", stderr.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child did not spool within 60 s: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	srv.start()
	cfg := killChildConfig(dir, srv.port)
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "the spool sent", func() bool { return s.Stats().Sent >= killFrames })
	s.Close()
	if st := s.Stats(); st.Sent != killFrames || st.Spooled != 0 || st.Dropped != 0 {
		t.Errorf("after the kill: %+v, want the %d spooled messages sent", st, killFrames)
	}
	entries := redisEntries(t, srv.port, "ds3d:kill")
	if len(entries) != killFrames {
		t.Fatalf("%d entries, want %d", len(entries), killFrames)
	}
	for i, e := range entries {
		d, err := msgconv.DecodeJSON([]byte(e["payload"]))
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if d.FrameNumber != int64(i) {
			t.Fatalf("entry %d is frame %d", i, d.FrameNumber)
		}
	}
}

const killFrames = 500

func killChildConfig(dir string, port int) *Config {
	cfg := DefaultConfig()
	cfg.Protocol = "redis"
	cfg.Redis.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	cfg.Topic = "ds3d:kill"
	cfg.QueueLen = 8
	cfg.Connect = 300 * time.Millisecond
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, 200*time.Millisecond
	cfg.Spool = SpoolConfig{Dir: ds3d.Path(dir), MaxBytes: 1 << 20, SegmentBytes: 4096, Fsync: "never"}
	return cfg
}

// TestE2ESpoolKillChild is the process TestE2ESpoolSurvivesKill kills: it
// renders killFrames messages with the server down, says SPOOLED once the
// spool holds them all and waits to be killed.
func TestE2ESpoolKillChild(t *testing.T) {
	dir := os.Getenv("DS3D_SPOOL_CHILD")
	if dir == "" {
		t.Skip("the child process of TestE2ESpoolSurvivesKill")
	}
	var port int
	fmt.Sscanf(os.Getenv("DS3D_SPOOL_ADDR"), "127.0.0.1:%d", &port)
	s, err := New(killChildConfig(dir, port), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := boxesMap(0, 2)
	for i := range killFrames {
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, 30*time.Second, "every message spooled", func() bool { return s.Stats().Spooled == killFrames })
	fmt.Println("SPOOLED")
	time.Sleep(time.Minute)
	t.Fatal("not killed")
}

// TestE2ESpoolLongOutage: 10,000 messages at 400 a second while the Redis
// server is down for 20 s of the 25 s; the spool, of 4 KiB segments (so
// hundreds of them are written, read and deleted), carries the outage: the
// stream ends with every message, in order, and the spool folder empty.
func TestE2ESpoolLongOutage(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	dir := filepath.Join(t.TempDir(), "spool")
	cfg := killChildConfig(dir, srv.port)
	cfg.Topic = "ds3d:long"
	cfg.Spool.MaxBytes = 64 << 20
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n, rate = 10000, 400
	m := boxesMap(0, 2)
	defer m.Release()
	t0 := time.Now()
	maxSpooled := 0
	for i := range n {
		switch i {
		case 2 * rate:
			srv.stop(syscall.SIGKILL)
		case 22 * rate:
			srv.start()
		}
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		maxSpooled = max(maxSpooled, s.Stats().Spooled)
		time.Sleep(time.Until(t0.Add(time.Duration(i+1) * time.Second / rate)))
	}
	waitUntil(t, time.Minute, "every message sent", func() bool { return s.Stats().Sent >= n })
	s.Close()
	st := s.Stats()
	if st.Sent != n || st.Dropped != 0 || st.Spooled != 0 {
		t.Errorf("%+v, want %d sent", st, n)
	}
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 0 {
		t.Errorf("%d segment files left", len(segs))
	}
	entries := redisEntries(t, srv.port, "ds3d:long")
	next, dups := int64(0), 0
	for i, e := range entries {
		d, err := msgconv.DecodeJSON([]byte(e["payload"]))
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		switch {
		case d.FrameNumber == next:
			next++
		case d.FrameNumber < next:
			dups++ // an at-least-once repeat after the reconnect
		default:
			t.Fatalf("entry %d is frame %d, want %d: a message is missing or out of order", i, d.FrameNumber, next)
		}
	}
	if next != n {
		t.Errorf("the stream ends at frame %d, want %d", next, n)
	}
	t.Logf("%d messages in %v, server away 20 s: %+v; up to %d spooled at once; %d repeats", n, time.Since(t0).Round(time.Millisecond), st, maxSpooled, dups)
}
