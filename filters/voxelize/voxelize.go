// Package voxelize is hard voxelization for voxel- and pillar-based 3D
// detectors (SECOND, CenterPoint, V2XFusion, BEVFusion's lidar branch): it
// groups the points of one or several clouds into a fixed grid, keeps at
// most MaxPointsPerVoxel points of at most MaxVoxels voxels per cloud, and
// writes the three tensors those models take — raw point features, voxel
// coordinates (batch, z, y, x) and points per voxel — plus the voxel count
// per cloud. It registers the ds3d::datafilter voxelize.
//
// The rule is mmcv/mmdet3d's hard_voxelize on the CPU (and OpenPCDet /
// SECOND's points_to_voxel), point for point:
//
//   - Voxel index per axis: c = ⌊(p − min) / size⌋ computed in float32
//     (subtract, divide, floor); grid size n = round((max − min) / size),
//     also in float32. A point is kept when 0 ≤ c < n on all three axes, so
//     a point exactly on a minimum border is in the first voxel and one
//     exactly on a maximum border is out. NaN and ±Inf coordinates fail the
//     test and are dropped; other channels (intensity) are copied as they
//     are, NaN included.
//   - Voxel order: first seen. Points are visited in input order; a point
//     whose voxel is new opens voxel number V (0, 1, 2, …) unless MaxVoxels
//     voxels are open, in which case the point is dropped (later points of
//     already open voxels are still added: mmcv "continue", not "break").
//   - A voxel holds its first MaxPointsPerVoxel points in input order; its
//     remaining slots are zero.
//   - The point channels are chosen by name (Params.PointColumns, x y z
//     intensity by default), looked up in each cloud's column names; the
//     first three are the coordinates. A cloud lacking one is an error
//     naming the column and the cloud's columns.
//
// Same input, same bytes: there is no hashing order, no concurrency and no
// sort in the output path.
package voxelize

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Params describes the voxel grid.
type Params struct {
	// Range is [x0, y0, z0, x1, y1, z1] in metres (mmdet3d point_cloud_range).
	Range [6]float64
	// VoxelSize is the voxel edge along x, y, z in metres.
	VoxelSize [3]float64
	// MaxPointsPerVoxel keeps the first points (input order) of a voxel.
	MaxPointsPerVoxel int
	// MaxVoxels keeps the first voxels (by their first point) of a cloud.
	MaxVoxels int
	// PointColumns names the point channels copied per point, in this
	// order, looked up by name in each cloud (ds3d Frame.Columns; a cloud
	// without names has x y z intensity at columns 0..3); the first three
	// are the coordinates the grid uses. nil: the first Features channels.
	PointColumns []string
	// Features is the number of leading point channels copied per point
	// when PointColumns is nil (4: x, y, z, intensity; 0: every channel of
	// the input); with PointColumns it is 0 or their count.
	Features int
	// Pad makes the voxel dimension MaxVoxels (a fixed-shape model input,
	// as V2XFusion's ONNX takes); otherwise it is the largest voxel count of
	// the batch.
	Pad bool
}

// DefaultParams is V2XFusion's DAIR-V2X-I lidar grid as ds3d's V2XFusion
// sample feeds it (feats [B, 8000, 10, C]): x [0, 102.4), y [−51.2, 51.2),
// z [−5, 3) in 0.2 × 0.2 × 8 m pillars, ≤ 10 points per voxel, ≤ 8000
// voxels, x y z intensity, padded.
var DefaultParams = Params{
	Range:             [6]float64{0, -51.2, -5, 102.4, 51.2, 3},
	VoxelSize:         [3]float64{0.2, 0.2, 8},
	MaxPointsPerVoxel: 10,
	MaxVoxels:         8000,
	PointColumns:      []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity},
	Features:          4,
	Pad:               true,
}

// Voxelizer holds the grid and the scratch of one stream (it is not safe
// for concurrent use; use one per goroutine). Its scratch is sized at
// construction, so Voxelize allocates nothing once the output frames have
// grown to their working size.
type Voxelizer struct {
	p      Params
	lo     [3]float32
	size   [3]float32
	grid   [3]float32 // voxel counts per axis, as float32 for the range test
	nx, ny uint64
	// open-addressing table: linear voxel index → voxel number
	keys   []uint64
	vals   []int32
	mask   uint64
	slot   []int32   // voxel number → table slot (to clear the table)
	cnt    []int32   // voxel number → points kept
	count  []int32   // per cloud of the last batch: voxels
	ci     []int     // per point channel: its column in the cloud at hand
	gather []float32 // the channels of a cloud whose columns are not the leading ones
}

const emptyKey = ^uint64(0)

// New checks p and allocates the scratch.
func New(p Params) (*Voxelizer, error) {
	v := &Voxelizer{p: p}
	for i, r := range p.Range {
		if math.IsNaN(r) || math.IsInf(r, 0) || math.Abs(r) > 1e6 {
			return nil, fmt.Errorf("voxelize: range value %d (%v) must be finite and within ±1e6", i, r)
		}
	}
	var cells float64 = 1
	for a := 0; a < 3; a++ {
		s := p.VoxelSize[a]
		if !(s > 0) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("voxelize: voxel size %v must be positive on every axis", p.VoxelSize)
		}
		v.lo[a], v.size[a] = float32(p.Range[a]), float32(s)
		// mmcv: grid_size = round((max − min) / size) in float32
		n := float32(math.Round(float64((float32(p.Range[a+3]) - v.lo[a]) / v.size[a])))
		if !(n >= 1) || n > 1<<20 {
			return nil, fmt.Errorf("voxelize: range %v / voxel size %v gives %v voxels on axis %d, want 1..2^20", p.Range, p.VoxelSize, n, a)
		}
		v.grid[a] = n
		cells *= float64(n)
	}
	v.nx, v.ny = uint64(v.grid[0]), uint64(v.grid[1])
	switch {
	case p.MaxPointsPerVoxel < 1 || p.MaxPointsPerVoxel > 1<<16:
		return nil, fmt.Errorf("voxelize: max points per voxel %d must be in [1, 65536]", p.MaxPointsPerVoxel)
	case p.MaxVoxels < 1 || p.MaxVoxels > 1<<22:
		return nil, fmt.Errorf("voxelize: max voxels %d must be in [1, 4194304]", p.MaxVoxels)
	case p.Features < 0 || p.Features > 64:
		return nil, fmt.Errorf("voxelize: features %d must be in [0, 64] (0: every input channel)", p.Features)
	case p.Features > 0 && p.Features < 3:
		return nil, fmt.Errorf("voxelize: features %d: at least x, y, z (3) are needed", p.Features)
	}
	if pc := p.PointColumns; pc != nil {
		if len(pc) < 3 || len(pc) > 64 {
			return nil, fmt.Errorf("voxelize: point columns %v: want 3 to 64 names (x, y, z first)", pc)
		}
		for i, n := range pc {
			if n == "" || slices.Index(pc[:i], n) >= 0 {
				return nil, fmt.Errorf("voxelize: point columns %v: names must be non-empty and distinct", pc)
			}
		}
		if p.Features != 0 && p.Features != len(pc) {
			return nil, fmt.Errorf("voxelize: features %d disagrees with the %d point columns %v", p.Features, len(pc), pc)
		}
		v.p.PointColumns = slices.Clone(pc)
		v.ci = make([]int, len(pc))
	}
	tab := 16
	for tab < 2*p.MaxVoxels {
		tab <<= 1
	}
	v.keys = make([]uint64, tab)
	for i := range v.keys {
		v.keys[i] = emptyKey
	}
	v.vals = make([]int32, tab)
	v.mask = uint64(tab - 1)
	v.slot = make([]int32, p.MaxVoxels)
	v.cnt = make([]int32, p.MaxVoxels)
	return v, nil
}

// Params returns the parameters.
func (v *Voxelizer) Params() Params { return v.p }

// GridSize is the number of voxels along x, y and z.
func (v *Voxelizer) GridSize() (nx, ny, nz int) {
	return int(v.grid[0]), int(v.grid[1]), int(v.grid[2])
}

// Counts returns the voxel count of each cloud of the last Voxelize call
// (valid until the next call).
func (v *Voxelizer) Counts() []int32 { return v.count }

// checkCloud accepts a CPU [N, C] f32 frame with C ≥ need.
func checkCloud(f *ds3d.Frame, need int) error {
	switch {
	case f == nil:
		return fmt.Errorf("no frame")
	case f.Mem == ds3d.MemGPU:
		return fmt.Errorf("frame in GPU memory; voxelize runs on CPU frames")
	case f.DType != ds3d.DTypeF32:
		return fmt.Errorf("frame of %s, want f32", f.DType)
	case f.Shape.NumDims != 2 || f.Shape.D[1] < need:
		return fmt.Errorf("frame shape %s, want [N,C] with C ≥ %d", f.Shape, need)
	case len(f.Data) < f.Shape.Elements()*4:
		return fmt.Errorf("frame of shape %s holds only %d bytes", f.Shape, len(f.Data))
	}
	return nil
}

// Voxelize voxelizes the clouds (a batch of B ≥ 1 [N, C] f32 frames) into
// feat [B, V, P, F] f32, coords [B, V, 4] i32 (batch index, z, y, x),
// num [B, V] i32 (points per voxel) and, when voxNum is not nil, voxNum
// [B, 1] i32 (voxels per cloud). P is MaxPointsPerVoxel, F Features (or the
// clouds' channel count), V MaxVoxels when Pad is set, else the largest
// voxel count of the batch. Rows and slots past a cloud's voxels or a
// voxel's points are zero. The output frames are retyped as tensors; their
// buffers are reused. With Features 0 every cloud must have the same
// number of channels.
func (v *Voxelizer) Voxelize(feat, coords, num, voxNum *ds3d.Frame, clouds ...*ds3d.Frame) error {
	B := len(clouds)
	if B == 0 {
		return fmt.Errorf("voxelize: no clouds")
	}
	F := v.p.Features
	named := v.p.PointColumns != nil
	if named {
		F = len(v.p.PointColumns)
	}
	need := max(F, 3)
	for b, c := range clouds {
		if named {
			need = 3 // the names decide
		}
		if err := checkCloud(c, need); err != nil {
			return fmt.Errorf("voxelize: cloud %d: %w", b, err)
		}
		if named {
			for _, n := range v.p.PointColumns {
				if _, err := columnOf(c, n); err != nil {
					return fmt.Errorf("voxelize: cloud %d: %w", b, err)
				}
			}
		} else if F == 0 && c.Shape.D[1] != clouds[0].Shape.D[1] {
			return fmt.Errorf("voxelize: cloud %d has %d channels, cloud 0 has %d (set features to use the first channels)", b, c.Shape.D[1], clouds[0].Shape.D[1])
		}
	}
	if F == 0 {
		F = clouds[0].Shape.D[1]
	}
	P, maxV := v.p.MaxPointsPerVoxel, v.p.MaxVoxels
	rowF := P * F
	// Each cloud is written at stride maxV, then compacted to stride V.
	for _, f := range []*ds3d.Frame{feat, coords, num} {
		f.Type, f.Mem = ds3d.FrameTensor, ds3d.MemCPU
	}
	feat.DType, coords.DType, num.DType = ds3d.DTypeF32, ds3d.DTypeI32, ds3d.DTypeI32
	feat.Resize(B, maxV, P, F)
	coords.Resize(B, maxV, 4)
	num.Resize(B, maxV)
	fo, co, no := ds3d.AsFloat32(feat), ds3d.AsInt32(coords), ds3d.AsInt32(num)
	if cap(v.count) < B {
		v.count = make([]int32, B)
	}
	v.count = v.count[:B]
	V := 0
	for b, c := range clouds {
		n := v.one(fo[b*maxV*rowF:(b+1)*maxV*rowF], co[b*maxV*4:(b+1)*maxV*4], no[b*maxV:(b+1)*maxV], c, int32(b), F)
		v.count[b] = int32(n)
		V = max(V, n)
	}
	if v.p.Pad {
		V = maxV
	}
	for b := 0; b < B; b++ {
		n := int(v.count[b])
		f := fo[b*maxV*rowF:]
		clear(f[n*rowF : V*rowF])
		clear(co[b*maxV*4+n*4 : b*maxV*4+V*4])
		clear(no[b*maxV+n : b*maxV+V])
		if V != maxV && b > 0 { // compact: destination precedes source (memmove)
			copy(fo[b*V*rowF:(b+1)*V*rowF], f[:V*rowF])
			copy(co[b*V*4:(b+1)*V*4], co[b*maxV*4:b*maxV*4+V*4])
			copy(no[b*V:(b+1)*V], no[b*maxV:b*maxV+V])
		}
	}
	feat.Resize(B, V, P, F)
	coords.Resize(B, V, 4)
	num.Resize(B, V)
	if voxNum != nil {
		voxNum.Type, voxNum.Mem, voxNum.DType = ds3d.FrameTensor, ds3d.MemCPU, ds3d.DTypeI32
		voxNum.Resize(B, 1)
		copy(ds3d.AsInt32(voxNum), v.count)
	}
	return nil
}

// columnOf returns the column of f named name; a frame without names has
// x, y, z, intensity at columns 0..3.
func columnOf(f *ds3d.Frame, name string) (int, error) {
	cols := f.Columns()
	if cols == nil {
		if i := slices.Index([]string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity}, name); i >= 0 && i < f.Stride() {
			return i, nil
		}
		return -1, fmt.Errorf("voxelize point_columns: frame has no %q column (its columns: %d unnamed)", name, f.Stride())
	}
	if i := slices.Index(cols, name); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("voxelize point_columns: frame has no %q column (its columns: %s)", name, strings.Join(cols, " "))
}

// one voxelizes cloud src into rows of stride maxV and returns its voxel
// count. fo, co, no are the cloud's [maxV, P, F], [maxV, 4], [maxV] views.
func (v *Voxelizer) one(fo []float32, co, no []int32, src *ds3d.Frame, b int32, F int) int {
	C := src.Shape.D[1]
	s := ds3d.AsFloat32(src)[:src.Points()*C]
	if v.p.PointColumns != nil {
		// Channel k of a point is column ci[k]. When they are the leading
		// F columns (the common case) the loop below reads them in place;
		// otherwise they are gathered first into scratch, x y z leading,
		// so that the loop stays the same.
		contiguous := true
		for k, n := range v.p.PointColumns {
			v.ci[k], _ = columnOf(src, n) // checked by Voxelize
			contiguous = contiguous && v.ci[k] == k
		}
		if !contiguous {
			n := src.Points()
			if cap(v.gather) < n*F {
				v.gather = make([]float32, n*F)
			}
			g := v.gather[:n*F]
			for i := 0; i < n; i++ {
				q, o := s[i*C:i*C+C], g[i*F:i*F+F]
				for k, col := range v.ci {
					o[k] = q[col]
				}
			}
			s, C = g, F
		}
	}
	P := int32(v.p.MaxPointsPerVoxel)
	maxV := int32(v.p.MaxVoxels)
	rowF := int(P) * F
	x0, y0, z0 := v.lo[0], v.lo[1], v.lo[2]
	sx, sy, sz := v.size[0], v.size[1], v.size[2]
	gx, gy, gz := v.grid[0], v.grid[1], v.grid[2]
	nx, ny := v.nx, v.ny
	keys, vals, mask, slot, cnt := v.keys, v.vals, v.mask, v.slot, v.cnt
	nv := int32(0)
	for i := 0; i+C <= len(s); i += C {
		// float32 arithmetic as mmcv: q = (p − min) / size. For an integer
		// grid size n, 0 ≤ ⌊q⌋ < n exactly when 0 ≤ q < n, and ⌊q⌋ is
		// then the truncation: no floor call. NaN fails the comparisons.
		fx := (s[i] - x0) / sx
		fy := (s[i+1] - y0) / sy
		fz := (s[i+2] - z0) / sz
		if !(fx >= 0 && fx < gx && fy >= 0 && fy < gy && fz >= 0 && fz < gz) {
			continue
		}
		ix, iy, iz := uint64(fx), uint64(fy), uint64(fz)
		key := (iz*ny+iy)*nx + ix
		h := (key * 0x9E3779B97F4A7C15) >> 32 & mask
		for keys[h] != key && keys[h] != emptyKey {
			h = (h + 1) & mask
		}
		var id int32
		if keys[h] == key {
			id = vals[h]
		} else {
			if nv >= maxV {
				continue
			}
			id = nv
			nv++
			keys[h], vals[h] = key, id
			slot[id], cnt[id] = int32(h), 0
			co[id*4], co[id*4+1], co[id*4+2], co[id*4+3] = b, int32(iz), int32(iy), int32(ix)
		}
		if r := cnt[id]; r < P {
			copy(fo[int(id)*rowF+int(r)*F:int(id)*rowF+int(r+1)*F], s[i:i+F])
			cnt[id] = r + 1
		}
	}
	for id := int32(0); id < nv; id++ {
		keys[slot[id]] = emptyKey // reset the table by visiting the used slots
		r := cnt[id]
		no[id] = r
		clear(fo[int(id)*rowF+int(r)*F : int(id+1)*rowF])
	}
	return int(nv)
}
