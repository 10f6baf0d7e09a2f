package ouster_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
)

type got struct {
	ts, frame int64
	pts       []float32
}

type recSink struct {
	mu   sync.Mutex
	recs []got
}

func (r *recSink) Render(_ context.Context, m *ds3d.DataMap) error {
	f, err := ds3d.Get[*ds3d.Frame](m, ds3d.KeyLidarXYZI)
	if err != nil {
		return err
	}
	g := got{pts: append([]float32(nil), ds3d.AsFloat32(f)[:4*f.Points()]...)}
	g.ts, _ = m.Timestamp()
	g.frame, _ = m.Int64(ds3d.KeyFrameNumber)
	r.mu.Lock()
	r.recs = append(r.recs, g)
	r.mu.Unlock()
	return nil
}

type noCfg struct{}

func (*noCfg) Validate() error { return nil }

var sinks sync.Map

func init() {
	ds3d.Register(ds3d.KindRender, "ouster_test_recorder", "Records frames for ouster tests.",
		func() *noCfg { return &noCfg{} },
		func(_ *noCfg, env *ds3d.Env) (any, error) {
			s := &recSink{}
			sinks.Store(env.Name, s)
			return s, nil
		})
}

// runLoader builds and runs loader impl → recorder from a TOML document.
func runLoader(t *testing.T, impl, cfg string) []got {
	t.Helper()
	sink := "rec_" + filepath.Base(t.Name())
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = \"" + impl + "\"\nlink_to = \"" + sink +
		"\"\n[component.config]\n" + cfg + "\n[[component]]\nname = \"" + sink + "\"\ntype = \"ds3d::datarender\"\nimpl = \"ouster_test_recorder\"\n"
	path := filepath.Join(t.TempDir(), "p.toml")
	os.WriteFile(path, []byte(doc), 0o644)
	p, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	s, _ := sinks.Load(sink)
	return s.(*recSink).recs
}

func samePoints(t *testing.T, what string, a, b []float32) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: %d vs %d points", what, len(a)/4, len(b)/4)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("%s: value %d differs: %v vs %v", what, i, a[i], b[i])
		}
	}
}

// TestPcapFileLoader replays the OS1-64 capture through pcap_file_loader
// with sensor = "ouster": the three frames equal decoding it directly, and
// drop_partial keeps the complete one.
func TestPcapFileLoader(t *testing.T) {
	c := captures[2]
	path := sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".pcap")
	js := sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")
	recs := runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "ouster"
calibration = "`+js+`"
mem_pool_size = 2`)
	ps, ts, _ := packets(t, c.name, ouster.Port)
	want, _ := decodeAll(t, ouster.Config{Meta: meta(t, c.name)}, ps, ts)
	if len(recs) != 3 || len(want) != 3 {
		t.Fatalf("%d datamaps, want 3", len(recs))
	}
	for i, r := range recs {
		samePoints(t, "frame", r.pts, want[i].pts)
		if r.ts != want[i].Timestamp || r.frame != int64(i) {
			t.Errorf("frame %d: ts %d number %d, want %d", i, r.ts, r.frame, want[i].Timestamp)
		}
	}
	recs = runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "ouster"
calibration = "`+js+`"
drop_partial = true`)
	if len(recs) != 1 || len(recs[0].pts)/4 != 58797 {
		t.Errorf("drop_partial: %d frames, want the complete one", len(recs))
	}
	// The dual-profile capture: the IMU packets on 7503 are skipped by port.
	c = captures[1]
	recs = runLoader(t, "pcap_file_loader", `path = "`+sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".pcap")+`"
sensor = "ouster"
return_mode = "strongest"
calibration = "`+sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")+`"`)
	if len(recs) != 1 || len(recs[0].pts)/4 != c.nonZero {
		t.Errorf("dual capture: %d frames", len(recs))
	}
}

// TestUDPEndToEnd replays the dual-profile capture over UDP on 127.0.0.1
// into ouster_udp (with a LEGACY packet and an IMU packet mixed in, which
// are counted as malformed) and checks that the frame equals decoding the
// capture directly.
func TestUDPEndToEnd(t *testing.T) {
	c := captures[1]
	ps, ts, _ := packets(t, c.name, ouster.Port)
	legacy, _, _ := packets(t, captures[0].name, ouster.Port)
	want, _ := decodeAll(t, ouster.Config{Meta: meta(t, c.name)}, ps, ts)
	cfg := &ouster.UDPConfig{Address: "127.0.0.1:0", Metadata: ds3d.Path(sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")),
		IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20, OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 4}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	l, err := ouster.NewUDPLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the sensor, paced so that loopback does not overflow
		defer wg.Done()
		conn, err := net.Dial("udp", l.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		conn.Write(legacy[0])
		conn.Write(make([]byte, 48))
		for i, p := range ps {
			conn.Write(p)
			if i%4 == 3 {
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	var recs []got
	for {
		m, err := l.Next(ctx)
		if err != nil {
			break
		}
		f, _ := ds3d.Get[*ds3d.Frame](m, ds3d.KeyLidarXYZI)
		recs = append(recs, got{pts: append([]float32(nil), ds3d.AsFloat32(f)[:4*f.Points()]...)})
		m.Release()
	}
	wg.Wait()
	if st := l.Stats(); st.Received != int64(len(ps))+2 || st.Malformed != 2 || st.Dropped != 0 || st.Scans != 1 {
		t.Fatalf("stats %+v (sent %d + 2 foreign)", st, len(ps))
	}
	if len(recs) != 1 {
		t.Fatalf("%d frames over UDP", len(recs))
	}
	samePoints(t, "udp frame", recs[0].pts, want[0].pts)
	bad := &ouster.UDPConfig{Address: ":0", OutputKey: "x", MemPoolSize: 1}
	if err := bad.Validate(); err == nil {
		t.Error("ouster_udp without metadata validated")
	}
}
