package msgbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// validateNATSSource checks the [nats] table as msgbroker_source uses it:
// the sink's connection keys, a subscription subject (wildcards allowed)
// and a reply subject (none).
func validateNATSSource(c *SourceConfig) error {
	if c.NATS.JetStream || c.NATS.Stream != "" {
		return ds3d.ConfigErrorf("nats.jetstream", "msgbroker_source subscribes with core NATS; jetstream and stream are for the msgbroker sink")
	}
	if err := c.NATS.validate(c.ReplyTopic); err != nil {
		return err
	}
	t := c.Topic
	if strings.ContainsAny(t, " \t\r\n") || strings.HasPrefix(t, ".") || strings.HasSuffix(t, ".") || strings.Contains(t, "..") {
		return ds3d.ConfigErrorf("topic", "%q: a NATS subject is dot-separated tokens, none empty, without white space", t)
	}
	return nil
}

// natsSub is a core NATS subscription on nats.go, whose own reconnection
// (unbounded, backoff from reconnect_min to reconnect_max) keeps it: the
// client subscribes again after each reconnect. Core NATS keeps nothing for
// a subscriber that is away, so a command sent while the connection is
// down is lost; a sender that must know sends a request and reads the
// reply.
type natsSub struct {
	cfg  *SourceConfig
	log  *slog.Logger
	name string
	url  string
	opts []nats.Option
	nc   *nats.Conn
	sub  *nats.Subscription
}

func newNATSSub(cfg *SourceConfig, log *slog.Logger) (*natsSub, error) {
	// The sink's adapter builds the same connection options: servers,
	// name, user, token, credentials and TLS.
	a, err := newNATS(&Config{NATS: cfg.NATS, Connect: cfg.Connect, SendTO: cfg.Connect})
	if err != nil {
		return nil, err
	}
	name := a.name
	opts := append(a.opts[:len(a.opts):len(a.opts)],
		// The sink turns the client's reconnection off; a subscription
		// lives on it.
		func(o *nats.Options) error { o.AllowReconnect = true; return nil },
		nats.MaxReconnects(-1),
		nats.CustomReconnectDelay(func(attempts int) time.Duration {
			return min(cfg.BackoffMin<<min(attempts, 30), cfg.BackoffMax)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("command broker connection lost; reconnecting", "broker", name, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("reconnected to the command broker", "broker", name) }),
	)
	return &natsSub{cfg: cfg, log: log, name: name, url: a.url, opts: opts}, nil
}

func (s *natsSub) String() string { return s.name }

func (s *natsSub) start(deliver func([]byte, string)) error {
	nc, err := nats.Connect(s.url, s.opts...)
	if err != nil {
		switch {
		case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
			errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired):
			return &authError{fmt.Errorf("%s: login refused: %w", s.name, err)}
		case badCert(err):
			return &authError{fmt.Errorf("%s: server certificate rejected: %w", s.name, err)}
		}
		s.log.Warn("command broker not reachable yet; retrying in the background", "broker", s.name, "err", err)
		// The client keeps trying and subscribes once connected.
		if nc, err = nats.Connect(s.url, append(s.opts, nats.RetryOnFailedConnect(true))...); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	sub, err := nc.Subscribe(s.cfg.Topic, func(m *nats.Msg) { deliver(m.Data, m.Reply) })
	if err != nil {
		nc.Close()
		return fmt.Errorf("%s: subscribe %s: %w", s.name, s.cfg.Topic, err)
	}
	if nc.IsConnected() {
		// The server has the subscription once a flush returned: commands
		// sent from now on arrive.
		if err := nc.FlushTimeout(s.cfg.Connect); err != nil {
			s.log.Warn("command subscription not confirmed yet", "broker", s.name, "err", err)
		}
	}
	s.nc, s.sub = nc, sub
	return nil
}

func (s *natsSub) reply(ctx context.Context, topic string, body []byte) error {
	if err := s.nc.Publish(topic, body); err != nil {
		return err
	}
	return s.nc.FlushWithContext(ctx)
}

func (s *natsSub) close() {
	if s.nc == nil {
		return
	}
	_ = s.sub.Unsubscribe()
	s.nc.Close()
}
