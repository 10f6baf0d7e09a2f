package bus

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/filters/detect"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar"

	"github.com/ds3d-go/ds3d-go/sensors/bus"
)

// seen is what a collector recorded of one datamap.
type seen struct {
	source, frame int64
	ts            int64
	points        []byte
	boxes         []ds3d.Box3D
	origin        int64
	at            time.Time
}

// collectors holds the records of the test collectors by name.
var collectors = struct {
	sync.Mutex
	m map[string][]seen
}{m: map[string][]seen{}}

type collectConfig struct {
	Name string `toml:"name" doc:"record under this name"`
}

type collector struct{ name string }

func (c *collector) Render(_ context.Context, in *ds3d.DataMap) error {
	var s seen
	s.source, _ = in.Int64(ds3d.KeySourceID)
	s.frame, _ = in.Int64(ds3d.KeyFrameNumber)
	s.ts, _ = in.Timestamp()
	if f, err := in.Frame(ds3d.KeyLidarXYZI); err == nil {
		s.points = append([]byte(nil), f.Data[:f.Bytes()]...)
	}
	if b, err := ds3d.Get[[]ds3d.Box3D](in, ds3d.KeyLidar3DBboxRawData); err == nil {
		s.boxes = append([]ds3d.Box3D(nil), b...)
	}
	s.origin, _ = in.Int64(bus.KeyOrigin)
	s.at = time.Now()
	collectors.Lock()
	collectors.m[c.name] = append(collectors.m[c.name], s)
	collectors.Unlock()
	return nil
}

func collected(name string) []seen {
	collectors.Lock()
	defer collectors.Unlock()
	return append([]seen(nil), collectors.m[name]...)
}

func init() {
	ds3d.Register(ds3d.KindRender, "bus_test_collector", "records what reaches it (render/bus tests)",
		func() *collectConfig { return &collectConfig{} },
		func(c *collectConfig, _ *ds3d.Env) (any, error) { return &collector{name: c.Name}, nil })
}

func buildPipeline(t *testing.T, doc string) *pipeline.Graph {
	t.Helper()
	return buildPipelineLog(t, doc, slog.New(slog.DiscardHandler))
}

func buildPipelineLog(t *testing.T, doc string, log *slog.Logger) *pipeline.Graph {
	t.Helper()
	dir := t.TempDir()
	p, err := config.Parse(filepath.Join(dir, "p.toml"), dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func runAsync(g *pipeline.Graph) chan error {
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	return done
}

func waitRun(t *testing.T, what string, done chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not finish within 60 s", what)
	}
}

// TestPipelineRoundTrip runs two pipelines built from TOML in one process
// on the embedded server: KITTI scans → model-free detector → bus_publish,
// and bus_subscribe → collector. Every datamap arrives once with the KITTI
// file's bytes, the publisher's boxes and its timestamp, and is acked.
// The server's max payload is set below one scan, so each datamap also
// goes through chunking and reassembly.
func TestPipelineRoundTrip(t *testing.T) {
	const frames = 12
	bin := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	store := t.TempDir()
	conn := fmt.Sprintf(`url = "embedded"
stream = "RT"
embedded.data_dir = %q
embedded.max_payload = 700000
`, store)
	pub := buildPipeline(t, fmt.Sprintf(`
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = "detector"
[component.config]
files = [%q]
rate_hz = 10.0
file_loop = true
max_frames = %d
element_size = 4
element_stride = 4

[[component]]
name = "detector"
type = "ds3d::datafilter"
impl = "model_free_detector"
link_to = ["bus", "sent"]
[component.config]
x_range = [0.0, 70.4]
y_range = [-40.0, 40.0]
z_range = [-3.0, 1.0]

[[component]]
name = "sent"
type = "ds3d::datarender"
impl = "bus_test_collector"
[component.config]
name = "rt-sent"

[[component]]
name = "bus"
type = "ds3d::datarender"
impl = "bus_publish"
[component.config]
%s`, bin, frames, conn))
	sub := buildPipeline(t, fmt.Sprintf(`
[[component]]
name = "bus"
type = "ds3d::dataloader"
impl = "bus_subscribe"
link_to = "got"
[component.config]
%s
durable = "rt"
max_datamaps = %d
dedup = 64

[[component]]
name = "got"
type = "ds3d::datarender"
impl = "bus_test_collector"
[component.config]
name = "rt-got"
`, conn, frames))
	subDone := runAsync(sub)
	waitRun(t, "publishing pipeline", runAsync(pub))
	waitRun(t, "subscribing pipeline", subDone)

	sent, got := collected("rt-sent"), collected("rt-got")
	if len(sent) != frames {
		t.Fatalf("publisher side saw %d datamaps, want %d", len(sent), frames)
	}
	if len(got) != frames {
		t.Fatalf("subscriber got %d datamaps, want %d", len(got), frames)
	}
	byFrame := map[int64]seen{}
	for _, s := range sent {
		byFrame[s.frame] = s
	}
	for _, g := range got {
		s, ok := byFrame[g.frame]
		if !ok {
			t.Fatalf("frame %d arrived but was not sent (or arrived twice)", g.frame)
		}
		delete(byFrame, g.frame)
		if !bytes.Equal(g.points, raw) {
			t.Errorf("frame %d: %d point bytes differ from the KITTI file's %d", g.frame, len(g.points), len(raw))
		}
		if g.ts != s.ts || g.source != s.source {
			t.Errorf("frame %d: timestamp/source %d/%d, sent %d/%d", g.frame, g.ts, g.source, s.ts, s.source)
		}
		if len(s.boxes) == 0 || !reflect.DeepEqual(g.boxes, s.boxes) {
			t.Errorf("frame %d: %d boxes arrived, %d sent (the detector finds cars in this scan)", g.frame, len(g.boxes), len(s.boxes))
		}
		if g.origin == 0 {
			t.Errorf("frame %d: no %s", g.frame, bus.KeyOrigin)
		}
	}
	st := sub.Component("bus").(*bus.Subscriber).Stats()
	if st.Acked != frames || st.Duplicates != 0 || st.Malformed != 0 {
		t.Errorf("subscriber stats %+v, want %d acked and nothing else", st, frames)
	}
	ps := pub.Component("bus").(*Publisher).Stats()
	if ps.Published != frames || ps.Dropped != 0 || ps.Pending != 0 || ps.Chunked != frames {
		t.Errorf("publisher stats %+v, want %d published, all chunked", ps, frames)
	}
}
