package builtin

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// PassthroughConfig configures passthrough (nothing to set).
type PassthroughConfig struct{}

// Passthrough emits each datamap unchanged.
type Passthrough struct{}

// Process emits in.
func (Passthrough) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	return emit(in)
}

// CountConfig configures counting_sink.
type CountConfig struct {
	Expect     int           `toml:"expect" min:"0" doc:"fail at end of stream unless exactly this many datamaps arrived; 0 checks nothing"`
	CheckOrder bool          `toml:"check_order" doc:"fail when DS3D::FrameNumber does not increase by one per DS3D::SourceId"`
	Delay      time.Duration `toml:"delay" min:"0s" runtime:"true" doc:"artificial time spent per datamap, to test backpressure (e.g. \"2ms\")"`
}

// Update applies a new delay while the pipeline runs.
func (c *Counter) Update(cfg any) error {
	c.cfg.Delay = cfg.(*CountConfig).Delay
	return nil
}

// Counter is the counting_sink: it counts datamaps and checks their order.
type Counter struct {
	cfg  CountConfig
	n    atomic.Int64
	next map[int64]int64 // source id → expected frame number
}

// Count is the number of datamaps seen so far.
func (c *Counter) Count() int64 { return c.n.Load() }

// Render counts in and checks its frame number.
func (c *Counter) Render(ctx context.Context, in *ds3d.DataMap) error {
	c.n.Add(1)
	if c.cfg.CheckOrder {
		fn, err := in.Int64(ds3d.KeyFrameNumber)
		if err != nil {
			return err
		}
		src, _ := in.Int64(ds3d.KeySourceID)
		if want := c.next[src]; fn != want {
			return fmt.Errorf("source %d: frame %d arrived where %d was due", src, fn, want)
		}
		c.next[src] = fn + 1
	}
	if c.cfg.Delay > 0 {
		t := time.NewTimer(c.cfg.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return nil
}

// Close checks the expected count.
func (c *Counter) Close() error {
	if c.cfg.Expect > 0 && c.n.Load() != int64(c.cfg.Expect) {
		return fmt.Errorf("expected %d datamaps, got %d", c.cfg.Expect, c.n.Load())
	}
	return nil
}

// FileSinkConfig configures datamap_file_sink.
type FileSinkConfig struct {
	Path ds3d.Path `toml:"path" required:"true" nonempty:"true" doc:"JSON-lines output file; \"-\" writes to standard output"`
}

// FileSink writes one JSON object per datamap: its sequence number and, per
// key in order, a one-line summary (frames by type and shape, scalars by value).
type FileSink struct {
	log  *slog.Logger
	path string
	f    *os.File
	w    *bufio.Writer
	seq  int
	buf  []byte
	keys []ds3d.Key
}

// Start opens the output.
func (s *FileSink) Start(context.Context) error {
	if s.path == "-" {
		s.w = bufio.NewWriter(os.Stdout)
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(s.path)
	if err != nil {
		return err
	}
	s.f, s.w = f, bufio.NewWriterSize(f, 64<<10)
	return nil
}

// Render writes in's line.
func (s *FileSink) Render(_ context.Context, in *ds3d.DataMap) error {
	b := s.buf[:0]
	b = fmt.Appendf(b, `{"seq":%d,"keys":{`, s.seq)
	s.keys = in.Keys(s.keys[:0])
	for i, k := range s.keys {
		if i > 0 {
			b = append(b, ',')
		}
		v, _ := in.Value(k)
		kb, _ := json.Marshal(string(k))
		b = append(b, kb...)
		b = append(b, ':')
		switch x := v.(type) {
		case int64, float64:
			b = fmt.Append(b, x)
		default:
			vb, _ := json.Marshal(ds3d.Summary(v))
			b = append(b, vb...)
		}
	}
	b = append(b, "}}\n"...)
	s.buf = b
	s.seq++
	_, err := s.w.Write(b)
	return err
}

// Close flushes and closes the output, and says where it went.
func (s *FileSink) Close() error {
	if s.w == nil {
		return nil
	}
	err := s.w.Flush()
	if s.log != nil && s.path != "-" {
		s.log.Info("wrote datamap summaries", "datamaps", s.seq, "path", s.path)
	}
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	s.w = nil
	return err
}

var _ io.Closer = (*FileSink)(nil)

func init() {
	ds3d.Register(ds3d.KindFilter, "passthrough", `Emits every datamap unchanged.`,
		func() *PassthroughConfig { return &PassthroughConfig{} },
		func(*PassthroughConfig, *ds3d.Env) (any, error) { return Passthrough{}, nil })
	ds3d.Register(ds3d.KindRender, "counting_sink",
		`Counts datamaps; optionally checks their order and total, and slows down on purpose to test backpressure.`,
		func() *CountConfig { return &CountConfig{} },
		func(c *CountConfig, _ *ds3d.Env) (any, error) {
			return &Counter{cfg: *c, next: map[int64]int64{}}, nil
		})
	ds3d.Register(ds3d.KindRender, "datamap_file_sink",
		`Writes one JSON line per datamap with each key's summary (frame type and shape, box counts, scalar values).`,
		func() *FileSinkConfig { return &FileSinkConfig{} },
		func(c *FileSinkConfig, env *ds3d.Env) (any, error) {
			return &FileSink{path: string(c.Path), log: env.Log}, nil
		})
}
