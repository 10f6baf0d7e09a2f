//go:build linux

package msgbroker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
)

// kafkaCloud is the cloud's side of the command tests on Kafka: a producer
// of commands and a consumer of the replies, both plain franz-go clients.
type kafkaCloud struct {
	prod, cons *kgo.Client
	mu         sync.Mutex
	replies    []Reply
	done       chan struct{}
	cancel     context.CancelFunc
}

func newKafkaCloud(t *testing.T, addrs []string, replyTopic string, opts ...kgo.Opt) *kafkaCloud {
	t.Helper()
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.AllowAutoTopicCreation(),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c := &kafkaCloud{prod: prod, done: make(chan struct{})}
	if replyTopic != "" {
		c.cons, err = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...), kgo.AllowAutoTopicCreation(),
			kgo.ConsumeTopics(replyTopic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	go func() {
		defer close(c.done)
		if c.cons == nil {
			return
		}
		for ctx.Err() == nil {
			fs := c.cons.PollFetches(ctx)
			fs.EachRecord(func(r *kgo.Record) {
				var rep Reply
				if err := json.Unmarshal(r.Value, &rep); err != nil {
					t.Errorf("reply %q: %v", r.Value, err)
				}
				c.mu.Lock()
				c.replies = append(c.replies, rep)
				c.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
		if c.cons != nil {
			c.cons.Close()
		}
		prod.Close()
	})
	return c
}

func (c *kafkaCloud) send(t *testing.T, topic, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.prod.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(body)}).FirstErr(); err != nil {
		t.Fatalf("producing a command: %v", err)
	}
}

func (c *kafkaCloud) all() []Reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Reply(nil), c.replies...)
}

// TestKafkaCommands runs the command scenario of runCommands (malformed
// and unknown commands refused and answered, set, swap_model, a refused
// swap, a repeat applied once, record_start) over an in-process kfake
// cluster of 3 brokers, commands produced and replies consumed by plain
// franz-go clients. A command produced before the source started is not
// applied.
func TestKafkaCommands(t *testing.T) {
	c := kafkaCluster(t, kfake.NumBrokers(3))
	addrs := c.ListenAddrs()
	cloud := newKafkaCloud(t, addrs, "ds3d.replies")
	// Before the device starts: not applied (the crop would empty every
	// frame from the first on, which runCommands would see).
	cloud.send(t, "ds3d.commands", `{"version":1,"id":"stale","command":"set","component":"crop","config":{"x_range":[100.0, 200.0]}}`)
	time.Sleep(5 * time.Millisecond) // the next millisecond: the source starts after the stale record's timestamp
	brokers, _ := json.Marshal(addrs)
	runCommands(t, "kafka", commandBroker{
		keys: fmt.Sprintf("protocol = \"kafka\"\ntopic = \"ds3d.commands\"\nreply_topic = \"ds3d.replies\"\nkafka = { brokers = %s }", brokers),
		send: func(t *testing.T, body string) { cloud.send(t, "ds3d.commands", body) },
		replies: func() []Reply {
			var out []Reply
			for _, r := range cloud.all() {
				if r.ID != "stale" {
					out = append(out, r)
				}
			}
			return out
		},
	})
	for _, r := range cloud.all() {
		if r.ID == "stale" {
			t.Errorf("the command produced before the start was applied: %+v", r)
		}
	}
}

// TestKafkaCommandsRestart: the kfake cluster is closed and started again
// on the same port and data folder; the source's client reconnects by
// itself (reconnect_min doubling to reconnect_max), keeps its position and
// applies a command produced after the restart; a malformed command is
// refused and the source goes on. A wrong SASL password fails Start with an error naming the
// brokers and the user.
func TestKafkaCommandsRestart(t *testing.T) {
	g := startCounting(t)
	delay := func() time.Duration { return g.Config("sink").(*builtin.CountConfig).Delay }
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)

	t.Run("wrong password", func(t *testing.T) {
		c := kafkaCluster(t, kfake.EnableSASL(), kfake.Superuser("PLAIN", "ds3d", "s3cret"))
		// kfake closes the connection on a failed login; Kafka answers
		// SASL_AUTHENTICATION_FAILED (KIP-152), as this control does.
		c.ControlKey(int16(kmsg.SASLAuthenticate), func(kr kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			req := kr.(*kmsg.SASLAuthenticateRequest)
			if f := bytes.Split(req.SASLAuthBytes, []byte{0}); len(f) == 3 && string(f[1]) == "ds3d" && string(f[2]) == "s3cret" {
				return nil, nil, false
			}
			resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
			resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
			return resp, nil, true
		})
		cfg := DefaultSourceConfig()
		cfg.Protocol, cfg.Topic = "kafka", "ds3d.commands"
		cfg.Kafka.Brokers, cfg.Kafka.SASL, cfg.Kafka.Username, cfg.Kafka.PasswordFile = c.ListenAddrs(), "plain", "ds3d", ds3d.Path(wrong)
		if err := ds3d.CheckConfig(cfg); err != nil {
			t.Fatal(err)
		}
		s, err := NewSource(cfg, g, nil)
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
		cfg.Kafka.PasswordFile = ds3d.Path(right)
		if s, err = NewSource(cfg, g, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatalf("the right password: %v", err)
		}
		s.Close()
	})

	t.Run("restart", func(t *testing.T) {
		c := kafkaCluster(t)
		addr := c.ListenAddrs()[0]
		_, portStr, _ := strings.Cut(addr, ":")
		port, _ := strconv.Atoi(portStr)
		data := t.TempDir()
		c.Close()
		c = kafkaCluster(t, kfake.Ports(port), kfake.DataDir(data), kfake.SyncWrites())
		cfg := DefaultSourceConfig()
		cfg.Protocol, cfg.Topic = "kafka", "ds3d.commands"
		cfg.Kafka.Brokers = []string{addr}
		cfg.BackoffMin, cfg.BackoffMax, cfg.Connect = 20*time.Millisecond, 200*time.Millisecond, 2*time.Second
		if err := ds3d.CheckConfig(cfg); err != nil {
			t.Fatal(err)
		}
		s, err := NewSource(cfg, g, slog.New(slog.NewTextHandler(tlog{t}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		cloud := newKafkaCloud(t, []string{addr}, "")
		set := func(id string, d time.Duration) {
			cloud.send(t, "ds3d.commands", fmt.Sprintf(`{"version":1,"id":%q,"command":"set","component":"sink","config":{"delay":%q}}`, id, d))
		}
		set("c1", time.Millisecond)
		waitUntil(t, 10*time.Second, "the first command applied", func() bool { return delay() == time.Millisecond })
		// A malformed command is refused; the source goes on.
		cloud.send(t, "ds3d.commands", `{"version":1,"id":"x","command":"reboot","component":"sink"}`)
		waitUntil(t, 10*time.Second, "the malformed command refused", func() bool { return s.Stats().Refused == 1 })
		c.Close()
		time.Sleep(300 * time.Millisecond)
		kafkaCluster(t, kfake.Ports(port), kfake.DataDir(data), kfake.SyncWrites()) // closed at cleanup
		t0 := time.Now()
		set("c2", 2*time.Millisecond)
		waitUntil(t, 10*time.Second, "the command after the restart applied", func() bool { return delay() == 2*time.Millisecond })
		st := s.Stats()
		if want := (SourceStats{Received: 3, Applied: 2, Refused: 1}); st != want {
			t.Errorf("stats %+v, want %+v", st, want)
		}
		t.Logf("after the restart the command was applied within %v; %+v", time.Since(t0).Round(time.Millisecond), st)
	})
}
