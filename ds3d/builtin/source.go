package builtin

import (
	"context"
	"io"
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// SourceConfig configures test_source.
type SourceConfig struct {
	Count          int     `toml:"count" min:"0" doc:"datamaps to emit before end of stream; 0 means forever"`
	RateHz         float64 `toml:"rate_hz" min:">0" unit:"Hz" doc:"timestamp rate: datamap k is stamped k/rate_hz seconds after the first"`
	Points         int     `toml:"points" min:"0" doc:"points in the DS3D::LidarXYZI payload (a deterministic helix); 0 emits no frame"`
	ds3d.PoolGroup `doc:"payload frames in flight before the source waits for one to come back"`
	SourceID       int     `toml:"source_id" doc:"value of DS3D::SourceId"`
	StartNs        int64   `toml:"start_timestamp_ns" doc:"timestamp of the first datamap in nanoseconds"`
	JitterMs       float64 `toml:"jitter_ms" min:"0" unit:"ms" doc:"uniform timestamp jitter of ±jitter_ms, to test time matching (seeded, repeatable)"`
	DropRate       float64 `toml:"drop_rate" min:"0" max:"<1" doc:"fraction of frames never emitted (a lossy sensor), in [0, 1) (seeded, repeatable)"`
	Seed           int64   `toml:"seed" doc:"seed of the jitter and drop generator"`
}

// Source emits numbered datamaps: DS3D::FrameNumber, DS3D::Timestamp,
// DS3D::SourceId, DS3D::FirstSourceFrame on the first, and optionally a
// pooled DS3D::LidarXYZI frame.
type Source struct {
	cfg  SourceConfig
	pool *ds3d.FramePool
	k    int // frames emitted
	slot int // sensor periods elapsed (dropped frames included)
	rng  *rand.Rand
}

// NewSource builds a test_source.
func NewSource(cfg *SourceConfig) (*Source, error) {
	s := &Source{cfg: *cfg, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))}
	if cfg.Points > 0 {
		n := cfg.Points
		pool, err := ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(n) })
		if err != nil {
			return nil, err
		}
		s.pool = pool
	}
	return s, nil
}

// Len is the number of datamaps the source will emit, or -1 for endless.
func (s *Source) Len() int {
	if s.cfg.Count == 0 {
		return -1
	}
	return s.cfg.Count
}

// Next emits datamap k.
func (s *Source) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if s.cfg.Count > 0 && s.k >= s.cfg.Count {
		return nil, io.EOF
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for s.cfg.DropRate > 0 && s.rng.Float64() < s.cfg.DropRate {
		s.slot++ // a lost frame: its time passes, nothing is emitted
	}
	ts := s.cfg.StartNs + int64(float64(s.slot)*1e9/s.cfg.RateHz)
	if s.cfg.JitterMs > 0 {
		ts += int64((s.rng.Float64()*2 - 1) * s.cfg.JitterMs * 1e6)
	}
	s.slot++
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, int64(s.k))
	m.SetTimestamp(ts)
	m.SetInt64(ds3d.KeySourceID, int64(s.cfg.SourceID))
	if s.k == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	if s.pool != nil {
		f, err := s.pool.Get(ctx)
		if err != nil {
			m.Release()
			return nil, err
		}
		fillHelix(ds3d.AsFloat32(f), s.k)
		m.SetFrame(ds3d.KeyLidarXYZI, f)
	}
	s.k++
	return m, nil
}

// fillHelix writes a helix of radius 10 m turning with k, intensity = index
// fraction, so every frame differs and is easy to check by hand.
func fillHelix(p []float32, k int) {
	n := len(p) / 4
	for i := 0; i < n; i++ {
		a := float64(i)*0.01 + float64(k)*0.1
		p[i*4] = float32(10 * math.Cos(a))
		p[i*4+1] = float32(10 * math.Sin(a))
		p[i*4+2] = float32(i%64) * 0.05
		p[i*4+3] = float32(i) / float32(n)
	}
}

func init() {
	ds3d.Register(ds3d.KindLoader, "test_source",
		`Emits numbered datamaps with timestamps, and optionally a pooled lidar frame: a test signal for pipelines, like GStreamer's videotestsrc.`,
		func() *SourceConfig {
			return &SourceConfig{Count: 100, RateHz: 10, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *SourceConfig, _ *ds3d.Env) (any, error) { return NewSource(c) })
}

// PoolStats reports the frame pool (none when the source makes no points).
func (s *Source) PoolStats() []ds3d.PoolStat {
	if s.pool == nil {
		return nil
	}
	return []ds3d.PoolStat{s.pool.Stat("points")}
}
