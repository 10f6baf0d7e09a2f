package control

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// OpenAPI is the API's OpenAPI 3 document, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// MaxBody bounds a request body; a larger one is answered 413.
const MaxBody = 64 << 10

// Server timeouts: a slow or stalled client cannot hold a connection.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 15 * time.Second
	pprofWriteTimeout = 70 * time.Second // a CPU profile takes 30 s by default
	idleTimeout       = 60 * time.Second
	updateTimeout     = 10 * time.Second // how long PATCH waits for a component to take a change
)

// Options configure a Server.
type Options struct {
	// Addr is where to listen; see ListenAddr for the forms it takes.
	Addr string
	// Token is the bearer token requests that change state must carry;
	// empty refuses them all (403).
	Token []byte
	// Pprof serves /debug/pprof/.
	Pprof bool
	// Version is reported by ds3d_build_info.
	Version string
	// Stop ends the run at once (POST /api/v1/pipeline/stop): the caller
	// cancels the context its Graph.Run runs under. Nil answers 501.
	Stop func()
	// Log receives the server's messages; nil discards them.
	Log *slog.Logger
	// TLSCert and TLSKey are PEM files of a certificate (its chain) and
	// its key: given both, the server speaks HTTPS only.
	TLSCert, TLSKey string
	// Logs is the run's log tail that the dashboard shows; nil shows none.
	Logs *LogTail
}

// Server serves one graph's control plane.
type Server struct {
	g    *pipeline.Graph
	p    *config.Pipeline
	opts Options
	mux  *http.ServeMux
	log  *slog.Logger

	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	once sync.Once
	tls  *tls.Config // nil: plain HTTP

	dash dashboard
}

// New builds the control plane of g, the graph built from p. It listens
// only when Start is called; Handler serves it through any other server.
func New(g *pipeline.Graph, p *config.Pipeline, opts Options) (*Server, error) {
	s := &Server{g: g, p: p, opts: opts, log: opts.Log, mux: http.NewServeMux()}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.TLSCert != "" || opts.TLSKey != "" {
		if opts.TLSCert == "" || opts.TLSKey == "" {
			return nil, errors.New("control: TLS needs both a certificate and a key file (--http-tls-cert and --http-tls-key)")
		}
		cert, err := tls.LoadX509KeyPair(opts.TLSCert, opts.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("control: TLS certificate %s with key %s: %w", filepath.Clean(opts.TLSCert), filepath.Clean(opts.TLSKey), err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	reg := prometheus.NewRegistry()
	if err := reg.Register(newCollector(g, p, opts.Version)); err != nil {
		return nil, fmt.Errorf("control: metrics: %w", err)
	}
	// Components with metrics of their own (filters/analytics) bring a collector.
	for _, c := range p.Components {
		if mc, ok := g.Component(c.Name).(interface {
			MetricsCollector(pipeline, component string) prometheus.Collector
		}); ok {
			if err := reg.Register(mc.MetricsCollector(pipelineName(p), c.Name)); err != nil {
				return nil, fmt.Errorf("control: metrics of %s: %w", c.Name, err)
			}
		}
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("control: metrics: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("control: metrics: %w", err)
	}
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg, ErrorLog: slogErrorLog{s.log}})

	s.route("/metrics", read(metrics))
	s.route("/healthz", read(http.HandlerFunc(s.healthz)))
	s.route("/readyz", read(http.HandlerFunc(s.readyz)))
	s.route("/api/v1/openapi.yaml", read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(OpenAPI)
	})))
	s.route("/api/v1/pipeline", read(http.HandlerFunc(s.getPipeline)))
	s.route("/api/v1/pipeline/drain", s.write(http.MethodPost, s.drain))
	s.route("/api/v1/pipeline/stop", s.write(http.MethodPost, s.stop))
	s.route("/api/v1/components/{name}/config", s.write(http.MethodPatch, s.patchConfig))
	s.routeStreams()
	s.route("/api/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no route %s (the routes are listed in /api/v1/openapi.yaml)", r.URL.Path))
	}))
	s.routeDashboard()
	if opts.Pprof {
		s.mux.HandleFunc("/debug/pprof/", pprof.Index)
		s.mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		s.mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		s.mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		s.mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return s, nil
}

func (s *Server) route(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// Handler is the control plane's handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// ListenAddr is the address a --http value listens on: a port alone
// ("8080") or an address without a host (":8080") binds the loopback
// interface, 127.0.0.1, so that nothing is exposed unless asked; give a
// host ("0.0.0.0:8080", "[::]:8080", "myhost:8080") to listen elsewhere.
func ListenAddr(addr string) (string, error) {
	if addr == "" {
		return "", errors.New("control: empty listen address")
	}
	if _, err := strconv.ParseUint(addr, 10, 16); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("control: listen address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// ReadToken reads a bearer token from a file: its content without the
// surrounding white space, which must not be empty.
func ReadToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("control: token file: %w", err)
	}
	t := []byte(strings.TrimSpace(string(b)))
	if len(t) == 0 {
		return nil, fmt.Errorf("control: token file %s is empty", filepath.Clean(path))
	}
	if strings.ContainsAny(string(t), " \t\r\n") {
		return nil, fmt.Errorf("control: token file %s holds more than one word", filepath.Clean(path))
	}
	return t, nil
}

// Start listens on opts.Addr and serves in the background until Close.
func (s *Server) Start() error {
	addr, err := ListenAddr(s.opts.Addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	wt := writeTimeout
	if s.opts.Pprof {
		wt = pprofWriteTimeout
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      wt,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slogErrorLog{s.log}.std(),
		TLSConfig:         s.tls,
	}
	scheme := "http"
	serve := func() error { return s.srv.Serve(ln) }
	if s.tls != nil {
		scheme = "https"
		// The certificate is in TLSConfig already; ServeTLS adds HTTP/2.
		serve = func() error { return s.srv.ServeTLS(ln, "", "") }
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("control plane stopped", "err", err)
		}
	}()
	s.log.Info("control plane listening", "url", scheme+"://"+ln.Addr().String()+"/")
	return nil
}

// URL is the server's base URL, http:// or https:// (empty before Start).
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	if s.tls != nil {
		return "https://" + s.ln.Addr().String()
	}
	return "http://" + s.ln.Addr().String()
}

// Addr is the address the server listens on (the port chosen for ":0").
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the server: it stops listening, lets requests in flight end
// until ctx does, then closes the connections left. Its goroutines have
// exited when it returns.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
		s.wg.Wait()
	})
	return err
}

// read answers GET and HEAD only.
func read(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s takes GET, not %s", r.URL.Path, r.Method))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// write guards a state-changing route: its method, the bearer token, and
// the body's size.
func (s *Server) write(method string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s takes %s, not %s", r.URL.Path, method, r.Method))
			return
		}
		if len(s.opts.Token) == 0 {
			writeError(w, http.StatusForbidden, "forbidden",
				"requests that change state are disabled: start ds3d run with --http-token-file FILE and send 'Authorization: Bearer TOKEN'")
			return
		}
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ds3d"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or wrong bearer token (Authorization: Bearer TOKEN, the token of --http-token-file)")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		h(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.opts.Token) == 1
}
