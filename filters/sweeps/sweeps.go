package sweeps

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ColTimeLag names the column the accumulator appends: Δt = t_now −
// t_sweep in seconds (≥ 0, the same for every point of a sweep), the time
// channel nuScenes-trained detectors take.
const ColTimeLag = ds3d.ColTimeLag

// ErrNotRigid is returned for a pose whose rotation part is not
// orthonormal (tolerance 1e-6) or whose last row is not [0 0 0 1].
var ErrNotRigid = errors.New("pose is not a rigid transform")

// Accumulator keeps the last sweeps of one stream and writes each new sweep
// densified with them. Sweeps are kept in their own sensor frame with their
// world-from-sensor pose; Add moves them into the current sensor frame with
//
//	T_j = (EgoPose_now · SensorToEgo)⁻¹ · EgoPose_j · SensorToEgo
//
// computed in float64, each point as float32(T_j · p) in float64. The
// output holds the current sweep first (Δt = 0), then the older sweeps
// newest first (mmdetection3d's LoadPointsFromMultiSweeps order), each with
// every input column and Δt = (t_now − t_j)·1e-9 in float32 seconds
// appended as the column time_lag (ColTimeLag); the output's column names
// are the input's followed by time_lag. A per-point time column (ds3d
// ColTime: seconds relative to its own frame's timestamp) is rebased onto
// the current sweep's timestamp, so that it keeps its meaning in the
// merged frame: τ' = float32(τ − Δt) computed in float64 (0 offset for
// the current sweep, whose values are copied bit for bit). An input that
// already has a time_lag column (two accumulators in a row) is an error.
// A sweep is left out once t_now − t_j > MaxTimeLag; at most
// MaxSweeps sweeps (the current one included, CenterPoint's nsweeps) are
// output. Points with a non-finite x, y or z are dropped. History is
// cleared when the timestamp does not increase (a replay restarted) or the
// columns (count or names) change. Buffers are reused: once it has seen its largest
// sweeps an Accumulator allocates nothing. Not safe for concurrent use.
type Accumulator struct {
	// MaxSweeps is the number of sweeps in an output, the current included (≥ 1).
	MaxSweeps int
	// MaxTimeLag is the largest t_now − t_j kept, in nanoseconds (≤ 0: no limit).
	MaxTimeLag int64
	// SensorToEgo maps the points' frame to the ego frame of the pose
	// (nuScenes lidar2ego); the zero Mat4 means identity.
	SensorToEgo ds3d.Mat4

	ring  []sweep // ring[(head+j) % len] is the j-th newest kept sweep
	head  int
	kept  int
	lastT int64
	cols  int
	names []string // column names of the kept sweeps (nil: unnamed)
	out   []string // scratch: output column names
}

type sweep struct {
	pts  []float32 // finite points, cols per point, sensor frame
	pose ds3d.Mat4 // world-from-sensor
	t    int64
}

// Reset forgets every kept sweep.
func (a *Accumulator) Reset() { a.kept, a.cols = 0, 0 }

// Kept is the number of past sweeps held for the next Add.
func (a *Accumulator) Kept() int { return a.kept }

// Add writes src densified with the kept sweeps into dst (an [M, C+1] f32
// frame named like src plus time_lag; dst must not be src), then keeps src
// for later sweeps. src is an
// [N, C≥3] f32 frame taken at tNS (nanoseconds) with ego pose egoPose
// (world-from-ego). It returns M.
func (a *Accumulator) Add(dst, src *ds3d.Frame, egoPose ds3d.Mat4, tNS int64) (int, error) {
	if a.MaxSweeps < 1 {
		return 0, fmt.Errorf("sweeps: MaxSweeps %d must be ≥ 1", a.MaxSweeps)
	}
	if src.DType != ds3d.DTypeF32 || src.Shape.NumDims != 2 || src.Shape.D[1] < 3 || src.Mem == ds3d.MemGPU ||
		len(src.Data) < src.Shape.Elements()*4 {
		return 0, fmt.Errorf("sweeps: input frame %s of %s (%d bytes), want a CPU [N,C≥3] f32 frame", src.Shape, src.DType, len(src.Data))
	}
	s2e := a.SensorToEgo
	if s2e == (ds3d.Mat4{}) {
		s2e = ds3d.Identity4
	}
	if err := checkRigid(egoPose); err != nil {
		return 0, fmt.Errorf("sweeps: ego pose at t=%d ns: %w", tNS, err)
	}
	if err := checkRigid(s2e); err != nil {
		return 0, fmt.Errorf("sweeps: sensor-to-ego transform: %w", err)
	}
	c := src.Shape.D[1]
	names := src.Columns()
	if slices.Contains(names, ColTimeLag) {
		return 0, fmt.Errorf("sweeps: input frame already has a %s column (columns %s): accumulate once", ColTimeLag, strings.Join(names, " "))
	}
	tcol := slices.Index(names, ds3d.ColTime)
	if a.kept > 0 && (tNS <= a.lastT || c != a.cols || !slices.Equal(names, a.names)) {
		a.kept = 0
	}
	if a.MaxTimeLag > 0 {
		for a.kept > 0 && tNS-a.at(a.kept-1).t > a.MaxTimeLag {
			a.kept--
		}
	}
	a.kept = min(a.kept, a.MaxSweeps-1)
	world := egoPose.Mul(s2e) // world-from-sensor now
	inv := rigidInverse(world)
	s := ds3d.AsFloat32(src)[:src.Points()*c]
	total := countFinite(s, c)
	for j := 0; j < a.kept; j++ {
		total += len(a.at(j).pts) / c
	}
	oc := c + 1
	dst.DType, dst.Type, dst.Mem = ds3d.DTypeF32, src.Type, ds3d.MemCPU
	dst.Resize(total, oc)
	a.out = a.out[:0]
	if names != nil {
		a.out = append(append(a.out, names...), ColTimeLag)
	}
	dst.SetColumns(a.out...)
	d := ds3d.AsFloat32(dst)
	k := 0
	for i := 0; i+c <= len(s); i += c {
		if x, y, z := s[i], s[i+1], s[i+2]; (x-x)+(y-y)+(z-z) == 0 {
			copy(d[k:k+c], s[i:i+c])
			d[k+c] = 0
			k += oc
		}
	}
	for j := 0; j < a.kept; j++ {
		sw := a.at(j)
		m := inv.Mul(sw.pose)
		lag := float64(tNS-sw.t) * 1e-9
		dt := float32(lag)
		p := sw.pts
		for i := 0; i+c <= len(p); i += c {
			x, y, z := float64(p[i]), float64(p[i+1]), float64(p[i+2])
			o := d[k : k+oc]
			o[0] = float32(m[0]*x + m[1]*y + m[2]*z + m[3])
			o[1] = float32(m[4]*x + m[5]*y + m[6]*z + m[7])
			o[2] = float32(m[8]*x + m[9]*y + m[10]*z + m[11])
			copy(o[3:c], p[i+3:i+c])
			o[c] = dt
			k += oc
		}
		if tcol >= 3 {
			for i := k - len(p)/c*oc + tcol; i < k; i += oc {
				d[i] = float32(float64(d[i]) - lag)
			}
		}
	}
	a.push(s, c, world, tNS)
	a.names = append(a.names[:0], names...)
	if names == nil {
		a.names = nil
	}
	return total, nil
}

// at returns the j-th newest kept sweep.
func (a *Accumulator) at(j int) *sweep { return &a.ring[(a.head+j)%len(a.ring)] }

// push keeps the finite points of s as the newest sweep, reusing the
// buffer of the oldest slot.
func (a *Accumulator) push(s []float32, c int, pose ds3d.Mat4, t int64) {
	a.lastT, a.cols = t, c
	if a.MaxSweeps < 2 {
		return
	}
	if len(a.ring) != a.MaxSweeps-1 {
		a.ring, a.head, a.kept = make([]sweep, a.MaxSweeps-1), 0, 0
	}
	a.head = (a.head + len(a.ring) - 1) % len(a.ring)
	sw := &a.ring[a.head]
	sw.pts = sw.pts[:0]
	for i := 0; i+c <= len(s); i += c {
		if x, y, z := s[i], s[i+1], s[i+2]; (x-x)+(y-y)+(z-z) == 0 {
			sw.pts = append(sw.pts, s[i:i+c]...)
		}
	}
	sw.pose, sw.t = pose, t
	a.kept = min(a.kept+1, len(a.ring))
}

func countFinite(s []float32, c int) int {
	n := 0
	for i := 0; i+c <= len(s); i += c {
		if x, y, z := s[i], s[i+1], s[i+2]; (x-x)+(y-y)+(z-z) == 0 {
			n++
		}
	}
	return n
}

// checkRigid accepts a finite transform with an orthonormal rotation
// (RRᵀ = I within 1e-6) and last row [0 0 0 1].
func checkRigid(m ds3d.Mat4) error {
	for i, v := range m {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%w: entry %d is %v", ErrNotRigid, i, v)
		}
	}
	if m[12] != 0 || m[13] != 0 || m[14] != 0 || m[15] != 1 {
		return fmt.Errorf("%w: last row [%v %v %v %v], want [0 0 0 1]", ErrNotRigid, m[12], m[13], m[14], m[15])
	}
	for r := 0; r < 3; r++ {
		for q := 0; q < 3; q++ {
			dot := m[r*4]*m[q*4] + m[r*4+1]*m[q*4+1] + m[r*4+2]*m[q*4+2]
			want := 0.0
			if r == q {
				want = 1
			}
			if math.Abs(dot-want) > 1e-6 {
				return fmt.Errorf("%w: rotation rows %d·%d = %v, want %v", ErrNotRigid, r, q, dot, want)
			}
		}
	}
	return nil
}

// rigidInverse is [Rᵀ | −Rᵀt] (no allocation, unlike a general inverse).
func rigidInverse(m ds3d.Mat4) ds3d.Mat4 {
	var o ds3d.Mat4
	for r := 0; r < 3; r++ {
		for q := 0; q < 3; q++ {
			o[r*4+q] = m[q*4+r]
		}
		o[r*4+3] = -(o[r*4]*m[3] + o[r*4+1]*m[7] + o[r*4+2]*m[11])
	}
	o[15] = 1
	return o
}
