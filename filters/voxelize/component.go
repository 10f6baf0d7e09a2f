package voxelize

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// KeyLidarVoxelNumTensor is the [B, 1] i32 voxel count per cloud (V2XFusion's
// "N" input). ds3d has no key for it; the name follows its tensor keys.
const KeyLidarVoxelNumTensor ds3d.Key = "DS3D::LidarVoxelNumTensor"

// Config configures the voxelize component.
type Config struct {
	InputKeys      []string  `toml:"input_datamap_keys" nonempty:"true,each" doc:"keys of the [N,C] f32 clouds of one batch, in batch order (e.g. DS3D::LidarXYZI+0 … +3 after a mixer); one key: batch of 1"`
	FeatureKey     string    `toml:"feature_datamap_key" nonempty:"true" doc:"output [B, V, P, F] f32 point features per voxel (zero-padded)"`
	CoordKey       string    `toml:"coord_datamap_key" nonempty:"true" doc:"output [B, V, 4] i32 voxel coordinates (batch, z, y, x), mmdet3d order"`
	PointNumKey    string    `toml:"point_num_datamap_key" nonempty:"true" doc:"output [B, V] i32 points per voxel"`
	VoxelNumKey    string    `toml:"voxel_num_datamap_key" doc:"output [B, 1] i32 voxels per cloud (V2XFusion's N); empty: not written"`
	Range          []float64 `toml:"point_cloud_range" nonempty:"true" len:"6" finite:"true" ordered:"<" doc:"[x0, y0, z0, x1, y1, z1] metres; voxel index ⌊(p − min)/size⌋ must be in [0, round((max − min)/size))"`
	VoxelSize      []float64 `toml:"voxel_size" nonempty:"true" len:"3" min:">0" unit:"m" doc:"[x, y, z] voxel edge in metres"`
	MaxPoints      int       `toml:"max_points_per_voxel" min:"1" max:"65536" doc:"points kept per voxel, first come (P)"`
	MaxVoxels      int       `toml:"max_voxels" min:"1" max:"4194304" doc:"voxels kept per cloud, first come by their first point"`
	PointColumns   []string  `toml:"point_columns" nonempty:"each" len:"<=64" doc:"point channels copied, by column name, in the model's order (x, y, z first: the coordinates); a cloud lacking one is an error; empty: the first num_point_features channels"`
	Features       int       `toml:"num_point_features" min:"0" max:"64" doc:"with point_columns: 0 or their count; without: leading point channels copied (3 or more; 4: x y z intensity), 0 all channels"`
	Pad            bool      `toml:"pad_to_max_voxels" doc:"V = max_voxels (fixed-shape model input, as V2XFusion's ONNX); false: V = the batch's largest voxel count"`
	ds3d.PoolGroup `doc:"output tensor sets in flight before the filter waits for one to come back"`
}

// Params converts the config (after Validate).
func (c *Config) Params() Params {
	p := Params{MaxPointsPerVoxel: c.MaxPoints, MaxVoxels: c.MaxVoxels, Features: c.Features, Pad: c.Pad}
	if len(c.PointColumns) > 0 {
		p.PointColumns = c.PointColumns
	}
	copy(p.Range[:], c.Range)
	copy(p.VoxelSize[:], c.VoxelSize)
	return p
}

// Validate checks the keys and builds the grid.
func (c *Config) Validate() error {
	if _, err := New(c.Params()); err != nil {
		key := "point_cloud_range"
		switch {
		case strings.Contains(err.Error(), "disagrees"):
			key = "num_point_features"
		case strings.Contains(err.Error(), "point columns"):
			key = "point_columns"
		case c.Features == 1 || c.Features == 2: // the tags bound the counts
			key = "num_point_features"
		}
		return ds3d.ConfigErrorf(key, "%v", err)
	}
	return nil
}

// Filter is the voxelize component.
type Filter struct {
	v              *Voxelizer
	in             []ds3d.Key
	fk, ck, nk, vk ds3d.Key
	pools          [4]*ds3d.FramePool
	clouds         []*ds3d.Frame
}

// NewFilter builds voxelize from a validated config.
func NewFilter(c *Config) (*Filter, error) {
	v, err := New(c.Params())
	if err != nil {
		return nil, err
	}
	f := &Filter{v: v, fk: ds3d.Key(c.FeatureKey), ck: ds3d.Key(c.CoordKey), nk: ds3d.Key(c.PointNumKey), vk: ds3d.Key(c.VoxelNumKey)}
	for _, k := range c.InputKeys {
		f.in = append(f.in, ds3d.Key(k))
	}
	f.clouds = make([]*ds3d.Frame, len(f.in))
	for i := range f.pools {
		dt := ds3d.DTypeI32
		if i == 0 {
			dt = ds3d.DTypeF32
		}
		if f.pools[i], err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewTensorFrame(dt, 0) }); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Process voxelizes the batch of input clouds into pooled tensors.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	for i, k := range f.in {
		c, err := m.Frame(k)
		if err != nil {
			return err
		}
		f.clouds[i] = c
	}
	var out [4]*ds3d.Frame
	release := func() {
		for _, o := range out {
			if o != nil {
				o.Release()
			}
		}
	}
	n := 3
	if f.vk != "" {
		n = 4
	}
	for i := 0; i < n; i++ {
		o, err := f.pools[i].Get(ctx)
		if err != nil {
			release()
			return err
		}
		out[i] = o
	}
	if err := f.v.Voxelize(out[0], out[1], out[2], out[3], f.clouds...); err != nil {
		release()
		clear(f.clouds)
		return fmt.Errorf("%s: %w", f.in[0], err)
	}
	clear(f.clouds)
	m.SetFrame(f.fk, out[0])
	m.SetFrame(f.ck, out[1])
	m.SetFrame(f.nk, out[2])
	if out[3] != nil {
		m.SetFrame(f.vk, out[3])
	}
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "voxelize",
		`Hard voxelization for voxel/pillar detectors (mmdet3d hard_voxelize, V2XFusion/CenterPoint inputs): a batch of clouds → point features [B, V, P, F], voxel coords [B, V, 4] (batch, z, y, x), points per voxel [B, V] and voxels per cloud [B, 1]; first-seen voxel order, NaN/Inf points dropped, same input → same bytes.`,
		defaultConfig,
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c) })
}

// defaultConfig is DefaultParams on DS3D::LidarXYZI with ds3d's tensor keys.
func defaultConfig() *Config {
	d := DefaultParams
	return &Config{
		InputKeys:  []string{string(ds3d.KeyLidarXYZI)},
		FeatureKey: string(ds3d.KeyLidarFeatureTensor), CoordKey: string(ds3d.KeyLidarCoordTensor),
		PointNumKey: string(ds3d.KeyLidarPointNumTensor), VoxelNumKey: string(KeyLidarVoxelNumTensor),
		Range: d.Range[:], VoxelSize: d.VoxelSize[:], MaxPoints: d.MaxPointsPerVoxel, MaxVoxels: d.MaxVoxels,
		PointColumns: slices.Clone(d.PointColumns), Features: d.Features, Pad: d.Pad, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4},
	}
}

// PoolStats reports the four output pools under their keys (for the
// metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat {
	keys := [4]ds3d.Key{f.fk, f.ck, f.nk, f.vk}
	var out []ds3d.PoolStat
	for i, p := range f.pools {
		if p != nil {
			out = append(out, p.Stat(string(keys[i])))
		}
	}
	return out
}
