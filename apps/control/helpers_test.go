package control_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/apps/control"
	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Components that only these tests use: a filter that fails at a given
// frame, and a source whose Start waits for its gate to open, so a test
// sees a pipeline that is still starting.

type failConfig struct {
	FailAt int `toml:"fail_at" doc:"frame number at which to fail"`
}

type failFilter struct{ at int64 }

func (f failFilter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	if n, _ := in.Int64(ds3d.KeyFrameNumber); n == f.at {
		return fmt.Errorf("refusing frame %d", n)
	}
	return emit(in)
}

type gateConfig struct {
	Gate string `toml:"gate" doc:"name of the gate Start waits for"`
}

var gates sync.Map // name → chan struct{}

func gate(name string) chan struct{} {
	g, _ := gates.LoadOrStore(name, make(chan struct{}))
	return g.(chan struct{})
}

type gatedSource struct {
	gate string
	k    int64
}

func (s *gatedSource) Start(ctx context.Context) error {
	select {
	case <-gate(s.gate):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *gatedSource) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	time.Sleep(time.Millisecond)
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, s.k)
	s.k++
	return m, nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "control_test_fail", "Fails at frame fail_at (control tests).",
		func() *failConfig { return &failConfig{} },
		func(c *failConfig, _ *ds3d.Env) (any, error) { return failFilter{at: int64(c.FailAt)}, nil })
	ds3d.Register(ds3d.KindLoader, "control_test_gated", "Starts when its gate opens (control tests).",
		func() *gateConfig { return &gateConfig{} },
		func(c *gateConfig, _ *ds3d.Env) (any, error) { return &gatedSource{gate: c.Gate}, nil })
}

// run is a pipeline with its control plane, both running for one test.
type run struct {
	t      *testing.T
	g      *pipeline.Graph
	p      *config.Pipeline
	srv    *control.Server
	base   string
	client *http.Client
	token  string
	cancel context.CancelCauseFunc
	ctx    context.Context
	done   chan error
	once   sync.Once
	err    error
	ran    bool
}

type setup struct {
	token bool // read a token from a file
	pprof bool
	start bool // run the pipeline at once
}

// errStopAPI is the cause the test's Stop hook gives, as ds3d run does.
var errStopAPI = errors.New("stopped through the control API")

func start(t *testing.T, doc string, s setup) *run {
	t.Helper()
	p, err := config.Parse("test.toml", t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, g: g, p: p, done: make(chan error, 1)}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	opts := control.Options{Addr: "127.0.0.1:0", Pprof: s.pprof, Version: "test", Stop: func() { r.cancel(errStopAPI) }}
	if s.token {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte("s3cret-token\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, err := control.ReadToken(path)
		if err != nil {
			t.Fatal(err)
		}
		opts.Token, r.token = tok, string(tok)
	}
	r.srv, err = control.New(g, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	r.base = "http://" + r.srv.Addr()
	r.client = &http.Client{Transport: &http.Transport{}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		r.cancel(errors.New("test over"))
		r.wait()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.srv.Close(ctx); err != nil {
			t.Errorf("closing the server: %v", err)
		}
		r.client.CloseIdleConnections()
	})
	if s.start {
		r.run()
	}
	return r
}

func (r *run) run() {
	r.ran = true
	go func() { r.done <- r.g.Run(r.ctx) }()
}

// wait returns Run's error once it has returned.
func (r *run) wait() error {
	r.once.Do(func() {
		if !r.ran {
			return
		}
		select {
		case r.err = <-r.done:
		case <-time.After(20 * time.Second):
			r.t.Fatal("the pipeline did not end")
		}
	})
	return r.err
}

// waitFor polls cond until it holds, failing the test after 10 s.
func (r *run) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

// errorCode checks an error answer's status and JSON shape and returns its
// message.
func (a answer) errorCode(t *testing.T, status int, code string) string {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	e, _ := a.json(t)["error"].(map[string]any)
	if e == nil || e["code"] != code {
		t.Fatalf("error %s, want code %q", a.body, code)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Fatalf("error without a message: %s", a.body)
	}
	return msg
}

// do sends a request; auth is the Authorization header ("" for none).
func (r *run) do(method, path, auth, ctype string, body []byte) answer {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, r.base+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (r *run) get(path string) answer { return r.do(http.MethodGet, path, "", "", nil) }

func (r *run) bearer() string { return "Bearer " + r.token }

// chainDoc is source → [stages] → sink; each part is "impl" or "impl\nkey = value…".
func chainDoc(realtime bool, parts ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[pipeline]\nname = \"ctl\"\nrealtime = %v\n\n", realtime)
	names := make([]string, len(parts))
	for i := range parts {
		switch i {
		case 0:
			names[i] = "source"
		case len(parts) - 1:
			names[i] = "sink"
		default:
			names[i] = fmt.Sprintf("stage%d", i)
		}
	}
	for i, part := range parts {
		impl, cfg, _ := strings.Cut(part, "\n")
		kind := "ds3d::datafilter"
		switch i {
		case 0:
			kind = "ds3d::dataloader"
		case len(parts) - 1:
			kind = "ds3d::datarender"
		}
		fmt.Fprintf(&b, "[[component]]\nname = %q\ntype = %q\nimpl = %q\n", names[i], kind, impl)
		if i+1 < len(parts) {
			fmt.Fprintf(&b, "link_to = %q\n", names[i+1])
		}
		if cfg != "" {
			b.WriteString("[component.config]\n" + cfg + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}
