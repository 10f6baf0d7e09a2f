package mux_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	_ "github.com/ds3d-go/ds3d-go/core2d/mux" // stream_mux
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	_ "github.com/ds3d-go/ds3d-go/sensors/camera"
)

type recConfig struct{}

func (*recConfig) Validate() error { return nil }

// recorder keeps what stream_mux emitted: per batch, the slots' source
// id, frame number, PTS, source size and the batch frame's top-left and
// centre pixels.
type recorder struct {
	mu      sync.Mutex
	batches [][]recSlot
}

type recSlot struct {
	src, w, h   int32
	num, pts    int64
	fw, fh      int
	corner, mid [3]byte
}

func (r *recorder) Render(_ context.Context, in *ds3d.DataMap) error {
	bm, err := ds3d.Get[*meta.BatchMeta](in, ds3d.KeyBatchMeta)
	if err != nil {
		return err
	}
	var b []recSlot
	for i := range bm.Frames {
		fm := &bm.Frames[i]
		f, err := in.Frame(ds3d.KeyColorFrame.Sensor(i))
		if err != nil {
			return err
		}
		p := f.Plane
		mid := (p.Height/2)*p.Pitch + (p.Width/2)*3
		b = append(b, recSlot{src: fm.SourceID, w: fm.Width, h: fm.Height, num: fm.FrameNum, pts: fm.PTS,
			fw: p.Width, fh: p.Height, corner: [3]byte(f.Data[:3]), mid: [3]byte(f.Data[mid : mid+3])})
	}
	r.mu.Lock()
	r.batches = append(r.batches, b)
	r.mu.Unlock()
	return nil
}

var rec = &recorder{}

func init() {
	ds3d.Register(ds3d.KindRender, "mux_test_recorder", "Records stream_mux batches for tests.",
		func() *recConfig { return &recConfig{} },
		func(*recConfig, *ds3d.Env) (any, error) { return rec, nil })
}

// TestStreamMuxPipeline runs two image_file_loaders (KITTI 000000 five
// times, 1224×370; nuScenes CAM_FRONT three times, 1600×900) into
// stream_mux with batch 2 and letterboxing to 640×384. Expected, by hand:
// three batches of both sources, then two of source 0 alone once source 1
// ended; KITTI's picture is 640×193 at row 95 (scale 640/1224, (384−193)/2),
// nuScenes' 640×360 at row 12, so each slot's top-left pixel is padding.
func TestStreamMuxPipeline(t *testing.T) {
	rec.mu.Lock()
	rec.batches = nil // the recorder is shared by -count runs
	rec.mu.Unlock()
	doc := `
[pipeline]
name = "mux-test"
[[component]]
name = "kitti"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "mux.sink_0"
[component.config]
data_config_file = ["testdata/kitti5.toml"]
[[component]]
name = "front"
type = "ds3d::dataloader"
impl = "image_file_loader"
link_to = "mux.sink_1"
[component.config]
data_config_file = ["testdata/front3.toml"]
[[component]]
name = "mux"
type = "ds3d::datamixer"
impl = "stream_mux"
link_to = "rec"
[component.config]
batch_size = 2
width = 640
height = 384
enable_padding = true
padding_color = [7, 8, 9]
[[component]]
name = "rec"
type = "ds3d::datarender"
impl = "mux_test_recorder"
`
	dir, _ := filepath.Abs(".")
	p, err := config.Parse("mux-test.toml", dir, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rec.batches) != 5 {
		t.Fatalf("%d batches, want 5: %+v", len(rec.batches), rec.batches)
	}
	pad := [3]byte{7, 8, 9}
	for k, b := range rec.batches {
		want := 1
		if k < 3 {
			want = 2
		}
		if len(b) != want {
			t.Errorf("batch %d: %d slots, want %d", k, len(b), want)
		}
		srcs := map[int32]bool{}
		for _, s := range b {
			srcs[s.src] = true
			if s.num != int64(k) || s.pts != int64(k)*100e6 {
				t.Errorf("batch %d: source %d frame %d PTS %d, want frame %d PTS %d", k, s.src, s.num, s.pts, k, k*100e6)
			}
			wantW, wantH := int32(1224), int32(370)
			if s.src == 1 {
				wantW, wantH = 1600, 900
			}
			if s.w != wantW || s.h != wantH || s.fw != 640 || s.fh != 384 {
				t.Errorf("batch %d source %d: meta size %dx%d, frame %dx%d", k, s.src, s.w, s.h, s.fw, s.fh)
			}
			if s.corner != pad || s.mid == pad {
				t.Errorf("batch %d source %d: corner %v (want padding %v), centre %v", k, s.src, s.corner, pad, s.mid)
			}
		}
		if len(srcs) != len(b) {
			t.Errorf("batch %d repeats a source: %+v", k, b)
		}
	}
}
