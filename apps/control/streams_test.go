package control_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/apps/control"
	_ "github.com/ds3d-go/ds3d-go/core2d/source"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// Components of the streams tests: a sink that counts datamaps per
// DS3D::SourceId and can hold one source's datamaps until its gate opens,
// and a loader whose Close checks that every frame of its pool is back.

type streamSinkConfig struct {
	Name     string `toml:"name" doc:"key of the sink's record"`
	HoldFrom int    `toml:"hold_from" doc:"source id whose datamaps are held until the gate opens; -1 holds none"`
}

type sinkRecord struct {
	mu     sync.Mutex
	count  map[int64]int
	points map[int64]int // points of the last DS3D::LidarXYZI per source
	held   []*ds3d.DataMap
	gate   chan struct{}
}

var sinkRecords sync.Map // name → *sinkRecord

func record(name string) *sinkRecord {
	r, _ := sinkRecords.LoadOrStore(name, &sinkRecord{count: map[int64]int{}, points: map[int64]int{}, gate: make(chan struct{})})
	return r.(*sinkRecord)
}

func (r *sinkRecord) n(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count[id]
}

func (r *sinkRecord) pts(id int64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.points[id]
}

// open releases the held datamaps and holds no more.
func (r *sinkRecord) open() {
	r.mu.Lock()
	defer r.mu.Unlock()
	select {
	case <-r.gate:
	default:
		close(r.gate)
	}
	for _, m := range r.held {
		m.Release()
	}
	r.held = nil
}

type streamSink struct {
	r    *sinkRecord
	hold int64
}

func (s *streamSink) Render(_ context.Context, in *ds3d.DataMap) error {
	id, err := in.Int64(ds3d.KeySourceID)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	s.r.count[id]++
	if f, err := in.Frame(ds3d.KeyLidarXYZI); err == nil {
		s.r.points[id] = f.Points()
	}
	if id == s.hold {
		select {
		case <-s.r.gate:
		default:
			s.r.held = append(s.r.held, in.Clone()) // the runtime releases in itself
		}
	}
	return nil
}

func (s *streamSink) Close() error { s.r.open(); return nil }

type pooledConfig struct {
	Name string `toml:"name" doc:"key of the loader's record"`
	Pool int    `toml:"pool" doc:"frames in the pool"`
}

// pooledResult is what a pooled loader's Close saw: whether its pool had
// every frame back.
var pooledResult sync.Map // name → error

type pooledLoader struct {
	name string
	pool *ds3d.FramePool
	k    int64
}

func (l *pooledLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	f, err := l.pool.Get(ctx)
	if err != nil {
		return nil, err
	}
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, l.k)
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	l.k++
	time.Sleep(time.Millisecond)
	return m, nil
}

// Close takes every frame from the pool: one still held downstream makes
// TryGet come back empty.
func (l *pooledLoader) Close() error {
	var err error
	for i := 0; i < l.pool.Size(); i++ {
		if l.pool.TryGet() == nil {
			err = fmt.Errorf("frame %d of %d is still held downstream at Close", i+1, l.pool.Size())
			break
		}
	}
	pooledResult.Store(l.name, err)
	return nil
}

func init() {
	ds3d.Register(ds3d.KindRender, "control_test_stream_sink", "Counts datamaps per source id (control tests).",
		func() *streamSinkConfig { return &streamSinkConfig{HoldFrom: -1} },
		func(c *streamSinkConfig, _ *ds3d.Env) (any, error) {
			return &streamSink{r: record(c.Name), hold: int64(c.HoldFrom)}, nil
		})
	ds3d.Register(ds3d.KindLoader, "control_test_pooled", "Pooled frames checked at Close (control tests).",
		func() *pooledConfig { return &pooledConfig{Pool: 3} },
		func(c *pooledConfig, _ *ds3d.Env) (any, error) {
			p, err := ds3d.NewFramePool(c.Pool, func() *ds3d.Frame { return ds3d.NewLidarFrame(5) })
			return &pooledLoader{name: c.Name, pool: p}, err
		})
}

// writeBin writes a KITTI .bin of n points (x y z intensity float32).
func writeBin(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, 16*n)
	for i := 0; i < 4*n; i++ {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(i)))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// streamsRun starts source (multi_source with cfg) → sink on a config in
// dir, with the streams routes.
func streamsRun(t *testing.T, cfg, sinkName string, hold int) *run {
	t.Helper()
	doc := chainDoc(false, "multi_source\n"+cfg, fmt.Sprintf("control_test_stream_sink\nname = %q\nhold_from = %d", sinkName, hold))
	r := start(t, doc, setup{token: true})
	r.run()
	r.waitFor("running", func() bool { return r.g.Status().State == "running" })
	return r
}

// matches checks an answer's body against a schema of openapi.yaml.
func matches(t *testing.T, a answer, name string) {
	t.Helper()
	var doc spec
	if err := yaml.Unmarshal(control.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
	var errs []string
	doc.check(&schema{Ref: "#/components/schemas/" + name}, v, name, &errs)
	for _, e := range errs {
		t.Error(e)
	}
}

func (r *run) post(body string) answer {
	return r.do(http.MethodPost, "/api/v1/streams", r.bearer(), "application/json", []byte(body))
}

func (r *run) streamIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, s := range r.get("/api/v1/streams").json(t)["streams"].([]any) {
		ids = append(ids, s.(map[string]any)["id"].(string))
	}
	return ids
}

// TestStreamsAddRemove adds a lidar file list, a test_source and a pooled
// loader to a running multi_source through the API, sees their datamaps
// reach the sink with their source ids, and removes them: a removed stream
// stops, and its loader is closed only once the sink has let go of every
// frame it held (its pool is full again at Close).
func TestStreamsAddRemove(t *testing.T) {
	name := t.Name()
	sinkRecords.Delete(name)
	pooledResult.Delete(name)
	dir := t.TempDir()
	for i := 0; i < 3; i++ {
		writeBin(t, filepath.Join(dir, "data", fmt.Sprintf("%06d.bin", i)), 100+i)
	}
	cfg := fmt.Sprintf("allowed_roots = [%q]\nallowed_impls = [\"lidar_file_loader\", \"test_source\", \"control_test_pooled\"]", filepath.Join(dir, "data"))
	r := streamsRun(t, cfg, name, 9)
	rec := record(name)

	a := r.post(fmt.Sprintf(`{"id": "lidar", "impl": "lidar_file_loader", "config": {"files": [%q], "rate_hz": 10, "file_loop": true}}`, filepath.Join(dir, "data", "*.bin")))
	if a.status != http.StatusCreated {
		t.Fatalf("adding the lidar list: %d %s", a.status, a.body)
	}
	if doc := a.json(t); doc["source_id"] != 0.0 || doc["component"] != "source" || a.header.Get("Location") != "/api/v1/streams/lidar" {
		t.Errorf("answer %s, Location %q", a.body, a.header.Get("Location"))
	}
	if a = r.post(`{"impl": "test_source", "source_id": 7, "config": {"count": 0, "rate_hz": 100}}`); a.status != http.StatusCreated {
		t.Fatalf("adding test_source: %d %s", a.status, a.body)
	}
	matches(t, a, "Stream")
	testID := a.json(t)["id"].(string)
	r.waitFor("both streams at the sink", func() bool { return rec.n(0) > 5 && rec.n(7) > 5 })
	// The three files hold 100, 101 and 102 points; looping shows them all.
	seen := map[int]bool{}
	r.waitFor("every file's point count", func() bool { seen[rec.pts(0)] = true; return seen[100] && seen[101] && seen[102] })
	matches(t, r.get("/api/v1/streams"), "StreamList")
	if ids := r.streamIDs(t); strings.Join(ids, ",") != "lidar,"+testID {
		t.Errorf("streams %v", ids)
	}

	if a = r.do(http.MethodDelete, "/api/v1/streams/lidar", r.bearer(), "", nil); a.status != http.StatusOK || a.json(t)["state"] != "removed" {
		t.Fatalf("removing lidar: %d %s", a.status, a.body)
	}
	n := rec.n(0)
	time.Sleep(100 * time.Millisecond)
	if rec.n(0) != n {
		t.Errorf("the removed stream still sends: %d then %d datamaps", n, rec.n(0))
	}
	m := rec.n(7)
	r.waitFor("the other stream to go on", func() bool { return rec.n(7) > m+5 })
	if ids := r.streamIDs(t); len(ids) != 1 || ids[0] != testID {
		t.Errorf("streams after the removal %v", ids)
	}

	// A pooled stream whose datamaps the sink holds: removal waits for them.
	if a = r.post(fmt.Sprintf(`{"id": "pooled", "impl": "control_test_pooled", "source_id": 9, "config": {"name": %q, "pool": 3}}`, name)); a.status != http.StatusCreated {
		t.Fatalf("adding the pooled loader: %d %s", a.status, a.body)
	}
	r.waitFor("the sink to hold the pool", func() bool { return rec.n(9) >= 3 })
	// The DELETE waits on its own connection: a second connection of the
	// test's client, dialed and left unused, would hold up the server's
	// shutdown.
	done := make(chan answer, 1)
	other := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer other.CloseIdleConnections()
	go func() {
		req, _ := http.NewRequest(http.MethodDelete, r.base+"/api/v1/streams/pooled", nil)
		req.Header.Set("Authorization", r.bearer())
		resp, err := other.Do(req)
		if err != nil {
			done <- answer{body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- answer{status: resp.StatusCode, header: resp.Header, body: b}
	}()
	r.waitFor("the removal to begin", func() bool {
		for _, s := range r.get("/api/v1/streams").json(t)["streams"].([]any) {
			if s := s.(map[string]any); s["id"] == "pooled" {
				return s["state"] == "removing" && s["frames_in_flight"] == 3.0
			}
		}
		return false
	})
	select {
	case a := <-done:
		t.Fatalf("the removal ended while the sink held the stream's frames: %d %s", a.status, a.body)
	case <-time.After(200 * time.Millisecond):
	}
	if _, closed := pooledResult.Load(name); closed {
		t.Fatal("the pooled loader was closed while its frames were held")
	}
	rec.open()
	if a = <-done; a.status != http.StatusOK || a.json(t)["state"] != "removed" {
		t.Fatalf("removing the pooled loader: %d %s", a.status, a.body)
	}
	matches(t, a, "Stream")
	if err, ok := pooledResult.Load(name); !ok || err != nil {
		t.Fatalf("the pooled loader at Close: closed %v, %v", ok, err)
	}
	r.g.Drain()
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}
}

// TestStreamsRefused: every safety rule refuses its request with a 4xx
// JSON error and its code, and the pipeline runs on unchanged.
func TestStreamsRefused(t *testing.T) {
	name := t.Name()
	sinkRecords.Delete(name)
	dir := t.TempDir()
	writeBin(t, filepath.Join(dir, "data", "000000.bin"), 10)
	writeBin(t, filepath.Join(dir, "secret", "000000.bin"), 10)
	if err := os.MkdirAll(filepath.Join(dir, "data", "bad"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "data", "bad", "000000.bin"), []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret"), filepath.Join(dir, "data", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret", "000000.bin"), filepath.Join(dir, "data", "evil.bin")); err != nil {
		t.Fatal(err)
	}
	r := streamsRun(t, fmt.Sprintf(`allowed_roots = [%q]
max_streams = 2
allowed_schemes = ["file", "rtsp", "udp"]
streams = [{id = "base", impl = "test_source", config = {count = 0, rate_hz = 100}}]`, filepath.Join(dir, "data")), name, -1)
	rec := record(name)
	r.waitFor("the base stream", func() bool { return rec.n(0) > 0 })
	lidar := func(files string) string {
		return fmt.Sprintf(`{"impl": "lidar_file_loader", "config": {"files": [%q]}}`, filepath.Join(dir, files))
	}
	for _, c := range []struct {
		what, body string
		status     int
		code, msg  string
	}{
		{"../ escape", lidar("data/../secret/*.bin"), 403, "path_not_allowed", "outside the allowed roots"},
		{"absolute path outside", lidar("secret/000000.bin"), 403, "path_not_allowed", "secret"},
		{"file:// outside", `{"impl": "uri_source", "config": {"uri": "file:///etc/hostname"}}`, 403, "path_not_allowed", "/etc/hostname"},
		{"symlinked folder", lidar("data/link/*.bin"), 403, "path_not_allowed", "symbolic link"},
		{"symlinked file", lidar("data/evil.bin"), 403, "path_not_allowed", "symbolic link"},
		{"http not allowed", `{"impl": "uri_source", "config": {"uri": "http://127.0.0.1/x.mp4"}}`, 403, "scheme_not_allowed", "scheme http"},
		{"host not allowed", `{"impl": "uri_source", "config": {"uri": "rtsp://example.com/cam"}}`, 403, "host_not_allowed", `"example.com"`},
		{"udp host not allowed", `{"impl": "velodyne_udp", "config": {"address": "10.1.2.3:2368"}}`, 403, "host_not_allowed", `config.address`},
		{"udp every interface", `{"impl": "velodyne_udp", "config": {"address": ":2368"}}`, 403, "host_not_allowed", `"0.0.0.0"`},
		{"unknown impl", `{"impl": "nope_loader"}`, 400, "unknown_impl", `"nope_loader"`},
		{"not a loader", `{"impl": "counting_sink"}`, 400, "unknown_impl", "not a loader"},
		{"impl not allowed", `{"impl": "control_test_pooled"}`, 403, "impl_not_allowed", "allowed_impls"},
		{"bad child value", `{"impl": "test_source", "config": {"rate_hz": -1}}`, 400, "invalid_config", `key "config.rate_hz"`},
		{"unknown child key", `{"impl": "test_source", "config": {"cout": 1}}`, 400, "invalid_config", `"cout"`},
		{"missing file", lidar("data/nothere.bin"), 400, "invalid_config", "config.files"},
		{"unreadable file", lidar("data/bad/*.bin"), 422, "start_failed", "000000.bin"},
		{"taken id", `{"id": "base", "impl": "test_source"}`, 409, "conflict", `"base"`},
		{"taken source id", `{"source_id": 0, "impl": "test_source"}`, 409, "conflict", "source_id 0"},
		{"bad id", `{"id": "a/b", "impl": "test_source"}`, 400, "invalid_config", "stream id"},
		{"unknown field", `{"impl": "test_source", "cfg": {}}`, 400, "bad_request", `"cfg"`},
		{"no impl", `{"config": {}}`, 400, "bad_request", "impl"},
		{"unknown component", `{"component": "sink", "impl": "test_source"}`, 404, "not_found", `"sink"`},
	} {
		msg := r.post(c.body).errorCode(t, c.status, c.code)
		if !strings.Contains(msg, c.msg) {
			t.Errorf("%s: message %q lacks %q", c.what, msg, c.msg)
		}
	}
	r.do(http.MethodPost, "/api/v1/streams", "", "application/json", []byte(`{"impl": "test_source"}`)).errorCode(t, 401, "unauthorized")
	r.do(http.MethodDelete, "/api/v1/streams/base", "Bearer wrong", "", nil).errorCode(t, 401, "unauthorized")
	r.do(http.MethodDelete, "/api/v1/streams/nope", r.bearer(), "", nil).errorCode(t, 404, "not_found")
	r.do(http.MethodPost, "/api/v1/streams", r.bearer(), "application/xml", []byte(`<x/>`)).errorCode(t, 415, "unsupported_media_type")
	if a := r.do(http.MethodPut, "/api/v1/streams", r.bearer(), "", nil); a.header.Get("Allow") != "GET, HEAD, POST" {
		t.Errorf("PUT: %d, Allow %q", a.status, a.header.Get("Allow"))
	}
	r.do(http.MethodGet, "/api/v1/streams/base", "", "", nil).errorCode(t, 405, "method_not_allowed")

	// max_streams = 2: base and one more.
	if a := r.post(fmt.Sprintf(`{"impl": "lidar_file_loader", "config": {"files": [%q], "file_loop": true}}`, filepath.Join(dir, "data/0*.bin"))); a.status != http.StatusCreated {
		t.Fatalf("an allowed lidar list: %d %s", a.status, a.body)
	}
	r.post(`{"impl": "test_source"}`).errorCode(t, 409, "too_many_streams")

	if ids := r.streamIDs(t); len(ids) != 2 || ids[0] != "base" {
		t.Errorf("streams %v", ids)
	}
	n := rec.n(0)
	r.waitFor("the base stream to go on", func() bool { return rec.n(0) > n+5 })
	if st := r.g.Status(); st.State != "running" {
		t.Errorf("pipeline %s after the refusals", st.State)
	}
}

// TestStreamsSchemes: with only rtsp allowed, file paths and file:// URIs
// are refused; with no multi_source, the routes say so.
func TestStreamsSchemes(t *testing.T) {
	name := t.Name()
	sinkRecords.Delete(name)
	r := streamsRun(t, `allowed_schemes = ["rtsp"]`, name, -1)
	writeBin(t, filepath.Join(r.p.Dir, "a.bin"), 4)
	r.post(`{"impl": "uri_source", "config": {"uri": "file://clip.avi"}}`).errorCode(t, 403, "scheme_not_allowed")
	r.post(`{"impl": "lidar_file_loader", "config": {"files": ["a.bin"]}}`).errorCode(t, 403, "scheme_not_allowed")

	plain := start(t, chainDoc(false, "test_source\ncount = 0", "counting_sink"), setup{start: true, token: true})
	plain.get("/api/v1/streams").errorCode(t, 404, "not_found")
	plain.do(http.MethodPost, "/api/v1/streams", plain.bearer(), "application/json", []byte(`{"impl": "test_source"}`)).errorCode(t, 404, "not_found")
}

// TestStreamsTwoSources: with two multi_source components a request names
// the one it means; listings say which holds each stream.
func TestStreamsTwoSources(t *testing.T) {
	name := t.Name()
	sinkRecords.Delete(name + "a")
	sinkRecords.Delete(name + "b")
	var doc strings.Builder
	doc.WriteString("[pipeline]\nname = \"two\"\n")
	for _, x := range []string{"a", "b"} {
		fmt.Fprintf(&doc, "[[component]]\nname = \"src_%s\"\ntype = \"ds3d::dataloader\"\nimpl = \"multi_source\"\nlink_to = \"sink_%s\"\n", x, x)
		fmt.Fprintf(&doc, "[[component]]\nname = \"sink_%s\"\ntype = \"ds3d::datarender\"\nimpl = \"control_test_stream_sink\"\n[component.config]\nname = %q\n", x, name+x)
	}
	r := start(t, doc.String(), setup{token: true, start: true})
	r.post(`{"impl": "test_source"}`).errorCode(t, 400, "ambiguous_component")
	if a := r.post(`{"component": "src_b", "id": "x", "impl": "test_source", "config": {"count": 0}}`); a.status != http.StatusCreated {
		t.Fatalf("add to src_b: %d %s", a.status, a.body)
	}
	if a := r.post(`{"component": "src_a", "id": "x", "impl": "test_source", "config": {"count": 0}}`); a.status != http.StatusCreated {
		t.Fatalf("add to src_a: %d %s", a.status, a.body)
	}
	r.waitFor("both sinks", func() bool { return record(name+"a").n(0) > 0 && record(name+"b").n(0) > 0 })
	list := r.get("/api/v1/streams?component=src_b").json(t)["streams"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["component"] != "src_b" {
		t.Errorf("src_b's streams: %v", list)
	}
	r.do(http.MethodDelete, "/api/v1/streams/x", r.bearer(), "", nil).errorCode(t, 400, "ambiguous_component")
	if a := r.do(http.MethodDelete, "/api/v1/streams/x?component=src_a", r.bearer(), "", nil); a.status != http.StatusOK || a.json(t)["component"] != "src_a" {
		t.Fatalf("delete from src_a: %d %s", a.status, a.body)
	}
	if a := r.do(http.MethodDelete, "/api/v1/streams/x", r.bearer(), "", nil); a.status != http.StatusOK || a.json(t)["component"] != "src_b" {
		t.Fatalf("delete the last x: %d %s", a.status, a.body)
	}
}

// TestStreamsUDPLidar adds a velodyne_udp stream listening on 127.0.0.1
// while a sender replays the bundled VLP-16 capture to it, sees its scans
// at the sink under the stream's source id, and removes it.
func TestStreamsUDPLidar(t *testing.T) {
	name := t.Name()
	sinkRecords.Delete(name)
	var ps [][]byte
	rd, c, err := pcap.Open(filepath.Join(sampledata.RepoRoot(t), "datasets", "samples", "lidar-raw", "vlp16_strongest_2018.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.DstPort == 2368 {
			ps = append(ps, bytes.Clone(p.Payload))
		}
	}
	c.Close()
	if len(ps) < 50 {
		t.Fatalf("only %d packets in the capture", len(ps))
	}
	// A free port: bind one, note it, let it go for the stream to take.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()

	r := streamsRun(t, "", name, -1)
	rec := record(name)
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		conn, err := net.Dial("udp", addr)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			for i, p := range ps {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = conn.Write(p)
				// About 2,000 packets/s, under 3x a VLP-16's 754: faster,
				// the race pass on 2 busy cores lets the socket drop
				// packets and a scan comes out short.
				if i%2 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}()
	defer func() { close(stop); <-sent }()

	a := r.post(fmt.Sprintf(`{"id": "vlp16", "impl": "velodyne_udp", "source_id": 3, "config": {"address": %q}}`, addr))
	if a.status != http.StatusCreated {
		t.Fatalf("adding velodyne_udp: %d %s", a.status, a.body)
	}
	r.waitFor("scans at the sink", func() bool { return rec.n(3) >= 3 })
	// A VLP-16 scan holds 16 rings of a few hundred to ~1800 returns each.
	if n := rec.pts(3); n < 16*300 || n > 16*2000 {
		t.Errorf("a scan of %d points", n)
	}
	if a = r.do(http.MethodDelete, "/api/v1/streams/vlp16", r.bearer(), "", nil); a.status != http.StatusOK || a.json(t)["state"] != "removed" {
		t.Fatalf("removing velodyne_udp: %d %s", a.status, a.body)
	}
	// The port is free again: the stream's socket was closed.
	pc, err = net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("the removed stream still holds %s: %v", addr, err)
	}
	pc.Close()
}
