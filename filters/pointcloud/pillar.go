package pointcloud

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Feature is one per-point input feature of PointPillars' pillar feature net.
type Feature uint8

// The features of OpenPCDet's PillarVFE (names after the PointPillars paper:
// c = offset to the arithmetic mean of the pillar's points, p = offset to
// the pillar's geometric centre).
const (
	FeatX  Feature = iota // x
	FeatY                 // y
	FeatZ                 // z
	FeatI                 // intensity (reflectance)
	FeatXc                // x − mean x of the pillar's points
	FeatYc                // y − mean y
	FeatZc                // z − mean z
	FeatXp                // x − pillar centre x
	FeatYp                // y − pillar centre y
	FeatZp                // z − centre of the z range
	numFeatures
)

var featureNames = [numFeatures]string{"x", "y", "z", "i", "xc", "yc", "zc", "xp", "yp", "zp"}

// maxPointColumns bounds PillarParams.PointColumns.
const maxPointColumns = 16

// ColumnFeature is the feature that copies point column k of
// PillarParams.PointColumns (k ≥ 4; 3 is FeatI, 0..2 are FeatX..FeatZ):
// how a model takes e.g. the time column as a raw per-point feature.
func ColumnFeature(k int) Feature { return numFeatures + Feature(k) }

func (f Feature) String() string {
	if f < numFeatures {
		return featureNames[f]
	}
	return fmt.Sprintf("column(%d)", f-numFeatures)
}

// ParseFeature reads a feature name: x y z i (or intensity) xc yc zc xp yp zp.
func ParseFeature(s string) (Feature, error) {
	if s == "intensity" {
		return FeatI, nil
	}
	for i, n := range featureNames {
		if s == n {
			return Feature(i), nil
		}
	}
	return 0, fmt.Errorf("unknown pillar feature %q (want one of %s)", s, strings.Join(featureNames[:], " "))
}

// DefaultFeatures is the 10-feature layout of OpenPCDet's PillarVFE with
// use_absolute_xyz and with_distance off, in its order: x, y, z, i, then
// offsets to the points' mean, then offsets to the pillar centre.
var DefaultFeatures = []Feature{FeatX, FeatY, FeatZ, FeatI, FeatXc, FeatYc, FeatZc, FeatXp, FeatYp, FeatZp}

// PillarParams describes the pillar grid. The defaults (DefaultPillarParams)
// are OpenPCDet's KITTI pointpillar.yaml and ../shared/peers/bench_numpy.py.
type PillarParams struct {
	// Range is [x0, y0, z0, x1, y1, z1] in metres; a point is used when
	// x0 ≤ x < x1, y0 ≤ y < y1 and z0 ≤ z < z1 (compared in float32).
	Range [6]float64
	// PillarSize is the pillar's x and y edge in metres.
	PillarSize [2]float64
	// MaxPointsPerPillar keeps the first points (input order) of a pillar.
	MaxPointsPerPillar int
	// MaxPillars keeps the first pillars (by their first point in input order).
	MaxPillars int
	// Features is the per-point feature layout; nil means DefaultFeatures.
	Features []Feature
	// PointColumns names the frame columns read per point, looked up by
	// name in each frame: the first three are the coordinates (features x,
	// y, z and the grid), the fourth is feature i, and later ones feed
	// ColumnFeature(k). nil means DefaultPointColumns.
	PointColumns []string
}

// DefaultPointColumns is x y z intensity, the columns of a KITTI-style
// [N,4] frame.
var DefaultPointColumns = []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity}

// DefaultPillarParams is the KITTI PointPillars grid: 432×496 pillars of
// 0.16 m over x [0, 69.12), y [−39.68, 39.68), z [−3, 1), ≤ 32 points per
// pillar, ≤ 12000 pillars, DefaultFeatures.
var DefaultPillarParams = PillarParams{
	Range:              [6]float64{0, -39.68, -3, 69.12, 39.68, 1},
	PillarSize:         [2]float64{0.16, 0.16},
	MaxPointsPerPillar: 32, MaxPillars: 12000,
}

// zero32 is a float32 zero the compiler cannot fold, so padded-slot values
// are computed exactly as numpy computes them ((0 − m)·0 keeps m's sign).
var zero32 float32

// Pillarizer turns a point cloud into PointPillars' dense pillar tensors,
// exactly as ../shared/peers/bench_numpy.py's pillarize (OpenPCDet's
// PillarVFE input after its voxel generator), bit for bit:
//
//   - The point columns (PointColumns, x y z intensity by default) are
//     found by name in each frame (a frame without names: x y z intensity
//     at columns 0..3); a frame lacking one is an error naming it and the
//     frame's columns. Other columns are ignored.
//   - Points outside Range (half-open, float32 comparisons) are dropped, and
//     so are points with NaN x, y or z (NaN fails every comparison) or
//     infinite ones (Range is finite). The intensity is not checked: a NaN
//     intensity is copied into feature i, as numpy does.
//   - Grid cell: ix = int32(float32(x − x0)·float32(1/size_x)) (truncation),
//     clamped to nx−1, likewise iy; nx = round((x1−x0)/size_x). Cell key
//     iy·nx + ix.
//   - Pillars are numbered in order of their first point in the input
//     ("first come"); beyond MaxPillars new pillars are dropped. A pillar
//     holds its first MaxPointsPerPillar points in input order.
//   - Per pillar: mean m = (Σ x in float32, in point order) / float32(n);
//     centre xp0 = float32(float64(ix)·size_x + (size_x/2 + x0)) computed in
//     float64 (numpy promotes the integer cell index to float64), likewise y,
//     and zp0 = float32((z0+z1)/2). Offsets are float32 differences.
//   - Padded slots (slot ≥ n) hold numpy's (0 − v)·0, i.e. zeros whose sign
//     follows −v — kept so that the bytes match.
//
// Outputs: features [P, MaxPointsPerPillar, F] f32 (F = len(Features), in
// that order), coords [P, 4] i32 as (batch 0, z 0, iy, ix) — OpenPCDet's
// voxel_coords order (the numpy reference returns (iy, ix)) — and point
// counts [P] i32. A Pillarizer keeps scratch between calls (its cell grid
// is reset after each call by visiting only the used cells): one per stream.
type Pillarizer struct {
	p        PillarParams
	feats    []Feature
	nx, ny   int32
	lo, hi   [3]float32
	inv      [2]float32
	offx     float64 // size_x/2 + x0
	offy     float64
	zc       float32
	grid     []int32 // cell → pillar id, −1 empty
	keys     []int32 // pillar → cell
	cnt      []int32 // pillar → points kept
	slots    []int32 // pillar·maxPts + r → point index
	needsInt bool
	pcols    []string  // PointColumns
	used     int       // point columns read: 3, 4 with feature i, or up to the last column feature
	gather   []float32 // the point columns of a frame where they are not the leading ones
}

// NewPillarizer checks p and allocates the scratch.
func NewPillarizer(p PillarParams) (*Pillarizer, error) {
	if p.Features == nil {
		p.Features = DefaultFeatures
	}
	if p.PointColumns == nil {
		p.PointColumns = DefaultPointColumns
	}
	if len(p.PointColumns) < 3 || len(p.PointColumns) > maxPointColumns {
		return nil, fmt.Errorf("pillars: point columns %v: want 3 to %d names (x, y, z first)", p.PointColumns, maxPointColumns)
	}
	for i, n := range p.PointColumns {
		if n == "" || slices.Index(p.PointColumns[:i], n) >= 0 {
			return nil, fmt.Errorf("pillars: point columns %v: names must be non-empty and distinct", p.PointColumns)
		}
	}
	for i, v := range p.Range {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
			return nil, fmt.Errorf("pillars: range value %d (%v) must be finite", i, v)
		}
	}
	for a := 0; a < 3; a++ {
		if !(float32(p.Range[a]) < float32(p.Range[a+3])) {
			return nil, fmt.Errorf("pillars: range %v is empty on axis %d", p.Range, a)
		}
	}
	z := &Pillarizer{p: p, feats: append([]Feature(nil), p.Features...), pcols: slices.Clone(p.PointColumns), used: 3}
	for a := 0; a < 2; a++ {
		s := p.PillarSize[a]
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("pillars: pillar size %v must be positive", p.PillarSize)
		}
		n := math.Round((p.Range[a+3] - p.Range[a]) / s)
		if n < 1 || n > 1<<15 {
			return nil, fmt.Errorf("pillars: %v cells on axis %d (range %v / size %v): want 1..32768", n, a, p.Range, s)
		}
		z.inv[a] = float32(1.0 / s)
		if a == 0 {
			z.nx = int32(n)
		} else {
			z.ny = int32(n)
		}
	}
	if p.MaxPointsPerPillar < 1 || p.MaxPillars < 1 || p.MaxPointsPerPillar*p.MaxPillars > 1<<28 {
		return nil, fmt.Errorf("pillars: max points per pillar %d × max pillars %d must be positive and ≤ 2^28",
			p.MaxPointsPerPillar, p.MaxPillars)
	}
	if len(z.feats) == 0 {
		return nil, fmt.Errorf("pillars: no features")
	}
	for _, f := range z.feats {
		k := 3
		switch {
		case f == FeatI:
			z.needsInt = true
		case f >= numFeatures:
			k = int(f - numFeatures)
			if k < 4 || k >= len(z.pcols) {
				return nil, fmt.Errorf("pillars: feature %v: point columns %v have no column %d to feed it", f, z.pcols, k)
			}
		}
		if f == FeatI || f >= numFeatures {
			if k >= len(z.pcols) {
				return nil, fmt.Errorf("pillars: feature i needs a fourth point column, point columns are %v", z.pcols)
			}
			z.used = max(z.used, k+1)
		}
	}
	for a := 0; a < 3; a++ {
		z.lo[a], z.hi[a] = float32(p.Range[a]), float32(p.Range[a+3])
	}
	z.offx = p.PillarSize[0]/2 + p.Range[0]
	z.offy = p.PillarSize[1]/2 + p.Range[1]
	z.zc = float32((p.Range[2] + p.Range[5]) / 2)
	z.grid = make([]int32, int(z.nx)*int(z.ny))
	for i := range z.grid {
		z.grid[i] = -1
	}
	z.keys = make([]int32, p.MaxPillars)
	z.cnt = make([]int32, p.MaxPillars)
	z.slots = make([]int32, p.MaxPillars*p.MaxPointsPerPillar)
	return z, nil
}

// Params returns the parameters (Features and PointColumns filled in).
func (z *Pillarizer) Params() PillarParams {
	p := z.p
	p.Features, p.PointColumns = z.feats, z.pcols
	return p
}

// GridSize is the number of pillars along x and y.
func (z *Pillarizer) GridSize() (nx, ny int) { return int(z.nx), int(z.ny) }

// Pillarize fills feat [P, MaxPointsPerPillar, F] f32, coords [P, 4] i32
// and num [P] i32 from src (an [N,C] f32 frame holding the point columns
// the features read) and returns P. The output frames are reshaped and
// retyped as tensors; their buffers are reused.
func (z *Pillarizer) Pillarize(feat, coords, num, src *ds3d.Frame) (int, error) {
	if err := checkPoints(src, 3); err != nil {
		return 0, err
	}
	c := src.Shape.D[1]
	s := ds3d.AsFloat32(src)[:src.Points()*c]
	var ci [maxPointColumns]int
	leading := true // the point columns are the frame's first ones, in order
	for k, name := range z.pcols[:z.used] {
		i, err := columnOf("pillar_scatter_prep point_columns", src, name)
		if err != nil {
			return 0, err
		}
		ci[k] = i
		leading = leading && i == k
	}
	if !leading {
		// gather them into scratch so that the loops below read point
		// column k at offset k, as for a KITTI-style frame
		n, u := src.Points(), z.used
		if cap(z.gather) < n*u {
			z.gather = make([]float32, n*u)
		}
		g := z.gather[:n*u]
		for i := 0; i < n; i++ {
			q, o := s[i*c:i*c+c], g[i*u:i*u+u]
			for k, col := range ci[:u] {
				o[k] = q[col]
			}
		}
		s, c = g, u
	}
	extra := z.used - 4 // point columns fed by ColumnFeature
	maxPts := int32(z.p.MaxPointsPerPillar)
	maxP := int32(z.p.MaxPillars)
	x0, y0, z0, x1, y1, z1 := z.lo[0], z.lo[1], z.lo[2], z.hi[0], z.hi[1], z.hi[2]
	invx, invy := z.inv[0], z.inv[1]
	nx, nxm, nym := z.nx, z.nx-1, z.ny-1
	grid, keys, cnt, slots := z.grid, z.keys, z.cnt, z.slots
	np := int32(0)
	for i, j := 0, int32(0); i+c <= len(s); i, j = i+c, j+1 {
		x, y, w := s[i], s[i+1], s[i+2]
		if !(x >= x0 && x < x1 && y >= y0 && y < y1 && w >= z0 && w < z1) {
			continue
		}
		ix := min(int32((x-x0)*invx), nxm)
		iy := min(int32((y-y0)*invy), nym)
		key := iy*nx + ix
		pid := grid[key]
		if pid < 0 {
			if np >= maxP {
				continue
			}
			pid = np
			grid[key] = pid
			keys[pid] = key
			cnt[pid] = 0
			np++
		}
		if r := cnt[pid]; r < maxPts {
			slots[pid*maxPts+r] = j
			cnt[pid] = r + 1
		}
	}
	P := int(np)
	F := len(z.feats)
	feat.DType, feat.Type, feat.Mem = ds3d.DTypeF32, ds3d.FrameTensor, ds3d.MemCPU
	feat.Resize(P, int(maxPts), F)
	coords.DType, coords.Type, coords.Mem = ds3d.DTypeI32, ds3d.FrameTensor, ds3d.MemCPU
	coords.Resize(P, 4)
	num.DType, num.Type, num.Mem = ds3d.DTypeI32, ds3d.FrameTensor, ds3d.MemCPU
	num.Resize(P)
	fo, co, no := ds3d.AsFloat32(feat), ds3d.AsInt32(coords), ds3d.AsInt32(num)
	var v, pad [numFeatures + maxPointColumns]float32
	for p := 0; p < P; p++ {
		n := cnt[p]
		idx := slots[p*int(maxPts) : p*int(maxPts)+int(n)]
		var sx, sy, sz float32
		for _, j := range idx {
			q := s[int(j)*c:]
			sx += q[0]
			sy += q[1]
			sz += q[2]
		}
		nf := float32(n)
		mx, my, mz := sx/nf, sy/nf, sz/nf
		key := keys[p]
		grid[key] = -1 // reset the scratch grid as we go
		cy, cx := key/nx, key%nx
		ccx := float32(float64(float64(cx)*z.p.PillarSize[0]) + z.offx)
		ccy := float32(float64(float64(cy)*z.p.PillarSize[1]) + z.offy)
		ccz := z.zc
		co[p*4], co[p*4+1], co[p*4+2], co[p*4+3] = 0, 0, cy, cx
		no[p] = n
		out := fo[p*int(maxPts)*F : (p+1)*int(maxPts)*F]
		k := 0
		for _, j := range idx {
			q := s[int(j)*c:]
			x, y, w := q[0], q[1], q[2]
			v[FeatX], v[FeatY], v[FeatZ] = x, y, w
			if c > 3 {
				v[FeatI] = q[3]
			}
			for k := 0; k < extra; k++ {
				v[int(numFeatures)+4+k] = q[4+k]
			}
			v[FeatXc], v[FeatYc], v[FeatZc] = x-mx, y-my, w-mz
			v[FeatXp], v[FeatYp], v[FeatZp] = x-ccx, y-ccy, w-ccz
			o := out[k : k+F]
			for f, id := range z.feats {
				o[f] = v[id]
			}
			k += F
		}
		if k < len(out) {
			// numpy: features of an empty slot are (0 − m)·0 and (0 − c)·0.
			pad[FeatX], pad[FeatY], pad[FeatZ], pad[FeatI] = zero32*zero32, zero32*zero32, zero32*zero32, zero32*zero32
			for k := 0; k < extra; k++ {
				pad[int(numFeatures)+4+k] = zero32 * zero32
			}
			pad[FeatXc], pad[FeatYc], pad[FeatZc] = (zero32-mx)*zero32, (zero32-my)*zero32, (zero32-mz)*zero32
			pad[FeatXp], pad[FeatYp], pad[FeatZp] = (zero32-ccx)*zero32, (zero32-ccy)*zero32, (zero32-ccz)*zero32
			o := out[k : k+F]
			for f, id := range z.feats {
				o[f] = pad[id]
			}
			start := k
			for k += F; k < len(out); {
				k += copy(out[k:], out[start:k]) // doubling copy of the padded row
			}
		}
	}
	return P, nil
}

// PillarConfig configures pillar_scatter_prep.
type PillarConfig struct {
	ds3d.InputGroup `doc:"key of the [N,C] f32 point frame"`
	FeatureKey      string    `toml:"feature_datamap_key" nonempty:"true" doc:"output [P, max_points_per_pillar, F] f32 pillar features"`
	CoordKey        string    `toml:"coord_datamap_key" nonempty:"true" doc:"output [P, 4] i32 pillar coordinates (batch 0, z 0, y, x), OpenPCDet voxel_coords order"`
	PointNumKey     string    `toml:"point_num_datamap_key" nonempty:"true" doc:"output [P] i32 points per pillar"`
	Range           []float64 `toml:"point_cloud_range" nonempty:"true" len:"6" finite:"true" ordered:"<" doc:"[x0, y0, z0, x1, y1, z1] metres; points with x0 ≤ x < x1 (likewise y, z) are used"`
	PillarSize      []float64 `toml:"pillar_size" nonempty:"true" len:"2|3" min:">0" doc:"[x, y] pillar edge in metres; a third value (OpenPCDet VOXEL_SIZE) must equal z1 − z0"`
	MaxPoints       int       `toml:"max_points_per_pillar" min:"1" doc:"points kept per pillar, first come (OpenPCDet MAX_POINTS_PER_VOXEL)"`
	MaxPillars      int       `toml:"max_pillars" min:"1" doc:"pillars kept, first come by their first point (OpenPCDet MAX_NUMBER_OF_VOXELS)"`
	Features        []string  `toml:"features" nonempty:"true" doc:"per-point features in tensor order: x y z i (or intensity: the fourth point column) xc yc zc (offset to pillar mean) xp yp zp (offset to pillar centre), or the name of a later point column (e.g. time)"`
	PointColumns    []string  `toml:"point_columns" nonempty:"each" len:"<=16" doc:"frame columns the model reads, by name: x, y, z (coordinates), then the column of feature i, then columns the features name; a frame without one is an error; empty: x y z intensity"`
	ds3d.PoolGroup  `doc:"output tensor sets in flight before the filter waits for one to come back"`
}

// Params converts the config (after Validate).
func (c *PillarConfig) Params() (PillarParams, error) {
	p := PillarParams{MaxPointsPerPillar: c.MaxPoints, MaxPillars: c.MaxPillars, PointColumns: c.PointColumns}
	copy(p.Range[:], c.Range)
	copy(p.PillarSize[:], c.PillarSize)
	if len(p.PointColumns) == 0 {
		p.PointColumns = nil // the default
	}
	for _, n := range c.Features {
		f, err := ParseFeature(n)
		if err != nil {
			// a later point column, by name
			if k := slices.Index(c.PointColumns, n); k >= 4 {
				f, err = ColumnFeature(k), nil
			} else {
				return p, ds3d.ConfigErrorf("features", "%v, nor a point column after the fourth (point_columns %v)", err, c.PointColumns)
			}
		}
		p.Features = append(p.Features, f)
	}
	return p, nil
}

// Validate checks the grid by building it.
func (c *PillarConfig) Validate() error {
	if len(c.PillarSize) == 3 && math.Abs(c.PillarSize[2]-(c.Range[5]-c.Range[2])) > 1e-6 {
		return ds3d.ConfigErrorf("pillar_size", "z size %v must equal the z range %v (one pillar spans it)", c.PillarSize[2], c.Range[5]-c.Range[2])
	}
	p, err := c.Params()
	if err != nil {
		return err
	}
	if _, err := NewPillarizer(p); err != nil {
		key := "point_cloud_range"
		switch {
		case strings.Contains(err.Error(), "point columns"):
			key = "point_columns"
		case strings.Contains(err.Error(), "size"):
			key = "pillar_size"
		case strings.Contains(err.Error(), "max points"):
			key = "max_pillars"
		}
		return ds3d.ConfigErrorf(key, "%v", err)
	}
	return nil
}

// PillarFilter is the pillar_scatter_prep component.
type PillarFilter struct {
	z                   *Pillarizer
	in, fk, ck, nk      ds3d.Key
	featPool, coordPool *ds3d.FramePool
	numPool             *ds3d.FramePool
	minCols             int
}

// NewPillarFilter builds pillar_scatter_prep from a validated config.
func NewPillarFilter(c *PillarConfig) (*PillarFilter, error) {
	p, err := c.Params()
	if err != nil {
		return nil, err
	}
	z, err := NewPillarizer(p)
	if err != nil {
		return nil, err
	}
	f := &PillarFilter{z: z, in: ds3d.Key(c.InputKey), fk: ds3d.Key(c.FeatureKey), ck: ds3d.Key(c.CoordKey),
		nk: ds3d.Key(c.PointNumKey), minCols: 3}
	mk := func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, 0) }
	if f.featPool, err = ds3d.NewFramePool(c.MemPoolSize, mk); err != nil {
		return nil, err
	}
	f.coordPool, _ = ds3d.NewFramePool(c.MemPoolSize, mk)
	f.numPool, _ = ds3d.NewFramePool(c.MemPoolSize, mk)
	return f, nil
}

// Process pillarizes the input frame into three pooled tensors.
func (f *PillarFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	if err := checkPoints(src, f.minCols); err != nil {
		return fmt.Errorf("%s: %w", f.in, err)
	}
	feat, err := f.featPool.Get(ctx)
	if err != nil {
		return err
	}
	coords, err := f.coordPool.Get(ctx)
	if err != nil {
		feat.Release()
		return err
	}
	num, err := f.numPool.Get(ctx)
	if err != nil {
		feat.Release()
		coords.Release()
		return err
	}
	if _, err := f.z.Pillarize(feat, coords, num, src); err != nil {
		feat.Release()
		coords.Release()
		num.Release()
		return fmt.Errorf("%s: %w", f.in, err)
	}
	m.SetFrame(f.fk, feat)
	m.SetFrame(f.ck, coords)
	m.SetFrame(f.nk, num)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "pillar_scatter_prep",
		`PointPillars preprocessing (OpenPCDet PillarVFE input): groups points into a BEV pillar grid (first come, capped) and writes the per-point feature tensor [P, max_points, F], pillar coordinates [P, 4] (0, 0, y, x) and point counts [P]; bit-identical to the numpy reference. NaN/Inf points are dropped.`,
		func() *PillarConfig {
			d := DefaultPillarParams
			return &PillarConfig{
				InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, FeatureKey: string(ds3d.KeyLidarFeatureTensor),
				CoordKey: string(ds3d.KeyLidarCoordTensor), PointNumKey: string(ds3d.KeyLidarPointNumTensor),
				Range: d.Range[:], PillarSize: d.PillarSize[:], MaxPoints: d.MaxPointsPerPillar, MaxPillars: d.MaxPillars,
				Features:     []string{"x", "y", "z", "i", "xc", "yc", "zc", "xp", "yp", "zp"},
				PointColumns: slices.Clone(DefaultPointColumns),
				PoolGroup:    ds3d.PoolGroup{MemPoolSize: 4},
			}
		},
		func(c *PillarConfig, _ *ds3d.Env) (any, error) { return NewPillarFilter(c) })
}

// PoolStats reports the feature, coordinate and count pools (for the
// metrics).
func (f *PillarFilter) PoolStats() []ds3d.PoolStat {
	return []ds3d.PoolStat{f.featPool.Stat(string(f.fk)), f.coordPool.Stat(string(f.ck)), f.numPool.Stat(string(f.nk))}
}
