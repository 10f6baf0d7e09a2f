//go:build linux

package foxglove

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestE2EChromiumViewer opens a page in headless Chromium whose script —
// @foxglove/ws-protocol and @foxglove/rosmsg2-serialization bundled with
// esbuild — connects to foxglove_ws, decodes the KITTI cloud and the boxes
// and draws them from above. The page's decoded point count must equal the
// frame's. Chromium is driven over the DevTools protocol; the screenshot
// goes to docs/img/foxglove-ws.png when DS3D_DOC_IMAGES is set.
func TestE2EChromiumViewer(t *testing.T) {
	testenv.E2E(t)
	node := testenv.Node(t, "testdata/npm")
	chromium := testenv.Tool(t, "chromium", "apt-get install chromium")
	web := t.TempDir()
	build := exec.Command(node, "build-viewer.mjs", web)
	build.Dir = "testdata/npm"
	testenv.Output(t, build)
	page := httptest.NewServer(http.FileServer(http.Dir(web)))
	defer page.Close()

	addr := freePort(t)
	stop := runPipeline(t, addr)
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "--window-size=960,720",
		"--hide-scrollbars", "--no-first-run", page.URL+"/index.html?ws=ws://"+addr)
	// Its own process group, so that the renderer and GPU helpers go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/…".
	devtools := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				devtools <- m[1]
				sent = true
			}
		}
		if !sent {
			close(devtools)
		}
	}()
	var host string
	select {
	case h, ok := <-devtools:
		if !ok {
			t.Fatal("chromium exited without a DevTools endpoint")
		}
		host = h
	case <-ctx.Done():
		t.Fatal("chromium printed no DevTools endpoint")
	}
	cdp := openPage(t, ctx, host)
	defer cdp.conn.CloseNow()

	var ready string
	for ready != "1" {
		if ctx.Err() != nil {
			t.Fatalf("the page drew nothing within a minute (count %q)", cdp.eval(t, `document.getElementById("count").textContent`))
		}
		time.Sleep(100 * time.Millisecond)
		ready = cdp.eval(t, `document.body.dataset.ready || ""`)
	}
	count, err := strconv.Atoi(cdp.eval(t, `document.getElementById("count").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	if want := kittiFrame(t).Points(); count != want {
		t.Errorf("the page decoded %d points, want the frame's %d", count, want)
	}
	if boxes := cdp.eval(t, `document.getElementById("boxes").textContent`); boxes != strconv.Itoa(len(testBoxes())) {
		t.Errorf("the page drew %s boxes, want %d", boxes, len(testBoxes()))
	}
	var shot struct {
		Data string `json:"data"`
	}
	cdp.call(t, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "foxglove-ws.png")
	if os.Getenv("DS3D_DOC_IMAGES") != "" {
		out = filepath.Join(sampledata.RepoRoot(t), "docs", "img", "foxglove-ws.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("page decoded %d points; screenshot %s (%d bytes)", count, out, len(png))
}

// devtoolsPage is a DevTools-protocol session with one page.
type devtoolsPage struct {
	ctx  context.Context
	conn *websocket.Conn
	id   int
}

func openPage(t *testing.T, ctx context.Context, host string) *devtoolsPage {
	t.Helper()
	var targets []struct {
		Type string `json:"type"`
		URL  string `json:"webSocketDebuggerUrl"`
	}
	for len(targets) == 0 || targets[0].Type != "page" {
		resp, err := http.Get("http://" + host + "/json/list")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		targets = targets[:0]
		if err := json.Unmarshal(b, &targets); err != nil {
			t.Fatalf("DevTools target list %.200q: %v", b, err)
		}
		for i, tg := range targets {
			if tg.Type == "page" {
				targets[0] = targets[i]
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatal("chromium opened no page")
		}
	}
	conn, _, err := websocket.Dial(ctx, targets[0].URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(64 << 20)
	return &devtoolsPage{ctx: ctx, conn: conn}
}

// call sends one command and waits for its reply, skipping events.
func (p *devtoolsPage) call(t *testing.T, method string, params any, result any) {
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
		var reply struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &reply); err != nil {
			t.Fatal(err)
		}
		if reply.ID != p.id {
			continue
		}
		if reply.Error != nil {
			t.Fatalf("%s: %s", method, reply.Error.Message)
		}
		if err := json.Unmarshal(reply.Result, result); err != nil {
			t.Fatal(err)
		}
		return
	}
}

// eval evaluates a JavaScript expression in the page and returns it as text.
func (p *devtoolsPage) eval(t *testing.T, expr string) string {
	t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	p.call(t, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &r)
	return fmt.Sprint(r.Result.Value)
}
