package worldtrack

import (
	"context"
	"fmt"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures world_track_fusion.
type Config struct {
	BoxesKey     string        `toml:"boxes_datamap_key" nonempty:"true" doc:"key of the unit's []Box3D world-frame tracks (tracker_3d's output); the fused world list replaces them"`
	GateM        float64       `toml:"gate_m" min:">0" unit:"m" runtime:"true" doc:"largest bird's-eye centre distance between two units' boxes of one object, metres (each box moved by its velocity to the datamap's time first)"`
	ClassAware   bool          `toml:"class_aware" runtime:"true" doc:"only boxes of the same class id are one object"`
	MaxAge       time.Duration `toml:"max_age" min:"0" doc:"a unit whose latest datamap is older than this (by DS3D::Timestamp) takes no part until it sends again; 0: every unit always does"`
	OutputSource int64         `toml:"output_source_id" min:"-1" doc:"source id the output datamaps carry, so that sinks see one world stream; -1 keeps each datamap's own"`
}

// Validate has nothing to tie together.
func (c *Config) Validate() error { return nil }

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), GateM: 2, ClassAware: true, MaxAge: 500 * time.Millisecond, OutputSource: -1}
}

func (c *Config) params() Params {
	return Params{GateM: c.GateM, ClassAware: c.ClassAware, MaxAgeNS: int64(c.MaxAge)}
}

// Filter is the world_track_fusion component.
type Filter struct {
	cfg Config
	f   *Fuser
}

// NewFilter builds the filter.
func NewFilter(c *Config) *Filter { return &Filter{cfg: *c, f: New(c.params())} }

// Update applies new gate_m and class_aware between two datamaps.
func (t *Filter) Update(cfg any) error {
	c := cfg.(*Config)
	t.cfg.GateM, t.cfg.ClassAware = c.GateM, c.ClassAware
	t.f.p = t.cfg.params()
	return nil
}

// Process stores the datamap's boxes as its unit's latest and replaces
// them with the fused world list. The output slice is new per datamap:
// emitted values are read-only downstream.
func (t *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	key := ds3d.Key(t.cfg.BoxesKey)
	boxes, err := ds3d.Get[[]ds3d.Box3D](in, key)
	if err != nil {
		return fmt.Errorf("world_track_fusion: %w", err)
	}
	src, err := in.Int64(ds3d.KeySourceID)
	if err != nil {
		return fmt.Errorf("world_track_fusion: the datamap names no unit: %w", err)
	}
	ts, ok := in.Timestamp()
	if !ok {
		return fmt.Errorf("world_track_fusion: source %d: the datamap has no %s: units are matched in time by it", src, ds3d.KeyTimestamp)
	}
	out := t.f.Update(make([]ds3d.Box3D, 0, len(boxes)+8), src, ts, boxes)
	in.Set(key, out)
	if t.cfg.OutputSource >= 0 {
		in.SetInt64(ds3d.KeySourceID, t.cfg.OutputSource)
	}
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "world_track_fusion",
		`One world-frame track list from several roadside units (apps/v2x-cloud uses it): keeps each unit's (source id's) latest tracked world-frame boxes and, on every datamap, merges the boxes of different units that are one object — bird's-eye centre distance within gate_m after moving each by its velocity to the datamap's time, same class id — into one box with a fused track id that stays with the object while any unit tracks it; the fused list replaces the datamap's boxes.`,
		DefaultConfig,
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c), nil })
}
