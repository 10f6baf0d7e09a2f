package pointcloud

import (
	"context"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Box is an axis-aligned box in the cloud's frame, bounds inclusive: a
// point is inside when Min[a] ≤ p[a] ≤ Max[a] on every axis a (x, y, z).
// This is the mask of ../shared/peers/bench_numpy.py's crop_roi
// ((x >= lo) & (x <= hi) & …, compared in float32 because numpy casts the
// Python-float bounds to the array's float32) and of PCL's CropBox. NaN
// never compares inside; an infinite coordinate is outside any finite box.
type Box struct {
	Min, Max [3]float32
}

// Unbounded is the box that keeps every finite point: ±MaxFloat32 on each axis.
var Unbounded = Box{
	Min: [3]float32{-math.MaxFloat32, -math.MaxFloat32, -math.MaxFloat32},
	Max: [3]float32{math.MaxFloat32, math.MaxFloat32, math.MaxFloat32},
}

// Crop copies the points of src inside b into dst, keeping their order, and
// returns how many it kept. dst becomes an [k,C] frame of src's type and
// column names (C = src's columns; every column is copied); dst may be src
// (in-place compaction). src must be an [N,C≥3] float32 frame.
func Crop(dst, src *ds3d.Frame, b Box) int {
	n := src.Points()
	c := src.Shape.D[1]
	d, s := prepare(dst, src, n)
	lx, ly, lz, hx, hy, hz := b.Min[0], b.Min[1], b.Min[2], b.Max[0], b.Max[1], b.Max[2]
	k := 0
	if c == 4 {
		k = cropXYZI(d, s, &b)
	} else {
		for i := 0; i+c <= len(s); i += c {
			if x, y, z := s[i], s[i+1], s[i+2]; x >= lx && x <= hx && y >= ly && y <= hy && z >= lz && z <= hz {
				copy(d[k:k+c], s[i:i+c])
				k += c
			}
		}
	}
	dst.Resize(k/c, c)
	return k / c
}

// CropIndices appends to idx the indices of the points of src inside b, in
// order, and returns it: the mask of Crop as PCL's filter indices.
func CropIndices(idx []int32, src *ds3d.Frame, b Box) []int32 {
	n, c := src.Points(), src.Shape.D[1]
	s := ds3d.AsFloat32(src)[:n*c]
	lx, ly, lz, hx, hy, hz := b.Min[0], b.Min[1], b.Min[2], b.Max[0], b.Max[1], b.Max[2]
	for i := 0; i < n; i++ {
		if x, y, z := s[i*c], s[i*c+1], s[i*c+2]; x >= lx && x <= hx && y >= ly && y <= hy && z >= lz && z <= hz {
			idx = append(idx, int32(i))
		}
	}
	return idx
}

// PassThrough is PCL's PassThrough filter on one column: points whose x, y
// or z is not finite are removed, and so are points whose field value is not
// finite; of the rest it keeps those with lo ≤ v ≤ hi, or with negative set
// those outside [lo, hi] (v < lo or v > hi; pcl::PassThrough::setNegative).
// field is the column index (0 x, 1 y, 2 z, then as src.Column names it);
// every column is kept and dst takes src's names. dst may be src. It
// returns the number of points kept.
func PassThrough(dst, src *ds3d.Frame, field int, lo, hi float32, negative bool) int {
	n := src.Points()
	c := src.Shape.D[1]
	d, s := prepare(dst, src, n)
	if field < 0 || field >= c {
		dst.Resize(0, c)
		return 0
	}
	k := 0
	for i := 0; i+c <= len(s); i += c {
		x, y, z, v := s[i], s[i+1], s[i+2], s[i+field]
		if (x-x)+(y-y)+(z-z)+(v-v) != 0 { // x−x is 0 exactly for finite x
			continue
		}
		if (v >= lo && v <= hi) != negative {
			copy(d[k:k+c], s[i:i+c])
			k += c
		}
	}
	dst.Resize(k/c, c)
	return k / c
}

// CropConfig configures roi_crop.
type CropConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame to crop"`
	ds3d.OutputGroup `doc:"key the cropped frame is stored under (may equal the input key: it is replaced)"`
	XRange           []float64 `toml:"x_range" len:"2" finite:"float32" ordered:"<=" runtime:"true" doc:"[min, max] of x in metres, both inclusive (rounded to float32, as numpy does); empty: no limit"`
	YRange           []float64 `toml:"y_range" len:"2" finite:"float32" ordered:"<=" runtime:"true" doc:"[min, max] of y in metres, both inclusive; empty: no limit"`
	ZRange           []float64 `toml:"z_range" len:"2" finite:"float32" ordered:"<=" runtime:"true" doc:"[min, max] of z in metres, both inclusive; empty: no limit"`
	FilterField      string    `toml:"filter_field" doc:"after the box, PCL PassThrough on this column, by name (x, y, z, intensity or i, ring, time, …; a frame without it is an error); empty: none"`
	FilterLimit      []float64 `toml:"filter_limits" len:"2" finite:"float32" ordered:"<=" runtime:"true" doc:"[min, max] of filter_field, both inclusive"`
	Negative         bool      `toml:"filter_limit_negative" runtime:"true" doc:"PassThrough keeps the points outside filter_limits instead (PCL setNegative)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate checks that a filter_field has its limits (the tags check each
// range).
func (c *CropConfig) Validate() error {
	if c.FilterField != "" {
		if len(c.FilterLimit) != 2 {
			return ds3d.ConfigErrorf("filter_limits", "filter_field %q needs [min, max]", c.FilterField)
		}
	}
	return nil
}

// Box returns the configured box (unlimited axes span ±MaxFloat32).
func (c *CropConfig) Box() Box {
	b := Unbounded
	for a, r := range [][]float64{c.XRange, c.YRange, c.ZRange} {
		if len(r) == 2 {
			b.Min[a], b.Max[a] = float32(r[0]), float32(r[1])
		}
	}
	return b
}

// CropFilter is the roi_crop component.
type CropFilter struct {
	keyed
	box   Box
	field string // PassThrough column name; "" none
	lo    float32
	hi    float32
	neg   bool
}

// NewCropFilter builds roi_crop from a validated config.
func NewCropFilter(c *CropConfig) (*CropFilter, error) {
	k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
	if err != nil {
		return nil, err
	}
	f := &CropFilter{keyed: k, box: c.Box(), field: c.FilterField, neg: c.Negative}
	if c.FilterField != "" {
		f.lo, f.hi = float32(c.FilterLimit[0]), float32(c.FilterLimit[1])
	}
	return f, nil
}

// Update applies new ranges, filter limits and filter_limit_negative
// between two datamaps (filter_field stays).
func (f *CropFilter) Update(cfg any) error {
	c := cfg.(*CropConfig)
	f.box, f.neg = c.Box(), c.Negative
	if f.field != "" {
		f.lo, f.hi = float32(c.FilterLimit[0]), float32(c.FilterLimit[1])
	}
	return nil
}

// Process crops the input frame into a pooled frame. The filter_field
// column is looked up by name in each frame.
func (f *CropFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	field := -1
	if f.field != "" {
		if field, err = columnOf("roi_crop filter_field", src, f.field); err != nil {
			return fmt.Errorf("%s: %w", f.in, err)
		}
	}
	src, dst, err := f.frames(ctx, m, 3)
	if err != nil {
		return err
	}
	Crop(dst, src, f.box)
	if field >= 0 {
		PassThrough(dst, dst, field, f.lo, f.hi, f.neg)
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "roi_crop",
		`Keeps the points inside an axis-aligned box (bounds inclusive, numpy-mask and PCL CropBox semantics), optionally followed by a PCL PassThrough on one field; NaN/Inf points are dropped.`,
		func() *CropConfig {
			return &CropConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *CropConfig, _ *ds3d.Env) (any, error) { return NewCropFilter(c) })
}
