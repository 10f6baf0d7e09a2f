//go:build linux

package msgbroker

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// rabbit is a rabbitmq-server (Debian's package) the test starts in a temp
// folder: its own node name, ports, Erlang cookie (HOME) and epmd port, so
// that it touches nothing of a broker the machine may run.
type rabbit struct {
	t        *testing.T
	dir      string
	port     int // AMQP
	tlsPort  int // AMQPS, 0: none
	ctl      string
	env      []string
	node     string
	epmdPort int
}

// startRabbit starts the broker with a plain listener and, with p, a TLS
// listener that demands a client certificate of p's CA. Startup takes
// seconds (the Erlang VM and the broker's boot steps).
func startRabbit(t *testing.T, p *pki) *rabbit {
	t.Helper()
	bin := "/usr/lib/rabbitmq/bin/rabbitmq-server"
	if _, err := os.Stat(bin); err != nil {
		// The packaged /usr/sbin wrapper switches to the rabbitmq user when
		// run as root, which would lose the test's HOME and cookie.
		bin = testenv.Tool(t, "rabbitmq-server", "apt-get install rabbitmq-server")
	}
	ctl := filepath.Join(filepath.Dir(bin), "rabbitmqctl")
	if _, err := os.Stat(ctl); err != nil {
		ctl = testenv.Tool(t, "rabbitmqctl", "apt-get install rabbitmq-server")
	}
	dir := t.TempDir()
	r := &rabbit{t: t, dir: dir, port: freePort(t), ctl: ctl, epmdPort: freePort(t),
		node: "ds3dtest_" + randomID() + "@localhost"}
	conf := []string{"loopback_users = none"}
	if p != nil {
		r.tlsPort = freePort(t)
		conf = append(conf, fmt.Sprintf("listeners.ssl.default = 127.0.0.1:%d", r.tlsPort),
			"ssl_options.cacertfile = "+p.path("ca.pem"), "ssl_options.certfile = "+p.path("server.pem"),
			"ssl_options.keyfile = "+p.path("server.key"), "ssl_options.verify = verify_peer",
			"ssl_options.fail_if_no_peer_cert = true")
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("rabbitmq.conf", strings.Join(conf, "\n")+"\n")
	write("enabled_plugins", "[].\n")
	write("rabbitmq-env.conf", "")
	r.env = append(os.Environ(), "HOME="+dir, "RABBITMQ_NODENAME="+r.node,
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"), "RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "RABBITMQ_NODE_PORT="+strconv.Itoa(r.port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(freePort(t)), "ERL_EPMD_PORT="+strconv.Itoa(r.epmdPort),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"), "RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_CONF_ENV_FILE="+filepath.Join(dir, "rabbitmq-env.conf"), "RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
		"RABBITMQ_ADVANCED_CONFIG_FILE="+filepath.Join(dir, "advanced.config"))
	// Registered before the server, so it runs after the server's own
	// cleanup: the epmd the node started outlives it.
	t.Cleanup(func() {
		if epmd, err := exec.LookPath("epmd"); err == nil {
			_ = exec.Command(epmd, "-port", strconv.Itoa(r.epmdPort), "-kill").Run()
		}
	})
	cmd := exec.Command(bin)
	cmd.Env, cmd.Dir = r.env, dir
	var out bytes.Buffer
	w := &lockedWriter{mu: &sync.Mutex{}, w: &out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		// A clean stop, then SIGKILL if it is not gone in 15 s.
		stop := exec.Command(r.ctl, "-n", r.node, "stop")
		stop.Env = r.env
		_ = stop.Run()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	output := func() string { w.mu.Lock(); defer w.mu.Unlock(); return out.String() }
	for _, port := range []int{r.port, r.tlsPort} {
		if port == 0 {
			continue
		}
		deadline := time.Now().Add(2 * time.Minute)
		for !dialable(port) {
			select {
			case <-done:
				t.Fatalf("rabbitmq-server exited at start:\n%s", output())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("rabbitmq-server does not listen on %d after 2 minutes:\n%s", port, output())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return r
}

func dialable(port int) bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// rabbitmqctl runs a rabbitmqctl command against the node.
func (r *rabbit) rabbitmqctl(args ...string) {
	r.t.Helper()
	cmd := exec.Command(r.ctl, append([]string{"-n", r.node}, args...)...)
	cmd.Env = r.env
	testenv.Output(r.t, cmd)
}

func (r *rabbit) url(user, pw string) string {
	return fmt.Sprintf("amqp://%s:%s@127.0.0.1:%d/", user, pw, r.port)
}

// amqpQueue declares a durable queue bound to amq.topic with the binding
// key, emptied first.
func amqpQueue(t *testing.T, url, name, key string) {
	t.Helper()
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.QueuePurge(name, false); err != nil {
		t.Fatal(err)
	}
	if err := ch.QueueBind(name, key, "amq.topic", false, nil); err != nil {
		t.Fatal(err)
	}
}

// amqpDrain reads every message of the queue (basic.get until empty).
func amqpDrain(t *testing.T, url, name string) []amqp.Delivery {
	t.Helper()
	c, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		t.Fatal(err)
	}
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(name, true)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}

// TestE2EAMQP runs against one rabbitmq-server (its start takes seconds):
// delivery with publisher confirms to a queue bound to amq.topic, checked
// message for message; a wrong password, a missing exchange and a server
// certificate from another CA fail Start with a clear error; mutual TLS
// with the test CA sends; connections closed by the broker mid-run
// (rabbitmqctl close_all_connections) cost nothing but a reconnect.
func TestE2EAMQP(t *testing.T) {
	testenv.E2E(t)
	good, other := writePKI(t), writePKI(t)
	t0 := time.Now()
	r := startRabbit(t, &good)
	t.Logf("rabbitmq-server up in %v", time.Since(t0))
	r.rabbitmqctl("add_user", "ds3d", "s3cret")
	r.rabbitmqctl("set_permissions", "-p", "/", "ds3d", ".*", ".*", ".*")
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	url := r.url("ds3d", "s3cret")
	cfg := func() *Config {
		c := DefaultConfig()
		c.Protocol, c.Topic = "amqp", "ds3d.lidar.{sensor}"
		c.AMQP.Addr = fmt.Sprintf("127.0.0.1:%d", r.port)
		c.AMQP.Username, c.AMQP.PasswordFile = "ds3d", ds3d.Path(right)
		return c
	}
	refused := func(t *testing.T, c *Config, want ...string) {
		t.Helper()
		s, err := New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Start(context.Background())
		if err == nil {
			s.Close()
			t.Fatal("Start succeeded")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		}
		t.Logf("%v", err)
	}

	t.Run("delivers", func(t *testing.T) {
		amqpQueue(t, url, "ds3d-e2e", "ds3d.lidar.*")
		const n = 50
		t0 := time.Now()
		if st := sendFrames(t, cfg(), n); st.Sent != n || st.Dropped != 0 || st.Failed != 0 {
			t.Fatalf("stats %+v", st)
		}
		t.Logf("%d messages confirmed in %v", n, time.Since(t0))
		ds := amqpDrain(t, url, "ds3d-e2e")
		payloads, sensors := make([][]byte, len(ds)), make([]string, len(ds))
		for i, d := range ds {
			payloads[i], sensors[i] = d.Body, strings.TrimPrefix(d.RoutingKey, "ds3d.lidar.")
			if d.ContentType != "application/json" || d.DeliveryMode != amqp.Persistent || d.Exchange != "amq.topic" ||
				d.Headers["sensor_id"] != sensors[i] {
				t.Errorf("message %d: content type %q, delivery mode %d, exchange %q, headers %v",
					i, d.ContentType, d.DeliveryMode, d.Exchange, d.Headers)
			}
		}
		if seen := checkFrames(t, payloads, sensors, false); len(seen) != n || len(ds) != n {
			t.Errorf("%d messages, %d distinct frames, want %d", len(ds), len(seen), n)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		c := cfg()
		c.AMQP.PasswordFile = ds3d.Path(wrong)
		refused(t, c, fmt.Sprintf("amqp://127.0.0.1:%d/", r.port), `as user "ds3d"`, "login refused")
	})
	t.Run("login slower than connect_timeout", func(t *testing.T) {
		// RabbitMQ refuses a login by closing the socket 3 s later: with a
		// shorter connect_timeout that is an unanswered login, retried,
		// not a refusal.
		c := cfg()
		c.AMQP.PasswordFile = ds3d.Path(wrong)
		c.Connect, c.CloseTO = time.Second, 0
		s, err := New(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Errorf("Start: %v, want no error (the login was not answered in time)", err)
		}
		s.Close()
	})
	t.Run("missing exchange", func(t *testing.T) {
		c := cfg()
		c.AMQP.Exchange = "nope"
		refused(t, c, `exchange "nope"`, "NOT_FOUND")
	})
	t.Run("tls", func(t *testing.T) {
		c := cfg()
		c.AMQP.Addr = fmt.Sprintf("127.0.0.1:%d", r.tlsPort)
		c.AMQP.TLS = TLSConfig{CAFile: ds3d.Path(other.path("ca.pem")), CertFile: ds3d.Path(good.path("client.pem")),
			KeyFile: ds3d.Path(good.path("client.key"))}
		refused(t, c, "amqps://", "server certificate rejected")
		c.AMQP.TLS.CAFile = ds3d.Path(good.path("ca.pem"))
		amqpQueue(t, url, "ds3d-e2e-tls", "ds3d.lidar.*")
		if st := sendFrames(t, c, 4); st.Sent != 4 {
			t.Fatalf("mutual TLS: %+v", st)
		}
		if ds := amqpDrain(t, url, "ds3d-e2e-tls"); len(ds) != 4 {
			t.Errorf("%d messages in the queue, want 4", len(ds))
		}
	})
	t.Run("throughput", func(t *testing.T) {
		amqpQueue(t, url, "ds3d-e2e-rate", "ds3d.lidar.*")
		for _, persistent := range []bool{true, false} {
			c := cfg()
			c.AMQP.Persistent = persistent
			rate := measureThroughput(t, c, 20000)
			t.Logf("persistent = %v: %.0f messages/s", persistent, rate)
		}
	})
	t.Run("connections closed", func(t *testing.T) {
		amqpQueue(t, url, "ds3d-e2e-close", "ds3d.#")
		// rabbitmqctl starts an Erlang VM of its own, which takes a second
		// or more on a busy machine: the run is long enough to be mid-way
		// when the close happens.
		const frames, rate = 300, 50.0
		run := startTestSource(t, frames, rate, fmt.Sprintf(`protocol = "amqp"
topic = "ds3d.{sensor}"
queue_length = 500
reconnect_min = "50ms"
reconnect_max = "400ms"
[component.config.amqp]
addr = "127.0.0.1:%d"
username = "ds3d"
password_file = %q`, r.port, right))
		waitUntil(t, 30*time.Second, "50 frames sent", func() bool { return run.sink.Stats().Sent >= 50 })
		r.rabbitmqctl("close_all_connections", "ds3d e2e")
		closedAt := run.sink.Stats().Sent
		if err := run.wait(t); err != nil {
			t.Fatalf("pipeline: %v\n%s", err, run.log())
		}
		if closedAt >= frames {
			t.Fatalf("the run was over before rabbitmqctl closed the connections")
		}
		if nominal := time.Duration(frames / rate * float64(time.Second)); run.elapsed > nominal+3*time.Second {
			t.Errorf("the run took %v for %d frames at %g Hz (%v)", run.elapsed, frames, rate, nominal)
		}
		st := run.sink.Stats()
		if st.Reconnects < 1 || st.Dropped != 0 || st.Sent != frames {
			t.Fatalf("stats %+v: want a reconnect, %d sent, nothing dropped", st, frames)
		}
		var payloads [][]byte
		for _, d := range amqpDrain(t, url, "ds3d-e2e-close") {
			payloads = append(payloads, d.Body)
		}
		got, dups := framesOf(t, payloads)
		if len(got) != frames {
			t.Errorf("the queue holds %d distinct frames, want %d", len(got), frames)
		}
		t.Logf("%d frames in %v: %+v; %d messages, %d duplicates", frames, run.elapsed, st, len(payloads), dups)
	})
}
