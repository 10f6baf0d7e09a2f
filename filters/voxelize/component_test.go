package voxelize

import (
	"errors"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestConfigValidate: each bad value is reported under its own key.
func TestConfigValidate(t *testing.T) {
	if err := ds3d.CheckConfig(defaultConfig()); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := []struct {
		key  string
		edit func(*Config)
	}{
		{"input_datamap_keys", func(c *Config) { c.InputKeys = nil }},
		{"input_datamap_keys", func(c *Config) { c.InputKeys = []string{"DS3D::LidarXYZI+0", ""} }},
		{"feature_datamap_key", func(c *Config) { c.FeatureKey = "" }},
		{"point_cloud_range", func(c *Config) { c.Range = []float64{0, 0, 0} }},
		{"point_cloud_range", func(c *Config) { c.Range = []float64{0, 0, 0, 0, 1, 1} }},
		{"voxel_size", func(c *Config) { c.VoxelSize = []float64{0.2, 0, 8} }},
		{"voxel_size", func(c *Config) { c.VoxelSize = []float64{0.2, 0.2} }},
		{"max_points_per_voxel", func(c *Config) { c.MaxPoints = 0 }},
		{"max_voxels", func(c *Config) { c.MaxVoxels = -1 }},
		{"num_point_features", func(c *Config) { c.Features = 2 }},
		{"num_point_features", func(c *Config) { c.Features = 5 }},
		{"point_columns", func(c *Config) { c.PointColumns = []string{"x", "y"} }},
		{"point_columns", func(c *Config) { c.PointColumns = []string{"x", "y", "z", "x"} }},
		{"point_columns", func(c *Config) { c.PointColumns = []string{"x", "y", "z", ""} }},
		{"mem_pool_size", func(c *Config) { c.MemPoolSize = 0 }},
	}
	for _, b := range bad {
		c := defaultConfig()
		b.edit(c)
		err := ds3d.CheckConfig(c)
		var ce *ds3d.ConfigError
		if !errors.As(err, &ce) || ce.Key != b.key {
			t.Errorf("%s: got %v", b.key, err)
		}
	}
}
