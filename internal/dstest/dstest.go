// Package dstest holds test helpers for component tests: a recording sink
// (the datarender RecorderImpl) that keeps a summary of every datamap it
// sees, and helpers that build and run a pipeline from a TOML document —
// a loader into the recorder (Record) or any graph (Run). Summaries, not
// datamaps, are kept because loaders recycle their frames through small
// pools: a sink that held on to datamaps would stall the loader. Being
// internal, it is importable only by this module, and only its tests
// should import it.
package dstest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// RecorderImpl is the impl name of the recording datarender.
const RecorderImpl = "dstest_recorder"

// Timeout bounds a Run: a graph that hangs fails its test instead of the
// whole test binary.
const Timeout = 30 * time.Second

// Meta is what most recorders want of every datamap: its frame number,
// timestamp (ns) and source id, zero where absent.
type Meta struct {
	Frame, Timestamp, Source int64
}

// MetaOf returns m's Meta.
func MetaOf(m *ds3d.DataMap) Meta {
	var s Meta
	s.Frame, _ = m.Int64(ds3d.KeyFrameNumber)
	s.Timestamp, _ = m.Timestamp()
	s.Source, _ = m.Int64(ds3d.KeySourceID)
	return s
}

// Points returns a copy of the points of the [N,4] f32 frame under key.
func Points(m *ds3d.DataMap, key ds3d.Key) ([]float32, error) {
	f, err := ds3d.Get[*ds3d.Frame](m, key)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), ds3d.AsFloat32(f)[:4*f.Points()]...), nil
}

// Scan is a lidar datamap as tests keep it: its Meta and a copy of its
// DS3D::LidarXYZI points.
type Scan struct {
	Meta
	Points []float32
}

// ScanOf is the summarise function of Record and Drain for lidar loaders.
func ScanOf(m *ds3d.DataMap) (Scan, error) {
	pts, err := Points(m, ds3d.KeyLidarXYZI)
	return Scan{Meta: MetaOf(m), Points: pts}, err
}

// SendUDP plays a lidar sensor: from a goroutine of its own it sends pre
// (foreign or broken packets) and then ps to addr over UDP, pausing 200 µs
// after every pace packets so that loopback does not overflow. The
// returned wait blocks until all are sent.
func SendUDP(t testing.TB, addr string, pace int, pre, ps [][]byte) (wait func()) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := net.Dial("udp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		for _, p := range pre {
			conn.Write(p)
		}
		for i, p := range ps {
			conn.Write(p)
			if i%pace == pace-1 {
				time.Sleep(200 * time.Microsecond)
			}
		}
	}()
	return wg.Wait
}

// Drain reads l until Next fails (its end, or ctx's) and returns what
// summarise made of each datamap, releasing them; a summarise error fails t.
func Drain[T any](ctx context.Context, t testing.TB, l ds3d.Loader, summarise func(*ds3d.DataMap) (T, error)) []T {
	t.Helper()
	var out []T
	for {
		m, err := l.Next(ctx)
		if err != nil {
			return out
		}
		s, err := summarise(m)
		m.Release()
		if err != nil {
			t.Error(err)
		}
		out = append(out, s)
	}
}

// SamePoints fails t unless a and b hold the same XYZI points, bit for bit.
func SamePoints(t testing.TB, what string, a, b []float32) {
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

// recorder is a recording sink: it calls summarise on every datamap, in
// arrival order, and keeps what it returns.
type recorder struct {
	summarise func(*ds3d.DataMap) (any, error)
	mu        sync.Mutex
	got       []any
}

func (r *recorder) Render(_ context.Context, m *ds3d.DataMap) error {
	s, err := r.summarise(m)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
	return nil
}

type recorderConfig struct{}

func (*recorderConfig) Validate() error { return nil }

// pending maps a recorder's component name to its summarise function until
// the graph builds it; names are unique per Record call.
var (
	pending   sync.Map // name → *recorder
	sinkCount atomic.Int64
)

func init() {
	ds3d.Register(ds3d.KindRender, RecorderImpl, "Test sink (internal/dstest): keeps a summary of every datamap for the test that runs it.",
		func() *recorderConfig { return &recorderConfig{} },
		func(_ *recorderConfig, env *ds3d.Env) (any, error) {
			r, ok := pending.Load(env.Name)
			if !ok {
				return nil, fmt.Errorf("%s %q: not created by dstest.Record", RecorderImpl, env.Name)
			}
			return r, nil
		})
}

// Run parses doc (relative paths resolve against dir; "" is the working
// directory), builds the graph and runs it to its end within Timeout. The
// graph is returned even when the run fails, for its metrics; it is nil
// when parsing or building fails.
func Run(t testing.TB, dir, doc string) (*pipeline.Graph, error) {
	t.Helper()
	p, err := config.Parse("pipeline.toml", dir, []byte(doc))
	if err != nil {
		return nil, err
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	return g, g.Run(ctx)
}

// MustRun is Run failing t on any error.
func MustRun(t testing.TB, dir, doc string) *pipeline.Graph {
	t.Helper()
	g, err := Run(t, dir, doc)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// MustRunFile is MustRun of the pipeline file path (its relative paths
// resolve against its folder, as config.Load's do).
func MustRunFile(t testing.TB, path string) *pipeline.Graph {
	t.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return MustRun(t, filepath.Dir(path), string(doc))
}

// Record runs a dataloader of impl, configured by the TOML body cfg
// (relative paths against dir), into a recorder, and returns what
// summarise made of each datamap, in arrival order — also when the run
// fails part way (with the error of parsing, building or running).
func Record[T any](t testing.TB, dir, impl, cfg string, summarise func(*ds3d.DataMap) (T, error)) ([]T, error) {
	t.Helper()
	name := "dstest_rec_" + strconv.FormatInt(sinkCount.Add(1), 10)
	r := &recorder{summarise: func(m *ds3d.DataMap) (any, error) { return summarise(m) }}
	pending.Store(name, r)
	defer pending.Delete(name)
	doc := "[[component]]\nname = \"src\"\ntype = \"ds3d::dataloader\"\nimpl = " + strconv.Quote(impl) + "\nlink_to = \"" + name +
		"\"\n[component.config]\n" + cfg + "\n\n[[component]]\nname = \"" + name + "\"\ntype = \"ds3d::datarender\"\nimpl = \"" + RecorderImpl + "\"\n"
	_, err := Run(t, dir, doc)
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]T, len(r.got))
	for i, v := range r.got {
		out[i] = v.(T)
	}
	return out, err
}

// MustRecord is Record failing t on any error.
func MustRecord[T any](t testing.TB, dir, impl, cfg string, summarise func(*ds3d.DataMap) (T, error)) []T {
	t.Helper()
	got, err := Record(t, dir, impl, cfg, summarise)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// ComponentConfig decodes the [component.config] table of the component
// called name in the pipeline file path into cfg (a component's typed
// config, defaults filled in), so that a test checks the settings a
// shipped config holds without running its whole pipeline.
func ComponentConfig(t testing.TB, path, name string, cfg any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Component []struct {
			Name   string         `toml:"name"`
			Config map[string]any `toml:"config"`
		} `toml:"component"`
	}
	if err := toml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, c := range doc.Component {
		if c.Name != name {
			continue
		}
		b, err := toml.Marshal(c.Config)
		if err != nil {
			t.Fatal(err)
		}
		if err := toml.Unmarshal(b, cfg); err != nil {
			t.Fatalf("%s: component %q: %v", path, name, err)
		}
		return
	}
	t.Fatalf("%s has no component %q", path, name)
}
