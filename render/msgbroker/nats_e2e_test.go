//go:build linux

package msgbroker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// natsServer starts a nats-server on a free loopback port with JetStream
// (store in a temp dir) and the extra config lines.
func natsServer(t *testing.T, extra ...string) *server {
	t.Helper()
	return natsServerOn(t, freePort(t), t.TempDir(), "", extra...)
}

// natsServerOn is natsServer on a given port and store folder; jsOpts go
// into the jetstream block.
func natsServerOn(t *testing.T, port int, store, jsOpts string, extra ...string) *server {
	t.Helper()
	bin := testenv.NATSServer(t)
	conf := append([]string{fmt.Sprintf("listen: 127.0.0.1:%d", port), fmt.Sprintf("jetstream { store_dir: %q %s }", store, jsOpts)}, extra...)
	path := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(path, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return startServer(t, port, bin, "-c", path)
}

// natsCollector is a core subscription that keeps every message.
type natsCollector struct {
	mu   sync.Mutex
	msgs []*nats.Msg
}

func (c *natsCollector) all() []*nats.Msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*nats.Msg(nil), c.msgs...)
}

func natsConnect(t *testing.T, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func natsCfg(port int) *Config {
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Topic = "nats", "ds3d.lidar.{sensor}"
	cfg.NATS.Servers = []string{fmt.Sprintf("nats://127.0.0.1:%d", port)}
	return cfg
}

// TestE2ENATSDelivers: core NATS to a subscriber, and JetStream into a
// stream. The messages decode to the boxes sent, carry Content-Type, and
// in JetStream a Nats-Msg-Id; sending the same frames again through a
// second sink adds nothing to the stream (the ids are the same, so the
// stream's duplicate window drops them).
func TestE2ENATSDelivers(t *testing.T) {
	testenv.E2E(t)
	srv := natsServer(t)
	url := fmt.Sprintf("nats://127.0.0.1:%d", srv.port)
	nc := natsConnect(t, url)
	const n = 50

	t.Run("core", func(t *testing.T) {
		var col natsCollector
		sub, err := nc.Subscribe("ds3d.>", func(m *nats.Msg) {
			col.mu.Lock()
			col.msgs = append(col.msgs, m)
			col.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Unsubscribe()
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if st := sendFrames(t, natsCfg(srv.port), n); st.Sent != n || st.Dropped != 0 {
			t.Fatalf("stats %+v", st)
		}
		waitUntil(t, 5*time.Second, "every message at the subscriber", func() bool { return len(col.all()) >= n })
		t.Logf("%d messages in %v", n, time.Since(t0))
		msgs := col.all()
		payloads, sensors := make([][]byte, len(msgs)), make([]string, len(msgs))
		for i, m := range msgs {
			payloads[i], sensors[i] = m.Data, strings.TrimPrefix(m.Subject, "ds3d.lidar.")
			if ct := m.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("message %d: Content-Type %q", i, ct)
			}
		}
		if seen := checkFrames(t, payloads, sensors, false); len(seen) != n || len(msgs) != n {
			t.Errorf("%d messages, %d distinct frames, want %d", len(msgs), len(seen), n)
		}
	})

	t.Run("jetstream", func(t *testing.T) {
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		stream, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "DS3D", Subjects: []string{"ds3d.>"},
			Duplicates: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		cfg := natsCfg(srv.port)
		cfg.Schema = "ds3d_protobuf"
		cfg.NATS.JetStream, cfg.NATS.Stream = true, "DS3D"
		for round := range 2 {
			if st := sendFrames(t, cfg, n); st.Sent != n || st.Dropped != 0 {
				t.Fatalf("round %d: stats %+v", round, st)
			}
		}
		info, err := stream.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != n {
			t.Errorf("the stream holds %d messages after sending %d frames twice, want %d", info.State.Msgs, n, n)
		}
		cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
		if err != nil {
			t.Fatal(err)
		}
		batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var payloads [][]byte
		var sensors []string
		ids := map[string]bool{}
		for m := range batch.Messages() {
			payloads = append(payloads, m.Data())
			sensors = append(sensors, strings.TrimPrefix(m.Subject(), "ds3d.lidar."))
			id := m.Headers().Get(jetstream.MsgIDHeader)
			if id == "" || ids[id] || m.Headers().Get("Content-Type") != "application/x-protobuf" {
				t.Errorf("message %d: Nats-Msg-Id %q (repeated: %v), Content-Type %q", len(payloads), id, ids[id], m.Headers().Get("Content-Type"))
			}
			ids[id] = true
		}
		if seen := checkFrames(t, payloads, sensors, true); len(seen) != n || len(payloads) != n {
			t.Errorf("%d messages, %d distinct frames, want %d", len(payloads), len(seen), n)
		}
	})
}

// TestE2ENATSRefused: a wrong password, a wrong token, a server certificate
// from another CA, a server without JetStream and a missing stream each
// fail Start with an error naming the server and the cause; the right
// login (password or token from a file) and mutual TLS with the test CA
// send.
func TestE2ENATSRefused(t *testing.T) {
	testenv.E2E(t)
	dir := t.TempDir()
	file := func(name, s string) ds3d.Path {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return ds3d.Path(p)
	}
	right, wrong := file("right", "s3cret"), file("wrong", "guess")
	refused := func(t *testing.T, cfg *Config, want ...string) {
		t.Helper()
		s, err := New(cfg, nil)
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
	sends := func(t *testing.T, cfg *Config) {
		t.Helper()
		if st := sendFrames(t, cfg, 3); st.Sent != 3 {
			t.Errorf("stats %+v, want 3 sent", st)
		}
	}
	t.Run("password", func(t *testing.T) {
		srv := natsServer(t, `authorization { user: ds3d, password: s3cret }`)
		cfg := natsCfg(srv.port)
		cfg.NATS.Username, cfg.NATS.PasswordFile = "ds3d", wrong
		refused(t, cfg, fmt.Sprintf("nats://127.0.0.1:%d", srv.port), `as user "ds3d"`, "login refused", "Authorization Violation")
		cfg.NATS.PasswordFile = right
		sends(t, cfg)
	})
	t.Run("token", func(t *testing.T) {
		srv := natsServer(t, `authorization { token: s3cret }`)
		cfg := natsCfg(srv.port)
		cfg.NATS.TokenFile = wrong
		refused(t, cfg, "with a token", "login refused")
		cfg.NATS.TokenFile = right
		sends(t, cfg)
	})
	t.Run("tls", func(t *testing.T) {
		good, other := writePKI(t), writePKI(t)
		srv := natsServer(t, fmt.Sprintf("tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true }",
			good.path("server.pem"), good.path("server.key"), good.path("ca.pem")))
		cfg := natsCfg(srv.port)
		cfg.NATS.Servers = []string{fmt.Sprintf("tls://127.0.0.1:%d", srv.port)}
		cfg.NATS.TLS = TLSConfig{CAFile: ds3d.Path(other.path("ca.pem")), CertFile: ds3d.Path(good.path("client.pem")),
			KeyFile: ds3d.Path(good.path("client.key"))}
		refused(t, cfg, "server certificate rejected")
		cfg.NATS.TLS.CAFile = ds3d.Path(good.path("ca.pem"))
		sends(t, cfg)
	})
	t.Run("jetstream", func(t *testing.T) {
		srv := natsServer(t)
		cfg := natsCfg(srv.port)
		cfg.NATS.JetStream, cfg.NATS.Stream = true, "NOPE"
		refused(t, cfg, `stream "NOPE"`, "stream not found")

		bin := testenv.NATSServer(t)
		port := freePort(t)
		startServer(t, port, bin, "-a", "127.0.0.1", "-p", fmt.Sprint(port)) // no -js
		cfg = natsCfg(port)
		cfg.NATS.JetStream = true
		refused(t, cfg, "jetstream not enabled")
	})
}

// TestE2ENATSRestart kills nats-server (SIGKILL) mid-run and starts it
// again on the same port and store (sync_interval: always, so an
// acknowledged message is on disk): with JetStream every frame is in the
// stream at least once, with nothing dropped.
func TestE2ENATSRestart(t *testing.T) {
	testenv.E2E(t)
	port, store := freePort(t), t.TempDir()
	srv := natsServerOn(t, port, store, ", sync_interval: always")
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	{
		nc := natsConnect(t, url)
		js, _ := jetstream.New(nc)
		if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "DS3D", Subjects: []string{"ds3d.>"},
			Storage: jetstream.FileStorage}); err != nil {
			t.Fatal(err)
		}
		nc.Close()
	}
	const frames, rate = 200, 50.0
	r := startTestSource(t, frames, rate, fmt.Sprintf(`protocol = "nats"
topic = "ds3d.{sensor}"
queue_length = 500
reconnect_min = "50ms"
reconnect_max = "400ms"
[component.config.nats]
servers = ["nats://127.0.0.1:%d"]
jetstream = true
stream = "DS3D"`, port))
	restartTiming(t, r, frames, rate, func() {
		srv.stop(syscall.SIGKILL)
		time.Sleep(time.Second)
		srv.start()
	})
	st := r.sink.Stats()
	if st.Reconnects < 1 || st.Dropped != 0 || st.Sent != frames {
		t.Fatalf("stats %+v: want a reconnect, %d sent, nothing dropped", st, frames)
	}
	nc := natsConnect(t, url)
	js, _ := jetstream.New(nc)
	stream, err := js.Stream(context.Background(), "DS3D")
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := stream.Info(context.Background())
	batch, err := cons.Fetch(int(info.State.Msgs), jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var payloads [][]byte
	for m := range batch.Messages() {
		payloads = append(payloads, m.Data())
	}
	got, dups := framesOf(t, payloads)
	if len(got) != frames {
		t.Errorf("the stream holds %d distinct frames, want %d", len(got), frames)
	}
	t.Logf("%d frames in %v: %+v; %d messages in the stream, %d duplicates", frames, r.elapsed, st, len(payloads), dups)
}

// TestE2ENATSThroughput: 20,000 messages to nats-server on loopback, core
// (a flush round trip settles the window) and JetStream (one stream
// acknowledgement per message, 256 awaited at once).
func TestE2ENATSThroughput(t *testing.T) {
	testenv.E2E(t)
	srv := natsServer(t)
	nc := natsConnect(t, fmt.Sprintf("nats://127.0.0.1:%d", srv.port))
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "DS3D", Subjects: []string{"ds3d.>"}}); err != nil {
		t.Fatal(err)
	}
	for _, jsOn := range []bool{false, true} {
		cfg := natsCfg(srv.port)
		cfg.NATS.JetStream = jsOn
		measureThroughput(t, cfg, 20000)
	}
}

// TestE2ENATSCreds: a server in operator mode (an operator, an account and
// a user JWT made by the test with nats-io/jwt and nkeys, the account
// preloaded in a memory resolver). The user's credentials file sends; a
// credentials file of a user signed by an account the server does not
// know fails Start with the login refused.
func TestE2ENATSCreds(t *testing.T) {
	testenv.E2E(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	op, err := nkeys.CreateOperator()
	must(err)
	opPub, _ := op.PublicKey()
	opJWT, err := jwt.NewOperatorClaims(opPub).Encode(op)
	must(err)
	account := func() (nkeys.KeyPair, string, string) {
		kp, err := nkeys.CreateAccount()
		must(err)
		pub, _ := kp.PublicKey()
		j, err := jwt.NewAccountClaims(pub).Encode(op)
		must(err)
		return kp, pub, j
	}
	dir := t.TempDir()
	credsOf := func(name string, acc nkeys.KeyPair) ds3d.Path {
		kp, err := nkeys.CreateUser()
		must(err)
		pub, _ := kp.PublicKey()
		uj, err := jwt.NewUserClaims(pub).Encode(acc)
		must(err)
		seed, _ := kp.Seed()
		creds, err := jwt.FormatUserConfig(uj, seed)
		must(err)
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, creds, 0o600))
		return ds3d.Path(p)
	}
	acc, accPub, accJWT := account()
	stranger, _, _ := account()    // not preloaded: the server does not know it
	_, sysPub, sysJWT := account() // JetStream in operator mode needs a system account
	srv := natsServer(t, fmt.Sprintf("operator: %q", opJWT), "resolver: MEMORY", "system_account: "+sysPub,
		fmt.Sprintf("resolver_preload: { %s: %q, %s: %q }", accPub, accJWT, sysPub, sysJWT))

	cfg := natsCfg(srv.port)
	cfg.NATS.CredsFile = credsOf("stranger.creds", stranger)
	s, err := New(cfg, nil)
	must(err)
	err = s.Start(context.Background())
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded with the credentials of an unknown account")
	}
	if !strings.Contains(err.Error(), "with credentials") || !strings.Contains(err.Error(), "login refused") {
		t.Errorf("error %q does not say the credentials were refused", err)
	}
	t.Logf("unknown account: %v", err)
	cfg.NATS.CredsFile = credsOf("ds3d.creds", acc)
	if st := sendFrames(t, cfg, 3); st.Sent != 3 {
		t.Errorf("stats %+v, want 3 sent", st)
	}
}
