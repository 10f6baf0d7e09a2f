package control_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/apps/control"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/render/raster"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// startWith is start with the server options given (and the graph's log
// going to opts.Logs when set).
func startWith(t *testing.T, doc string, opts control.Options) *run {
	t.Helper()
	p, err := config.Parse("test.toml", t.TempDir(), []byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	po := pipeline.Options{}
	if opts.Logs != nil {
		po.Log = slog.New(opts.Logs.Handler(slog.LevelInfo))
	}
	g, err := pipeline.New(p, po)
	if err != nil {
		t.Fatal(err)
	}
	r := &run{t: t, g: g, p: p, done: make(chan error, 1)}
	r.ctx, r.cancel = context.WithCancelCause(context.Background())
	opts.Addr, opts.Version = "127.0.0.1:0", "test"
	r.srv, err = control.New(g, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.srv.Start(); err != nil {
		t.Fatal(err)
	}
	r.base = r.srv.URL()
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
	r.run()
	return r
}

// lidarDoc is the bundled KITTI frame looped frames times (0: forever)
// from a lidar_file_loader with source_id 7 and a pool of pool frames,
// through a passthrough to the sink given.
func lidarDoc(t *testing.T, frames, pool int, sink string) string {
	list := filepath.Join(sampledata.RepoRoot(t), "datasets", "samples", "kitti", "lidar_list.toml")
	return chainDoc(false, fmt.Sprintf("lidar_file_loader\ndata_config_file = [%q]\nfile_loop = true\nmax_frames = %d\nsource_id = 7\nmem_pool_size = %d\npoints_num = 130000", list, frames, pool),
		"passthrough", sink)
}

// TestPoolAndSourceMetrics: behind a sink that takes 20 ms a datamap the
// loader holds every frame of its pool of 2 (the queues take more), so
// pool_frames_in_use reads 2; at the end all are back and the per-source
// counter equals the frames the loader was told to make.
func TestPoolAndSourceMetrics(t *testing.T) {
	r := start(t, lidarDoc(t, 30, 2, "counting_sink\ndelay = \"20ms\""), setup{start: true})
	r.waitFor("a few frames", func() bool { return r.g.SinkFrames() >= 3 })
	fams := r.scrape()
	if v := value(series(t, fams, "ds3d_pool_frames_in_use", "source", "pool", "DS3D::LidarXYZI")); v != 2 {
		t.Errorf("pool_frames_in_use %v behind a slow sink, want 2 (the whole pool)", v)
	}
	if v := value(series(t, fams, "ds3d_pool_frames", "source", "pool", "DS3D::LidarXYZI")); v != 2 {
		t.Errorf("pool_frames %v, want mem_pool_size 2", v)
	}
	if err := r.wait(); err != nil {
		t.Fatal(err)
	}
	fams = r.scrape()
	if v := value(series(t, fams, "ds3d_pool_frames_in_use", "source", "pool", "DS3D::LidarXYZI")); v != 0 {
		t.Errorf("pool_frames_in_use %v after the run, want 0", v)
	}
	if v := value(series(t, fams, "ds3d_source_datamaps_total", "source", "source", "7")); v != 30 {
		t.Errorf("source_datamaps_total{source=7} = %v, want max_frames 30", v)
	}
	if s := series(t, fams, "ds3d_source_datamaps_total", "source", "source", "7"); label(s, "kind") != "dataloader" {
		t.Errorf("the loader's source series has kind %q", label(s, "kind"))
	}
	if v := value(series(t, fams, "ds3d_component_frames_in_total", "sink")); v != 30 {
		t.Errorf("the sink took %v datamaps, want 30", v)
	}
}

// TestDashboard serves the page, its script and the live routes while a
// lidar pipeline draws a BEV, and checks what the page reads from them.
func TestDashboard(t *testing.T) {
	out := t.TempDir()
	tail := control.NewLogTail(50)
	doc := lidarDoc(t, 0, 4, fmt.Sprintf("raster_render\noutput_dir = %q\nwidth = 120\nheight = 80\nresolution = 0\nx_range = [0.0, 60.0]\ny_range = [-45.0, 45.0]", out))
	r := startWith(t, doc, control.Options{Logs: tail, Token: []byte("tok-never-shown")})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() >= 2 })

	page := r.get("/")
	if page.status != 200 || !strings.Contains(string(page.body), `<svg id="graph"`) || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s\n%.200s", page.status, page.header.Get("Content-Type"), page.body)
	}
	for _, path := range []string{"/static/app.js", "/static/style.css"} {
		a := r.get(path)
		if a.status != 200 || len(a.body) < 500 {
			t.Errorf("GET %s: %d, %d bytes", path, a.status, len(a.body))
		}
		// Offline: nothing is fetched from another host.
		if bytes.Contains(a.body, []byte("http://")) && !bytes.Contains(a.body, []byte("http://www.w3.org/2000/svg")) || bytes.Contains(a.body, []byte("https://")) {
			t.Errorf("%s refers to another host", path)
		}
	}
	if a := r.do(http.MethodPost, "/", "", "", nil); a.status != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", a.status)
	}

	var live struct {
		State      string `json:"state"`
		Components []struct {
			Name   string   `json:"name"`
			LinkTo []string `json:"link_to"`
			Out    uint64   `json:"frames_out"`
			Pools  []struct {
				Size  int `json:"size"`
				InUse int `json:"in_use"`
			} `json:"pools"`
		} `json:"components"`
		PerSource []struct {
			Component string `json:"component"`
			Source    string `json:"source"`
			Datamaps  uint64 `json:"datamaps"`
		} `json:"per_source"`
		Previews []string `json:"previews"`
	}
	a := r.get("/ui/live")
	if err := json.Unmarshal(a.body, &live); err != nil {
		t.Fatalf("/ui/live: %v\n%s", err, a.body)
	}
	if live.State != "running" || len(live.Components) != 3 || live.Components[0].Name != "source" ||
		fmt.Sprint(live.Components[0].LinkTo) != "[stage1]" || len(live.Components[0].Pools) != 1 || live.Components[0].Pools[0].Size != 4 {
		t.Errorf("/ui/live: %s", a.body)
	}
	if len(live.PerSource) == 0 || live.PerSource[0].Component != "source" || live.PerSource[0].Source != "7" || live.PerSource[0].Datamaps == 0 {
		t.Errorf("/ui/live per_source: %+v", live.PerSource)
	}
	if fmt.Sprint(live.Previews) != "[sink]" {
		t.Errorf("previews %v, want [sink]", live.Previews)
	}

	// The preview: 204 until the renderer, asked once, copies a picture.
	var shot answer
	r.waitFor("a preview", func() bool {
		shot = r.get("/ui/preview/sink")
		if shot.status != http.StatusOK && shot.status != http.StatusNoContent {
			t.Fatalf("preview: %d %s", shot.status, shot.body)
		}
		return shot.status == http.StatusOK
	})
	img, err := png.Decode(bytes.NewReader(shot.body))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 120 || img.Bounds().Dy() != 80 {
		t.Errorf("preview %v, want the configured 120×80", img.Bounds())
	}
	r.get("/ui/preview/nope").errorCode(t, http.StatusNotFound, "not_found")
	r.get("/ui/preview/source").errorCode(t, http.StatusNotFound, "not_found")

	// The log tail: what the graph logged, through /ui/logs from a sequence on.
	slog.New(tail.Handler(slog.LevelInfo)).Info("dashboard test line", "n", 1)
	var logs struct {
		Lines []control.LogLine `json:"lines"`
		Next  uint64            `json:"next"`
	}
	if err := json.Unmarshal(r.get("/ui/logs").body, &logs); err != nil {
		t.Fatal(err)
	}
	if len(logs.Lines) == 0 || !strings.Contains(logs.Lines[len(logs.Lines)-1].Text, `msg="dashboard test line" n=1`) {
		t.Fatalf("/ui/logs: %+v", logs)
	}
	_ = json.Unmarshal(r.get(fmt.Sprintf("/ui/logs?after=%d", logs.Next)).body, &logs)
	if len(logs.Lines) != 0 {
		t.Errorf("lines after the last one: %+v", logs.Lines)
	}
	r.get("/ui/logs?after=x").errorCode(t, http.StatusBadRequest, "bad_request")

	// The token is never in what the read-only routes send.
	for _, path := range []string{"/", "/static/app.js", "/ui/live", "/ui/logs", "/api/v1/pipeline"} {
		if b := r.get(path).body; bytes.Contains(b, []byte("tok-never-shown")) {
			t.Errorf("%s shows the token", path)
		}
	}
}

// TestLogTail: the ring keeps the last n lines in order with their
// sequence numbers, cuts long lines at a rune boundary, and Since answers
// from any point.
func TestLogTail(t *testing.T) {
	tail := control.NewLogTail(3)
	for i := range 5 {
		fmt.Fprintf(tail, "line %d\n", i)
	}
	lines, next := tail.Since(0)
	if next != 5 || len(lines) != 3 || lines[0].Seq != 2 || lines[0].Text != "line 2" || lines[2].Text != "line 4" {
		t.Fatalf("Since(0) = %+v, %d", lines, next)
	}
	if lines, _ := tail.Since(4); len(lines) != 1 || lines[0].Text != "line 4" {
		t.Fatalf("Since(4) = %+v", lines)
	}
	if lines, next := tail.Since(99); len(lines) != 0 || next != 5 {
		t.Fatalf("Since(99) = %+v, %d", lines, next)
	}
	tail.Write([]byte("a\nb\r\n")) // two lines in one write
	if lines, _ := tail.Since(5); len(lines) != 2 || lines[0].Text != "a" || lines[1].Text != "b" {
		t.Fatalf("two lines in one write: %+v", lines)
	}
	long := strings.Repeat("é", 3000) // 6000 bytes
	tail.Write([]byte(long + "\n"))
	lines, _ = tail.Since(7)
	if len(lines) != 1 || len(lines[0].Text) > 2100 || !strings.HasSuffix(lines[0].Text, "(cut)") || !strings.HasPrefix(lines[0].Text, "éé") {
		t.Fatalf("long line kept as %d bytes: %.40q…", len(lines[0].Text), lines[0].Text)
	}
	if s := strings.TrimSuffix(lines[0].Text, " …(cut)"); strings.ContainsRune(s, '\uFFFD') || len(s)%2 != 0 {
		t.Fatalf("cut inside a rune")
	}
}

// TestTLS: with a certificate the server speaks HTTPS only; a client that
// trusts the certificate gets answers, plain HTTP does not.
func TestTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	r := startWith(t, chainDoc(false, "test_source\ncount = 0", "counting_sink\ndelay = \"1ms\""),
		control.Options{TLSCert: certFile, TLSKey: keyFile})
	if !strings.HasPrefix(r.base, "https://") {
		t.Fatalf("URL %s", r.base)
	}
	r.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	if a := r.get("/healthz"); a.status != 200 || string(a.body) != "ok\n" {
		t.Fatalf("GET /healthz over TLS: %d %s", a.status, a.body)
	}
	if a := r.get("/metrics"); a.status != 200 {
		t.Fatalf("GET /metrics over TLS: %d", a.status)
	}
	// Plain HTTP to the TLS port: Go's server answers 400.
	plain := &http.Client{Timeout: 5 * time.Second}
	resp, err := plain.Get("http://" + r.srv.Addr() + "/healthz")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatalf("plain HTTP answered 200 on the TLS port: %s", body)
		}
	}
	// A client that does not trust the certificate is refused.
	untrusting := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	if _, err := untrusting.Get(r.base + "/healthz"); err == nil {
		t.Fatal("a client without the CA got an answer")
	}
	untrusting.CloseIdleConnections()
	plain.CloseIdleConnections()

	// Half a pair, a missing file, a key that is not the certificate's.
	g, p := r.g, r.p
	for _, c := range []struct {
		cert, key, want string
	}{
		{certFile, "", "both a certificate and a key"},
		{filepath.Join(dir, "nope.pem"), keyFile, "nope.pem"},
		{certFile, certFile, "cert.pem"},
	} {
		_, err := control.New(g, p, control.Options{TLSCert: c.cert, TLSKey: c.key})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("cert %q key %q: %v, want an error naming %q", c.cert, c.key, err, c.want)
		}
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their files and a pool trusting the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ds3d test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
