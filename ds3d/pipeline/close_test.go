package pipeline_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// closeLog records Close calls of the order_* test components.
var closeLog struct {
	sync.Mutex
	names  []string
	active int // components whose input has not ended yet when one closed
}

type orderConfig struct {
	Name     string `toml:"label" doc:"name recorded at Close"`
	GPUAware bool   `toml:"gpu_aware" doc:"report AcceptsGPUFrames"`
}

func (*orderConfig) Validate() error { return nil }

type orderFilter struct{ cfg orderConfig }

func (f *orderFilter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	return emit(in)
}
func (f *orderFilter) AcceptsGPUFrames() bool { return f.cfg.GPUAware }
func (f *orderFilter) Close() error {
	closeLog.Lock()
	closeLog.names = append(closeLog.names, f.cfg.Name)
	closeLog.Unlock()
	return nil
}

func init() {
	ds3d.Register(ds3d.KindFilter, "order_filter", "Test filter recording its Close.",
		func() *orderConfig { return &orderConfig{} },
		func(c *orderConfig, _ *ds3d.Env) (any, error) { return &orderFilter{cfg: *c}, nil })
}

// Components close after the whole graph has stopped, downstream first, so
// a component's frames (pinned or device memory) outlive every reader.
func TestCloseAfterDrainDownstreamFirst(t *testing.T) {
	closeLog.Lock()
	closeLog.names = nil
	closeLog.Unlock()
	g := build(t, chain("test_source\n--\ncount = 20\n",
		[]string{"order_filter\n--\nlabel = \"a\"\n", "order_filter\n--\nlabel = \"b\"\n", "order_filter\n--\nlabel = \"c\"\n"},
		"counting_sink\n--\nexpect = 20\n"))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(closeLog.names, ","); got != "c,b,a" {
		t.Fatalf("close order %q, want c,b,a", got)
	}
}

// ds3d.ToHost runs before every component that does not take GPU frames,
// and its copies are counted in that component's metrics.
func TestToHostBeforeHostOnlyComponents(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	ds3d.ToHost = func(_ context.Context, m *ds3d.DataMap) (int, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		return 2, nil // as if two device frames were copied
	}
	defer func() { ds3d.ToHost = nil }()
	g := build(t, chain("test_source\n--\ncount = 5\n",
		[]string{"order_filter\n--\nlabel = \"gpu\"\ngpu_aware = true\n", "order_filter\n--\nlabel = \"cpu\"\n"},
		"counting_sink\n--\nexpect = 5\n"))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"stage1": 0, "stage2": 10, "sink": 10}
	for _, m := range g.Metrics() {
		if w, ok := want[m.Name]; ok && m.Transfers != w {
			t.Errorf("%s: %d GPU→host copies, want %d", m.Name, m.Transfers, w)
		}
	}
	if calls != 10 { // stage2 and the sink, 5 datamaps each
		t.Errorf("ToHost ran %d times, want 10", calls)
	}
}
