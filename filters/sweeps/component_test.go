package sweeps

import (
	"context"
	"errors"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

func build(t *testing.T, edit func(*Config)) *Filter {
	t.Helper()
	s, ok := ds3d.Lookup("sweep_accumulator")
	if !ok {
		t.Fatal("sweep_accumulator not registered")
	}
	c := s.NewConfig().(*Config)
	if edit != nil {
		edit(c)
	}
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatal(err)
	}
	f, err := s.Build(c, &ds3d.Env{Name: "sweeps"})
	if err != nil {
		t.Fatal(err)
	}
	return f.(*Filter)
}

// TestComponent: poses from DS3D::EgoPose, frames dropped or failed when
// it is missing, identity for a fixed sensor; pooled frames come back.
func TestComponent(t *testing.T) {
	src := cloud(1, 2, 3, 4, 5, 6, 7, 8)
	run := func(f *Filter, ms int64, withPose bool) (*ds3d.DataMap, error) {
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, src.Retain())
		m.SetTimestamp(ms * 1_000_000)
		if withPose {
			m.Set(ds3d.KeyEgoPose, pose(0, 0, float64(ms)/100, 0, 0))
		}
		var got *ds3d.DataMap
		err := f.Process(context.Background(), m, func(o *ds3d.DataMap) error { got = o; return nil })
		return got, err
	}
	f := build(t, func(c *Config) { c.MaxSweeps = 3; c.MemPoolSize = 2 })
	for i := int64(0); i < 6; i++ { // more than mem_pool_size: frames must come back
		m, err := run(f, i*100, true)
		if err != nil || m == nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out, _ := m.Frame(ds3d.KeyLidarXYZI)
		if want := 2 * min(int(i)+1, 3); out.Points() != want || out.Shape.D[1] != 5 {
			t.Fatalf("frame %d: %s, want [%d,5]", i, out.Shape, want)
		}
		// the older copy of point 0 moved by −1 m per 100 ms of ego motion
		if i > 0 {
			if d := ds3d.AsFloat32(out); d[10] != 0 || d[11] != 2 || d[14] != 0.1 {
				t.Fatalf("frame %d: previous sweep's point %v", i, d[10:15])
			}
		}
		m.Release()
	}
	if m, err := run(f, 700, false); m != nil || err != nil || f.Dropped() != 1 {
		t.Errorf("missing pose, drop: emitted %v err %v dropped %d", m != nil, err, f.Dropped())
	}
	fe := build(t, func(c *Config) { c.MissingPose = "error" })
	if _, err := run(fe, 0, false); !errors.Is(err, ErrNoPose) {
		t.Errorf("missing pose, error: %v", err)
	}
	fi := build(t, func(c *Config) { c.MissingPose = "identity" })
	for i := int64(0); i < 2; i++ {
		m, err := run(fi, i*100, false)
		if err != nil || m == nil {
			t.Fatalf("identity: %v", err)
		}
		if out, _ := m.Frame(ds3d.KeyLidarXYZI); out.Points() != 2*int(i+1) || (i == 1 && ds3d.AsFloat32(out)[10] != 1) {
			t.Errorf("identity frame %d: %v", i, ds3d.AsFloat32(out))
		}
		m.Release()
	}
}

func TestConfigValidate(t *testing.T) {
	for _, bad := range []struct {
		key  string
		edit func(*Config)
	}{
		{"input_datamap_key", func(c *Config) { c.InputKey = "" }},
		{"pose_datamap_key", func(c *Config) { c.PoseKey = "" }},
		{"max_sweeps", func(c *Config) { c.MaxSweeps = 0 }},
		{"max_time_lag", func(c *Config) { c.MaxTimeLag = -1 }},
		{"sensor_to_ego", func(c *Config) { c.SensorToEgo = []float64{1, 2, 3} }},
		{"sensor_to_ego", func(c *Config) { c.SensorToEgo = []float64{2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0} }},
		{"missing_pose", func(c *Config) { c.MissingPose = "skip" }},
		{"mem_pool_size", func(c *Config) { c.MemPoolSize = 0 }},
	} {
		s, _ := ds3d.Lookup("sweep_accumulator")
		c := s.NewConfig().(*Config)
		bad.edit(c)
		var ce *ds3d.ConfigError
		if err := ds3d.CheckConfig(c); !errors.As(err, &ce) || ce.Key != bad.key {
			t.Errorf("%s: got %v", bad.key, err)
		}
	}
}
