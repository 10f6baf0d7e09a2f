package analytics

import (
	"context"
	"errors"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config3D configures analytics_3d.
type Config3D struct {
	BoxesKey    string    `toml:"lidar_bbox_key" nonempty:"true" doc:"key of the tracked []Box3D (tracker_3d's output)"`
	ResultKey   string    `toml:"result_key" nonempty:"true" doc:"key the *ds3d.Analytics result is stored under"`
	EventsKey   string    `toml:"events_key" nonempty:"true" doc:"key the datamap's events (*ds3d.AnalyticsEvents) are stored under, for the sinks that send them (json_box_writer and msgbroker events_key)"`
	Frame       string    `toml:"frame" enum:"sensor|world" doc:"plane of the rules: sensor (the boxes' frame, x and y in metres) or world (through DS3D::EgoPose and sensor_to_ego)"`
	SensorToEgo []float64 `toml:"sensor_to_ego" len:"12|16" finite:"true" doc:"frame = world: the boxes' frame → ego transform, row-major 3×4 or 4×4; empty: identity"`
	Velocity    string    `toml:"velocity" enum:"auto|tracker|positions" doc:"velocity source: the tracker's (Box3D.VX, VY, relative to the sensor), the anchor's motion, or auto (tracker in the sensor frame, positions in the world frame)"`
	RulesConfig `toml:",squash"`
}

// Filter3D is the analytics_3d component.
type Filter3D struct {
	e        *Engine
	boxes    ds3d.Key
	res, evk ds3d.Key
	world    bool
	s2e      ds3d.Mat4
	trackerV bool
	in       []Input
	counters *Counters
	evRing   []ds3d.AnalyticsEvents
	evPos    int
}

// NewFilter3D builds the 3D filter of c.
func NewFilter3D(c *Config3D) (*Filter3D, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	f := &Filter3D{boxes: ds3d.Key(c.BoxesKey), res: ds3d.Key(c.ResultKey), evk: ds3d.Key(c.EventsKey),
		world: c.Frame == "world", s2e: ds3d.Identity4}
	if len(c.SensorToEgo) > 0 {
		m, err := ds3d.Mat4From(c.SensorToEgo)
		if err != nil {
			return nil, ds3d.ConfigErrorf("sensor_to_ego", "%v", err)
		}
		f.s2e = m
	}
	f.trackerV = c.Velocity == "tracker" || (c.Velocity == "auto" && !f.world)
	space := ds3d.SpaceGround
	if f.world {
		space = ds3d.SpaceWorld
	}
	e, err := NewEngine(c.Options(space), c.Rules())
	if err != nil {
		return nil, err
	}
	f.e = e
	f.counters = newCounters(e)
	f.evRing = make([]ds3d.AnalyticsEvents, c.ResultRing)
	return f, nil
}

// Engine returns the filter's engine.
func (f *Filter3D) Engine() *Engine { return f.e }

// Counters returns the filter's counts for the metrics.
func (f *Filter3D) Counters() *Counters { return f.counters }

var errNoPose = errors.New("analytics_3d: frame = \"world\" needs DS3D::EgoPose on every datamap")

// Process analyses the datamap's tracked boxes.
func (f *Filter3D) Process(_ context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	boxes, err := ds3d.Get[[]ds3d.Box3D](m, f.boxes)
	if err != nil {
		return err
	}
	pose := ds3d.Identity4
	if f.world {
		p, err := ds3d.Get[ds3d.Mat4](m, ds3d.KeyEgoPose)
		if err != nil {
			return errNoPose
		}
		pose = p.Mul(f.s2e)
	}
	ts, _ := m.Timestamp()
	res := f.Analyse(int32(int64Or(m, ds3d.KeySourceID, 0)), ts, int64Or(m, ds3d.KeyFrameNumber, -1), boxes, &pose)
	m.Set(f.res, res)
	slot := &f.evRing[f.evPos]
	f.evPos = (f.evPos + 1) % len(f.evRing)
	slot.Events = append(slot.Events[:0], res.Events...)
	m.Set(f.evk, slot)
	return emit(m)
}

// Analyse runs the rules on one frame's boxes of stream src; pose maps the
// boxes' frame to the rules' plane (nil: identity).
func (f *Filter3D) Analyse(src int32, ts, fn int64, boxes []ds3d.Box3D, pose *ds3d.Mat4) *ds3d.Analytics {
	in := f.in[:0]
	for i := range boxes {
		b := &boxes[i]
		// The anchor: the box centre on the ground (its bottom face's centre).
		x, y, z := float64(b.CX), float64(b.CY), float64(b.CZ)-float64(b.DZ)/2
		vx, vy := float64(b.VX), float64(b.VY)
		if pose != nil && *pose != ds3d.Identity4 {
			p := pose
			x, y = p[0]*x+p[1]*y+p[2]*z+p[3], p[4]*x+p[5]*y+p[6]*z+p[7]
			vx, vy = p[0]*vx+p[1]*vy, p[4]*vx+p[5]*vy
		}
		in = append(in, Input{Index: int32(i), TrackID: b.TrackID, ClassID: b.ClassID, Label: b.Label,
			Pos: Pt{x, y}, Vel: [2]float64{vx, vy}, HasVel: f.trackerV, Box: b})
	}
	f.in = in
	res := f.e.Step(src, ts, fn, in)
	f.counters.add(res)
	return res
}

func init() {
	ds3d.Register(ds3d.KindFilter, "analytics_3d",
		`Analytics on 3D tracks (tracker_3d): zones and lines on the ground plane of the sensor or world frame (DS3D::EgoPose), on the centre of each box's bottom face: entry/exit, dwell, occupancy, overcrowding, line crossings with direction, speed in m/s (the tracker's velocity, smoothed) with over-speed and wrong-way rules, counts per class; results under result_key, events under events_key, counts as metrics (docs/ANALYTICS.md).`,
		func() *Config3D {
			r := defaultRules(Labels3D)
			r.FrameRate = 10
			return &Config3D{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), ResultKey: string(ds3d.KeyAnalytics),
				EventsKey: string(ds3d.KeyAnalyticsEvents), Frame: "sensor", Velocity: "auto", RulesConfig: r}
		},
		func(c *Config3D, _ *ds3d.Env) (any, error) { return NewFilter3D(c) })
}
