//go:build linux

package msgbroker

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/lidarinfer"
	_ "github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	_ "github.com/ds3d-go/ds3d-go/render/smartrecord"
)

// c2dFrame is what the test recorder keeps of a datamap.
type c2dFrame struct {
	fn     int64
	points int     // rows of the cropped frame
	factor float32 // model output ÷ input: which model ran
}

type c2dRecorder struct {
	mu     sync.Mutex
	frames []c2dFrame
}

func (r *c2dRecorder) Render(_ context.Context, m *ds3d.DataMap) error {
	fn, err := m.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		return err
	}
	x, err := m.Frame(ds3d.KeyLidarXYZI)
	if err != nil {
		return err
	}
	y, err := m.Frame("DS3D::Y")
	if err != nil {
		return err
	}
	c, err := m.Frame("DS3D::Cropped")
	if err != nil {
		return err
	}
	xs, ys := ds3d.AsFloat32(x), ds3d.AsFloat32(y)
	best := 0
	for i := range xs[:4] {
		if math.Abs(float64(xs[i])) > math.Abs(float64(xs[best])) {
			best = i
		}
	}
	r.mu.Lock()
	// y/x is the model's factor up to float32 rounding.
	k := float32(math.Round(float64(ys[best]/xs[best])*1e4) / 1e4)
	r.frames = append(r.frames, c2dFrame{fn: fn, points: c.Shape.Dims()[0], factor: k})
	r.mu.Unlock()
	return nil
}

func (r *c2dRecorder) snapshot() []c2dFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]c2dFrame(nil), r.frames...)
}

var c2dRecorders sync.Map

func init() {
	ds3d.Register(ds3d.KindRender, "c2d_test_recorder", "Records frame numbers, cropped point counts and model factors for the command tests.",
		func() *noConfig { return &noConfig{} },
		func(_ *noConfig, env *ds3d.Env) (any, error) {
			r := &c2dRecorder{}
			c2dRecorders.Store(env.Name, r)
			return r, nil
		})
}

type noConfig struct{}

func (*noConfig) Validate() error { return nil }

// scaleModelFile writes y = k·x, x and y [1, n].
func scaleModelFile(t *testing.T, path string, k float32, n int64) string {
	t.Helper()
	g := onnxbuild.New("scale", 13)
	x := g.Input("x", onnx.Float, 1, n)
	g.NodeOut("Mul", []string{x, g.Float("k", []int64{1}, []float32{k})}, []string{"y"})
	g.Output("y", onnx.Float, 1, n)
	b, err := g.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// commandBroker is one protocol's side of the test: the source's keys, and
// a client that sends commands and collects replies.
type commandBroker struct {
	keys    string
	send    func(t *testing.T, body string)
	replies func() []Reply
}

// runCommands drives a running pipeline test_source (1 point, 50 Hz) →
// msgbroker_source → lidar_infer (y = 2·x) → roi_crop → recorder and
// smart_record through the broker: a malformed and an unknown command
// (refused, answered, the pipeline runs on), a set of roi_crop's x_range
// (the cropped frames go empty from one frame on), a swap_model to y = 3·x
// (from one frame on every frame runs on it, none is lost), a swap_model to
// a model of another shape (refused), a repeated command (applied once),
// and a record_start (smart_record writes a bag).
func runCommands(t *testing.T, name string, b commandBroker) {
	const frames, rate = 250, 50.0
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	if err := os.Mkdir(models, 0o755); err != nil {
		t.Fatal(err)
	}
	scaleModelFile(t, filepath.Join(models, "two.onnx"), 2, 4)
	sum3 := scaleModelFile(t, filepath.Join(models, "three.onnx"), 3, 4)
	scaleModelFile(t, filepath.Join(models, "wide.onnx"), 3, 8)
	bags := filepath.Join(dir, "bags")
	rec := "rec_" + name
	doc := fmt.Sprintf(`
[pipeline]
realtime = true
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "cmds"
[component.config]
count = %d
rate_hz = %g
points = 1

[[component]]
name = "cmds"
type = "ds3d::datafilter"
impl = "msgbroker_source"
link_to = "infer"
[component.config]
%s

[[component]]
name = "infer"
type = "ds3d::datafilter"
impl = "lidar_infer"
link_to = "crop"
[component.config]
model_path = %q
models_dir = %q
threads = 1
[[component.config.model_inputs]]
name = "x"
datamap_key = "DS3D::LidarXYZI"
[[component.config.model_outputs]]
name = "y"
datamap_key = "DS3D::Y"

[[component]]
name = "crop"
type = "ds3d::datafilter"
impl = "roi_crop"
link_to = [%q, "smartrec"]
[component.config]
input_datamap_key = "DS3D::LidarXYZI"
output_datamap_key = "DS3D::Cropped"

[[component]]
name = %q
type = "ds3d::datarender"
impl = "c2d_test_recorder"

[[component]]
name = "smartrec"
type = "ds3d::datarender"
impl = "smart_record"
[component.config]
output_dir = %q
[component.config.topics]
"DS3D::LidarXYZI" = "/ds3d/points"
`, frames, rate, b.keys, filepath.Join(models, "two.onnx"), models, rec, rec, bags)
	p, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{mu: &sync.Mutex{}, w: &bytes.Buffer{}}
	g, err := pipeline.New(p, pipeline.Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	src := g.Component("cmds").(*Source)
	r, _ := c2dRecorders.Load(rec)
	recorder := r.(*c2dRecorder)
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- g.Run(context.Background()) }()
	waitUntil(t, 10*time.Second, "the first frames", func() bool { return len(recorder.snapshot()) >= 10 })

	reply := func(id string) Reply {
		t.Helper()
		var out Reply
		waitUntil(t, 10*time.Second, "the reply to "+strconv.Quote(id), func() bool {
			for _, r := range b.replies() {
				if r.ID == id {
					out = r
					return true
				}
			}
			return false
		})
		return out
	}
	countAt := map[string]int{}
	// Refused: the pipeline runs on.
	b.send(t, `this is not json`)
	b.send(t, `{"version":1,"id":"bad-1","command":"reboot","component":"infer"}`)
	if r := reply("bad-1"); r.OK || !strings.Contains(r.Error, `unknown command "reboot"`) {
		t.Errorf("bad-1: %+v", r)
	}
	b.send(t, `{"version":1,"id":"set-1","command":"set","component":"crop","config":{"x_range":[100.0, 200.0]}}`)
	if r := reply("set-1"); !r.OK {
		t.Fatalf("set-1: %+v", r)
	}
	countAt["set"] = len(recorder.snapshot())
	b.send(t, fmt.Sprintf(`{"version":1,"id":"swap-1","command":"swap_model","component":"infer","path":"three.onnx","sha256":%q}`, sum3))
	if r := reply("swap-1"); !r.OK {
		t.Fatalf("swap-1: %+v", r)
	}
	countAt["swap"] = len(recorder.snapshot())
	b.send(t, `{"version":1,"id":"swap-2","command":"swap_model","component":"infer","path":"wide.onnx"}`)
	if r := reply("swap-2"); r.OK || !strings.Contains(r.Error, "refused: input 0 of the new model is x [1 8]") {
		t.Errorf("swap-2: %+v", r)
	}
	// Delivered again: applied once, answered as the first time.
	b.send(t, `{"version":1,"id":"set-1","command":"set","component":"crop","config":{"x_range":[100.0, 200.0]}}`)
	b.send(t, `{"version":1,"id":"evt-7","command":"record_start","component":"smartrec","before_s":0.2,"duration_s":0.4}`)
	if r := reply("evt-7"); !r.OK {
		t.Fatalf("evt-7: %+v", r)
	}
	countAt["record"] = len(recorder.snapshot())
	var runErr error
	select {
	case runErr = <-done:
	case <-time.After(time.Minute):
		t.Fatal("the pipeline did not finish within a minute")
	}
	elapsed := time.Since(began)
	if runErr != nil {
		t.Fatalf("run: %v\n%s", runErr, logs.w.(*bytes.Buffer).String())
	}
	got := recorder.snapshot()
	if len(got) != frames {
		t.Fatalf("%d frames reached the recorder, want %d", len(got), frames)
	}
	firstEmpty, firstThree := -1, -1
	for i, f := range got {
		if f.fn != int64(i) {
			t.Fatalf("frame %d arrived as %d", f.fn, i)
		}
		switch {
		case f.points == 0 && firstEmpty < 0:
			firstEmpty = i
		case f.points != 0 && firstEmpty >= 0:
			t.Fatalf("frame %d has %d points after frame %d was cropped empty", i, f.points, firstEmpty)
		}
		switch {
		case f.factor == 3 && firstThree < 0:
			firstThree = i
		case f.factor == 2 && firstThree >= 0:
			t.Fatalf("frame %d ran on the old model after frame %d ran on the new one", i, firstThree)
		case f.factor != 2 && f.factor != 3:
			t.Fatalf("frame %d: factor %v", i, f.factor)
		}
	}
	if firstEmpty < 10 || firstEmpty > countAt["set"]+5 {
		t.Errorf("the crop changed at frame %d; the set was answered when %d frames were recorded", firstEmpty, countAt["set"])
	}
	if firstThree < firstEmpty || firstThree > countAt["swap"]+5 {
		t.Errorf("the model changed at frame %d; the swap was answered when %d frames were recorded", firstThree, countAt["swap"])
	}
	st := src.Stats()
	if want := (SourceStats{Received: 7, Applied: 3, Refused: 3, Duplicates: 1, Replies: 7}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	byID := map[string][]Reply{}
	for _, r := range b.replies() {
		byID[r.ID] = append(byID[r.ID], r)
		if r.ID == "" && (r.OK || !strings.Contains(r.Error, "not a command object")) {
			t.Errorf("reply to the malformed message: %+v", r)
		}
	}
	for id, rs := range byID {
		switch {
		case id == "set-1" && (len(rs) != 2 || rs[0] != rs[1]):
			t.Errorf("replies to the repeated set-1: %+v, want two equal ones", rs)
		case id != "set-1" && len(rs) != 1:
			t.Errorf("replies to %q: %+v, want one", id, rs)
		}
	}
	if len(byID) != 6 {
		t.Errorf("replies to %d ids, want 6: %+v", len(byID), byID)
	}
	log := logs.w.(*bytes.Buffer).String()
	for _, want := range []string{`msg="command refused" component=cmds id=bad-1`, `msg="command refused" component=cmds id="" err="command: not a command object`, `msg="command applied" component=cmds id=swap-1`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	// smart_record wrote the recording the command started.
	entries, _ := os.ReadDir(bags)
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Name(), "evt-7_") {
		t.Fatalf("recordings %v, want one evt-7_…", entries)
	}
	mcaps, _ := filepath.Glob(filepath.Join(bags, entries[0].Name(), "*.mcap"))
	if len(mcaps) != 1 {
		t.Errorf("recording holds %v, want one .mcap", mcaps)
	}
	t.Logf("%s: %d frames in %v; crop changed at frame %d (set answered at %d), model at %d (swap answered at %d), record_start answered at %d",
		name, frames, elapsed.Round(time.Millisecond), firstEmpty, countAt["set"], firstThree, countAt["swap"], countAt["record"])
}

func TestE2ECommandsMQTT(t *testing.T) {
	testenv.E2E(t)
	srv := mosquitto(t)
	url := "tcp://127.0.0.1:" + strconv.Itoa(srv.port)
	var mu sync.Mutex
	var replies []Reply
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID("c2d-test-cloud").SetAutoReconnect(false)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("test client: %v", tok.Error())
	}
	defer c.Disconnect(0)
	tok := c.Subscribe("ds3d/replies", 1, func(_ mqtt.Client, m mqtt.Message) {
		var r Reply
		if err := json.Unmarshal(m.Payload(), &r); err != nil {
			t.Errorf("reply %q: %v", m.Payload(), err)
		}
		mu.Lock()
		replies = append(replies, r)
		mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	runCommands(t, "mqtt", commandBroker{
		keys: fmt.Sprintf("protocol = \"mqtt\"\ntopic = \"ds3d/+/commands\"\nreply_topic = \"ds3d/replies\"\nmqtt = { broker = %q }", url),
		send: func(t *testing.T, body string) {
			if tok := c.Publish("ds3d/roadside-7/commands", 1, false, body); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		},
		replies: func() []Reply {
			mu.Lock()
			defer mu.Unlock()
			return append([]Reply(nil), replies...)
		},
	})
}

func TestE2ECommandsRedis(t *testing.T) {
	testenv.E2E(t)
	srv := redisServer(t)
	addr := "127.0.0.1:" + strconv.Itoa(srv.port)
	c := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, DisableIdentity: true})
	defer c.Close()
	ctx := context.Background()
	// A command left in the stream before the device started is not applied.
	if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "ds3d:commands", Values: []any{"payload", `{"version":1,"id":"stale","command":"set","component":"crop","config":{"x_range":[100.0, 200.0]}}`}}).Err(); err != nil {
		t.Fatal(err)
	}
	runCommands(t, "redis", commandBroker{
		keys: fmt.Sprintf("protocol = \"redis\"\ntopic = \"ds3d:commands\"\nreply_topic = \"ds3d:replies\"\nredis = { addr = %q }", addr),
		send: func(t *testing.T, body string) {
			if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "ds3d:commands", Values: []any{"payload", body}}).Err(); err != nil {
				t.Fatal(err)
			}
		},
		replies: func() []Reply {
			ms, err := c.XRange(ctx, "ds3d:replies", "-", "+").Result()
			if err != nil {
				t.Error(err)
			}
			var out []Reply
			for _, m := range ms {
				var r Reply
				if err := json.Unmarshal([]byte(m.Values["payload"].(string)), &r); err != nil {
					t.Error(err)
				}
				out = append(out, r)
			}
			return out
		},
	})
}

// TestE2ECommandsNATS runs the scenario on an in-process nats-server, the
// commands sent as requests: each reply comes back on the request's own
// reply subject.
func TestE2ECommandsNATS(t *testing.T) {
	testenv.E2E(t)
	srv, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: natsserver.RANDOM_PORT, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	defer func() { srv.Shutdown(); srv.WaitForShutdown() }()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	url := srv.ClientURL()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var replies []Reply
	var wg sync.WaitGroup
	defer wg.Wait()
	runCommands(t, "nats", commandBroker{
		keys: fmt.Sprintf("protocol = \"nats\"\ntopic = \"ds3d.*.commands\"\nnats = { servers = [%q] }", url),
		send: func(t *testing.T, body string) {
			// Requests wait for their replies in the background, so that
			// the scenario's commands arrive as fast as on the other brokers.
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, err := nc.Request("ds3d.roadside-7.commands", []byte(body), 3*time.Second)
				if err != nil {
					return
				}
				var r Reply
				if err := json.Unmarshal(m.Data, &r); err != nil {
					t.Error(err)
				}
				mu.Lock()
				replies = append(replies, r)
				mu.Unlock()
			}()
		},
		replies: func() []Reply {
			mu.Lock()
			defer mu.Unlock()
			return append([]Reply(nil), replies...)
		},
	})
}

// TestE2ECommandsBrokerRestart: the broker is killed and started again on
// the same port; the source reconnects and subscribes again by itself and
// applies the commands sent after the restart. A wrong password fails
// Start with an error naming the broker and the user.
func TestE2ECommandsBrokerRestart(t *testing.T) {
	testenv.E2E(t)
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	g := startCounting(t)
	delay := func() time.Duration { return g.Config("sink").(*builtin.CountConfig).Delay }
	for _, tc := range []struct {
		proto string
		start func(t *testing.T) *server
		conf  func(c *SourceConfig, port int, pw string)
		send  func(t *testing.T, port int, body string)
	}{
		{"mqtt", func(t *testing.T) *server {
			pwfile := filepath.Join(dir, "mosquitto.passwd")
			passwd := testenv.Tool(t, "mosquitto_passwd", "apt-get install mosquitto")
			testenv.Output(t, exec.Command(passwd, "-c", "-b", pwfile, "ds3d", "s3cret"))
			return mosquitto(t, "allow_anonymous false", "password_file "+pwfile)
		}, func(c *SourceConfig, port int, pw string) {
			c.MQTT.Broker, c.MQTT.Username, c.MQTT.PasswordFile = fmt.Sprintf("tcp://127.0.0.1:%d", port), "ds3d", ds3d.Path(pw)
		}, func(t *testing.T, port int, body string) {
			pub := testenv.Tool(t, "mosquitto_pub", "apt-get install mosquitto-clients")
			cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-u", "ds3d", "-P", "s3cret", "-q", "1", "-t", "ds3d/commands", "-m", body)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("mosquitto_pub: %v: %s", err, out) // the broker may be restarting
			}
		}},
		{"redis", func(t *testing.T) *server {
			return redisServer(t, "--user", "ds3d", "on", ">s3cret", "~*", "+@all", "--user", "default", "off")
		}, func(c *SourceConfig, port int, pw string) {
			c.Redis.Addr, c.Redis.Username, c.Redis.PasswordFile = fmt.Sprintf("127.0.0.1:%d", port), "ds3d", ds3d.Path(pw)
		}, func(t *testing.T, port int, body string) {
			cli := testenv.Tool(t, "redis-cli", "apt-get install redis-tools")
			cmd := exec.Command(cli, "-p", strconv.Itoa(port), "--user", "ds3d", "--pass", "s3cret", "--no-auth-warning", "XADD", "ds3d/commands", "*", "payload", body)
			if out, err := cmd.CombinedOutput(); err != nil || strings.Contains(string(out), "ERR") {
				t.Logf("redis-cli: %v: %s", err, out)
			}
		}},
	} {
		t.Run(tc.proto, func(t *testing.T) {
			srv := tc.start(t)
			cfg := DefaultSourceConfig()
			cfg.Protocol, cfg.Topic = tc.proto, "ds3d/commands"
			cfg.BackoffMin, cfg.BackoffMax, cfg.Connect = 50*time.Millisecond, 400*time.Millisecond, 2*time.Second
			tc.conf(cfg, srv.port, wrong)
			if err := ds3d.CheckConfig(cfg); err != nil {
				t.Fatal(err)
			}
			s, err := NewSource(cfg, g, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), "login refused") || !strings.Contains(err.Error(), `as user "ds3d"`) {
				t.Fatalf("wrong password: Start returned %v", err)
			}
			t.Logf("wrong password: %v", err)
			tc.conf(cfg, srv.port, right)
			if s, err = NewSource(cfg, g, nil); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			n := 0
			apply := func(want time.Duration) time.Duration {
				t.Helper()
				t0 := time.Now()
				for delay() != want {
					if time.Since(t0) > 15*time.Second {
						t.Fatalf("delay %v not applied within 15 s (stats %+v)", want, s.Stats())
					}
					n++
					tc.send(t, srv.port, fmt.Sprintf(`{"version":1,"id":"c%d","command":"set","component":"sink","config":{"delay":%q}}`, n, want))
					waitFor := time.Now().Add(300 * time.Millisecond)
					for delay() != want && time.Now().Before(waitFor) {
						time.Sleep(10 * time.Millisecond)
					}
				}
				return time.Since(t0)
			}
			apply(time.Millisecond)
			srv.stop(syscall.SIGKILL)
			time.Sleep(500 * time.Millisecond)
			srv.start()
			took := apply(2 * time.Millisecond)
			st := s.Stats()
			if st.Applied < 2 || st.Refused != 0 {
				t.Errorf("stats %+v", st)
			}
			t.Logf("%s: after the restart a command was applied within %v (%d sent in all); %+v", tc.proto, took.Round(time.Millisecond), n, st)
		})
	}
}
