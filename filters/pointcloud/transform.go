package pointcloud

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Transform applies the rigid (or any affine) transform m to every point of
// src: p' = R·p + t with m row-major (ds3d.Mat4: p' = M·[x y z 1]ᵀ; the
// bottom row is ignored). Only x, y, z (columns 0..2) are rotated: the
// other columns (intensity, ring, time, …) are copied unchanged and dst
// takes src's column names. The matrix
// is rounded to float32 once and each coordinate is computed in float32 as
// ((r0·x + r1·y) + r2·z) + t. dst may be src; NaN/Inf propagate (nothing is
// dropped).
func Transform(dst, src *ds3d.Frame, m ds3d.Mat4) {
	n := src.Points()
	c := src.Shape.D[1]
	d, s := prepare(dst, src, n)
	r00, r01, r02, t0 := float32(m[0]), float32(m[1]), float32(m[2]), float32(m[3])
	r10, r11, r12, t1 := float32(m[4]), float32(m[5]), float32(m[6]), float32(m[7])
	r20, r21, r22, t2 := float32(m[8]), float32(m[9]), float32(m[10]), float32(m[11])
	for i := 0; i+c <= len(s); i += c {
		p := s[i : i+c : i+c]
		q := d[i : i+c : i+c]
		x, y, z := p[0], p[1], p[2]
		// explicit float32 conversions forbid fused multiply-adds, so the
		// result is the same on every architecture.
		q[0] = float32(float32(float32(r00*x)+float32(r01*y))+float32(r02*z)) + t0
		q[1] = float32(float32(float32(r10*x)+float32(r11*y))+float32(r12*z)) + t1
		q[2] = float32(float32(float32(r20*x)+float32(r21*y))+float32(r22*z)) + t2
		copy(q[3:], p[3:])
	}
}

// NormalizeIntensity sets the intensity column of every point (the column
// named intensity; column 3 of a frame without names) to clamp(v/scale,
// lo, hi) (float32 division); a NaN intensity stays NaN. Other columns and
// the names are copied; a frame without an intensity column is copied
// unchanged. dst may be src.
func NormalizeIntensity(dst, src *ds3d.Frame, scale, lo, hi float32) {
	n := src.Points()
	c := src.Shape.D[1]
	col, err := columnOf("intensity_normalize", src, ds3d.ColIntensity)
	d, s := prepare(dst, src, n)
	if len(d) > 0 && &d[0] != &s[0] {
		copy(d, s)
	}
	if err != nil {
		return
	}
	for i := col; i < len(d); i += c {
		v := d[i] / scale
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		d[i] = v
	}
}

// TransformConfig configures point_transform.
type TransformConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame to transform"`
	ds3d.OutputGroup `doc:"key the transformed frame is stored under (may equal the input key)"`
	Matrix           []float64 `toml:"matrix" nonempty:"true" len:"12|16" finite:"true" doc:"row-major 4×4 (16 values) or 3×4 [R|t] (12 values): p' = R·p + t"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// TransformFilter is the point_transform component.
type TransformFilter struct {
	keyed
	m ds3d.Mat4
}

// Process transforms the input frame into a pooled frame.
func (f *TransformFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, dst, err := f.frames(ctx, m, 3)
	if err != nil {
		return err
	}
	Transform(dst, src, f.m)
	m.SetFrame(f.out, dst)
	return emit(m)
}

// NormalizeConfig configures intensity_normalize.
type NormalizeConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C≥4] f32 point frame"`
	ds3d.OutputGroup `doc:"key the normalised frame is stored under (may equal the input key)"`
	Scale            float64 `toml:"scale" finite:"float32" nonzero:"true" doc:"intensity is divided by this (e.g. 255 for 8-bit intensities)"`
	Min              float64 `toml:"min" finite:"float32" doc:"lower clamp after dividing"`
	Max              float64 `toml:"max" finite:"float32" doc:"upper clamp after dividing"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate checks the clamp range (the tags check each bound).
func (c *NormalizeConfig) Validate() error {
	if c.Min > c.Max {
		return ds3d.ConfigErrorf("min", "[min, max] = [%v, %v] must have min ≤ max", c.Min, c.Max)
	}
	return nil
}

// NormalizeFilter is the intensity_normalize component.
type NormalizeFilter struct {
	keyed
	scale, lo, hi float32
}

// Process normalises the input frame's intensities into a pooled frame.
func (f *NormalizeFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	if _, err := columnOf("intensity_normalize", src, ds3d.ColIntensity); err != nil {
		return fmt.Errorf("%s: %w", f.in, err)
	}
	src, dst, err := f.frames(ctx, m, 3)
	if err != nil {
		return err
	}
	NormalizeIntensity(dst, src, f.scale, f.lo, f.hi)
	m.SetFrame(f.out, dst)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "point_transform",
		`Applies a rigid transform (row-major 4×4 or 3×4 [R|t], p' = R·p + t) to x, y, z of every point; other columns are copied.`,
		func() *TransformConfig {
			return &TransformConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)},
				Matrix: append([]float64(nil), ds3d.Identity4[:]...), PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *TransformConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			m, err := ds3d.Mat4From(c.Matrix)
			if err != nil {
				return nil, ds3d.ConfigErrorf("matrix", "%v", err)
			}
			return &TransformFilter{keyed: k, m: m}, nil
		})
	ds3d.Register(ds3d.KindFilter, "intensity_normalize",
		`Divides every point's intensity by scale and clamps it to [min, max].`,
		func() *NormalizeConfig {
			return &NormalizeConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)},
				Scale: 1, Min: 0, Max: 1, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *NormalizeConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			return &NormalizeFilter{keyed: k, scale: float32(c.Scale), lo: float32(c.Min), hi: float32(c.Max)}, nil
		})
}
