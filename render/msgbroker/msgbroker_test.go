package msgbroker

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// Every test, the E2E ones included, must leave no goroutine behind: the
// sender and the client libraries' own end with Close. The one exception
// is go-redis's dial probe, started when a dial inside its pool fails (the
// adapter dials first, so only a server that dies between that dial and
// the pool's next one starts it): it checks for the pool's Close after
// each second of sleep and then ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/go-redis/v9/internal/pool.(*ConnPool).tryDial"))
}

// parse loads a pipeline test_source → msgbroker with the given sink keys.
func parse(t *testing.T, keys string) error {
	t.Helper()
	dir := t.TempDir()
	doc := `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "broker"

[[component]]
name = "broker"
type = "ds3d::datarender"
impl = "msgbroker"
[component.config]
` + keys
	_, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
	return err
}

func TestConfigValidation(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := parse(t, `protocol = "mqtt"
[component.config.mqtt]
broker = "tcp://127.0.0.1:1883"
username = "u"
password_file = "`+pw+`"
`); err != nil {
		t.Fatalf("a good config: %v", err)
	}
	if err := parse(t, `protocol = "redis"
topic = "ds3d:{sensor}"
[component.config.redis]
addr = "127.0.0.1:6379"
stream_max_len = 1000
`); err != nil {
		t.Fatalf("a good redis config: %v", err)
	}
	bad := []struct{ keys, want string }{
		{`protocol = "azure"`, "protocol"},
		{"[component.config.mqtt]\npassword = \"x\"", "password"},
		{`schema = "deepstream"`, "message_per"},
		{"schema = \"deepstream_minimal\"\nmessage_per = \"object\"", "message_per"},
		{`reconnect_min = "2s"` + "\n" + `reconnect_max = "1s"`, "reconnect_max"},
		{`queue_length = 0`, "queue_length"},
		{"schema = \"ds3d_protobuf\"\nevents_key = \"DS3D::AnalyticsEvents\"", "events_key"},
		{`topic = "ds3d/#"`, "topic"},
		{"[component.config.mqtt]\nbroker = \"http://127.0.0.1:1883\"", "mqtt.broker"},
		{"[component.config.mqtt]\nbroker = \"tcp://127.0.0.1\"", "mqtt.broker"},
		{"[component.config.mqtt]\nqos = 2", "qos"},
		{"[component.config.mqtt]\npassword_file = \"" + pw + "\"", "mqtt.password_file"},
		{"[component.config.mqtt]\npassword_file = \"/nonexistent/pw\"", "password_file"},
		{"[component.config.mqtt]\nbroker = \"ssl://127.0.0.1:8883\"\n[component.config.mqtt.tls]\ncert_file = \"" + pw + "\"", "tls.cert_file"},
	}
	for _, c := range bad {
		err := parse(t, c.keys)
		if err == nil {
			t.Errorf("%q: no error", c.keys)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q does not name %s", c.keys, err, c.want)
		}
	}
}

// A TLS key without an ssl:// broker is refused when the sink is built.
func TestMQTTTLSNeedsSSLURL(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MQTT.TLS.InsecureSkipVerify = true
	if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), "ssl://") {
		t.Fatalf("want an error asking for ssl://, got %v", err)
	}
}

// blackHole is a TCP peer that accepts, reads and discards, and never
// answers: a broker that hangs after the TCP handshake.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func boxesMap(fn int64, n int) *ds3d.DataMap {
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, fn)
	m.SetInt64(ds3d.KeySourceID, 0)
	m.SetTimestamp(1_700_000_000_000_000_000 + fn*100_000_000)
	b := make([]ds3d.Box3D, n)
	for i := range b {
		b[i] = ds3d.Box3D{CX: float32(i), DX: 4, DY: 2, DZ: 1.5, Label: "Car", Score: 0.5, TrackID: -1}
	}
	m.Set(ds3d.KeyLidar3DBboxRawData, b)
	return m
}

// Against a broker that never answers, Render stays fast, the queue holds
// queue_length messages (plus the one the sender holds), everything else
// is dropped at once, and Close counts what is left as dropped: every
// message is sent, dropped or queued at every moment.
func TestQueueAndDropsWithoutAnswer(t *testing.T) {
	for _, proto := range []string{"mqtt", "redis"} {
		t.Run(proto, func(t *testing.T) {
			addr := blackHole(t)
			cfg := DefaultConfig()
			cfg.Protocol = proto
			cfg.MQTT.Broker = "tcp://" + addr
			cfg.Redis.Addr = addr
			cfg.QueueLen = 10
			cfg.Connect = 300 * time.Millisecond
			cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 50*time.Millisecond
			cfg.CloseTO = 100 * time.Millisecond
			s, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if err := s.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d > cfg.Connect+time.Second {
				t.Errorf("Start took %v, want about connect_timeout %v", d, cfg.Connect)
			}
			const frames = 200
			var worst time.Duration
			for i := range frames {
				m := boxesMap(int64(i), 3)
				t0 := time.Now()
				if err := s.Render(context.Background(), m); err != nil {
					t.Fatal(err)
				}
				worst = max(worst, time.Since(t0))
				m.Release()
			}
			st := s.Stats()
			if st.Sent != 0 || st.Queued < cfg.QueueLen || st.Queued > cfg.QueueLen+1 ||
				st.Dropped != uint64(frames-st.Queued) || st.Connected {
				t.Errorf("before Close: %+v, want 0 sent, %d or %d queued, the rest dropped", st, cfg.QueueLen, cfg.QueueLen+1)
			}
			if worst > 50*time.Millisecond {
				t.Errorf("the slowest Render took %v: it must not wait for the network", worst)
			}
			t0 := time.Now()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(t0); d > cfg.CloseTO+cfg.Connect+time.Second {
				t.Errorf("Close took %v, want at most close_timeout + connect_timeout", d)
			}
			st = s.Stats()
			if st.Sent != 0 || st.Dropped != frames || st.Queued != 0 {
				t.Errorf("after Close: %+v, want all %d dropped", st, frames)
			}
		})
	}
}

// A port nobody listens on: Start does not fail (the broker may come up
// later) and the sink keeps retrying without blocking.
func TestStartWithBrokerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := DefaultConfig()
	cfg.Protocol = "redis"
	cfg.Redis.Addr = addr
	cfg.Connect = 200 * time.Millisecond
	cfg.CloseTO = 0
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatalf("Start with the broker down: %v", err)
	}
	m := boxesMap(0, 1)
	if err := s.Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Release()
	s.Close()
	if st := s.Stats(); st.Dropped != 1 || st.Sent != 0 {
		t.Errorf("%+v: want the one message dropped at Close", st)
	}
}

// Frames not due under frame_interval send nothing; a message per object
// makes one message per box and none for an empty frame.
func TestFrameIntervalAndPerObject(t *testing.T) {
	addr := blackHole(t)
	cfg := DefaultConfig()
	cfg.MQTT.Broker = "tcp://" + addr
	cfg.FrameInterval = 2
	cfg.Per = "object"
	cfg.QueueLen = 1000
	cfg.Connect = 100 * time.Millisecond
	cfg.CloseTO = 0
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := range 10 {
		m := boxesMap(int64(i), i%4)
		if i%2 == 0 {
			want += i % 4
		}
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	if st := s.Stats(); st.Queued != want {
		t.Errorf("%d messages queued, want %d", st.Queued, want)
	}
	s.Close()
}

// A datamap whose boxes key holds another type is an error naming it.
func TestWrongBoxType(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MQTT.Broker = "tcp://" + blackHole(t)
	cfg.Connect = 50 * time.Millisecond
	cfg.CloseTO = 0
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := ds3d.NewDataMap()
	m.Set(ds3d.KeyLidar3DBboxRawData, "not boxes")
	err = s.Render(context.Background(), m)
	if err == nil || !strings.Contains(err.Error(), string(ds3d.KeyLidar3DBboxRawData)) {
		t.Errorf("want an error naming the key, got %v", err)
	}
}

// Render allocates nothing per datamap in steady state (detection3d JSON:
// the message buffers cycle through the free list).
func TestRenderAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	cfg := DefaultConfig()
	cfg.MQTT.Broker = "tcp://" + blackHole(t)
	cfg.QueueLen = 4
	cfg.Connect = 50 * time.Millisecond
	cfg.CloseTO = 0
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := boxesMap(1, 20)
	defer m.Release()
	for range 10 {
		s.Render(context.Background(), m)
	}
	if n := testing.AllocsPerRun(200, func() { s.Render(context.Background(), m) }); n != 0 {
		t.Errorf("Render allocates %v times per datamap, want 0", n)
	}
}
