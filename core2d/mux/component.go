package mux

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// KeyBatchMeta is ds3d.KeyBatchMeta, the key of the batch's
// *meta.BatchMeta, kept under its old name for callers of this package.
//
// Deprecated: use ds3d.KeyBatchMeta.
const KeyBatchMeta = ds3d.KeyBatchMeta

// Component is the stream_mux datamixer: input pad sink_N is source N.
// It drives the same batching rules as Mux from the pipeline's goroutine
// for the component, so batches close when a datamap arrives, a pad ends
// or the stream ends: a batch whose timeout passes while no datamap arrives
// goes out with the next arrival. A datamap arriving for a source whose
// queue is full (not live) waits until the batch's timeout and then pushes
// it incomplete; with no timeout (−1) it pushes it at once, since waiting
// would hold the only goroutine that can deliver the other sources' frames.
type Component struct {
	b   *batcher
	sh  *shaper
	key ds3d.Key
	log *slog.Logger
	n   int
}

// NewComponent builds stream_mux for n input pads.
func NewComponent(cfg *Config, n int, log *slog.Logger) (*Component, error) {
	if n < 1 {
		return nil, fmt.Errorf("stream_mux needs at least one input pad")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Component{b: newBatcher(*cfg, 1), sh: newShaper(*cfg), key: ds3d.Key(cfg.InputKey), log: log, n: n}
	for i := 0; i < n; i++ {
		if err := c.b.add(int32(i)); err != nil {
			return nil, err
		}
	}
	c.b.closed = true // pads are fixed once the graph is built
	return c, nil
}

// Push queues the frame of a datamap from pad sink_<port> and emits every
// batch that closes. The input datamap's other keys are dropped, as
// nvstreammux keeps only the frame and its timing.
func (c *Component) Push(ctx context.Context, port int, in *ds3d.DataMap, emit ds3d.Emit) error {
	img, err := in.Frame(c.key)
	if err != nil {
		in.Release()
		return fmt.Errorf("sink_%d: %w", port, err)
	}
	if err := checkImage(img); err != nil {
		in.Release()
		return fmt.Errorf("sink_%d: %s: %w", port, c.key, err)
	}
	pts, _ := in.Timestamp()
	num := int64(-1)
	if v, err := in.Int64(ds3d.KeyFrameNumber); err == nil {
		num = v
	}
	img.Retain()
	in.Release()
	for {
		ok, err := c.b.push(int32(port), Input{Image: img, PTS: pts, FrameNum: num}, time.Now())
		if err != nil {
			img.Release()
			return fmt.Errorf("sink_%d: %w", port, err)
		}
		if ok {
			break
		}
		if d, has := c.b.deadline(); has {
			if err := sleepUntil(ctx, d); err != nil {
				img.Release()
				return err
			}
		}
		c.b.step(time.Now(), true)
		if err := c.drain(ctx, emit); err != nil {
			img.Release()
			return err
		}
	}
	return c.drain(ctx, emit)
}

func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ClosePort ends source port (its EOS) while the others go on.
func (c *Component) ClosePort(ctx context.Context, port int, emit ds3d.Emit) error {
	if err := c.b.end(int32(port), false, time.Now()); err != nil {
		return err
	}
	return c.drain(ctx, emit)
}

// Flush ends every source and emits the last batches.
func (c *Component) Flush(ctx context.Context, emit ds3d.Emit) error {
	for _, s := range c.b.sources {
		if !s.ended {
			_ = c.b.end(s.id, false, time.Now())
		}
	}
	return c.drain(ctx, emit)
}

// drain emits every closed batch as a datamap.
func (c *Component) drain(ctx context.Context, emit ds3d.Emit) error {
	for {
		c.b.step(time.Now(), false)
		f, ok := c.b.take()
		if !ok {
			return nil
		}
		if len(f.frames) == 0 {
			continue
		}
		// The batch meta travels in the datamap, which has no release hook
		// for non-frame values: it is not pooled.
		b := &Batch{}
		err := c.sh.build(ctx, f, &meta.BatchMeta{}, b)
		c.b.recycle(f.frames)
		if err != nil {
			b.Release()
			return err
		}
		m := ds3d.NewDataMap()
		for i, fr := range b.Frames {
			m.SetFrame(ds3d.KeyColorFrame.Sensor(i), fr)
		}
		fm := &b.Meta.Frames[0]
		m.SetTimestamp(b.PTS)
		m.SetInt64(ds3d.KeySourceID, int64(fm.SourceID))
		m.SetInt64(ds3d.KeyFrameNumber, fm.FrameNum)
		m.Set(ds3d.KeyBatchMeta, b.Meta)
		if err := emit(m); err != nil {
			return err
		}
	}
}

// Close releases what is still held and logs per-source counts.
func (c *Component) Close() error {
	var sb strings.Builder
	for _, s := range c.b.sources {
		st := s.stats
		fmt.Fprintf(&sb, " sink_%d=%d/%d/%d/%d", s.id, st.In, st.Batched, st.DroppedFPS, st.DroppedLive)
	}
	c.log.Info("stream_mux frames (in/batched/dropped_fps/dropped_live)" + sb.String())
	c.b.releaseAll()
	return nil
}

// Dropped is the number of frames dropped (fps limit, live overflow), for
// the runtime's metrics.
func (c *Component) Dropped() uint64 {
	var n uint64
	for _, s := range c.b.sources {
		n += s.stats.DroppedFPS + s.stats.DroppedLive
	}
	return n
}

func init() {
	ds3d.Register(ds3d.KindMixer, "stream_mux",
		`Batches N video streams into one datamap per batch (DeepStream's nvstreammux): input pad sink_N is source N; batch_size, batched_push_timeout, output scaling (bilinear, optional letterbox padding), max_same_source_frames, per-source max_fps, sync_inputs by timestamp, live sources. Emits DS3D::ColorFrame_i per batch slot i, DS3D::BatchMeta (*meta.BatchMeta: source id, frame number, PTS per slot), DS3D::Timestamp (the earliest PTS) and DS3D::SourceId/DS3D::FrameNumber of slot 0.`,
		func() *Config { c := DefaultConfig(); return &c },
		func(c *Config, env *ds3d.Env) (any, error) { return NewComponent(c, env.Inputs, env.Log) })
}

// PoolStats reports the pools of scaled frames, one per frame type seen
// (for the metrics).
func (c *Component) PoolStats() []ds3d.PoolStat { return c.sh.poolStats() }
