package mux

import (
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config holds nvstreammux's properties with their names. It is the config
// of the stream_mux component and of New.
type Config struct {
	BatchSize           int       `toml:"batch_size" min:"1" doc:"most frames per batch (nvstreammux batch-size)"`
	BatchedPushTimeout  int64     `toml:"batched_push_timeout" min:"-1" unit:"µs" doc:"µs to wait, after the first frame of a batch arrived, before pushing it incomplete; -1 waits until the batch is full or every source ended (nvstreammux batched-push-timeout)"`
	Width               int       `toml:"width" min:"0" max:"16384" doc:"output frame width in pixels; 0 with height 0 passes frames through unscaled"`
	Height              int       `toml:"height" min:"0" max:"16384" doc:"output frame height in pixels"`
	EnablePadding       bool      `toml:"enable_padding" doc:"keep the aspect ratio when scaling: the picture is centred and the borders are black (letterbox)"`
	PaddingColor        [3]uint8  `toml:"padding_color" doc:"RGB colour of the letterbox borders"`
	MaxSameSourceFrames int       `toml:"max_same_source_frames" min:"0" doc:"most frames of one source in one batch; 0 is unbounded. A batch is also complete once every running source has given this many"`
	SyncInputs          bool      `toml:"sync_inputs" doc:"fill batches in timestamp order across sources: a frame joins only once every running source has a frame queued (or the timeout expired), and the oldest goes first"`
	LiveSource          bool      `toml:"live_source" doc:"sources are live: when a source's queue is full its oldest frame is dropped instead of holding the source back"`
	QueueSize           int       `toml:"queue_size" min:"1" doc:"frames held per source while they cannot join a batch"`
	MaxFPS              []float64 `toml:"max_fps" min:"0" doc:"per source (index = source id): most frames per second let in, by PTS; extra frames are dropped; 0 or a missing entry is unbounded"`
	ds3d.PoolGroup      `doc:"scaled output frames in the pool (bounds the batches in flight when scaling)"`
	ds3d.InputGroup     `doc:"stream_mux: key of the RGB/RGBA u8 frame in each input datamap"`
}

// DefaultConfig returns nvstreammux's defaults: batch of one, no timeout,
// no scaling, one frame per source per batch.
func DefaultConfig() Config {
	return Config{BatchSize: 1, BatchedPushTimeout: -1, MaxSameSourceFrames: 1, QueueSize: 4,
		PoolGroup: ds3d.PoolGroup{MemPoolSize: 8}, InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyColorFrame)}}
}

// Validate checks the config.
func (c *Config) Validate() error {
	if (c.Width == 0) != (c.Height == 0) {
		return ds3d.ConfigErrorf("width", "width and height must both be 0 (no scaling) or both positive, got %dx%d", c.Width, c.Height)
	}
	return nil
}

// timeout is the batched push timeout, or −1 for none.
func (c *Config) timeout() time.Duration {
	if c.BatchedPushTimeout < 0 {
		return -1
	}
	return time.Duration(c.BatchedPushTimeout) * time.Microsecond
}

func (c *Config) maxFPS(id int32) float64 {
	if int(id) < len(c.MaxFPS) && id >= 0 {
		return c.MaxFPS[id]
	}
	return 0
}
