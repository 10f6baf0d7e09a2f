//go:build linux

package msgbroker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// amqpPublish publishes one message to amq.topic on a connection of its
// own (the broker may have closed the last one).
func amqpPublish(t *testing.T, url, key, body string) error {
	t.Helper()
	c, err := amqp.Dial(url)
	if err != nil {
		return err
	}
	defer c.Close()
	ch, err := c.Channel()
	if err != nil {
		return err
	}
	if err := ch.Confirm(false); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, "amq.topic", key, false, false, amqp.Publishing{Body: []byte(body)})
	if err != nil {
		return err
	}
	if ok, err := dc.WaitContext(ctx); err != nil || !ok {
		return fmt.Errorf("not confirmed: %v", err)
	}
	return nil
}

// TestE2ECommandsAMQP runs against one rabbitmq-server: the command
// scenario of runCommands (commands published to amq.topic with routing
// key ds3d.roadside-7.commands, the source bound with ds3d.*.commands,
// replies read from a queue bound to the reply key); a wrong password and a
// missing exchange fail Start; after the broker closed every connection
// (rabbitmqctl close_all_connections) the source reconnects with backoff,
// binds a new queue and applies the next command.
func TestE2ECommandsAMQP(t *testing.T) {
	testenv.E2E(t)
	t0 := time.Now()
	r := startRabbit(t, nil)
	t.Logf("rabbitmq-server up in %v", time.Since(t0))
	r.rabbitmqctl("add_user", "ds3d", "s3cret")
	r.rabbitmqctl("set_permissions", "-p", "/", "ds3d", ".*", ".*", ".*")
	dir := t.TempDir()
	right, wrong := filepath.Join(dir, "right"), filepath.Join(dir, "wrong")
	os.WriteFile(right, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	url := r.url("ds3d", "s3cret")

	t.Run("scenario", func(t *testing.T) {
		amqpQueue(t, url, "ds3d-replies", "ds3d.replies")
		var mu sync.Mutex
		var replies []Reply
		runCommands(t, "amqp", commandBroker{
			keys: fmt.Sprintf("protocol = \"amqp\"\ntopic = \"ds3d.*.commands\"\nreply_topic = \"ds3d.replies\"\n"+
				"amqp = { addr = \"127.0.0.1:%d\", username = \"ds3d\", password_file = %q }", r.port, right),
			send: func(t *testing.T, body string) {
				if err := amqpPublish(t, url, "ds3d.roadside-7.commands", body); err != nil {
					t.Fatal(err)
				}
			},
			replies: func() []Reply {
				mu.Lock()
				defer mu.Unlock()
				for _, d := range amqpDrain(t, url, "ds3d-replies") {
					var rep Reply
					if err := json.Unmarshal(d.Body, &rep); err != nil {
						t.Errorf("reply %q: %v", d.Body, err)
					}
					if d.ContentType != "application/json" {
						t.Errorf("reply content type %q", d.ContentType)
					}
					replies = append(replies, rep)
				}
				return append([]Reply(nil), replies...)
			},
		})
	})

	g := startCounting(t)
	delay := func() time.Duration { return g.Config("sink").(*builtin.CountConfig).Delay }
	cfg := func(pw string) *SourceConfig {
		c := DefaultSourceConfig()
		c.Protocol, c.Topic = "amqp", "ds3d.commands"
		c.AMQP.Addr, c.AMQP.Username, c.AMQP.PasswordFile = fmt.Sprintf("127.0.0.1:%d", r.port), "ds3d", ds3d.Path(pw)
		c.BackoffMin, c.BackoffMax = 50*time.Millisecond, 400*time.Millisecond
		if err := ds3d.CheckConfig(c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Run("refused", func(t *testing.T) {
		wrongExchange := cfg(right)
		wrongExchange.AMQP.Exchange = "nope"
		for _, tc := range []struct {
			cfg  *SourceConfig
			want []string
		}{
			{cfg(wrong), []string{fmt.Sprintf("amqp://127.0.0.1:%d/", r.port), `as user "ds3d"`, "login refused"}},
			{wrongExchange, []string{`exchange "nope"`, "NOT_FOUND"}},
		} {
			s, err := NewSource(tc.cfg, g, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Start(context.Background())
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			t.Log(err)
		}
	})
	t.Run("connections closed", func(t *testing.T) {
		s, err := NewSource(cfg(right), g, slog.New(slog.NewTextHandler(tlog{t}, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		set := func(id string, d time.Duration) {
			if err := amqpPublish(t, url, "ds3d.commands", fmt.Sprintf(`{"version":1,"id":%q,"command":"set","component":"sink","config":{"delay":%q}}`, id, d)); err != nil {
				t.Fatal(err)
			}
		}
		set("c1", time.Millisecond)
		waitUntil(t, 10*time.Second, "the first command applied", func() bool { return delay() == time.Millisecond })
		if err := amqpPublish(t, url, "ds3d.commands", `{"version":1,"id":"x","command":"reboot","component":"sink"}`); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, 10*time.Second, "the bad command refused", func() bool { return s.Stats().Refused == 1 })
		r.rabbitmqctl("close_all_connections", "ds3d e2e")
		// The new queue is bound some time after the close: the command is
		// sent again until it arrives, as a cloud that reads no reply would.
		t0 := time.Now()
		n := 0
		for delay() != 2*time.Millisecond {
			if time.Since(t0) > 20*time.Second {
				t.Fatalf("no command applied within 20 s of the close (%d sent; %+v)", n, s.Stats())
			}
			n++
			set(fmt.Sprintf("c2-%d", n), 2*time.Millisecond)
			time.Sleep(200 * time.Millisecond)
		}
		st := s.Stats()
		if st.Applied < 2 || st.Refused != 1 {
			t.Errorf("stats %+v", st)
		}
		t.Logf("after the close a command was applied within %v (%d sent); %+v", time.Since(t0).Round(time.Millisecond), n, st)
	})
}
