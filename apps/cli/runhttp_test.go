package cli

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer the test reads while the command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunHTTPControlPlane runs `ds3d run --http 127.0.0.1:0` on an endless
// pipeline, finds the address in its log, checks that the control plane
// answers, that a request without the token is refused, and that
// POST /api/v1/pipeline/stop ends the command with exit 1 and says why.
func TestRunHTTPControlPlane(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "endless.toml")
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(cfg, []byte(`[pipeline]
name = "endless"
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "sink"
[component.config]
count = 0
[[component]]
name = "sink"
type = "ds3d::datarender"
impl = "counting_sink"
[component.config]
delay = "1ms"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tok, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"run", "--http", "127.0.0.1:0", "--http-token-file", tok, cfg}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)/`)
	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no control plane address in the log:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	send := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := send(http.MethodGet, "/api/v1/pipeline", ""); st != 200 || !strings.Contains(body, `"name": "endless"`) {
		t.Errorf("GET /api/v1/pipeline: %d %s", st, body)
	}
	if st, body := send(http.MethodGet, "/debug/pprof/", ""); st != 404 {
		t.Errorf("pprof without --pprof: %d %s", st, body)
	}
	if st, _ := send(http.MethodPost, "/api/v1/pipeline/stop", "wrong"); st != 401 {
		t.Errorf("stop with a wrong token: %d", st)
	}
	if st, body := send(http.MethodPost, "/api/v1/pipeline/stop", "t0ken"); st != 202 {
		t.Fatalf("stop: %d %s", st, body)
	}
	select {
	case c := <-code:
		if c != 1 || !strings.Contains(stderr.String(), "stopped through the control API") {
			t.Errorf("exit %d after stop; stderr:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ds3d run did not end after stop")
	}
	if c := run([]string{"run", "--pprof", cfg}, io.Discard, io.Discard); c != 2 {
		t.Errorf("--pprof without --http: exit %d, want 2", c)
	}
}
