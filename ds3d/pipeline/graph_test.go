package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// Test components, registered once for this package's tests.

type probeConfig struct {
	Count  int           `toml:"count" doc:"datamaps to emit; 0 = endless"`
	FailAt int           `toml:"fail_at" doc:"frame number at which to fail; -1 never"`
	Delay  time.Duration `toml:"delay" doc:"time spent per datamap"`
	Tag    string        `toml:"tag" doc:"name of the shared probe record"`
	Panic  bool          `toml:"panic" doc:"panic instead of returning an error"`
}

func (*probeConfig) Validate() error { return nil }

// probe is the shared record of one test's source and sink, found by tag.
type probe struct {
	produced atomic.Int64
	consumed atomic.Int64
	maxLive  atomic.Int64
	mu       sync.Mutex
	seen     []int64
}

var probes sync.Map // tag → *probe

// freshProbe starts a test's record anew (tests may run more than once).
func freshProbe(tag string) *probe {
	probes.Delete(tag)
	return probeFor(tag)
}

func probeFor(tag string) *probe {
	p, _ := probes.LoadOrStore(tag, &probe{})
	return p.(*probe)
}

type probeSource struct {
	cfg probeConfig
	p   *probe
	k   int64
}

func (s *probeSource) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if s.cfg.Count > 0 && s.k >= int64(s.cfg.Count) {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, s.k)
	s.k++
	s.p.produced.Add(1)
	return m, nil
}

type failFilter struct{ cfg probeConfig }

func (f *failFilter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	n, _ := in.Int64(ds3d.KeyFrameNumber)
	if f.cfg.FailAt >= 0 && n == int64(f.cfg.FailAt) {
		if f.cfg.Panic {
			panic(fmt.Sprintf("cannot take frame %d", n))
		}
		return fmt.Errorf("refusing frame %d", n)
	}
	return emit(in)
}

type probeSink struct {
	cfg probeConfig
	p   *probe
}

func (s *probeSink) Render(ctx context.Context, in *ds3d.DataMap) error {
	n, err := in.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		return err
	}
	c := s.p.consumed.Add(1)
	live := s.p.produced.Load() - c
	for {
		old := s.p.maxLive.Load()
		if live <= old || s.p.maxLive.CompareAndSwap(old, live) {
			break
		}
	}
	s.p.mu.Lock()
	s.p.seen = append(s.p.seen, n)
	s.p.mu.Unlock()
	if s.cfg.Delay > 0 {
		select {
		case <-time.After(s.cfg.Delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func init() {
	def := func() *probeConfig { return &probeConfig{FailAt: -1, Tag: "default"} }
	ds3d.Register(ds3d.KindLoader, "probe_source", "Test source counting what it made.", def,
		func(c *probeConfig, _ *ds3d.Env) (any, error) { return &probeSource{cfg: *c, p: probeFor(c.Tag)}, nil })
	ds3d.Register(ds3d.KindFilter, "fail_filter", "Test filter failing at one frame.", def,
		func(c *probeConfig, _ *ds3d.Env) (any, error) { return &failFilter{cfg: *c}, nil })
	ds3d.Register(ds3d.KindRender, "probe_sink", "Test sink recording frame numbers.", def,
		func(c *probeConfig, _ *ds3d.Env) (any, error) { return &probeSink{cfg: *c, p: probeFor(c.Tag)}, nil })
}

// chain writes a linear pipeline: source, the middle stages, sink.
func chain(src string, mids []string, sink string) string {
	var b strings.Builder
	names := []string{"source"}
	for i := range mids {
		names = append(names, fmt.Sprintf("stage%d", i+1))
	}
	names = append(names, "sink")
	stages := append(append([]string{src}, mids...), sink)
	kinds := make([]string, len(stages))
	for i := range stages {
		switch {
		case i == 0:
			kinds[i] = "ds3d::dataloader"
		case i == len(stages)-1:
			kinds[i] = "ds3d::datarender"
		default:
			kinds[i] = "ds3d::datafilter"
		}
	}
	for i, s := range stages {
		impl, rest, _ := strings.Cut(s, "\n")
		fmt.Fprintf(&b, "[[component]]\nname = %q\ntype = %q\nimpl = %q\n", names[i], kinds[i], impl)
		head, cfg, _ := strings.Cut(rest, "--\n")
		b.WriteString(head)
		if i+1 < len(stages) {
			fmt.Fprintf(&b, "link_to = %q\n", names[i+1])
		}
		if cfg != "" {
			b.WriteString("[component.config]\n" + cfg)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func build(t testing.TB, doc string) *pipeline.Graph {
	t.Helper()
	p, err := config.Parse("test.toml", "", []byte(doc))
	if err != nil {
		t.Fatalf("%v\n%s", err, doc)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestInOrderNothingLost(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 10000
	freshProbe("order")
	doc := chain("probe_source\n--\ncount = 10000\ntag = \"order\"\n",
		[]string{"passthrough", "passthrough", "passthrough"},
		"probe_sink\n--\ntag = \"order\"\n")
	g := build(t, doc)
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := probeFor("order")
	if len(p.seen) != n {
		t.Fatalf("sink saw %d datamaps, want %d", len(p.seen), n)
	}
	for i, v := range p.seen {
		if v != int64(i) {
			t.Fatalf("datamap %d arrived at position %d", v, i)
		}
	}
	for _, m := range g.Metrics() {
		if m.Drops != 0 {
			t.Errorf("%s dropped %d", m.Name, m.Drops)
		}
		if m.Kind != string(ds3d.KindLoader) && m.In != n {
			t.Errorf("%s frames in = %d, want %d", m.Name, m.In, n)
		}
	}
}

func TestBackpressureBoundsInFlight(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 300
	freshProbe("bp")
	doc := "[pipeline]\nqueue_size = 2\n" + chain("probe_source\n--\ncount = 300\ntag = \"bp\"\n",
		[]string{"passthrough"},
		"probe_sink\n--\ntag = \"bp\"\ndelay = \"200us\"\n")
	g := build(t, doc)
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := probeFor("bp")
	if len(p.seen) != n {
		t.Fatalf("sink saw %d, want %d (backpressure must not drop)", len(p.seen), n)
	}
	// In flight at most: 2 queues of 2, one datamap in each of 3 stages'
	// hands. Without backpressure the fast source would run ~all 300 ahead.
	if max := p.maxLive.Load(); max > 2*2+3 {
		t.Errorf("up to %d datamaps in flight, want ≤ 7", max)
	}
	for _, m := range g.Metrics() {
		if m.Drops != 0 {
			t.Errorf("%s dropped %d", m.Name, m.Drops)
		}
	}
}

func TestLeakyQueuesCountDrops(t *testing.T) {
	for _, mode := range []string{"upstream", "downstream"} {
		t.Run(mode, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			tag := "leaky-" + mode
			freshProbe(tag)
			doc := chain("probe_source\n--\ncount = 2000\ntag = \""+tag+"\"\n", nil,
				"probe_sink\nqueue_size = 2\nleaky = \""+mode+"\"\n--\ntag = \""+tag+"\"\ndelay = \"100us\"\n")
			g := build(t, doc)
			if err := g.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			p := probeFor(tag)
			var drops uint64
			for _, m := range g.Metrics() {
				if m.Name == "sink" {
					drops = m.Drops
				}
			}
			if drops == 0 {
				t.Fatal("a slow sink behind a leaky queue dropped nothing")
			}
			if got := uint64(len(p.seen)) + drops; got != 2000 {
				t.Errorf("delivered %d + dropped %d = %d, want exactly 2000", len(p.seen), drops, got)
			}
			// Survivors keep their order either way.
			for i := 1; i < len(p.seen); i++ {
				if p.seen[i] <= p.seen[i-1] {
					t.Fatalf("order broken: %d after %d", p.seen[i], p.seen[i-1])
				}
			}
			if mode == "downstream" && p.seen[len(p.seen)-1] != 1999 {
				t.Errorf("drop-oldest must deliver the newest datamap, last was %d", p.seen[len(p.seen)-1])
			}
		})
	}
}

func TestErrorInMiddleStageStopsAndNamesIt(t *testing.T) {
	defer goleak.VerifyNone(t)
	freshProbe("err")
	doc := chain("probe_source\n--\ncount = 0\ntag = \"err\"\n",
		[]string{"passthrough", "fail_filter\n--\nfail_at = 500\n", "passthrough"},
		"probe_sink\n--\ntag = \"err\"\n")
	g := build(t, doc)
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), `component "stage2" (fail_filter)`) || !strings.Contains(err.Error(), "refusing frame 500") {
			t.Fatalf("error = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an endless source did not stop after a middle stage failed")
	}
	if seen := len(probeFor("err").seen); seen > 500 {
		t.Errorf("sink saw %d datamaps, but frame 500 failed", seen)
	}
}

func TestPanicBecomesError(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := build(t, chain("test_source\n--\ncount = 0\n", []string{"fail_filter\n--\nfail_at = 7\npanic = true\n"}, "counting_sink\n"))
	err := g.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `component "stage1" (fail_filter): panic: cannot take frame 7`) {
		t.Fatalf("error = %v", err)
	}
}

func TestCloseErrorIsReported(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := build(t, chain("test_source\n--\ncount = 3\n", nil, "counting_sink\n--\nexpect = 4\n"))
	err := g.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `component "sink" (counting_sink): close: expected 4 datamaps, got 3`) {
		t.Fatalf("error = %v", err)
	}
}

func TestCancelReturnsQuickly(t *testing.T) {
	defer goleak.VerifyNone(t)
	freshProbe("cancel")
	doc := chain("probe_source\n--\ncount = 0\ntag = \"cancel\"\n",
		[]string{"passthrough", "passthrough"},
		"probe_sink\n--\ntag = \"cancel\"\ndelay = \"1ms\"\n")
	g := build(t, doc)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("Run returned %s after cancel, want < 100ms", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestDrainFlushesAndEndsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := build(t, chain("test_source\n--\ncount = 0\npoints = 100\n", []string{"passthrough"}, "counting_sink\n--\ncheck_order = true\n"))
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	time.Sleep(30 * time.Millisecond)
	g.Drain()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("drained run = %v, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("drain did not end the run")
	}
	c := g.Component("sink").(*builtin.Counter)
	if c.Count() == 0 {
		t.Error("nothing reached the sink before the drain")
	}
	if out := g.Metrics()[0].Out; uint64(c.Count()) != out {
		t.Errorf("source emitted %d, sink counted %d: a drain must deliver everything emitted", out, c.Count())
	}
}

func TestRealtimePacesAtTimestamps(t *testing.T) {
	defer goleak.VerifyNone(t)
	// 11 datamaps at 100 Hz span 100 ms of sensor time.
	p, err := config.Parse("rt.toml", "", []byte("[pipeline]\nrealtime = true\n"+chain("test_source\n--\ncount = 11\nrate_hz = 100.0\n", nil, "counting_sink\n")))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 95*time.Millisecond || d > 400*time.Millisecond {
		t.Errorf("realtime replay of 100 ms took %s", d)
	}
}

func TestSteadyStateAllocatesNothing(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts are meaningless under -race")
	run := func(n int) uint64 {
		doc := chain(fmt.Sprintf("test_source\n--\ncount = %d\npoints = 1000\n", n),
			[]string{"passthrough", "passthrough", "passthrough"}, "counting_sink\n")
		g := build(t, doc)
		var a, b runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&a)
		if err := g.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return b.Mallocs - a.Mallocs
	}
	small, large := run(1000), run(21000)
	perMap := float64(int64(large)-int64(small)) / 20000
	t.Logf("allocations: %d for 1000 datamaps, %d for 21000: %.4f per datamap", small, large, perMap)
	if perMap > 0.01 {
		t.Errorf("%.3f allocations per datamap in steady state, want 0", perMap)
	}
}
