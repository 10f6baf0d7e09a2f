package control_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestE2EDashboardChromium runs the ds3d command on
// apps/lidar-inference/bench.toml with --http, opens the dashboard in
// headless Chromium and waits until the page shows a non-zero rate for
// every component and a preview picture. The config is bench.toml with
// its paths made absolute, its outputs moved to a temporary folder, the
// loop unbounded (max_frames = 0) so it runs while the browser looks, and
// a raster_render BEV behind the tracker (on a leaky queue) for the
// preview. With DS3D_DOC_IMAGES set the screenshot goes to
// docs/img/dashboard.png.
func TestE2EDashboardChromium(t *testing.T) {
	testenv.E2E(t)
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	root := sampledata.RepoRoot(t)
	tmp := t.TempDir()

	bin := buildDS3D(t, tmp)

	b, err := os.ReadFile(filepath.Join(root, "apps", "lidar-inference", "bench.toml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, r := range [][2]string{
		{`"../../out/`, `"` + filepath.ToSlash(tmp) + "/"},
		{`"../../`, `"` + filepath.ToSlash(root) + "/"},
		{"max_frames = 200", "max_frames = 0"},
		{`link_to = ["labels", "boxes"]`, `link_to = ["labels", "boxes", "bev"]`},
	} {
		if !strings.Contains(doc, r[0]) {
			t.Fatalf("bench.toml has no %s any more: update this test", r[0])
		}
		doc = strings.ReplaceAll(doc, r[0], r[1])
	}
	doc += fmt.Sprintf(`
[[component]]
name = "bev"
type = "ds3d::datarender"
impl = "raster_render"
queue_size = 1
leaky = "downstream"
[component.config]
output_dir = %q
x_range = [0.0, 70.4]
y_range = [-40.0, 40.0]
resolution = 0.125
`, filepath.Join(tmp, "bev"))
	cfg := filepath.Join(tmp, "dashboard.toml")
	if err := os.WriteFile(cfg, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := exec.Command(bin, "run", "--headless", "--http", addr, cfg)
	var runLog syncBuf
	run.Stdout, run.Stderr = &runLog, &runLog
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- run.Wait() }()
	defer func() {
		// Ctrl-C drains; the run must then end by itself.
		_ = run.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("ds3d run after Ctrl-C: %v\n%s", err, runLog.String())
			}
		case <-time.After(20 * time.Second):
			_ = run.Process.Kill()
			<-exited
			t.Errorf("ds3d run did not drain within 20 s\n%s", runLog.String())
		}
	}()
	base := "http://" + addr
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("ds3d run ended before it was ready: %v\n%s", err, runLog.String())
		case <-ctx.Done():
			t.Fatalf("not ready\n%s", runLog.String())
		case <-time.After(50 * time.Millisecond):
		}
	}

	page := startChromium(t, ctx, chromium, base+"/")
	defer page.close()
	type comp struct{ Name, FPS string }
	var comps []comp
	var loaded string
	for {
		s := page.eval(t, `JSON.stringify([...document.querySelectorAll("g.comp")].map(g => ({Name: g.dataset.name, FPS: g.dataset.fps || ""})))`)
		comps = nil
		_ = json.Unmarshal([]byte(s), &comps)
		loaded = page.eval(t, `(() => { const i = document.getElementById("preview"); return i.complete && i.naturalWidth > 0 ? i.naturalWidth + "x" + i.naturalHeight : ""; })()`)
		polls, _ := strconv.Atoi(page.eval(t, `document.body.dataset.polls || "0"`))
		all := len(comps) == 6
		for _, c := range comps {
			if v, err := strconv.ParseFloat(c.FPS, 64); err != nil || !(v > 0) {
				all = false
			}
		}
		if all && loaded != "" && polls >= 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the page did not show every component's rate and a preview: components %+v, preview %q, polls %d\n%s", comps, loaded, polls, runLog.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if loaded != "640x563" { // y: 80 m at 0.125 m a pixel across, x: 70.4 m up
		t.Errorf("preview %s, want the BEV's 640x563", loaded)
	}
	if logs := page.eval(t, `document.getElementById("log").textContent`); !strings.Contains(logs, "control plane listening") {
		t.Errorf("the log tail does not show the run's log: %.300q", logs)
	}
	t.Logf("rates shown: %+v; preview %s", comps, loaded)

	// The whole 1280×800 window, not the viewport left by the browser's frame.
	var none struct{}
	page.call(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": false}, &none)
	time.Sleep(1500 * time.Millisecond) // a poll and a preview redrawn at that size
	shot := page.screenshot(t)
	out := filepath.Join(tmp, "dashboard-shot.png")
	if os.Getenv("DS3D_DOC_IMAGES") != "" {
		out = filepath.Join(root, "docs", "img", "dashboard.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", out, len(shot))
}

// buildDS3D builds the ds3d command into dir.
func buildDS3D(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "ds3d")
	build := exec.Command("go", "build", "-o", bin, "./apps/ds3d")
	build.Dir = sampledata.RepoRoot(t)
	testenv.Output(t, build)
	return bin
}

// TestE2ERunTLS: ds3d run with --http-tls-cert and --http-tls-key serves
// HTTPS with that certificate, and refuses half a pair before running.
func TestE2ERunTLS(t *testing.T) {
	testenv.E2E(t)
	tmp := t.TempDir()
	bin := buildDS3D(t, tmp)
	certFile, keyFile, pool := selfSigned(t, tmp)
	cfg := filepath.Join(tmp, "p.toml")
	if err := os.WriteFile(cfg, []byte(chainDoc(true, "test_source\ncount = 0\nrate_hz = 50", "counting_sink")), 0o644); err != nil {
		t.Fatal(err)
	}
	half := exec.Command(bin, "run", "--http", "127.0.0.1:0", "--http-tls-cert", certFile, cfg)
	if out, err := half.CombinedOutput(); err == nil || !strings.Contains(string(out), "--http-tls-cert and --http-tls-key go together") {
		t.Errorf("half a pair: %v\n%s", err, out)
	}
	addr := freeAddr(t)
	run := exec.Command(bin, "run", "--http", addr, "--http-tls-cert", certFile, "--http-tls-key", keyFile, cfg)
	var runLog syncBuf
	run.Stdout, run.Stderr = &runLog, &runLog
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = run.Process.Signal(os.Interrupt)
		if err := run.Wait(); err != nil {
			t.Errorf("ds3d run after Ctrl-C: %v\n%s", err, runLog.String())
		}
	}()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS answer: %v\n%s", err, runLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(runLog.String(), "url=https://"+addr+"/") {
		t.Errorf("the log does not give the https URL:\n%s", runLog.String())
	}
}

// syncBuf is a process's output, read while it still writes.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// browserPage is a headless Chromium showing one page, driven through
// the DevTools protocol.
type browserPage struct {
	ctx  context.Context
	cmd  *exec.Cmd
	conn *websocket.Conn
	id   int
}

func startChromium(t *testing.T, ctx context.Context, chromium, url string) *browserPage {
	t.Helper()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--no-first-run", "--hide-scrollbars",
		"--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "--window-size=1280,800", url)
	// Its own process group, so that its helper processes end with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &browserPage{ctx: ctx, cmd: cmd}
	hostc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				hostc <- m[1]
				break
			}
		}
		close(hostc)
		_, _ = io.Copy(io.Discard, stderr)
	}()
	host, ok := <-hostc
	if !ok {
		p.close()
		t.Fatal("chromium printed no DevTools endpoint")
	}
	var ws string
	for ws == "" {
		if ctx.Err() != nil {
			p.close()
			t.Fatal("chromium opened no page")
		}
		resp, err := http.Get("http://" + host + "/json/list")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		var targets []struct {
			Type string `json:"type"`
			WS   string `json:"webSocketDebuggerUrl"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&targets)
		resp.Body.Close()
		for _, tg := range targets {
			if tg.Type == "page" {
				ws = tg.WS
				break
			}
		}
	}
	p.conn, _, err = websocket.Dial(ctx, ws, nil)
	if err != nil {
		p.close()
		t.Fatal(err)
	}
	p.conn.SetReadLimit(64 << 20)
	return p
}

func (p *browserPage) close() {
	if p.conn != nil {
		p.conn.CloseNow()
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	_ = p.cmd.Wait()
}

// call sends one command and decodes its result, skipping events.
func (p *browserPage) call(t *testing.T, method string, params, result any) {
	t.Helper()
	p.id++
	b, _ := json.Marshal(map[string]any{"id": p.id, "method": method, "params": params})
	if err := p.conn.Write(p.ctx, websocket.MessageText, b); err != nil {
		t.Fatal(err)
	}
	for {
		_, b, err := p.conn.Read(p.ctx)
		if err != nil {
			t.Fatal(err)
		}
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &msg); err != nil || msg.ID != p.id {
			continue
		}
		if msg.Error != nil {
			t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		if err := json.Unmarshal(msg.Result, result); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return
	}
}

// eval evaluates a JavaScript expression and returns its value as text.
func (p *browserPage) eval(t *testing.T, expr string) string {
	t.Helper()
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	p.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if s, ok := res.Result.Value.(string); ok {
		return s
	}
	return fmt.Sprint(res.Result.Value)
}

func (p *browserPage) screenshot(t *testing.T) []byte {
	t.Helper()
	var shot struct {
		Data string `json:"data"`
	}
	p.call(t, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	b, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
