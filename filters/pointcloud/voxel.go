package pointcloud

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ErrLeafTooSmall is returned by VoxelGrid.Filter when the voxel grid over
// the cloud's bounding box would overflow PCL's 32-bit voxel indices; dst
// then holds the finite input points unchanged, as PCL VoxelGrid outputs its
// input in that case.
var ErrLeafTooSmall = errors.New("voxel grid: leaf size too small for the cloud: integer voxel indices would overflow")

// VoxelGrid downsamples a cloud to the centroid of the points in each voxel,
// with the semantics of PCL 1.13's pcl::VoxelGrid (filters/impl/voxel_grid.hpp,
// downsample_all_data on, min_points_per_voxel 0):
//
//   - inv = 1/leaf in float32 (Eigen::Array4f); min_p, max_p are the bounding
//     box of the finite points (getMinMax3D).
//   - Overflow check: d_a = int64((max_p[a] − min_p[a])·inv[a]) + 1 in float32
//     arithmetic; when d_x·d_y·d_z > MaxInt32 PCL warns and outputs its input:
//     Filter copies the finite points and returns ErrLeafTooSmall. We also
//     refuse when |min_p·inv| or |max_p·inv| ≥ 2³¹, where PCL's int casts are
//     undefined.
//   - min_b = int(floor(min_p·inv)), max_b = int(floor(max_p·inv)),
//     div = max_b − min_b + 1, and a point's voxel is
//     ijk_a = int(floorf(p_a·inv_a) − float(min_b_a)) — every step rounded to
//     float32 exactly as PCL does — with linear index
//     idx = ijk_x + ijk_y·div_x + ijk_z·div_x·div_y (computed in 64 bits, so
//     it cannot wrap where PCL's int could).
//   - Voxels come out in increasing idx (PCL sorts by idx too); each output
//     point is the mean of every column of the voxel's points (x, y, z,
//     intensity, …), summed in float64 in input order and rounded to float32
//     once (PCL sums in float32 in an unspecified order, so centroids agree
//     to float32 rounding, not bit for bit). Voxels with fewer than
//     MinPointsPerVoxel points are left out.
//
// Every column is averaged, whatever it holds: ring, time and return type
// come out as the mean of the voxel's points (a fractional ring, the mean
// time), and the output keeps src's column names. A caller who needs
// another reduction (the earliest time, the strongest return, an integer
// ring) must not voxelise: crop or subsample instead, which keep points
// whole. Points with a NaN or infinite x, y or z are dropped (PCL drops
// them only for clouds marked non-dense). A VoxelGrid keeps its scratch
// between calls: reuse one per stream, not concurrently.
type VoxelGrid struct {
	Leaf              [3]float32
	MinPointsPerVoxel int

	table      []uint64 // (voxel index + 1)<<27 | slot, 0 empty; sized for every point, a prefix used
	lastVoxels int      // voxels of the previous call: sizes the prefix
	acc        []float64
	cnt        []int32
	vkey       []uint64 // slot → voxel index
	vpos       []int32  // slot → table entry
	pairs, tmp []uint64
	hist       []int
	ids        []uint32 // per-point voxel index of a chunk, from the vector kernel
}

// noVoxel marks a non-finite point in VoxelGrid.ids; grids of noVoxel
// voxels or more take the scalar path.
const noVoxel = 1<<32 - 1

// voxelChunk is the points per chunk of accumulate's vector path: 32 KiB
// of points and 8 KiB of indices, cache-resident between the two loops.
const voxelChunk = 2048

// Voxelize is VoxelGrid{Leaf: {leaf, leaf, leaf}}.Filter for one-off use.
func Voxelize(dst, src *ds3d.Frame, leaf float32) (int, error) {
	v := VoxelGrid{Leaf: [3]float32{leaf, leaf, leaf}}
	return v.Filter(dst, src)
}

// floorf is C's floorf: exact, since float64 holds every float32 and the
// floor of a float32 is a float32. math.Floor is one ROUNDSD on amd64
// (branch-free, unlike a truncate-and-adjust floor on signed data).
func floorf(v float32) float32 { return float32(math.Floor(float64(v))) }

// Filter writes the voxel centroids of src into dst (an [M,C] frame of
// src's type and column names, every column averaged) and returns M. src must be an [N,C≥3] float32 frame and dst
// must not be src.
//
// Implementation: one pass for the bounding box (finiteBounds), one pass
// that hashes each point's voxel index into an open-addressing table
// (consecutive points of a scan mostly share a voxel: such a run is summed
// in registers and looked up once) and adds the point to its voxel's
// float64 sums (accumulate), then a radix sort of the occupied voxels (not
// of the points) by index and one division per voxel (centroids). The
// table prefix in use is sized from the previous call's voxel count, so a
// stream's table stays cache-resident; it doubles when half full.
func (v *VoxelGrid) Filter(dst, src *ds3d.Frame) (int, error) {
	c := src.Shape.D[1]
	_, s := prepare(dst, src, 0)
	for a := 0; a < 3; a++ {
		if !(v.Leaf[a] > 0) || math.IsInf(float64(v.Leaf[a]), 0) {
			return 0, fmt.Errorf("voxel grid: leaf size %v must be positive and finite", v.Leaf)
		}
	}
	lo, hi, finite := finiteBounds(s, c)
	if finite == 0 {
		dst.Resize(0, c)
		return 0, nil
	}
	g, ok := newVoxelGeom(v.Leaf, lo, hi)
	if !ok {
		copyFinite(dst, src, s, finite)
		return finite, ErrLeafTooSmall
	}
	if n := g.voxels(); finite >= 1<<27 || n >= 1<<36 {
		return 0, fmt.Errorf("voxel grid: %d points in %d voxels exceed the table's packing", finite, n)
	}
	v.reserve(finite, c)
	v.accumulate(s, c, &g)
	return v.centroids(dst, src, c, &g)
}

// voxelGeom is the grid over a cloud's bounding box, as PCL computes it:
// inv = 1/leaf, minb = floor(min_p·inv), div = floor(max_p·inv) − minb + 1.
type voxelGeom struct {
	inv  [3]float32
	minb [3]int32
	div  [3]int64
}

// voxels is the number of cells of the grid.
func (g *voxelGeom) voxels() int64 { return g.div[0] * g.div[1] * g.div[2] }

// finiteBounds returns the bounding box and count of the points of s (c
// columns) whose x, y and z are finite.
func finiteBounds(s []float32, c int) (lo, hi [3]float32, finite int) {
	if c == 4 {
		if vlo, vhi, vfinite, ok := voxelBounds(s); ok {
			return vlo, vhi, vfinite
		}
	}
	// x−x is 0 exactly when x is finite.
	lx, ly, lz := float32(math.MaxFloat32), float32(math.MaxFloat32), float32(math.MaxFloat32)
	hx, hy, hz := -lx, -ly, -lz
	for i := 0; i+c <= len(s); i += c {
		x, y, z := s[i], s[i+1], s[i+2]
		if (x-x)+(y-y)+(z-z) != 0 {
			continue
		}
		finite++
		if x < lx {
			lx = x
		}
		if x > hx {
			hx = x
		}
		if y < ly {
			ly = y
		}
		if y > hy {
			hy = y
		}
		if z < lz {
			lz = z
		}
		if z > hz {
			hz = z
		}
	}
	return [3]float32{lx, ly, lz}, [3]float32{hx, hy, hz}, finite
}

// newVoxelGeom lays the grid over the box lo..hi; it reports false where
// PCL would overflow its 32-bit voxel indices (d_x·d_y·d_z > MaxInt32 in
// PCL's float32 arithmetic, or |min_p·inv|, |max_p·inv| ≥ 2³¹).
func newVoxelGeom(leaf, lo, hi [3]float32) (voxelGeom, bool) {
	var g voxelGeom
	prod := int64(1)
	for a := 0; a < 3; a++ {
		g.inv[a] = 1 / leaf[a]
		ext := (hi[a] - lo[a]) * g.inv[a]
		l, h := lo[a]*g.inv[a], hi[a]*g.inv[a]
		if !(ext < 1<<31) || !(l > -(1 << 31)) || !(h < 1<<31) {
			return g, false
		}
		prod *= int64(ext) + 1
		g.minb[a] = int32(floorf(l))
		g.div[a] = int64(floorf(h)) - int64(g.minb[a]) + 1
	}
	return g, prod <= math.MaxInt32
}

// copyFinite writes the finite points of src (s, finite of them) to dst:
// PCL's output when the grid would overflow.
func copyFinite(dst, src *ds3d.Frame, s []float32, finite int) {
	c := src.Shape.D[1]
	d, _ := prepare(dst, src, finite)
	k := 0
	for i := 0; i+c <= len(s); i += c {
		if x, y, z := s[i], s[i+1], s[i+2]; (x-x)+(y-y)+(z-z) == 0 {
			copy(d[k:k+c], s[i:i+c])
			k += c
		}
	}
}

// accumulate adds every finite point of s to its voxel's float64 column
// sums (v.acc, c per voxel) and count (v.cnt), giving each occupied voxel
// a slot in order of first appearance (v.vkey: its index). The voxel
// indices come from the vector kernel when there is one (4 columns), else
// from the scalar loop; both walk the table in the same way.
func (v *VoxelGrid) accumulate(s []float32, c int, g *voxelGeom) {
	// The table prefix in use starts at 4× the previous frame's voxel count
	// (so it stays in L2 for a stream) and doubles when half full.
	t := voxelTable{v: v, table: v.table[:min(len(v.table), max(1<<12, 1<<bits.Len(uint(4*v.lastVoxels))))],
		acc: v.acc[:0], cnt: v.cnt[:0], vkey: v.vkey[:0], vpos: v.vpos[:0]}
	t.tmask = uint64(len(t.table) - 1)
	mx, my := uint64(g.div[0]), uint64(g.div[0]*g.div[1])
	fast := false
	if c == 4 && g.voxels() < noVoxel {
		// Chunk by chunk: the chunk's points are still in the L1 cache when
		// addIDs reads them after the index kernel, and the indices never
		// leave it. addIDs stores a run's sums at a chunk's end and reloads
		// them in the next chunk: exact, so the sums are those of one pass.
		if cap(v.ids) < voxelChunk+16 {
			v.ids = make([]uint32, voxelChunk+16)
		}
		ids := v.ids[:voxelChunk+16]
		fmin := [3]float32{float32(g.minb[0]), float32(g.minb[1]), float32(g.minb[2])}
		n := len(s) / 4
		for off := 0; off < n; off += voxelChunk {
			cs := s[4*off : 4*min(off+voxelChunk, n)]
			if fast = voxelIndices(ids, cs, g.inv, fmin, uint32(mx), uint32(my)); !fast {
				break // no vector kernel: the first chunk tells
			}
			t.addIDs(cs, ids[:len(cs)/4])
		}
	}
	if !fast {
		t.addPoints(s, c, g)
	}
	v.acc, v.cnt, v.vkey, v.vpos = t.acc, t.cnt, t.vkey, t.vpos
	v.lastVoxels = len(t.cnt)
	// Clear the used table entries for the next call.
	for _, h := range t.vpos {
		t.table[h] = 0
	}
}

// voxelTable is accumulate's working state: the table prefix in use and
// the per-slot arrays being filled.
type voxelTable struct {
	v     *VoxelGrid
	table []uint64 // (voxel index + 1)<<27 | slot, 0 empty
	tmask uint64
	acc   []float64
	cnt   []int32
	vkey  []uint64
	vpos  []int32
}

// slot returns the slot of voxel idx, adding an empty one of c columns
// when the voxel is new. Identity hash: neighbouring voxels share cache
// lines, and a scan visits neighbours in turn.
func (t *voxelTable) slot(idx uint64, c int) int {
	h := idx & t.tmask
	for {
		e := t.table[h]
		if e>>27 == idx+1 {
			return int(e & (1<<27 - 1))
		}
		if e == 0 {
			slot := len(t.cnt)
			t.table[h] = (idx+1)<<27 | uint64(slot)
			t.vkey = append(t.vkey, idx)
			t.vpos = append(t.vpos, int32(h))
			t.cnt = append(t.cnt, 0)
			for range c {
				t.acc = append(t.acc, 0)
			}
			if 2*len(t.cnt) > len(t.table) && len(t.table) < len(t.v.table) {
				t.table = t.v.grow(t.table, t.vkey, t.vpos)
				t.tmask = uint64(len(t.table) - 1)
			}
			return slot
		}
		h = (h + 1) & t.tmask
	}
}

// addIDs adds the 4-column points of s to their voxels, ids[p] being point
// p's voxel index (noVoxel: not finite) from the vector kernel. A run of
// points in one voxel (a scan's neighbours) is summed in registers: loaded
// from the voxel's sums when the run starts and stored when it ends, so
// the additions are the same, in the same order, as adding each point to
// memory, without a store-to-load chain per point.
func (t *voxelTable) addIDs(s []float32, ids []uint32) {
	last := ^uint64(0)
	slot := -1
	var s0, s1, s2, s3 float64
	var run int32
	for p, id := range ids {
		if id == noVoxel {
			continue
		}
		idx := uint64(id)
		if idx != last {
			if slot >= 0 {
				a := (*[4]float64)(t.acc[slot*4:])
				a[0], a[1], a[2], a[3] = s0, s1, s2, s3
				t.cnt[slot] += run
			}
			slot = t.slot(idx, 4)
			last = idx
			a := (*[4]float64)(t.acc[slot*4:])
			s0, s1, s2, s3, run = a[0], a[1], a[2], a[3], 0
		}
		q := (*[4]float32)(s[p*4:])
		s0 += float64(q[0])
		s1 += float64(q[1])
		s2 += float64(q[2])
		s3 += float64(q[3])
		run++
	}
	if slot >= 0 {
		a := (*[4]float64)(t.acc[slot*4:])
		a[0], a[1], a[2], a[3] = s0, s1, s2, s3
		t.cnt[slot] += run
	}
}

// addPoints is addIDs for any column count, computing each point's voxel
// index as PCL does: static_cast<int>(std::floor(p * inv) -
// static_cast<float>(min_b)) per axis, every step in float32.
func (t *voxelTable) addPoints(s []float32, c int, g *voxelGeom) {
	mx, my := uint64(g.div[0]), uint64(g.div[0]*g.div[1])
	fx, fy, fz := float32(g.minb[0]), float32(g.minb[1]), float32(g.minb[2])
	ix, iy, iz := g.inv[0], g.inv[1], g.inv[2]
	last, slot := ^uint64(0), 0
	for i := 0; i+c <= len(s); i += c {
		x, y, z := s[i], s[i+1], s[i+2]
		if (x-x)+(y-y)+(z-z) != 0 {
			continue
		}
		i0 := uint64(int32(floorf(x*ix) - fx))
		i1 := uint64(int32(floorf(y*iy) - fy))
		i2 := uint64(int32(floorf(z*iz) - fz))
		if idx := i0 + i1*mx + i2*my; idx != last {
			slot, last = t.slot(idx, c), idx
		}
		t.cnt[slot]++
		a := t.acc[slot*c : slot*c+c]
		if c == 4 {
			a[0] += float64(x)
			a[1] += float64(y)
			a[2] += float64(z)
			a[3] += float64(s[i+3])
		} else {
			for col := range a {
				a[col] += float64(s[i+col])
			}
		}
	}
}

// centroids writes the voxels with at least MinPointsPerVoxel points to
// dst in increasing voxel index, each as the mean of its points' columns
// (float64 sums divided once, rounded to float32), and returns how many.
func (v *VoxelGrid) centroids(dst, src *ds3d.Frame, c int, g *voxelGeom) (int, error) {
	acc, cnt := v.acc, v.cnt
	// Occupied voxels in increasing index: sort (index, slot) pairs.
	minPts := int32(max(v.MinPointsPerVoxel, 1))
	sbits := uint(bits.Len(uint(len(cnt))))
	kbits := uint(bits.Len64(uint64(g.voxels() - 1)))
	if kbits+sbits > 64 {
		return 0, fmt.Errorf("voxel grid: %d voxels of %d exceed 64-bit sort keys", len(cnt), g.voxels())
	}
	pairs := v.pairs[:0]
	for slot, k := range v.vkey {
		if cnt[slot] >= minPts {
			pairs = append(pairs, k<<sbits|uint64(slot))
		}
	}
	v.pairs = pairs
	if cap(v.tmp) < len(pairs) {
		v.tmp = make([]uint64, cap(pairs))
	}
	pairs = v.radixSort(pairs, v.tmp[:len(pairs)], sbits, kbits)
	d, _ := prepare(dst, src, len(pairs))
	smask := uint64(1)<<sbits - 1
	if c == 4 {
		// Scalar on purpose: a 4-lane division kernel (archsimd Float64x4,
		// the count converted per slot) made the whole filter 3× slower on
		// an Intel Xeon than this loop, most likely from SSE/AVX transitions
		// per slot, which AMD cores do not penalise (docs/PERF.md).
		for m, p := range pairs {
			slot := int(p & smask)
			nf := float64(cnt[slot])
			a := (*[4]float64)(acc[slot*4:])
			o := (*[4]float32)(d[m*4:])
			o[0], o[1], o[2], o[3] = float32(a[0]/nf), float32(a[1]/nf), float32(a[2]/nf), float32(a[3]/nf)
		}
		return len(pairs), nil
	}
	for m, p := range pairs {
		slot := int(p & smask)
		nf := float64(cnt[slot])
		a := acc[slot*c : slot*c+c]
		o := d[m*c : m*c+c]
		for col := range o {
			o[col] = float32(a[col] / nf)
		}
	}
	return len(pairs), nil
}

// grow moves the voxels of table into a prefix of v.table twice as long
// (v.table holds 2× the points, so there is room) and returns it.
func (v *VoxelGrid) grow(table []uint64, vkey []uint64, vpos []int32) []uint64 {
	for _, h := range vpos {
		table[h] = 0
	}
	table = v.table[:min(len(v.table), 2*len(table))]
	tmask := uint64(len(table) - 1)
	for slot, idx := range vkey {
		h := idx & tmask
		for table[h] != 0 {
			h = (h + 1) & tmask
		}
		table[h] = (idx+1)<<27 | uint64(slot)
		vpos[slot] = int32(h)
	}
	return table
}

// reserve sizes the hash table for n points (load ≤ 1/2) and the per-voxel
// arrays for up to n voxels of c columns.
func (v *VoxelGrid) reserve(n, c int) {
	size := 1 << bits.Len(uint(2*n-1))
	if len(v.table) < size {
		v.table = make([]uint64, size)
	}
	if cap(v.cnt) < n {
		v.cnt = make([]int32, 0, n)
		v.vkey = make([]uint64, 0, n)
		v.vpos = make([]int32, 0, n)
		v.pairs = make([]uint64, 0, n)
		v.tmp = make([]uint64, n)
	}
	if cap(v.acc) < n*c {
		v.acc = make([]float64, 0, n*c)
	}
}

// radixSort sorts pairs by bits [lo, lo+nbits) with a stable LSD radix sort
// and returns the sorted slice (pairs or tmp).
func (v *VoxelGrid) radixSort(pairs, tmp []uint64, lo, nbits uint) []uint64 {
	if nbits == 0 || len(pairs) < 2 {
		return pairs
	}
	passes := (nbits + 12) / 13 // ≤ 13-bit digits: KITTI's 26-bit keys in two passes
	width := (nbits + passes - 1) / passes
	buckets := 1 << width
	if cap(v.hist) < int(passes)*buckets {
		v.hist = make([]int, int(passes)*buckets)
	}
	hist := v.hist[:int(passes)*buckets]
	clear(hist)
	dmask := uint64(buckets - 1)
	for _, p := range pairs {
		k := p >> lo
		for ps := uint(0); ps < passes; ps++ {
			hist[int(ps)*buckets+int(k>>(ps*width)&dmask)]++
		}
	}
	for ps := uint(0); ps < passes; ps++ {
		h := hist[int(ps)*buckets : int(ps+1)*buckets]
		sum := 0
		for i, x := range h {
			h[i] = sum
			sum += x
		}
		shift := lo + ps*width
		for _, p := range pairs {
			b := int(p >> shift & dmask)
			tmp[h[b]] = p
			h[b]++
		}
		pairs, tmp = tmp, pairs
	}
	return pairs
}

// VoxelConfig configures voxel_downsample.
type VoxelConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame to downsample"`
	ds3d.OutputGroup `doc:"key the centroid frame is stored under (may equal the input key)"`
	LeafSize         []float64 `toml:"leaf_size" nonempty:"true" len:"1|3" min:">0" finite:"float32" nonzero:"true" unit:"m" doc:"voxel edge in metres: one value for a cube, or [x, y, z]"`
	MinPoints        int       `toml:"min_points_per_voxel" min:"0" doc:"voxels with fewer points are dropped (PCL setMinimumPointsNumberPerVoxel; 0 keeps all)"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// VoxelFilter is the voxel_downsample component.
type VoxelFilter struct {
	keyed
	grid   VoxelGrid
	warned bool
	env    *ds3d.Env
}

// Process downsamples the input frame into a pooled frame. When the leaf is
// too small for the cloud (ErrLeafTooSmall) it passes the finite points on
// unchanged, as PCL does, and logs a warning once.
func (f *VoxelFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, dst, err := f.frames(ctx, m, 3)
	if err != nil {
		return err
	}
	if _, err := f.grid.Filter(dst, src); err != nil {
		if !errors.Is(err, ErrLeafTooSmall) {
			dst.Release()
			return err
		}
		if !f.warned && f.env != nil && f.env.Log != nil {
			f.env.Log.Warn("voxel_downsample: leaf too small for the cloud, passing points through (PCL behaviour)",
				"leaf", f.grid.Leaf, "points", src.Points())
			f.warned = true
		}
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "voxel_downsample",
		`Voxel-grid downsampling with PCL VoxelGrid semantics: one centroid per occupied voxel, voxels in PCL's index order; every column is averaged (intensity, ring, time, … become the voxel's mean; use crop or subsample to keep points whole); NaN/Inf points are dropped.`,
		func() *VoxelConfig {
			return &VoxelConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)},
				LeafSize: []float64{0.2}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *VoxelConfig, env *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			f := &VoxelFilter{keyed: k, env: env, grid: VoxelGrid{MinPointsPerVoxel: c.MinPoints}}
			for a := 0; a < 3; a++ {
				f.grid.Leaf[a] = float32(c.LeafSize[min(a, len(c.LeafSize)-1)])
			}
			return f, nil
		})
}
