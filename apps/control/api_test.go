package control_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/apps/control"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

func (r *run) ready(t *testing.T) (int, map[string]any) {
	t.Helper()
	a := r.get("/readyz")
	return a.status, a.json(t)
}

func (r *run) healthy(t *testing.T) {
	t.Helper()
	if a := r.get("/healthz"); a.status != http.StatusOK {
		t.Errorf("/healthz: %d %s", a.status, a.body)
	}
}

// TestReadyzLifecycle follows /readyz (and /healthz) through a pipeline's
// life: built, starting (its source's Start waits on a gate), running,
// draining, finished.
func TestReadyzLifecycle(t *testing.T) {
	gateName := t.Name()
	gates.Delete(gateName) // a fresh gate when the test runs again (-count)
	r := start(t, chainDoc(false, "control_test_gated\ngate = \""+gateName+"\"", "passthrough", "counting_sink\ndelay = \"50ms\""), setup{})
	check := func(wantStatus int, wantState, reason string) {
		t.Helper()
		r.healthy(t)
		status, body := r.ready(t)
		if status != wantStatus || body["state"] != wantState {
			t.Fatalf("/readyz = %d %v, want %d state %s", status, body, wantStatus, wantState)
		}
		if got, _ := body["reason"].(string); !strings.Contains(got, reason) {
			t.Errorf("/readyz reason %q lacks %q", got, reason)
		}
	}
	check(http.StatusServiceUnavailable, "built", "has not started")
	r.run()
	check(http.StatusServiceUnavailable, "starting", "0 of 1 sources started")
	close(gate(gateName))
	r.waitFor("running", func() bool { return r.g.Status().State == pipeline.StateRunning })
	check(http.StatusOK, "running", "")
	r.waitFor("frames", func() bool { return r.g.SinkFrames() > 3 })
	// The sink's 50 ms per datamap keeps the queued ones draining a while.
	r.g.Drain()
	check(http.StatusServiceUnavailable, "draining", "draining")
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}
	check(http.StatusServiceUnavailable, "finished", "finished")
}

// TestReadyzFailure: a component that fails turns /readyz to 503 with its
// error, while /healthz stays 200.
func TestReadyzFailure(t *testing.T) {
	r := start(t, chainDoc(true, "test_source\ncount = 0\nrate_hz = 100", "control_test_fail\nfail_at = 100", "counting_sink"), setup{start: true})
	r.waitFor("running", func() bool { return r.g.Status().State == pipeline.StateRunning })
	if status, body := r.ready(t); status != http.StatusOK {
		t.Fatalf("/readyz before the failure: %d %v", status, body)
	}
	err := r.wait()
	if err == nil || !strings.Contains(err.Error(), "refusing frame 100") {
		t.Fatalf("Run: %v", err)
	}
	r.healthy(t)
	status, body := r.ready(t)
	if status != http.StatusServiceUnavailable || body["state"] != "failed" ||
		!strings.Contains(body["reason"].(string), `component "stage1" (control_test_fail): refusing frame 100`) {
		t.Errorf("/readyz after the failure: %d %v", status, body)
	}
	p := r.get("/api/v1/pipeline").json(t)
	if p["state"] != "failed" || !strings.Contains(p["error"].(string), "refusing frame 100") {
		t.Errorf("/api/v1/pipeline after the failure: state %v error %v", p["state"], p["error"])
	}
}

// TestPprof: /debug/pprof/ answers only with Pprof set.
func TestPprof(t *testing.T) {
	doc := chainDoc(false, "test_source\ncount = 5", "counting_sink")
	off := start(t, doc, setup{})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if a := off.get(path); a.status != http.StatusNotFound {
			t.Errorf("without pprof, %s: %d", path, a.status)
		}
	}
	on := start(t, doc, setup{pprof: true})
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/goroutine?debug=1"} {
		if a := on.get(path); a.status != http.StatusOK || len(a.body) == 0 {
			t.Errorf("with pprof, %s: %d", path, a.status)
		}
	}
}

// TestPipelineDocument: GET /api/v1/pipeline describes the graph as the
// config declares it, with its live config and metrics.
func TestPipelineDocument(t *testing.T) {
	r := start(t, chainDoc(true, "test_source\ncount = 0\nrate_hz = 500", "passthrough", "counting_sink\ndelay = \"40ms\""), setup{start: true})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() > 0 })
	doc := r.get("/api/v1/pipeline").json(t)
	if doc["name"] != "ctl" || doc["state"] != "running" || doc["realtime"] != true {
		t.Errorf("pipeline: name %v state %v realtime %v", doc["name"], doc["state"], doc["realtime"])
	}
	comps := doc["components"].([]any)
	if len(comps) != 3 {
		t.Fatalf("%d components", len(comps))
	}
	want := []struct{ name, impl, kind, to string }{
		{"source", "test_source", "ds3d::dataloader", "stage1"},
		{"stage1", "passthrough", "ds3d::datafilter", "sink"},
		{"sink", "counting_sink", "ds3d::datarender", ""},
	}
	for i, w := range want {
		c := comps[i].(map[string]any)
		if c["name"] != w.name || c["impl"] != w.impl || c["kind"] != w.kind {
			t.Errorf("component %d: %v %v %v, want %+v", i, c["name"], c["impl"], c["kind"], w)
		}
		links := c["link_to"].([]any)
		if (w.to == "") != (len(links) == 0) || (w.to != "" && links[0].(map[string]any)["to"] != w.to) {
			t.Errorf("%s links %v, want %q", w.name, links, w.to)
		}
		if m := c["metrics"].(map[string]any); m["name"] != w.name {
			t.Errorf("%s metrics %v", w.name, m)
		}
	}
	src := comps[0].(map[string]any)["config"].(map[string]any)
	if src["count"] != 0.0 || src["rate_hz"] != 500.0 || src["mem_pool_size"] != 4.0 {
		t.Errorf("source config %v (want count 0, rate_hz 500, the default mem_pool_size 4)", src)
	}
	sink := comps[2].(map[string]any)
	if sink["config"].(map[string]any)["delay"] != "40ms" {
		t.Errorf("sink config %v", sink["config"])
	}
	if rk := sink["runtime_keys"].([]any); len(rk) != 1 || rk[0] != "delay" {
		t.Errorf("sink runtime keys %v", rk)
	}
}

// TestAuth: state-changing routes are refused without a token file (403,
// saying how to enable them) and without the right bearer token (401).
func TestAuth(t *testing.T) {
	doc := chainDoc(false, "test_source\ncount = 0", "counting_sink\ndelay = \"1ms\"")
	closed := start(t, doc, setup{start: true})
	for _, rt := range []struct{ method, path string }{
		{http.MethodPatch, "/api/v1/components/sink/config"},
		{http.MethodPost, "/api/v1/pipeline/drain"},
		{http.MethodPost, "/api/v1/pipeline/stop"},
	} {
		msg := closed.do(rt.method, rt.path, "Bearer anything", "application/toml", []byte(`delay = "0s"`)).errorCode(t, http.StatusForbidden, "forbidden")
		if !strings.Contains(msg, "--http-token-file") {
			t.Errorf("403 does not say how to enable it: %q", msg)
		}
	}
	open := start(t, doc, setup{start: true, token: true})
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic czNjcmV0LXRva2Vu", "Bearer s3cret-toke", "Bearer s3cret-token2"} {
		a := open.do(http.MethodPost, "/api/v1/pipeline/drain", auth, "", nil)
		a.errorCode(t, http.StatusUnauthorized, "unauthorized")
		if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("401 without WWW-Authenticate: %v", a.header)
		}
	}
	if st := open.g.Status().State; st != pipeline.StateRunning {
		t.Fatalf("refused requests changed the state to %s", st)
	}
	if a := open.do(http.MethodPost, "/api/v1/pipeline/drain", "bearer s3cret-token", "", nil); a.status != http.StatusAccepted {
		t.Fatalf("drain with the token: %d %s", a.status, a.body)
	}
	if err := open.wait(); err != nil {
		t.Fatal(err)
	}
	open.do(http.MethodPost, "/api/v1/pipeline/drain", open.bearer(), "", nil).errorCode(t, http.StatusConflict, "not_running")

	// Token files: empty or several words are refused.
	dir := t.TempDir()
	for content, want := range map[string]string{"": "is empty", " \n": "is empty", "a b": "more than one word"} {
		path := filepath.Join(dir, "tok")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := control.ReadToken(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("token file %q: %v", content, err)
		}
	}
}

// TestPatchConfig changes counting_sink's delay through the API (TOML and
// JSON bodies) and checks the refusals: keys that cannot change at run time
// (409 with the loader's message), invalid values (400), unknown
// components (404), oversized bodies (413), other media types (415) and
// wrong methods (405).
func TestPatchConfig(t *testing.T) {
	r := start(t, chainDoc(false, "test_source\ncount = 0", "passthrough", "counting_sink\ndelay = \"40ms\""), setup{start: true, token: true})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() >= 2 })
	patch := func(comp, ctype, body string) answer {
		return r.do(http.MethodPatch, "/api/v1/components/"+comp+"/config", r.bearer(), ctype, []byte(body))
	}
	a := patch("sink", "application/toml", `delay = "0s"`)
	if a.status != http.StatusOK || a.json(t)["config"].(map[string]any)["delay"] != "0s" {
		t.Fatalf("TOML change: %d %s", a.status, a.body)
	}
	if d := r.g.Config("sink").(*builtin.CountConfig).Delay; d != 0 {
		t.Errorf("the graph runs delay %v after the change", d)
	}
	// At 40 ms a datamap, 200 more would take 8 s; without the delay, moments.
	n := r.g.SinkFrames()
	r.waitFor("the new delay to apply", func() bool { return r.g.SinkFrames() >= n+200 })

	a = patch("sink", "application/json", `{"delay": "1ms"}`)
	if a.status != http.StatusOK || r.g.Config("sink").(*builtin.CountConfig).Delay != time.Millisecond {
		t.Fatalf("JSON change: %d %s", a.status, a.body)
	}
	if a = patch("sink", "", `{"delay": "2ms"}`); a.status != http.StatusOK {
		t.Errorf("JSON without a Content-Type: %d %s", a.status, a.body)
	}

	for _, c := range []struct {
		comp, ctype, body string
		status            int
		code              string
		msg               []string
	}{
		{"sink", "application/json", `{"expect": 3}`, 409, "not_runtime_updatable", []string{`key "config.expect"`, "cannot change while the pipeline runs", "[delay]"}},
		{"stage1", "application/toml", `x = 1`, 409, "not_runtime_updatable", []string{"passthrough has no runtime-updatable keys"}},
		{"sink", "application/toml", `delay = "-1s"`, 400, "invalid_config", []string{`key "config.delay"`, "must be ≥ 0s, got -1s"}},
		{"sink", "application/json", `{"delay": 5}`, 400, "invalid_config", []string{"expected duration, got integer 5"}},
		{"sink", "application/toml", `dealy = "1ms"`, 400, "invalid_config", []string{`counting_sink has no key "dealy"`}},
		{"sink", "application/toml", `delay = `, 400, "bad_request", []string{"config update"}},
		{"sink", "application/json", `[1]`, 400, "bad_request", []string{"JSON object"}},
		{"sink", "application/json", `{}`, 400, "invalid_config", []string{"changes no key"}},
		{"nope", "application/toml", `delay = "1ms"`, 404, "not_found", []string{`no component "nope"`}},
		{"sink", "application/xml", `<delay/>`, 415, "unsupported_media_type", []string{"application/json or application/toml"}},
		{"sink", "application/toml", "# " + strings.Repeat("x", control.MaxBody) + "\ndelay = \"1ms\"", 413, "too_large", []string{"65536 bytes"}},
	} {
		msg := patch(c.comp, c.ctype, c.body).errorCode(t, c.status, c.code)
		for _, w := range c.msg {
			if !strings.Contains(msg, w) {
				t.Errorf("%s %.40q: message %q lacks %q", c.comp, c.body, msg, w)
			}
		}
	}
	if d := r.g.Config("sink").(*builtin.CountConfig).Delay; d != 2*time.Millisecond {
		t.Errorf("refused changes left delay %v", d)
	}
	a = r.do(http.MethodGet, "/api/v1/components/sink/config", r.bearer(), "", nil)
	a.errorCode(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if a.header.Get("Allow") != "PATCH" {
		t.Errorf("405 Allow %q", a.header.Get("Allow"))
	}
	r.do(http.MethodDelete, "/api/v1/pipeline", r.bearer(), "", nil).errorCode(t, http.StatusMethodNotAllowed, "method_not_allowed")
	r.do(http.MethodGet, "/api/v1/pipeline/drain", "", "", nil).errorCode(t, http.StatusMethodNotAllowed, "method_not_allowed")
	r.get("/api/v1/streams").errorCode(t, http.StatusNotFound, "not_found")

	r.g.Drain()
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}
	patch("sink", "application/toml", `delay = "1ms"`).errorCode(t, http.StatusConflict, "not_running")
}

// TestStop: POST /api/v1/pipeline/stop ends an endless pipeline at once
// through the Stop hook.
func TestStop(t *testing.T) {
	r := start(t, chainDoc(false, "test_source\ncount = 0", "counting_sink"), setup{start: true, token: true})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() > 0 })
	a := r.do(http.MethodPost, "/api/v1/pipeline/stop", r.bearer(), "", nil)
	if a.status != http.StatusAccepted || a.json(t)["state"] != "stopping" {
		t.Fatalf("stop: %d %s", a.status, a.body)
	}
	if err := r.wait(); !errors.Is(err, errStopAPI) {
		t.Fatalf("Run returned %v, want the stop's cause", err)
	}
	if st := r.g.Status(); st.State != pipeline.StateStopped {
		t.Errorf("state %s after stop", st.State)
	}
	status, body := r.ready(t)
	if status != http.StatusServiceUnavailable || !strings.Contains(body["reason"].(string), "stopped") {
		t.Errorf("/readyz after stop: %d %v", status, body)
	}
}

// TestListenAddr: an address without a host binds the loopback interface.
func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8080": "127.0.0.1:8080", "8080": "127.0.0.1:8080", ":0": "127.0.0.1:0",
		"0.0.0.0:9100": "0.0.0.0:9100", "[::1]:80": "[::1]:80", "localhost:80": "localhost:80",
	} {
		if got, err := control.ListenAddr(in); err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "host", "1.2.3.4"} {
		if _, err := control.ListenAddr(bad); err == nil {
			t.Errorf("ListenAddr(%q) accepted", bad)
		}
	}
}
