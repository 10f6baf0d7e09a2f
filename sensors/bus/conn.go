package bus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Embedded is the URL that asks for the in-process JetStream server.
const Embedded = "embedded"

// TLSConfig is the [tls] table of the NATS connection (ds3d.TLSConfig,
// the one every network component shares).
type TLSConfig = ds3d.TLSConfig

// EmbeddedConfig configures the in-process server of url = "embedded".
type EmbeddedConfig struct {
	DataDir    ds3d.Path `toml:"data_dir" doc:"folder of the JetStream file store; empty: a temporary folder removed when the process no longer uses the server (nothing survives a restart)"`
	Port       int       `toml:"port" min:"0" max:"65535" doc:"client port on 127.0.0.1, for other processes to connect to with url = \"nats://127.0.0.1:PORT\"; 0 picks a free one"`
	MaxPayload int       `toml:"max_payload" min:"1024" max:"67108864" unit:"bytes" doc:"largest message the server accepts; a datamap encoding larger than this goes as chunks"`
}

// ConnConfig is the connection to NATS, shared by bus_publish and
// bus_subscribe.
type ConnConfig struct {
	URL          string         `toml:"url" nonempty:"true" doc:"NATS server URLs, comma-separated (nats://host:4222,nats://host2:4222; tls:// for TLS), or \"embedded\" for an in-process JetStream server on 127.0.0.1 (one machine, nothing else to install)"`
	CredsFile    ds3d.Path      `toml:"creds_file" path:"exists" doc:"NATS credentials file (JWT and NKey seed); empty: none"`
	User         string         `toml:"user" doc:"user name for user/password login; empty: none"`
	PasswordFile ds3d.Path      `toml:"password_file" path:"exists" doc:"file holding the password (its first line); a password is never written in the config itself"`
	TLS          TLSConfig      `toml:"tls" doc:"TLS settings"`
	Connect      time.Duration  `toml:"connect_timeout" min:">0" doc:"bound of the first connection; Start fails after it, so a wrong URL or login stops the pipeline before it runs"`
	Embedded     EmbeddedConfig `toml:"embedded" doc:"the in-process server (url = \"embedded\")"`
}

// DefaultConnConfig returns the connection defaults: the embedded server.
func DefaultConnConfig() ConnConfig {
	return ConnConfig{URL: Embedded, Connect: 5 * time.Second, Embedded: EmbeddedConfig{MaxPayload: 8 << 20}}
}

// Validate ties the connection keys together.
func (c *ConnConfig) Validate() error {
	if c.PasswordFile != "" && c.User == "" {
		return ds3d.ConfigErrorf("password_file", "a password needs user")
	}
	if c.CredsFile != "" && c.User != "" {
		return ds3d.ConfigErrorf("creds_file", "give creds_file or user/password_file, not both")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return ds3d.ConfigErrorf("tls.cert_file", "cert_file and key_file go together (mutual TLS needs both)")
	}
	if c.URL != Embedded {
		for _, u := range strings.Split(c.URL, ",") {
			u = strings.TrimSpace(u)
			if !strings.Contains(u, "://") {
				return ds3d.ConfigErrorf("url", "%q: want nats://host:port (or tls://), a comma-separated list of them, or \"embedded\"", u)
			}
		}
	}
	return nil
}

// Conn is an open connection; Close releases it and, for the embedded
// server, the process's hold on the server.
type Conn struct {
	NC     *nats.Conn
	server *Server
}

// Close drains nothing: it closes the connection at once (publishers wait
// for their acks before calling it).
func (c *Conn) Close() {
	if c.NC != nil {
		c.NC.Close()
	}
	if c.server != nil {
		c.server.release()
		c.server = nil
	}
}

// Dial opens the connection the config names, starting the embedded server
// first when url = "embedded". name is the client name the server shows.
func Dial(c *ConnConfig, name string, log *slog.Logger) (*Conn, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn := &Conn{}
	url := c.URL
	if url == Embedded {
		e, err := acquireEmbedded(&c.Embedded, log)
		if err != nil {
			return nil, err
		}
		conn.server = e
		url = e.srv.ClientURL()
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.Timeout(c.Connect),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: disconnected from NATS; reconnecting", "err", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Warn("bus: NATS error", "subject", subj, "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("bus: reconnected", "server", nc.ConnectedUrlRedacted()) }),
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(string(c.CredsFile)))
	}
	if c.User != "" {
		pw, err := readPassword(c.PasswordFile)
		if err != nil {
			conn.Close()
			return nil, err
		}
		opts = append(opts, nats.UserInfo(c.User, pw))
	}
	if c.TLS.On() {
		tc, err := c.TLS.Config("")
		if err != nil {
			conn.Close()
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		conn.Close()
		return nil, dialError(c, redact(url), err)
	}
	conn.NC = nc
	return conn, nil
}

// dialError says why a connection failed in the words a user acts on: a
// login the server refused names the user (or credentials file), a server
// certificate TLS rejected names the CA file; both end the pipeline before
// it runs, like an unreachable server.
func dialError(c *ConnConfig, url string, err error) error {
	who := ""
	switch {
	case c.User != "":
		who = fmt.Sprintf(" as user %q", c.User)
	case c.CredsFile != "":
		who = fmt.Sprintf(" with creds_file %s", c.CredsFile)
	}
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		hn x509.HostnameError
		ci x509.CertificateInvalidError
	)
	switch {
	case errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked) || errors.Is(err, nats.ErrAccountAuthExpired):
		return fmt.Errorf("bus: connect to %s%s: login refused: %w", url, who, err)
	case errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci):
		ca := "the system's roots (no tls.ca_file)"
		if c.TLS.CAFile != "" {
			ca = "tls.ca_file " + string(c.TLS.CAFile)
		}
		return fmt.Errorf("bus: connect to %s: server certificate rejected (checked against %s): %w", url, ca, err)
	}
	return fmt.Errorf("bus: connect to %s%s: %w", url, who, err)
}

func readPassword(p ds3d.Path) (string, error) {
	if p == "" {
		return "", nil
	}
	b, err := os.ReadFile(string(p))
	if err != nil {
		return "", fmt.Errorf("password_file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// redact drops user info from URLs for error messages.
func redact(url string) string {
	parts := strings.Split(url, ",")
	for i, u := range parts {
		if at := strings.LastIndexByte(u, '@'); at >= 0 {
			if s := strings.Index(u, "://"); s >= 0 && s < at {
				parts[i] = u[:s+3] + "***" + u[at:]
			}
		}
	}
	return strings.Join(parts, ",")
}

// Server is an in-process JetStream server shared by every component of the
// process that asks for the same data folder and port.
type Server struct {
	key  string
	srv  *server.Server
	tmp  string // temporary store folder to remove, or ""
	refs int
}

var embeddedServers = struct {
	sync.Mutex
	m map[string]*Server
}{m: map[string]*Server{}}

func acquireEmbedded(c *EmbeddedConfig, log *slog.Logger) (*Server, error) {
	key := fmt.Sprintf("%s|%d", c.DataDir, c.Port)
	embeddedServers.Lock()
	defer embeddedServers.Unlock()
	if e := embeddedServers.m[key]; e != nil {
		e.refs++
		return e, nil
	}
	e, err := StartEmbedded(c)
	if err != nil {
		return nil, err
	}
	e.key = key
	e.refs = 1
	embeddedServers.m[key] = e
	log.Info("bus: embedded JetStream server started", "url", e.srv.ClientURL(), "store", e.srv.StoreDir())
	return e, nil
}

func (e *Server) release() {
	embeddedServers.Lock()
	defer embeddedServers.Unlock()
	e.refs--
	if e.refs > 0 {
		return
	}
	delete(embeddedServers.m, e.key)
	e.stop()
}

func (e *Server) stop() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
	if e.tmp != "" {
		_ = os.RemoveAll(e.tmp)
	}
}

// StartEmbedded starts a JetStream server on 127.0.0.1 as a library, its
// file store under c.DataDir (a temporary folder when empty). Tests and
// benchmarks use it directly; components go through Dial.
func StartEmbedded(c *EmbeddedConfig) (*Server, error) {
	dir, tmp := string(c.DataDir), ""
	if dir == "" {
		d, err := os.MkdirTemp("", "ds3d-bus-")
		if err != nil {
			return nil, fmt.Errorf("bus: embedded server store: %w", err)
		}
		dir, tmp = d, d
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("bus: embedded.data_dir: %w", err)
	}
	port := c.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	mp := c.MaxPayload
	if mp == 0 {
		mp = 8 << 20
	}
	opts := &server.Options{
		ServerName: "ds3d-embedded",
		Host:       "127.0.0.1",
		Port:       port,
		JetStream:  true,
		StoreDir:   filepath.Clean(dir),
		MaxPayload: int32(mp),
		MaxPending: int64(max(64<<20, 4*mp)),
		NoSigs:     true,
		NoLog:      true,
		HTTPPort:   0,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
		return nil, fmt.Errorf("bus: embedded server: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
		return nil, fmt.Errorf("bus: embedded server on 127.0.0.1:%d did not start within 10s", c.Port)
	}
	return &Server{srv: srv, tmp: tmp}, nil
}

// URL is the embedded server's client URL.
func (e *Server) URL() string { return e.srv.ClientURL() }

// Stop shuts a server from StartEmbedded down.
func (e *Server) Stop() { e.stop() }
