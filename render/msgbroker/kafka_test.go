//go:build linux

package msgbroker

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// kafkaCluster starts franz-go's in-process Kafka (the Kafka wire
// protocol; no Kafka broker can be installed here) on a loopback port.
func kafkaCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// frameBoxes is what frame i of sendFrames carries: i%3+1 boxes whose
// values follow from i alone.
func frameBoxes(i int) []ds3d.Box3D {
	b := make([]ds3d.Box3D, i%3+1)
	for k := range b {
		b[k] = ds3d.Box3D{CX: float32(i) + float32(k)/4, CY: -float32(k), CZ: 0.5, DX: 4, DY: 2, DZ: 1.5,
			Yaw: float32(k) / 8, ClassID: int32(k), Label: "Car", Score: 0.75, TrackID: int64(100*i + k)}
	}
	return b
}

// sendFrames starts a sink, renders n frames alternating between source
// ids 0 and 1, waits until all are sent and closes it.
func sendFrames(t *testing.T, cfg *Config, n int) Stats {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetInt64(ds3d.KeySourceID, int64(i%2))
		m.SetTimestamp(1_700_000_000_000_000_000 + int64(i)*100_000_000)
		m.Set(ds3d.KeyLidar3DBboxRawData, frameBoxes(i))
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Sent < uint64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s.Close()
	return s.Stats()
}

// checkFrames decodes payloads (detection3d JSON, or protobuf) and
// compares each with frameBoxes of its frame number and the sensor id
// with the source the frame came from; it returns the distinct frames.
func checkFrames(t *testing.T, payloads [][]byte, sensors []string, proto bool) map[int64]int {
	t.Helper()
	seen := map[int64]int{}
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
		seen[d.FrameNumber]++
		if want := strconv.FormatInt(d.FrameNumber%2, 10); sensors != nil && sensors[i] != want {
			t.Errorf("payload %d (frame %d): sensor %q, want %q", i, d.FrameNumber, sensors[i], want)
		}
		want := frameBoxes(int(d.FrameNumber))
		if len(d.Boxes) != len(want) {
			t.Errorf("frame %d: %d boxes, want %d", d.FrameNumber, len(d.Boxes), len(want))
			continue
		}
		for k := range want {
			if d.Boxes[k] != want[k] {
				t.Errorf("frame %d box %d: %+v, want %+v", d.FrameNumber, k, d.Boxes[k], want[k])
			}
		}
	}
	return seen
}

// kafkaRecord is one record consumed back.
type kafkaRecord struct {
	topic, key, contentType string
	partition               int32
	offset                  int64
	value                   []byte
}

// consumeKafka reads n records from the topics from their start.
func consumeKafka(t *testing.T, addrs []string, topics []string, n int, opts ...kgo.Opt) []kafkaRecord {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out []kafkaRecord
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%d of %d records consumed in 10 s", len(out), n)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Logf("fetch %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			kr := kafkaRecord{topic: r.Topic, key: string(r.Key), partition: r.Partition, offset: r.Offset, value: r.Value}
			for _, h := range r.Headers {
				if h.Key == "content-type" {
					kr.contentType = string(h.Value)
				}
			}
			out = append(out, kr)
		})
	}
	return out
}

// Records reach a kfake cluster of 3 brokers, one topic per sensor, key =
// sensor id, with the content type header; consumed back they decode to
// the boxes sent, and each sensor's frames are in order (one key, one
// partition). Compressed batches too.
func TestKafkaDelivers(t *testing.T) {
	for _, tc := range []struct {
		schema, compression string
		proto               bool
	}{{"ds3d_json", "none", false}, {"ds3d_protobuf", "zstd", true}, {"ds3d_json", "gzip", false}} {
		t.Run(tc.schema+"/"+tc.compression, func(t *testing.T) {
			c := kafkaCluster(t, kfake.NumBrokers(3), kfake.DefaultNumPartitions(4))
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Topic, cfg.Schema = "kafka", "ds3d.lidar.{sensor}", msgconv.Schema(tc.schema)
			cfg.Kafka.Brokers, cfg.Kafka.Compression = c.ListenAddrs(), tc.compression
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			const n = 60
			t0 := time.Now()
			st := sendFrames(t, cfg, n)
			if st.Sent != n || st.Dropped != 0 || st.Failed != 0 {
				t.Fatalf("stats %+v, want %d sent", st, n)
			}
			recs := consumeKafka(t, c.ListenAddrs(), []string{"ds3d.lidar.0", "ds3d.lidar.1"}, n)
			t.Logf("%d records sent and consumed back in %v", n, time.Since(t0))
			payloads, sensors := make([][]byte, len(recs)), make([]string, len(recs))
			last := map[string]int64{}
			wantCT := "application/json"
			if tc.proto {
				wantCT = "application/x-protobuf"
			}
			for i, r := range recs {
				payloads[i], sensors[i] = r.value, r.key
				if r.topic != "ds3d.lidar."+r.key || r.contentType != wantCT {
					t.Errorf("record %d: topic %s, key %q, content-type %q", i, r.topic, r.key, r.contentType)
				}
			}
			seen := checkFrames(t, payloads, sensors, tc.proto)
			if len(seen) != n || len(recs) != n {
				t.Errorf("%d records, %d distinct frames, want %d", len(recs), len(seen), n)
			}
			// Per key: one partition, frames in order.
			parts := map[string]int32{}
			for i, r := range recs {
				d, _ := decodeAny(payloads[i], tc.proto)
				if p, ok := parts[r.key]; ok && p != r.partition {
					t.Errorf("key %s in partitions %d and %d", r.key, p, r.partition)
				}
				parts[r.key] = r.partition
				if d.FrameNumber < last[r.key] {
					t.Errorf("key %s: frame %d after %d", r.key, d.FrameNumber, last[r.key])
				}
				last[r.key] = d.FrameNumber
			}
		})
	}
}

func decodeAny(p []byte, proto bool) (*msgconv.Detection3D, error) {
	if proto {
		return msgconv.UnmarshalProto(p)
	}
	return msgconv.DecodeJSON(p)
}

// SASL PLAIN and SCRAM-SHA-256/512 against kfake's SASL: the right
// password from a file sends, and the records consumed back with the same
// login decode to the boxes sent. A wrong PLAIN password fails Start with
// an error that names the brokers, the user and the refusal. kfake closes
// the connection on a failed login where Kafka answers
// SASL_AUTHENTICATION_FAILED (error 58, KIP-152) and then closes it, so a
// control function answers wrong PLAIN logins as Kafka does (it checks the
// password itself); a wrong SCRAM proof cannot be told apart without a
// SCRAM server, so SCRAM's refusal is not tested here.
func TestKafkaSASL(t *testing.T) {
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			c := kafkaCluster(t, kfake.EnableSASL(), kfake.Superuser(strings.ToUpper(mech), "ds3d", "s3cret"))
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Topic = "kafka", "ds3d.{sensor}"
			cfg.Kafka.Brokers = c.ListenAddrs()
			cfg.Kafka.SASL, cfg.Kafka.Username = mech, "ds3d"
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if mech == "plain" {
				refused := 0
				c.ControlKey(int16(kmsg.SASLAuthenticate), func(kr kmsg.Request) (kmsg.Response, error, bool) {
					c.KeepControl()
					req := kr.(*kmsg.SASLAuthenticateRequest)
					// PLAIN: authzid NUL user NUL password (RFC 4616).
					f := bytes.Split(req.SASLAuthBytes, []byte{0})
					if len(f) == 3 && string(f[1]) == "ds3d" && string(f[2]) == "s3cret" {
						return nil, nil, false
					}
					refused++
					resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
					resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
					msg := "Authentication failed: Invalid username or password"
					resp.ErrorMessage = &msg
					return resp, nil, true
				})
				cfg.Kafka.PasswordFile = ds3d.Path(wrong)
				s, err := New(cfg, nil)
				if err != nil {
					t.Fatal(err)
				}
				err = s.Start(context.Background())
				if err == nil {
					s.Close()
					t.Fatal("Start succeeded with a wrong password")
				}
				for _, want := range []string{c.ListenAddrs()[0], `as user "ds3d"`, "login refused", "SASL_AUTHENTICATION_FAILED"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if refused == 0 {
					t.Error("no login was refused")
				}
				t.Logf("wrong password: %v", err)
			}
			cfg.Kafka.PasswordFile = ds3d.Path(right)
			if st := sendFrames(t, cfg, 5); st.Sent != 5 {
				t.Fatalf("the right password: %+v", st)
			}
			var opt kgo.Opt
			switch mech {
			case "plain":
				opt = kgo.SASL(plain.Auth{User: "ds3d", Pass: "s3cret"}.AsMechanism())
			case "scram-sha-256":
				opt = kgo.SASL(scram.Auth{User: "ds3d", Pass: "s3cret"}.AsSha256Mechanism())
			default:
				opt = kgo.SASL(scram.Auth{User: "ds3d", Pass: "s3cret"}.AsSha512Mechanism())
			}
			checkFrames(t, values(consumeKafka(t, c.ListenAddrs(), []string{"ds3d.0", "ds3d.1"}, 5, opt)), nil, false)
		})
	}
}

func values(rs []kafkaRecord) [][]byte {
	out := make([][]byte, len(rs))
	for i, r := range rs {
		out[i] = r.value
	}
	return out
}

// Mutual TLS: kfake demands a client certificate signed by the test CA.
// The sink with the CA and the client certificate sends; one that trusts
// another CA fails Start naming the certificate problem.
func TestKafkaTLS(t *testing.T) {
	good, other := writePKI(t), writePKI(t)
	c := kafkaCluster(t, kfake.TLS(good.serverTLS(t, true)))
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Topic = "kafka", "ds3d.{sensor}"
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Kafka.TLS = TLSConfig{CAFile: ds3d.Path(good.path("ca.pem")), CertFile: ds3d.Path(good.path("client.pem")),
		KeyFile: ds3d.Path(good.path("client.key"))}
	if st := sendFrames(t, cfg, 4); st.Sent != 4 {
		t.Fatalf("mutual TLS: %+v", st)
	}
	checkFrames(t, values(consumeKafka(t, c.ListenAddrs(), []string{"ds3d.0", "ds3d.1"}, 4,
		kgo.DialTLSConfig(good.clientTLS(t)))), nil, false)

	cfg.Kafka.TLS.CAFile = ds3d.Path(other.path("ca.pem"))
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Start(context.Background())
	if err == nil {
		s.Close()
		t.Fatal("Start succeeded with another CA")
	}
	if !strings.Contains(err.Error(), "kafka+tls "+c.ListenAddrs()[0]) || !strings.Contains(err.Error(), "server certificate rejected") {
		t.Errorf("another CA: %v", err)
	}
	t.Logf("another CA: %v", err)
}

// The cluster goes away for a while and comes back on the same port: the
// sink reconnects and every frame is in the topic at least once.
func TestKafkaBrokerRestart(t *testing.T) {
	c := kafkaCluster(t)
	addr := c.ListenAddrs()[0]
	_, portStr, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portStr)
	dataDir := t.TempDir()
	c.Close()
	c = kafkaCluster(t, kfake.Ports(port), kfake.DataDir(dataDir), kfake.SyncWrites())

	cfg := DefaultConfig()
	cfg.Protocol, cfg.Topic = "kafka", "ds3d.{sensor}"
	cfg.Kafka.Brokers = []string{addr}
	cfg.SendTO, cfg.Connect = 700*time.Millisecond, 2*time.Second
	cfg.BackoffMin, cfg.BackoffMax = 20*time.Millisecond, 200*time.Millisecond
	s, err := New(cfg, slog.New(slog.NewTextHandler(tlog{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const n = 40
	render := func(i int) {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		m.SetInt64(ds3d.KeySourceID, int64(i%2))
		m.SetTimestamp(1_700_000_000_000_000_000 + int64(i)*100_000_000)
		m.Set(ds3d.KeyLidar3DBboxRawData, frameBoxes(i))
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		m.Release()
	}
	for i := range n / 2 {
		render(i)
	}
	waitUntil(t, 20*time.Second, "the first half sent", func() bool { return s.Stats().Sent == n/2 })
	c.Close()
	for i := n / 2; i < n; i++ {
		render(i)
	}
	time.Sleep(300 * time.Millisecond)
	c = kafkaCluster(t, kfake.Ports(port), kfake.DataDir(dataDir), kfake.SyncWrites())
	waitUntil(t, 20*time.Second, "every frame sent", func() bool { return s.Stats().Sent == n })
	s.Close()
	st := s.Stats()
	if st.Dropped != 0 || st.Reconnects < 1 {
		t.Errorf("stats %+v: want a reconnect and nothing dropped", st)
	}
	recs := consumeKafka(t, c.ListenAddrs(), []string{"ds3d.0", "ds3d.1"}, n)
	seen := checkFrames(t, values(recs), nil, false)
	if len(seen) != n {
		t.Errorf("%d distinct frames in the topics, want %d", len(seen), n)
	}
	t.Logf("%+v; %d records for %d frames", st, len(recs), len(seen))
}

// Topic names: the template must be a legal Kafka topic; a sensor id's
// illegal characters become _.
func TestKafkaConfigAndTopics(t *testing.T) {
	for _, tc := range []struct{ keys, want string }{
		{"protocol = \"kafka\"", "a Kafka topic"}, // the default topic has a /
		{"protocol = \"kafka\"\ntopic = \"ds3d.{sensor}\"\n[component.config.kafka]\nacks = \"leader\"", "needs acks"},
		{"protocol = \"kafka\"\ntopic = \"ds3d.{sensor}\"\n[component.config.kafka]\nsasl_mechanism = \"plain\"", "a SASL login needs both"},
		{"protocol = \"kafka\"\ntopic = \"ds3d.{sensor}\"\n[component.config.kafka]\nbrokers = [\"localhost\"]", "want host:port"},
		{"protocol = \"kafka\"\ntopic = \"ds3d.{sensor}\"\n[component.config.kafka]\nsasl_mechanism = \"oauth\"", "oauth"},
	} {
		err := parse(t, tc.keys)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v, want an error saying %q", tc.keys, err, tc.want)
		}
	}
	if err := parse(t, "protocol = \"kafka\"\ntopic = \"ds3d.{sensor}\"\n[component.config.kafka]\nacks = \"leader\"\nidempotent = false"); err != nil {
		t.Errorf("acks = leader without idempotence: %v", err)
	}
	for in, want := range map[string]string{"ds3d.front-left_0": "ds3d.front-left_0", "ds3d.cam 1/a": "ds3d.cam_1_a",
		"ds3d.é": "ds3d._", strings.Repeat("x", 300): strings.Repeat("x", 249)} {
		if got := kafkaTopic(in); got != want {
			t.Errorf("kafkaTopic(%q) = %q, want %q", in, got, want)
		}
	}
}

// tlog writes a sink's log lines to the test's log.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// measureThroughput sends n one-box detection3d JSON messages through a
// sink and logs messages/s (Render to the last acknowledgement); it checks
// only the counts.
func measureThroughput(t *testing.T, cfg *Config, n int) float64 {
	t.Helper()
	cfg.QueueLen = n
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m := boxesMap(0, 1)
	defer m.Release()
	t0 := time.Now()
	for i := range n {
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, time.Minute, "every message sent", func() bool { return s.Stats().Sent == uint64(n) })
	d := time.Since(t0)
	if st := s.Stats(); st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
	rate := float64(n) / d.Seconds()
	t.Logf("%s: %d messages in %v: %.0f messages/s", s.ad.String(), n, d, rate)
	return rate
}

// TestE2EKafkaThroughput: 20,000 messages to kfake (in-process, so the
// figure is the client's and kfake's together), acks=all, idempotent.
func TestE2EKafkaThroughput(t *testing.T) {
	testenv.E2E(t)
	c := kafkaCluster(t)
	cfg := DefaultConfig()
	cfg.Protocol, cfg.Topic = "kafka", "ds3d.{sensor}"
	cfg.Kafka.Brokers = c.ListenAddrs()
	measureThroughput(t, cfg, 20000)
}

// framesOf decodes detection3d JSON payloads (test_source's frames carry
// no boxes) and returns the distinct frame numbers and the count of
// repeats.
func framesOf(t *testing.T, payloads [][]byte) (map[int64]bool, int) {
	t.Helper()
	seen, dups := map[int64]bool{}, 0
	for i, p := range payloads {
		d, err := msgconv.DecodeJSON(p)
		if err != nil {
			t.Fatalf("payload %d: %v", i, err)
		}
		if seen[d.FrameNumber] {
			dups++
		}
		seen[d.FrameNumber] = true
	}
	return seen, dups
}

// A broker nobody listens for (Kafka, AMQP, NATS): Start does not fail
// (the broker may come up later), the log names the broker and says it
// cannot connect, and Close counts the queued message as dropped.
func TestAdaptersBrokerDown(t *testing.T) {
	for _, proto := range []string{"kafka", "amqp", "nats"} {
		t.Run(proto, func(t *testing.T) {
			addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
			cfg := DefaultConfig()
			cfg.Protocol, cfg.Topic = proto, "ds3d.{sensor}"
			cfg.Kafka.Brokers, cfg.AMQP.Addr, cfg.NATS.Servers = []string{addr}, addr, []string{"nats://" + addr}
			cfg.Connect, cfg.CloseTO = 300*time.Millisecond, 0
			var logs strings.Builder
			var mu sync.Mutex
			s, err := New(cfg, slog.New(slog.NewTextHandler(&lockedWriter{mu: &mu, w: &logs}, nil)))
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
			mu.Lock()
			out := logs.String()
			mu.Unlock()
			if !strings.Contains(out, "cannot connect to the broker") || !strings.Contains(out, addr) {
				t.Errorf("the log does not say the broker %s cannot be reached:\n%s", addr, out)
			}
		})
	}
}
