package msgbroker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// AMQPConfig is the connection to an AMQP 0-9-1 broker (RabbitMQ).
type AMQPConfig struct {
	Addr         string    `toml:"addr" nonempty:"true" doc:"broker host:port (5672 plain, 5671 for TLS by convention)"`
	Vhost        string    `toml:"vhost" nonempty:"true" doc:"virtual host"`
	Exchange     string    `toml:"exchange" doc:"exchange the messages go to, with the topic as routing key; it must exist (checked at connect); empty: the default exchange, which routes to the queue named by the routing key"`
	Persistent   bool      `toml:"persistent" doc:"delivery mode 2: a durable queue keeps the message across a broker restart, and the broker confirms it once it is on disk; off: mode 1, kept in memory"`
	MaxInFlight  int       `toml:"max_inflight" min:"1" doc:"messages published before the oldest is confirmed; all of them are sent again after a failure"`
	Username     string    `toml:"username" doc:"user name of the PLAIN login; empty: guest with password guest (RabbitMQ lets guest in from loopback only)"`
	PasswordFile ds3d.Path `toml:"password_file" path:"exists" doc:"file holding the password (its first line); a password is never written in the config itself"`
	TLS          TLSConfig `toml:"tls" doc:"TLS settings (amqps; tls.enabled or any TLS file turns it on)"`
}

func (c *AMQPConfig) validate(topic string) error {
	if k := strings.LastIndexByte(c.Addr, ':'); k <= 0 || k == len(c.Addr)-1 {
		return ds3d.ConfigErrorf("amqp.addr", "%q: want host:port", c.Addr)
	}
	if c.PasswordFile != "" && c.Username == "" {
		return ds3d.ConfigErrorf("amqp.password_file", "a password needs amqp.username")
	}
	if t := strings.ReplaceAll(topic, "{sensor}", "0"); len(t) > 255 {
		return ds3d.ConfigErrorf("topic", "%d bytes: an AMQP routing key has at most 255", len(t))
	}
	return c.TLS.Validate("amqp.")
}

// amqpAdapter publishes with amqp091-go on one channel in confirm mode.
// The library's connection recovery is off: the sender owns reconnecting.
type amqpAdapter struct {
	cfg  *Config
	name string
	auth []amqp.Authentication
	tls  *tls.Config // nil: plain TCP
	raw  net.Conn    // the TCP connection under conn, for write deadlines
	conn *amqp.Connection
	ch   *amqp.Channel
	mode uint8
	ct   [2]string
}

func newAMQP(cfg *Config) (*amqpAdapter, error) {
	c := &cfg.AMQP
	user, pw := "guest", "guest"
	if c.Username != "" {
		p, err := readPassword("amqp.password_file", c.PasswordFile)
		if err != nil {
			return nil, err
		}
		user, pw = c.Username, p
	}
	a := &amqpAdapter{cfg: cfg, auth: []amqp.Authentication{&amqp.PlainAuth{Username: user, Password: pw}},
		mode: amqp.Transient, ct: [2]string{"application/json", "application/x-protobuf"}}
	if c.Persistent {
		a.mode = amqp.Persistent
	}
	scheme := "amqp"
	if c.TLS.On() {
		tc, err := c.TLS.Config(hostOf(c.Addr))
		if err != nil {
			return nil, fmt.Errorf("amqp.%w", err)
		}
		a.tls = tc
		scheme = "amqps"
	}
	vhost := c.Vhost
	if !strings.HasPrefix(vhost, "/") {
		vhost = "/" + vhost
	}
	a.name = fmt.Sprintf("%s://%s%s as user %q", scheme, c.Addr, vhost, user)
	return a, nil
}

func (a *amqpAdapter) String() string { return a.name }

// connect dials and runs TLS and the AMQP handshake under ctx's deadline,
// opens a channel in confirm mode and checks that the exchange exists.
func (a *amqpAdapter) connect(ctx context.Context) error {
	a.close()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", a.cfg.AMQP.Addr)
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		// amqp091 clears the deadline when the handshake is done.
		_ = raw.SetDeadline(dl)
	}
	var conn net.Conn = raw
	if a.tls != nil {
		tc := tls.Client(raw, a.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			raw.Close()
			if badCert(err) {
				return &authError{fmt.Errorf("%s: server certificate rejected: %w", a.name, err)}
			}
			return fmt.Errorf("%s: TLS: %w", a.name, err)
		}
		conn = tc
	}
	c, err := amqp.Open(conn, amqp.Config{SASL: a.auth, Vhost: a.cfg.AMQP.Vhost, Heartbeat: 10 * time.Second,
		Locale: "en_US", Properties: amqp.Table{"product": "ds3d-go msgbroker", "connection_name": a.name}})
	if err != nil {
		raw.Close()
		// amqp091 reports a socket that closed or timed out during the
		// login as ErrCredentials, since RabbitMQ answers a refused login
		// by closing the socket 3 s later; one that timed out is a slow
		// broker, not a refusal.
		if dl, ok := ctx.Deadline(); ok && errors.Is(err, amqp.ErrCredentials) && !time.Now().Before(dl) {
			return fmt.Errorf("%s: no answer to the login within connect_timeout (RabbitMQ takes 3 s to refuse one)", a.name)
		}
		var ae *amqp.Error
		if errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed) {
			return &authError{fmt.Errorf("%s: login refused: %w", a.name, err)}
		}
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.raw, a.conn = raw, c
	ch, err := c.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		a.close()
		return fmt.Errorf("%s: channel: %w", a.name, err)
	}
	a.ch = ch
	if x := a.cfg.AMQP.Exchange; x != "" {
		if err := ch.ExchangeDeclarePassive(x, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
			a.close()
			// A missing exchange or one the user may not use does not come
			// right by retrying: Start fails with it.
			var ae *amqp.Error
			if errors.As(err, &ae) && (ae.Code == amqp.NotFound || ae.Code == amqp.AccessRefused) {
				return &authError{fmt.Errorf("%s: exchange %q: %w", a.name, x, err)}
			}
			return fmt.Errorf("%s: exchange %q: %w", a.name, x, err)
		}
	}
	return nil
}

// publish writes the message; the broker's confirm settles it. A broker
// that blocks publishers (a memory or disk alarm) stops reading the
// socket, so the write is bounded by send_timeout, as the ack is.
func (a *amqpAdapter) publish(_ context.Context, m *message) func(context.Context) error {
	ct := a.ct[0]
	if m.proto {
		ct = a.ct[1]
	}
	_ = a.raw.SetWriteDeadline(time.Now().Add(a.cfg.SendTO))
	dc, err := a.ch.PublishWithDeferredConfirm(a.cfg.AMQP.Exchange, m.topic, false, false, amqp.Publishing{
		ContentType: ct, DeliveryMode: a.mode, AppId: "ds3d", Body: m.buf,
		Headers: amqp.Table{"sensor_id": m.sensor},
	})
	// The heartbeats share the socket: no deadline between publishes.
	_ = a.raw.SetWriteDeadline(time.Time{})
	if err != nil {
		err = fmt.Errorf("%s: routing key %s: %w", a.name, m.topic, err)
		return func(context.Context) error { return err }
	}
	return func(ctx context.Context) error {
		select {
		case <-dc.Done():
			// A channel or connection that closed nacks every pending confirm.
			if !dc.Acked() {
				return fmt.Errorf("%s: routing key %s: the broker did not confirm the message (nack or connection lost)", a.name, m.topic)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *amqpAdapter) window() int { return a.cfg.AMQP.MaxInFlight }

// close closes the connection, its channel with it, bounded by
// send_timeout for the broker's close-ok.
func (a *amqpAdapter) close() {
	if a.conn == nil {
		return
	}
	_ = a.conn.CloseDeadline(time.Now().Add(a.cfg.SendTO))
	a.raw.Close()
	a.conn, a.ch, a.raw = nil, nil, nil
}
