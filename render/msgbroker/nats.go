package msgbroker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// NATSConfig is the connection to a NATS server or cluster.
type NATSConfig struct {
	Servers      []string  `toml:"servers" nonempty:"true,each" doc:"server URLs, nats://host:port (tls://host:port for TLS); the client tries them in turn"`
	Name         string    `toml:"name" doc:"connection name the server shows in its monitoring; empty: ds3d- and 8 random hex digits"`
	JetStream    bool      `toml:"jetstream" doc:"publish to JetStream and wait for the stream's acknowledgement (at least once; Nats-Msg-Id lets the stream drop a repeat); off: core NATS publish, sent when a flush round trip confirms the server read it (at most once)"`
	Stream       string    `toml:"stream" doc:"with jetstream: the stream that must hold the subjects; checked at connect, so a missing stream fails Start; empty: not checked"`
	MaxInFlight  int       `toml:"max_inflight" min:"1" doc:"messages published before the oldest is acknowledged (JetStream) or flushed (core); all of them are sent again after a failure"`
	Username     string    `toml:"username" doc:"user name; empty: none"`
	PasswordFile ds3d.Path `toml:"password_file" path:"exists" doc:"file holding the password of username (its first line); a password is never written in the config itself"`
	TokenFile    ds3d.Path `toml:"token_file" path:"exists" doc:"file holding an authentication token (its first line)"`
	CredsFile    ds3d.Path `toml:"creds_file" path:"exists" doc:"NATS credentials file (user JWT and NKey seed, as nsc writes it)"`
	TLS          TLSConfig `toml:"tls" doc:"TLS settings (tls.enabled, any TLS file or a tls:// URL turns it on)"`
}

func (c *NATSConfig) validate(topic string) error {
	for i, s := range c.Servers {
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" || u.Port() == "" || u.User != nil {
			return ds3d.ConfigErrorf(fmt.Sprintf("nats.servers[%d]", i), "%q: want nats://host:port or tls://host:port, no user or password in it", s)
		}
		switch u.Scheme {
		case "nats", "tls":
		default:
			return ds3d.ConfigErrorf(fmt.Sprintf("nats.servers[%d]", i), "%q: scheme %q: want nats or tls", s, u.Scheme)
		}
	}
	if c.PasswordFile != "" && c.Username == "" {
		return ds3d.ConfigErrorf("nats.password_file", "a password needs nats.username")
	}
	n := 0
	for _, on := range []bool{c.Username != "", c.TokenFile != "", c.CredsFile != ""} {
		if on {
			n++
		}
	}
	if n > 1 {
		return ds3d.ConfigErrorf("nats.username", "username, token_file and creds_file are three ways to log in: give one")
	}
	if c.Stream != "" && !c.JetStream {
		return ds3d.ConfigErrorf("nats.stream", "%q: a stream needs nats.jetstream = true", c.Stream)
	}
	// A subject is dot-separated tokens, none empty; * and > are
	// subscription wildcards and white space ends a subject.
	t := strings.ReplaceAll(topic, "{sensor}", "0")
	if strings.ContainsAny(t, "*> \t\r\n") || strings.HasPrefix(t, ".") || strings.HasSuffix(t, ".") || strings.Contains(t, "..") {
		return ds3d.ConfigErrorf("topic", "%q: a NATS subject is dot-separated tokens, none empty, without *, > or white space", topic)
	}
	return c.TLS.Validate("nats.")
}

// natsSubject replaces what would make a sensor id's subject invalid or a
// wildcard (white space, *, >, and a . that would leave a token empty) by _.
func natsSubject(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n', '*', '>':
			b[i] = '_'
		case '.':
			if i == 0 || i == len(s)-1 || s[i-1] == '.' {
				b[i] = '_'
			}
		}
	}
	return string(b)
}

// natsAdapter publishes with nats.go. The client's own reconnection is
// off (its reconnect buffer would hide a failure from the sender), so the
// sender owns reconnecting, as for every protocol.
type natsAdapter struct {
	cfg      *Config
	opts     []nats.Option
	url      string
	name     string
	nc       *nats.Conn
	js       jetstream.JetStream
	closed   chan struct{} // closed when the connection of nc closed
	subjects map[string]string
	// core NATS: published and flushed counts, so that one flush round
	// trip settles every message published before it.
	published, flushed uint64
	ct                 [2]string
}

func newNATS(cfg *Config) (*natsAdapter, error) {
	c := &cfg.NATS
	id := c.Name
	if id == "" {
		id = "ds3d-" + randomID()
	}
	opts := []nats.Option{nats.Name(id), nats.Timeout(cfg.Connect), nats.NoReconnect(),
		nats.FlusherTimeout(cfg.SendTO), nats.DontRandomize()}
	name := "nats " + strings.Join(c.Servers, ",")
	switch {
	case c.Username != "":
		pw, err := readPassword("nats.password_file", c.PasswordFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserInfo(c.Username, pw))
		name += fmt.Sprintf(" as user %q", c.Username)
	case c.TokenFile != "":
		tok, err := readPassword("nats.token_file", c.TokenFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Token(tok))
		name += " with a token"
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(string(c.CredsFile)))
		name += fmt.Sprintf(" with credentials %s", c.CredsFile)
	}
	useTLS := c.TLS.On()
	for _, s := range c.Servers {
		useTLS = useTLS || strings.HasPrefix(s, "tls://")
	}
	if useTLS {
		tc, err := c.TLS.Config("")
		if err != nil {
			return nil, fmt.Errorf("nats.%w", err)
		}
		// nats.go names each server's host as the server name when the
		// config names none.
		opts = append(opts, nats.Secure(tc))
	}
	if c.JetStream {
		name = "jetstream " + name[len("nats "):]
	}
	return &natsAdapter{cfg: cfg, opts: opts, url: strings.Join(c.Servers, ","), name: name,
		subjects: map[string]string{}, ct: [2]string{"application/json", "application/x-protobuf"}}, nil
}

func (a *natsAdapter) String() string { return a.name }

func (a *natsAdapter) connect(ctx context.Context) error {
	a.close()
	closed := make(chan struct{})
	opts := append(a.opts[:len(a.opts):len(a.opts)], nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		nats.SetCustomDialer(ctxDialer{ctx}))
	nc, err := nats.Connect(a.url, opts...)
	if err != nil {
		switch {
		case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
			errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired):
			return &authError{fmt.Errorf("%s: login refused: %w", a.name, err)}
		case badCert(err):
			return &authError{fmt.Errorf("%s: server certificate rejected: %w", a.name, err)}
		}
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.nc, a.closed, a.published, a.flushed = nc, closed, 0, 0
	if !a.cfg.NATS.JetStream {
		return nil
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(a.cfg.NATS.MaxInFlight),
		jetstream.WithPublishAsyncTimeout(a.cfg.SendTO))
	if err != nil {
		a.close()
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.js = js
	// A server without JetStream, or a stream that is missing, does not
	// come right by retrying: Start fails with it.
	if _, err := js.AccountInfo(ctx); err != nil {
		a.close()
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			return &authError{fmt.Errorf("%s: %w", a.name, err)}
		}
		return fmt.Errorf("%s: JetStream account info: %w", a.name, err)
	}
	if s := a.cfg.NATS.Stream; s != "" {
		if _, err := js.Stream(ctx, s); err != nil {
			a.close()
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return &authError{fmt.Errorf("%s: stream %q: %w", a.name, s, err)}
			}
			return fmt.Errorf("%s: stream %q: %w", a.name, s, err)
		}
	}
	return nil
}

// ctxDialer bounds nats.go's dials by the connect context, which Close
// cancels; nats.go's Timeout bounds each server's handshake.
type ctxDialer struct{ ctx context.Context }

func (d ctxDialer) Dial(network, address string) (net.Conn, error) {
	var nd net.Dialer
	return nd.DialContext(d.ctx, network, address)
}

func (a *natsAdapter) subject(topic string) string {
	s, ok := a.subjects[topic]
	if !ok {
		s = natsSubject(topic)
		a.subjects[topic] = s
	}
	return s
}

func (a *natsAdapter) publish(_ context.Context, m *message) func(context.Context) error {
	ct := a.ct[0]
	if m.proto {
		ct = a.ct[1]
	}
	msg := &nats.Msg{Subject: a.subject(m.topic), Data: m.buf, Header: nats.Header{"Content-Type": {ct}}}
	if !a.cfg.NATS.JetStream {
		// PublishMsg copies the data into the connection's buffer.
		if err := a.nc.PublishMsg(msg); err != nil {
			err = fmt.Errorf("%s: subject %s: %w", a.name, msg.Subject, err)
			return func(context.Context) error { return err }
		}
		a.published++
		seq := a.published
		return func(ctx context.Context) error {
			if seq <= a.flushed {
				return nil
			}
			upTo := a.published
			if err := a.nc.FlushWithContext(ctx); err != nil {
				return fmt.Errorf("%s: flush: %w", a.name, err)
			}
			a.flushed = upTo
			return nil
		}
	}
	// The id is the same for the same message sent again after a
	// reconnect, so the stream keeps one of them (within its duplicate
	// window).
	sum := sha256.Sum256(m.buf)
	id := m.sensor + "-" + hex.EncodeToString(sum[:16])
	paf, err := a.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithRetryAttempts(0))
	if err != nil {
		err = fmt.Errorf("%s: subject %s: %w", a.name, msg.Subject, err)
		return func(context.Context) error { return err }
	}
	closed := a.closed
	return func(ctx context.Context) error {
		select {
		case <-paf.Ok():
			return nil
		case err := <-paf.Err():
			return fmt.Errorf("%s: subject %s: %w", a.name, msg.Subject, err)
		case <-closed:
			return fmt.Errorf("%s: connection closed", a.name)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *natsAdapter) window() int { return a.cfg.NATS.MaxInFlight }

// close closes the connection and waits until nats.go reports it closed.
func (a *natsAdapter) close() {
	if a.nc == nil {
		return
	}
	a.nc.Close()
	<-a.closed
	a.nc, a.js = nil, nil
}
