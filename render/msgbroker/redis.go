package msgbroker

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// redisAdapter appends each message to a stream with XADD. go-redis's own
// retries are off: the sender owns retrying, as for every protocol.
type redisAdapter struct {
	cfg    *Config
	opts   *redis.Options
	name   string
	client *redis.Client
	tls    *tls.Config // nil: plain TCP
	args   redis.XAddArgs
	values [6]any
}

func newRedis(cfg *Config) (*redisAdapter, error) {
	c := &cfg.Redis
	pw, err := readPassword("redis.password_file", c.PasswordFile)
	if err != nil {
		return nil, err
	}
	o := &redis.Options{
		Addr: c.Addr, Username: c.Username, Password: pw, DB: c.DB,
		DialTimeout: cfg.Connect, ReadTimeout: cfg.SendTO, WriteTimeout: cfg.SendTO,
		ContextTimeoutEnabled: true, MaxRetries: -1, DialerRetries: 1, PoolSize: 1,
		// RESP2, no client-name or maintenance handshakes: the commands a
		// plain or older server (or a proxy) knows.
		Protocol: 2, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	name := "redis " + c.Addr
	if c.Username != "" {
		name += fmt.Sprintf(" as user %q", c.Username)
	}
	a := &redisAdapter{cfg: cfg, opts: o}
	if c.TLS.On() {
		tc, err := c.TLS.Config(hostOf(c.Addr))
		if err != nil {
			return nil, fmt.Errorf("redis.%w", err)
		}
		a.tls = tc
		name = "redis+tls " + name[len("redis "):]
	}
	a.name = name
	a.args = redis.XAddArgs{MaxLen: c.StreamMaxLen, Approx: c.StreamMaxLen > 0}
	return a, nil
}

func (a *redisAdapter) String() string { return a.name }

// dial opens a TCP (and TLS) connection to the server.
func (a *redisAdapter) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", a.cfg.Redis.Addr)
	if err != nil || a.tls == nil {
		return c, err
	}
	return tls.Client(c, a.tls), nil
}

// connect dials first and hands the connection to a new client: a server
// that is down then fails here, never inside go-redis's pool, which after
// a failed dial probes the server from a goroutine of its own that
// outlives Close by up to a second.
func (a *redisAdapter) connect(ctx context.Context) error {
	a.close()
	conn, err := a.dial(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	var mu sync.Mutex
	o := *a.opts
	o.Dialer = func(ctx context.Context, _, _ string) (net.Conn, error) {
		mu.Lock()
		c := conn
		conn = nil
		mu.Unlock()
		if c != nil {
			return c, nil
		}
		return a.dial(ctx)
	}
	a.client = redis.NewClient(&o)
	if err := a.client.Ping(ctx).Err(); err != nil {
		msg := err.Error()
		switch {
		case strings.HasPrefix(msg, "WRONGPASS") || strings.HasPrefix(msg, "NOAUTH") || strings.HasPrefix(msg, "NOPERM"):
			return &authError{fmt.Errorf("%s: login refused: %w", a.name, err)}
		case badCert(err):
			return &authError{fmt.Errorf("%s: server certificate rejected: %w", a.name, err)}
		}
		return fmt.Errorf("%s: %w", a.name, err)
	}
	return nil
}

// publish sends the XADD and waits for its reply: one at a time.
func (a *redisAdapter) publish(ctx context.Context, m *message) func(context.Context) error {
	sctx, cancel := context.WithTimeout(ctx, a.cfg.SendTO)
	err := a.send(sctx, m)
	cancel()
	return func(context.Context) error { return err }
}

func (a *redisAdapter) window() int { return 1 }

func (a *redisAdapter) send(ctx context.Context, m *message) error {
	ct := "application/json"
	if m.proto {
		ct = "application/x-protobuf"
	}
	a.values = [6]any{"payload", m.buf, "sensor_id", m.sensor, "content_type", ct}
	a.args.Stream = m.topic
	a.args.Values = a.values[:]
	return a.client.XAdd(ctx, &a.args).Err()
}

func (a *redisAdapter) close() {
	if a.client != nil {
		_ = a.client.Close()
		a.client = nil
	}
}
