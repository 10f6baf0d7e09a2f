package track3d

import (
	"context"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures tracker_3d. Names follow nvtracker's TargetManagement
// where they mean the same.
type Config struct {
	BoxesKey        string  `toml:"boxes_datamap_key" doc:"key of the []Box3D detections; the tracked boxes replace them"`
	ProbationAge    int     `toml:"probation_age" min:"1" doc:"hits in a row before a track is confirmed and gets an id (nvtracker probationAge)"`
	MaxShadowAge    int     `toml:"max_shadow_age" min:"0" doc:"missed frames a confirmed track coasts through before it is deleted (nvtracker maxShadowTrackingAge)"`
	OutputShadows   bool    `toml:"output_shadows" doc:"also output confirmed tracks that missed this frame (their predicted box)"`
	OutputTentative bool    `toml:"output_tentative" doc:"also output tracks still in probation (TrackID −1)"`
	GateMeters      float64 `toml:"gate_m" min:">0" unit:"m" doc:"largest BEV centre distance between a track's prediction and a detection to associate them, metres"`
	ClassAware      bool    `toml:"class_aware" doc:"associate detections only with tracks of the same class id"`
	AccelNoise      float64 `toml:"accel_noise" min:">0" doc:"process noise of the constant-velocity model: acceleration spectral density, (m/s²)²·s"`
	PosNoise        float64 `toml:"position_noise" min:">0" unit:"m" doc:"measurement standard deviation of box centres, metres"`
	YawNoise        float64 `toml:"yaw_noise" min:">0" unit:"rad" doc:"measurement standard deviation of headings, radians"`
	SizeNoise       float64 `toml:"size_noise" min:">0" unit:"m" doc:"measurement standard deviation of box sizes, metres"`
	InitVelStd      float64 `toml:"initial_velocity_std" min:">0" unit:"m/s" doc:"standard deviation of a new track's unknown velocity, m/s"`

	MotionModel       string            `toml:"motion_model" enum:"cv|ctrv" doc:"motion model of tracks whose class has no class_motion entry: cv (constant velocity) or ctrv (constant turn rate and velocity, for vehicles)"`
	ClassMotion       map[string]string `toml:"class_motion" doc:"per-class motion model, a [component.config.class_motion] table of label = \"cv\"|\"ctrv\" (e.g. Car = \"ctrv\"); a key of digits is a class id; labels match first"`
	CTRVAccelNoise    float64           `toml:"ctrv_accel_noise" min:">0" doc:"CTRV process noise: spectral density of the acceleration along the heading, (m/s²)²·s"`
	CTRVYawAccelNoise float64           `toml:"ctrv_yaw_accel_noise" min:">0" doc:"CTRV process noise: spectral density of the yaw acceleration, (rad/s²)²·s"`
	CTRVLateralNoise  float64           `toml:"ctrv_lateral_noise" min:">0" doc:"CTRV process noise: spectral density of a sideways drift of the centre, m²/s"`
	CTRVYawNoise      float64           `toml:"ctrv_yaw_noise" min:"0" unit:"rad" doc:"CTRV measurement standard deviation of headings, radians (0: yaw_noise); the heading steers the CTRV prediction, so a detector with jittery headings wants it larger"`
	CTRVInitYawRate   float64           `toml:"ctrv_initial_yaw_rate_std" min:">0" unit:"rad/s" doc:"standard deviation of a new CTRV track's unknown yaw rate, rad/s"`
}

// Validate checks the config.
func (c *Config) Validate() error {
	for k, v := range c.ClassMotion {
		if k == "" {
			return ds3d.ConfigErrorf("class_motion", "empty class name")
		}
		if _, err := ParseModel(v); err != nil {
			return ds3d.ConfigErrorf("class_motion."+k, "%v", err)
		}
	}
	return nil
}

// classID reports whether a class_motion key is a class id (all digits).
func classID(k string) (int32, bool) {
	id, err := strconv.ParseInt(k, 10, 32)
	return int32(id), err == nil && id >= 0 && strings.Trim(k, "0123456789") == ""
}

// Params converts the config (standard deviations to variances).
func (c *Config) Params() Params {
	p := Params{
		ProbationAge: c.ProbationAge, MaxShadowAge: c.MaxShadowAge, OutputShadows: c.OutputShadows,
		OutputTentative: c.OutputTentative, GateMeters: c.GateMeters, ClassAware: c.ClassAware,
		AccelNoise: c.AccelNoise, PosNoise: c.PosNoise * c.PosNoise, YawNoise: c.YawNoise * c.YawNoise,
		SizeNoise: c.SizeNoise * c.SizeNoise, InitVelVar: c.InitVelStd * c.InitVelStd,
	}
	p.Motion, _ = ParseModel(c.MotionModel) // Validate rejected the unknown
	for k, v := range c.ClassMotion {
		m, _ := ParseModel(v)
		if id, ok := classID(k); ok {
			if p.ClassMotion == nil {
				p.ClassMotion = map[int32]Model{}
			}
			p.ClassMotion[id] = m
			continue
		}
		if p.LabelMotion == nil {
			p.LabelMotion = map[string]Model{}
		}
		p.LabelMotion[k] = m
	}
	p.CTRV = ctrvNoise{accel: c.CTRVAccelNoise, yawAccel: c.CTRVYawAccelNoise, lateral: c.CTRVLateralNoise}
	yawStd := c.CTRVYawNoise
	if yawStd == 0 {
		yawStd = c.YawNoise
	}
	p.CTRVYawNoise = yawStd * yawStd
	p.InitYawRate = c.CTRVInitYawRate * c.CTRVInitYawRate
	return p
}

// DefaultConfig is tracker_3d's defaults: cars at 10 Hz, every class on the
// constant-velocity model (set motion_model or class_motion for CTRV).
func DefaultConfig() *Config {
	return &Config{BoxesKey: string(ds3d.KeyLidar3DBboxRawData), ProbationAge: 3, MaxShadowAge: 5, GateMeters: 3,
		ClassAware: true, AccelNoise: 4, PosNoise: 0.2, YawNoise: 0.1, SizeNoise: 0.2, InitVelStd: 10,
		MotionModel: "cv", CTRVAccelNoise: 4, CTRVYawAccelNoise: 0.1, CTRVLateralNoise: 0.1, CTRVInitYawRate: 0.5}
}

// Filter is the tracker_3d component: one tracker per DS3D::SourceId.
type Filter struct {
	cfg      Config
	trackers map[int64]*Tracker
}

// Process tracks the datamap's boxes and replaces them with the tracks.
func (f *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	key := ds3d.Key(f.cfg.BoxesKey)
	dets, err := ds3d.Get[[]ds3d.Box3D](in, key)
	if err != nil {
		return err
	}
	ts, ok := in.Timestamp()
	if !ok {
		ts = 0
	}
	src, _ := in.Int64(ds3d.KeySourceID)
	tr := f.trackers[src]
	if tr == nil {
		tr = New(f.cfg.Params())
		f.trackers[src] = tr
	}
	// Emitted values are read-only downstream: copy out of the tracker's buffer.
	in.Set(key, append([]ds3d.Box3D(nil), tr.Update(ts, dets)...))
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "tracker_3d",
		`3D multi-object tracking of lidar boxes: per-class constant-velocity or constant-turn-rate-and-velocity (CTRV, EKF) Kalman filters on centre, heading and size, Hungarian association on BEV centre distance within a gate, probation/shadow/termination as nvtracker's TargetManagement; outputs tracked boxes with TrackID and velocity.`,
		DefaultConfig,
		func(c *Config, _ *ds3d.Env) (any, error) {
			return &Filter{cfg: *c, trackers: map[int64]*Tracker{}}, nil
		})
}
