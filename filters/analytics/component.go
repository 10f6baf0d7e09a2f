package analytics

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// HomographyConfig is the optional image-to-ground mapping of the 2D
// filter: one of matrix, point pairs or calibration.
type HomographyConfig struct {
	Matrix       []float64    `toml:"matrix" len:"9" finite:"true" doc:"row-major 3×3 H, ground = H·(u, v, 1) in metres; empty: not given"`
	ImagePoints  [][2]float64 `toml:"image_points" doc:"pixels [[u, v], ...] (at least 4, no three in a line) matching ground_points"`
	GroundPoints [][2]float64 `toml:"ground_points" doc:"ground positions [[x, y], ...] in metres of image_points"`
	Intrinsic    []float64    `toml:"intrinsic" len:"9" finite:"true" doc:"calibration: row-major 3×3 K of the camera"`
	Extrinsic    []float64    `toml:"extrinsic" len:"12|16" finite:"true" doc:"calibration: ground→camera transform, row-major 3×4 or 4×4 (the ground is its z = 0 plane)"`
}

func (h *HomographyConfig) set() bool {
	return len(h.Matrix) > 0 || len(h.ImagePoints) > 0 || len(h.GroundPoints) > 0 || len(h.Intrinsic) > 0 || len(h.Extrinsic) > 0
}

// build returns the homography, or a ConfigError naming its key.
func (h *HomographyConfig) build() (Homography, error) {
	switch {
	case len(h.Matrix) == 9:
		var m Homography
		copy(m[:], h.Matrix)
		return m, nil
	case len(h.ImagePoints) > 0 || len(h.GroundPoints) > 0:
		m, err := HomographyFromPoints(h.ImagePoints, h.GroundPoints)
		if err != nil {
			return m, ds3d.ConfigErrorf("homography.image_points", "%v", err)
		}
		return m, nil
	case len(h.Intrinsic) > 0 || len(h.Extrinsic) > 0:
		if len(h.Intrinsic) == 0 || len(h.Extrinsic) == 0 {
			return Homography{}, ds3d.ConfigErrorf("homography.intrinsic", "calibration needs both intrinsic and extrinsic")
		}
		k, err := ds3d.IntrinsicsFromK(h.Intrinsic, 1, 1)
		if err != nil {
			return Homography{}, ds3d.ConfigErrorf("homography.intrinsic", "%v", err)
		}
		t, err := ds3d.Mat4From(h.Extrinsic)
		if err != nil {
			return Homography{}, ds3d.ConfigErrorf("homography.extrinsic", "%v", err)
		}
		m, err := HomographyFromCalibration(k, t)
		if err != nil {
			return m, ds3d.ConfigErrorf("homography.extrinsic", "%v", err)
		}
		return m, nil
	}
	return Homography{}, ds3d.ConfigErrorf("homography", "give matrix, image_points and ground_points, or intrinsic and extrinsic")
}

// Config configures analytics, the 2D filter.
type Config struct {
	ObjectsKey  string           `toml:"objects_key" nonempty:"true" doc:"key of the tracked []Object2D (on a stream_mux batch: slot N's key is this key with _N)"`
	ResultKey   string           `toml:"result_key" nonempty:"true" doc:"key the *ds3d.Analytics result is stored under (per batch slot: with _N)"`
	EventsKey   string           `toml:"events_key" nonempty:"true" doc:"key the datamap's events (*ds3d.AnalyticsEvents, every batch slot's together) are stored under, for the sinks that send them (json_box_writer and msgbroker events_key)"`
	Homography  HomographyConfig `toml:"homography" doc:"image-to-ground homography: when given, rules are in metres on the ground and speeds in m/s"`
	RulesConfig `toml:",squash"`
}

// Validate checks the rules and the homography.
func (c *Config) Validate() error {
	if err := c.RulesConfig.Validate(); err != nil {
		return err
	}
	if c.Homography.set() {
		if _, err := c.Homography.build(); err != nil {
			return err
		}
	}
	return nil
}

// Filter is the analytics component.
type Filter struct {
	e          *Engine
	objs, res  ds3d.Key
	events     ds3d.Key
	slotKeys   [][2]ds3d.Key // per batch slot: objects and result keys
	h          Homography
	metric     bool
	in         []Input
	evRing     []ds3d.AnalyticsEvents
	evPos      int
	counters   *Counters
	resultRing int
}

// NewFilter builds the 2D filter of c.
func NewFilter(c *Config) (*Filter, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	space := ds3d.SpacePixels
	f := &Filter{objs: ds3d.Key(c.ObjectsKey), res: ds3d.Key(c.ResultKey), events: ds3d.Key(c.EventsKey), resultRing: c.ResultRing}
	if c.Homography.set() {
		h, err := c.Homography.build()
		if err != nil {
			return nil, err
		}
		f.h, f.metric, space = h, true, ds3d.SpaceGround
	}
	e, err := NewEngine(c.Options(space), c.Rules())
	if err != nil {
		return nil, err
	}
	f.e = e
	f.evRing = make([]ds3d.AnalyticsEvents, c.ResultRing)
	f.counters = newCounters(e)
	return f, nil
}

// Engine returns the filter's engine (its rules and state).
func (f *Filter) Engine() *Engine { return f.e }

// Process analyses each batch slot's (or the datamap's) tracked objects.
func (f *Filter) Process(_ context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	slot := &f.evRing[f.evPos]
	f.evPos = (f.evPos + 1) % len(f.evRing)
	clear(slot.Events[:cap(slot.Events)])
	evs := slot.Events[:0]
	if m.Has(ds3d.KeyBatchMeta) {
		bm, err := ds3d.Get[*meta.BatchMeta](m, ds3d.KeyBatchMeta)
		if err != nil {
			return err
		}
		for i := range bm.Frames {
			fm := &bm.Frames[i]
			ok, rk := f.slot(i)
			if !m.Has(ok) && len(bm.Frames) == 1 {
				ok, rk = f.objs, f.res
			}
			if evs, err = f.frame(m, ok, rk, fm.SourceID, fm.PTS, fm.FrameNum, evs); err != nil {
				return fmt.Errorf("batch slot %d (source %d): %w", i, fm.SourceID, err)
			}
		}
	} else {
		ts, _ := m.Timestamp()
		var err error
		if evs, err = f.frame(m, f.objs, f.res, int32(int64Or(m, ds3d.KeySourceID, 0)), ts, int64Or(m, ds3d.KeyFrameNumber, -1), evs); err != nil {
			return err
		}
	}
	slot.Events = evs
	m.Set(f.events, slot)
	return emit(m)
}

// int64Or returns the integer under k, or def when there is none (asking
// first: a missing key's error would allocate on every frame).
func int64Or(m *ds3d.DataMap, k ds3d.Key, def int64) int64 {
	if !m.Has(k) {
		return def
	}
	if v, err := m.Int64(k); err == nil {
		return v
	}
	return def
}

// slot returns batch slot i's object and result keys, built once.
func (f *Filter) slot(i int) (ds3d.Key, ds3d.Key) {
	for len(f.slotKeys) <= i {
		n := len(f.slotKeys)
		f.slotKeys = append(f.slotKeys, [2]ds3d.Key{f.objs.Sensor(n), f.res.Sensor(n)})
	}
	return f.slotKeys[i][0], f.slotKeys[i][1]
}

// frame analyses the objects under ok and stores the result under rk.
func (f *Filter) frame(m *ds3d.DataMap, ok, rk ds3d.Key, src int32, ts, fn int64, evs []ds3d.AnalyticsEvent) ([]ds3d.AnalyticsEvent, error) {
	objs, err := ds3d.Get[[]ds3d.Object2D](m, ok)
	if err != nil {
		return evs, err
	}
	res := f.Analyse(src, ts, fn, objs)
	m.Set(rk, res)
	return append(evs, res.Events...), nil
}

// Analyse runs the rules on one frame's objects of stream src: the
// filter's work without a datamap.
func (f *Filter) Analyse(src int32, ts, fn int64, objs []ds3d.Object2D) *ds3d.Analytics {
	in := f.in[:0]
	for i := range objs {
		o := &objs[i]
		// The anchor: the bottom centre of the box, where the object stands.
		p := Pt{float64(o.Left) + float64(o.Width)/2, float64(o.Top) + float64(o.Height)}
		if f.metric {
			g, ok := f.h.Apply(p)
			if !ok {
				continue // above the horizon: not on the ground
			}
			p = g
		}
		in = append(in, Input{Index: int32(i), TrackID: o.TrackID, ClassID: o.ClassID, Label: o.Label, Pos: p, Obj: o})
	}
	f.in = in
	res := f.e.Step(src, ts, fn, in)
	f.counters.add(res)
	return res
}

func init() {
	ds3d.Register(ds3d.KindFilter, "analytics",
		`Analytics on 2D tracks per stream, as DeepStream's nvdsanalytics: zones (ROI filtering with inverse ROI, entry/exit, dwell, occupancy, overcrowding, over-speed, wrong-way), lines (crossings with direction) and direction detection on the bottom centre of each tracked box, in pixels or, with a homography, in metres on the ground; results per frame under result_key (per batch slot _N), events under events_key, counts as metrics (docs/ANALYTICS.md).`,
		func() *Config {
			return &Config{ObjectsKey: string(ds3d.KeyObject2DBbox), ResultKey: string(ds3d.KeyAnalytics),
				EventsKey: string(ds3d.KeyAnalyticsEvents), RulesConfig: defaultRules(COCOLabels)}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c) })
}
