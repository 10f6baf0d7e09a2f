//go:build linux

package msgbroker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/detect"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/render/writer"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// server is a broker process the test starts, stops and restarts on one
// port.
type server struct {
	t    *testing.T
	name string
	args []string
	port int
	log  *bytes.Buffer
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

func startServer(t *testing.T, port int, name string, args ...string) *server {
	t.Helper()
	s := &server{t: t, name: name, args: args, port: port, log: &bytes.Buffer{}}
	s.start()
	t.Cleanup(func() { s.stop(syscall.SIGKILL) })
	return s
}

func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command(s.name, s.args...)
	var w io.Writer = &lockedWriter{mu: &s.mu, w: s.log}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("%s: %v", s.name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	addr := "127.0.0.1:" + strconv.Itoa(s.port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			s.t.Fatalf("%s exited at start: %s", s.name, s.output())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s does not accept connections on %s: %s", s.name, addr, s.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the process with sig and waits for it.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// mosquitto starts Debian's broker with a minimal config; extra lines are
// appended (password_file, persistence).
func mosquitto(t *testing.T, extra ...string) *server {
	bin := testenv.Tool(t, "mosquitto", "apt-get install mosquitto")
	dir := t.TempDir()
	port := freePort(t)
	conf := []string{fmt.Sprintf("listener %d 127.0.0.1", port), "max_queued_messages 0", "max_inflight_messages 0"}
	if os.Getuid() == 0 {
		conf = append(conf, "user root") // stay root, so that it can write the temp dir
	}
	conf = append(conf, extra...)
	if !strings.Contains(strings.Join(extra, "\n"), "allow_anonymous") {
		conf = append(conf, "allow_anonymous true")
	}
	path := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, port, bin, "-c", path)
}

// redisServer starts Debian's redis-server in a temp dir.
func redisServer(t *testing.T, extra ...string) *server {
	bin := testenv.Tool(t, "redis-server", "apt-get install redis-server")
	port := freePort(t)
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--dir", t.TempDir()}, extra...)
	if !strings.Contains(strings.Join(extra, " "), "--appendonly") {
		args = append(args, "--appendonly", "no")
	}
	return startServer(t, port, bin, args...)
}

// mqttSubscriber is mosquitto_sub printing each payload as hex, one line
// each, beside its -d protocol trace; with a client id it keeps its session
// across broker restarts (clean session off, QoS 1).
type mqttSubscriber struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	msgs  [][]byte
	subs  int // SUBACKs seen
	done  chan struct{}
	trace bytes.Buffer
}

func subscribe(t *testing.T, port int, topic, clientID string) *mqttSubscriber {
	t.Helper()
	bin := testenv.Tool(t, "mosquitto_sub", "apt-get install mosquitto-clients")
	args := []string{"-d", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", topic, "-q", "1", "-F", "%x"}
	if clientID != "" {
		args = append(args, "-c", "-i", clientID)
	}
	// stdbuf: mosquitto_sub's stdout is a pipe here, which C buffers fully.
	stdbuf := testenv.Tool(t, "stdbuf", "apt-get install coreutils")
	s := &mqttSubscriber{cmd: exec.Command(stdbuf, append([]string{"-oL", bin}, args...)...), done: make(chan struct{})}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = &s.trace
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			switch {
			case strings.HasPrefix(line, "Client ") || strings.HasPrefix(line, "Subscribed"):
				if strings.Contains(line, "received SUBACK") {
					s.subs++
				}
			default:
				if b, err := hex.DecodeString(line); err == nil {
					s.msgs = append(s.msgs, b)
				}
			}
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { s.cmd.Process.Kill(); <-s.done; s.cmd.Wait() })
	waitUntil(t, 10*time.Second, "mosquitto_sub subscribed", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.subs > 0
	})
	return s
}

func (s *mqttSubscriber) payloads() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

func waitUntil(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// redisEntries reads the stream with redis-cli XRANGE (raw output: the
// entry id, then field and value lines) and returns each entry's fields.
func redisEntries(t *testing.T, port int, stream string) []map[string]string {
	t.Helper()
	cli := testenv.Tool(t, "redis-cli", "apt-get install redis-tools")
	out := testenv.Output(t, exec.Command(cli, "-p", strconv.Itoa(port), "--raw", "XRANGE", stream, "-", "+"))
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	var entries []map[string]string
	// Each entry: id, then 3 field/value pairs in the order XADD gave them.
	for i := 0; i+7 <= len(lines); i += 7 {
		e := map[string]string{"id": lines[i]}
		for k := i + 1; k < i+7; k += 2 {
			e[lines[k]] = lines[k+1]
		}
		entries = append(entries, e)
	}
	return entries
}

// kittiRun is a pipeline source → json_box_writer and msgbroker, in real
// time: the source is the KITTI frame (looped) through
// model_free_detector (about 8 frames/s on 2 cores, so these runs go as
// fast as they can), or test_source (no boxes: every frame goes out with
// none, at any rate) where the timing matters.
type kittiRun struct {
	g       *pipeline.Graph
	sink    *Sink
	boxes   string // the json_box_writer file
	logs    *lockedWriter
	logBuf  *bytes.Buffer
	done    chan error
	began   time.Time
	elapsed time.Duration
}

func startKITTI(t *testing.T, frames int, rateHz float64, sinkKeys string) *kittiRun {
	t.Helper()
	bin := sampledata.Shared(t, "kitti-object/training/velodyne/000000.bin")
	src := fmt.Sprintf(`
[[component]]
name = "lidar"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "detector"
[component.config]
files = [%q]
rate_hz = %g
file_loop = true
max_frames = %d
element_size = 4
element_stride = 4

[[component]]
name = "detector"
type = "ds3d::datafilter"
impl = "model_free_detector"
link_to = ["recorder", "broker"]
[component.config]
x_range = [0.0, 70.4]
y_range = [-40.0, 40.0]
z_range = [-3.0, 1.0]
fov_deg = 80.0
`, bin, rateHz, frames)
	return startPipeline(t, src, sinkKeys)
}

func startTestSource(t *testing.T, frames int, rateHz float64, sinkKeys string) *kittiRun {
	t.Helper()
	src := fmt.Sprintf(`
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = ["recorder", "broker"]
[component.config]
count = %d
rate_hz = %g
`, frames, rateHz)
	return startPipeline(t, src, sinkKeys)
}

func startPipeline(t *testing.T, src, sinkKeys string) *kittiRun {
	t.Helper()
	dir := t.TempDir()
	boxes := filepath.Join(dir, "boxes.jsonl")
	doc := fmt.Sprintf(`
[pipeline]
name = "msgbroker e2e"
realtime = true
%s
[[component]]
name = "recorder"
type = "ds3d::datarender"
impl = "json_box_writer"
[component.config]
path = %q

[[component]]
name = "broker"
type = "ds3d::datarender"
impl = "msgbroker"
[component.config]
%s
`, src, boxes, sinkKeys)
	p, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	r := &kittiRun{boxes: boxes, logBuf: &bytes.Buffer{}, done: make(chan error, 1)}
	r.logs = &lockedWriter{mu: &sync.Mutex{}, w: r.logBuf}
	g, err := pipeline.New(p, pipeline.Options{Log: slog.New(slog.NewTextHandler(r.logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	r.g = g
	r.sink = g.Component("broker").(*Sink)
	r.began = time.Now()
	go func() { r.done <- g.Run(context.Background()) }()
	return r
}

func (r *kittiRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.elapsed = time.Since(r.began)
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("the pipeline did not finish within 2 minutes")
		return nil
	}
}

func (r *kittiRun) log() string {
	r.logs.mu.Lock()
	defer r.logs.mu.Unlock()
	return r.logBuf.String()
}

// recorded reads the json_box_writer file: frame number → boxes.
func recorded(t *testing.T, path string) map[int64][]ds3d.Box3D {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type box struct {
		Center   []json.Number `json:"center"`
		Size     []json.Number `json:"size"`
		Yaw      json.Number   `json:"yaw"`
		ClassID  int32         `json:"class_id"`
		Label    string        `json:"label"`
		Score    json.Number   `json:"score"`
		TrackID  int64         `json:"track_id"`
		Velocity []json.Number `json:"velocity"`
	}
	f := func(n json.Number) float32 {
		v, err := strconv.ParseFloat(string(n), 32)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return float32(v)
	}
	out := map[int64][]ds3d.Box3D{}
	for i, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		var l struct {
			Frame int64 `json:"frame_number"`
			Boxes []box `json:"objects"`
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s line %d: %v", path, i+1, err)
		}
		bs := make([]ds3d.Box3D, len(l.Boxes))
		for k, b := range l.Boxes {
			bs[k] = ds3d.Box3D{CX: f(b.Center[0]), CY: f(b.Center[1]), CZ: f(b.Center[2]),
				DX: f(b.Size[0]), DY: f(b.Size[1]), DZ: f(b.Size[2]), Yaw: f(b.Yaw), ClassID: b.ClassID,
				Label: b.Label, Score: f(b.Score), TrackID: b.TrackID, VX: f(b.Velocity[0]), VY: f(b.Velocity[1])}
		}
		out[l.Frame] = bs
	}
	return out
}

// check decodes every payload with msgconv and compares its boxes with the
// recorder's for the same frame. It returns the distinct frame numbers
// received and the count of duplicates (at-least-once delivery may repeat a
// message whose acknowledgement was lost).
func check(t *testing.T, payloads [][]byte, proto bool, want map[int64][]ds3d.Box3D) (frames map[int64]bool, dups int) {
	t.Helper()
	frames = map[int64]bool{}
	for i, p := range payloads {
		var d *msgconv.Detection3D
		var err error
		if proto {
			d, err = msgconv.UnmarshalProto(p)
		} else {
			d, err = msgconv.DecodeJSON(p)
		}
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if frames[d.FrameNumber] {
			dups++
			continue
		}
		frames[d.FrameNumber] = true
		w, ok := want[d.FrameNumber]
		if !ok {
			t.Errorf("payload %d: frame %d is not in the recorder's file", i, d.FrameNumber)
			continue
		}
		if len(d.Boxes) != len(w) {
			t.Errorf("frame %d: %d boxes received, the recorder has %d", d.FrameNumber, len(d.Boxes), len(w))
			continue
		}
		for k := range w {
			g := d.Boxes[k]
			if g != w[k] {
				t.Errorf("frame %d box %d: received %+v, recorded %+v", d.FrameNumber, k, g, w[k])
			}
		}
	}
	return frames, dups
}

// TestE2EMQTTDelivers publishes protobuf payloads at QoS 1 to mosquitto;
// mosquitto_sub receives one per frame, and they decode to the boxes the
// recorder wrote.
func TestE2EMQTTDelivers(t *testing.T) {
	testenv.E2E(t)
	srv := mosquitto(t)
	sub := subscribe(t, srv.port, "ds3d/#", "")
	const frames = 30
	r := startKITTI(t, frames, 1000, fmt.Sprintf(`protocol = "mqtt"
schema = "ds3d_protobuf"
topic = "ds3d/lidar/{sensor}"
[component.config.mqtt]
broker = "tcp://127.0.0.1:%d"
qos = 1`, srv.port))
	if err := r.wait(t); err != nil {
		t.Fatalf("pipeline: %v\n%s", err, r.log())
	}
	st := r.sink.Stats()
	if st.Sent != frames || st.Dropped != 0 || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d sent and nothing dropped", st, frames)
	}
	waitUntil(t, 10*time.Second, "every message at the subscriber", func() bool { return len(sub.payloads()) >= frames })
	got, dups := check(t, sub.payloads(), true, recorded(t, r.boxes))
	if len(got) != frames || dups != 0 {
		t.Errorf("%d distinct frames and %d duplicates received, want %d and 0", len(got), dups, frames)
	}
	t.Logf("%d frames in %v, %d payloads received", frames, r.elapsed, len(sub.payloads()))
}

// TestE2ERedisDelivers appends detection3d JSON to a Redis stream;
// redis-cli XRANGE reads one entry per frame with the sensor id and
// content type beside the payload, and the payloads decode to the
// recorder's boxes.
func TestE2ERedisDelivers(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t)
	const frames = 30
	r := startKITTI(t, frames, 1000, fmt.Sprintf(`protocol = "redis"
schema = "ds3d_json"
topic = "ds3d:{sensor}"
[component.config.redis]
addr = "127.0.0.1:%d"
stream_max_len = 1000`, srv.port))
	if err := r.wait(t); err != nil {
		t.Fatalf("pipeline: %v\n%s", err, r.log())
	}
	if st := r.sink.Stats(); st.Sent != frames || st.Dropped != 0 {
		t.Fatalf("stats %+v, want %d sent", st, frames)
	}
	t.Logf("%d frames in %v", frames, r.elapsed)
	entries := redisEntries(t, srv.port, "ds3d:0")
	var payloads [][]byte
	for _, e := range entries {
		if e["sensor_id"] != "0" || e["content_type"] != "application/json" {
			t.Errorf("entry %s: sensor_id %q, content_type %q", e["id"], e["sensor_id"], e["content_type"])
		}
		payloads = append(payloads, []byte(e["payload"]))
	}
	got, dups := check(t, payloads, false, recorded(t, r.boxes))
	if len(got) != frames || dups != 0 {
		t.Errorf("%d distinct frames and %d duplicates in the stream, want %d and 0", len(got), dups, frames)
	}
	// json_box_writer's lines are the same payloads, byte for byte
	// (docs/PAYLOADS.md, "Result files").
	file, err := os.ReadFile(r.boxes)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(file), "\n"), "\n")
	if len(lines) != len(payloads) {
		t.Fatalf("%d file lines, %d payloads", len(lines), len(payloads))
	}
	for i, l := range lines {
		if l != string(payloads[i]) {
			t.Errorf("line %d differs from payload %d:\n%s\n%s", i, i, l, payloads[i])
		}
	}
}

// restartCase is a broker restarted mid-run: the sink reconnects, the
// pipeline keeps its rate, and the frames the consumer misses are exactly
// the dropped ones.
func restartTiming(t *testing.T, r *kittiRun, frames int, rate float64, restart func()) {
	t.Helper()
	waitUntil(t, 30*time.Second, "a third of the frames sent", func() bool { return r.sink.Stats().Sent >= uint64(frames/3) })
	restart()
	if err := r.wait(t); err != nil {
		t.Fatalf("pipeline: %v\n%s", err, r.log())
	}
	nominal := time.Duration(float64(frames) / rate * float64(time.Second))
	if r.elapsed > nominal+2*time.Second {
		t.Errorf("the run took %v for %d frames at %g Hz (%v): the pipeline stalled on the broker", r.elapsed, frames, rate, nominal)
	}
}

// TestE2EMQTTBrokerRestart stops mosquitto mid-run (SIGTERM: it saves its
// persistent sessions, so the subscriber's session and the messages queued
// for it survive; a SIGKILL would lose what the broker had acknowledged
// but not saved, which no sender can count) and starts it again on the
// same port after a second. The subscriber (clean session off, QoS 1)
// must then miss exactly the frames the sink counted as dropped.
func TestE2EMQTTBrokerRestart(t *testing.T) {
	testenv.E2E(t)
	dir := t.TempDir()
	srv := mosquitto(t, "persistence true", "persistence_location "+dir+"/", "autosave_interval 1")
	sub := subscribe(t, srv.port, "ds3d/#", "ds3d-e2e-sub")
	const frames, rate = 200, 50.0
	r := startTestSource(t, frames, rate, fmt.Sprintf(`protocol = "mqtt"
schema = "ds3d_json"
queue_length = 5
reconnect_min = "50ms"
reconnect_max = "400ms"
[component.config.mqtt]
broker = "tcp://127.0.0.1:%d"
qos = 1`, srv.port))
	restartTiming(t, r, frames, rate, func() {
		srv.stop(syscall.SIGTERM)
		time.Sleep(time.Second)
		srv.start()
	})
	st := r.sink.Stats()
	if st.Reconnects < 1 || st.Dropped == 0 || st.Sent+st.Dropped != frames || st.Queued != 0 {
		t.Fatalf("stats %+v: want a reconnect, drops, and sent + dropped = %d", st, frames)
	}
	waitUntil(t, 15*time.Second, "the sent messages at the subscriber", func() bool {
		got, _ := check(t, sub.payloads(), false, recorded(t, r.boxes))
		return uint64(len(got)) >= st.Sent
	})
	got, dups := check(t, sub.payloads(), false, recorded(t, r.boxes))
	if missed := frames - len(got); uint64(missed) != st.Dropped {
		t.Errorf("the subscriber missed %d frames, the sink counted %d dropped (%+v)", missed, st.Dropped, st)
	}
	t.Logf("%d frames in %v: %+v; %d distinct frames received, %d duplicates", frames, r.elapsed, st, len(got), dups)
}

// TestE2ERedisRestart kills redis-server (SIGKILL) mid-run and starts it
// again on the same port after a second; with appendfsync always every
// acknowledged XADD is on disk before its reply, so the stream read at the
// end lacks exactly the frames the sink counted as dropped.
func TestE2ERedisRestart(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t, "--appendonly", "yes", "--appendfsync", "always")
	const frames, rate = 200, 50.0
	r := startTestSource(t, frames, rate, fmt.Sprintf(`protocol = "redis"
topic = "ds3d:{sensor}"
queue_length = 5
reconnect_min = "50ms"
reconnect_max = "400ms"
[component.config.redis]
addr = "127.0.0.1:%d"`, srv.port))
	restartTiming(t, r, frames, rate, func() {
		srv.stop(syscall.SIGKILL)
		time.Sleep(time.Second)
		srv.start()
	})
	st := r.sink.Stats()
	if st.Reconnects < 1 || st.Dropped == 0 || st.Sent+st.Dropped != frames || st.Queued != 0 {
		t.Fatalf("stats %+v: want a reconnect, drops, and sent + dropped = %d", st, frames)
	}
	var payloads [][]byte
	for _, e := range redisEntries(t, srv.port, "ds3d:0") {
		payloads = append(payloads, []byte(e["payload"]))
	}
	got, dups := check(t, payloads, false, recorded(t, r.boxes))
	if missed := frames - len(got); uint64(missed) != st.Dropped {
		t.Errorf("the stream lacks %d frames, the sink counted %d dropped (%+v)", missed, st.Dropped, st)
	}
	t.Logf("%d frames in %v: %+v; %d distinct frames in the stream, %d duplicates", frames, r.elapsed, st, len(got), dups)
}

// TestE2EBrokerNeverAnswers points the sink at a TCP peer that accepts and
// never answers: the pipeline finishes at its rate and every message is
// counted as dropped.
func TestE2EBrokerNeverAnswers(t *testing.T) {
	testenv.E2E(t)
	for _, proto := range []string{"mqtt", "redis"} {
		t.Run(proto, func(t *testing.T) {
			addr := blackHole(t)
			const frames, rate = 100, 50.0
			r := startTestSource(t, frames, rate, fmt.Sprintf(`protocol = %q
queue_length = 8
connect_timeout = "500ms"
close_timeout = "200ms"
[component.config.mqtt]
broker = "tcp://%s"
[component.config.redis]
addr = %q`, proto, addr, addr))
			if err := r.wait(t); err != nil {
				t.Fatalf("pipeline: %v\n%s", err, r.log())
			}
			nominal := time.Duration(float64(frames) / rate * float64(time.Second))
			if r.elapsed > nominal+2*time.Second {
				t.Errorf("the run took %v for %v of frames", r.elapsed, nominal)
			}
			if st := r.sink.Stats(); st.Sent != 0 || st.Dropped != frames || st.Queued != 0 {
				t.Errorf("stats %+v: want all %d dropped", st, frames)
			}
			t.Logf("%d frames in %v (nominal %v)", frames, r.elapsed, nominal)
		})
	}
}

// TestE2EWrongPassword: a broker that refuses the login stops the pipeline
// at start with an error naming the broker and the user, also in the log;
// the right password from the same kind of file connects.
func TestE2EWrongPassword(t *testing.T) {
	testenv.E2E(t)
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)

	t.Run("mqtt", func(t *testing.T) {
		pwfile := filepath.Join(dir, "mosquitto.passwd")
		passwd := testenv.Tool(t, "mosquitto_passwd", "apt-get install mosquitto")
		testenv.Output(t, exec.Command(passwd, "-c", "-b", pwfile, "ds3d", "s3cret"))
		srv := mosquitto(t, "allow_anonymous false", "password_file "+pwfile)
		keys := func(pw string) string {
			return fmt.Sprintf(`protocol = "mqtt"
[component.config.mqtt]
broker = "tcp://127.0.0.1:%d"
username = "ds3d"
password_file = %q`, srv.port, pw)
		}
		wantRefused(t, keys(wrong), fmt.Sprintf("tcp://127.0.0.1:%d", srv.port))
		r := startTestSource(t, 3, 20, keys(right))
		if err := r.wait(t); err != nil {
			t.Fatalf("the right password: %v", err)
		}
		if st := r.sink.Stats(); st.Sent != 3 {
			t.Errorf("the right password: %+v", st)
		}
	})
	t.Run("redis", func(t *testing.T) {
		srv := redisServer(t, "--user", "ds3d", "on", ">s3cret", "~*", "+@all", "--user", "default", "off")
		keys := func(pw string) string {
			return fmt.Sprintf(`protocol = "redis"
[component.config.redis]
addr = "127.0.0.1:%d"
username = "ds3d"
password_file = %q`, srv.port, pw)
		}
		wantRefused(t, keys(wrong), fmt.Sprintf("127.0.0.1:%d", srv.port))
		r := startTestSource(t, 3, 20, keys(right))
		if err := r.wait(t); err != nil {
			t.Fatalf("the right password: %v", err)
		}
		if st := r.sink.Stats(); st.Sent != 3 {
			t.Errorf("the right password: %+v", st)
		}
	})
}

func wantRefused(t *testing.T, keys, broker string) {
	t.Helper()
	r := startTestSource(t, 20, 20, keys)
	err := r.wait(t)
	if err == nil {
		t.Fatalf("the pipeline ran with a wrong password:\n%s", r.log())
	}
	for _, s := range []string{err.Error(), r.log()} {
		if !strings.Contains(s, broker) || !strings.Contains(s, "as user") || !strings.Contains(s, "ds3d") || !strings.Contains(s, "login refused") {
			t.Errorf("the error does not name the broker %s, the user and the refusal:\n%s", broker, s)
		}
	}
	t.Logf("error: %v", err)
}

// TestE2EThroughput measures how many detection3d JSON messages (one box
// each) per second the sink delivers on loopback: MQTT QoS 1 to mosquitto
// (one PUBACK awaited per message) and XADD to redis-server. It logs the
// figures and checks only the counts.
func TestE2EThroughput(t *testing.T) {
	testenv.E2E(t)
	const n = 20000
	for _, proto := range []string{"mqtt", "redis"} {
		t.Run(proto, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Protocol = proto
			cfg.QueueLen = n
			if proto == "mqtt" {
				cfg.MQTT.Broker = fmt.Sprintf("tcp://127.0.0.1:%d", mosquitto(t).port)
			} else {
				cfg.Redis.Addr = fmt.Sprintf("127.0.0.1:%d", redisServer(t).port)
			}
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			m := boxesMap(0, 1)
			defer m.Release()
			t0 := time.Now()
			for i := range n {
				m.SetInt64(ds3d.KeyFrameNumber, int64(i))
				if err := s.Render(context.Background(), m); err != nil {
					t.Fatal(err)
				}
			}
			render := time.Since(t0)
			waitUntil(t, time.Minute, "every message sent", func() bool { return s.Stats().Sent == n })
			d := time.Since(t0)
			s.Close()
			t.Logf("%s: %d messages in %v: %.0f messages/s (Render alone: %.0f ns/message)", proto, n, d, n/d.Seconds(), float64(render.Nanoseconds())/n)
		})
	}
}
