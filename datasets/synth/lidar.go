package synth

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// LidarOptions are the measurement model's knobs.
type LidarOptions struct {
	// NoiseSigma is the Gaussian range noise's standard deviation (m).
	NoiseSigma float64
	// Dropout is the probability that a return is lost regardless of
	// range (dust, absorption); weak returns are dropped besides (see
	// MinIntensity).
	Dropout float64
	// MinIntensity drops returns whose modelled intensity is below it: far
	// dark surfaces and glass at grazing angles go missing as on a real
	// sensor.
	MinIntensity float64
	// Still freezes the ego during the sweep (no motion distortion).
	Still bool
	// Workers > 1 casts beams on that many goroutines, started and joined
	// within each Scan; the points do not depend on it.
	Workers int
}

// DefaultLidarOptions: 2 cm range noise, 1% dropout, returns below
// intensity 0.005 lost.
func DefaultLidarOptions() LidarOptions {
	return LidarOptions{NoiseSigma: 0.02, Dropout: 0.01, MinIntensity: 0.005}
}

// Columns of the point frames: x y z intensity ring time (ds3d's names).
var Columns = []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing, ds3d.ColTime}

// FrameData is one lidar frame with its ground truth.
type FrameData struct {
	Index int
	// Time is the frame's timestamp (s); points' time column is relative
	// to it (the sweep covers −0.05..+0.05 s at 10 Hz, facing +x at 0).
	Time float64
	// Points are what the sensor reports: each point in the lidar frame at
	// its own firing time (motion-distorted), [N, 6] float32 in Columns'
	// order.
	Points *ds3d.Frame
	// Undistorted holds the same points in the lidar frame at Time: the
	// deskew ground truth (same columns and order).
	Undistorted *ds3d.Frame
	// Pose is the lidar's world pose at Time (Pose.Mat4 is the
	// DS3D::EgoPose value).
	Pose Pose
	// Boxes are the objects within 100 m, in the lidar frame at Time.
	Boxes []ds3d.Box3D
}

// Scanner casts one sensor's rays into a scene. It keeps its buffers
// between frames; it is not safe for concurrent use (use one per
// goroutine).
type Scanner struct {
	Sensor *Sensor
	Opts   LidarOptions
	// sin/cos of each beam's elevation and azimuth offset.
	se, ce, sr, cr []float64
	cols           []column
	valid          []bool
	dyn            dynScratch
	// dynSec and statSec list per azimuth sector the subtrees of the
	// moving objects' and the static BVH that its rays may hit; front is
	// their build stack.
	dynSec, statSec sectorList
	front           []int32
	// wholeTree makes every ray search both BVHs whole (the tests'
	// reference for the sector lists).
	wholeTree bool
	stream    beamStream
	job       scanJob
}

// column is one firing time of the sweep.
type column struct {
	dt float64
	// az is the world azimuth of the head (the pose's yaw plus the head
	// angle); a beam's rays point at az + Rot.
	az             float64
	pose           Pose
	pc, ps, hc, hs float64
}

// NewScanner returns a scanner of sensor s.
func NewScanner(s *Sensor, o LidarOptions) *Scanner {
	sc := &Scanner{Sensor: s, Opts: o}
	for _, b := range s.Beams {
		sc.se = append(sc.se, math.Sin(b.Elev))
		sc.ce = append(sc.ce, math.Cos(b.Elev))
		sc.sr = append(sc.sr, math.Sin(b.Rot))
		sc.cr = append(sc.cr, math.Cos(b.Rot))
	}
	return sc
}

// Frame generates frame i of the scene with sensor and the default
// measurement model (a convenience over NewScanner and Scan).
func (s *Scene) Frame(i int, sensor *Sensor) *FrameData {
	var d FrameData
	NewScanner(sensor, DefaultLidarOptions()).Scan(&d, s, i)
	return &d
}

// Scan fills dst with frame i of scene s, reusing dst's frames.
func (sc *Scanner) Scan(dst *FrameData, s *Scene, i int) {
	sen := sc.Sensor
	t0 := FrameTime(i)
	dst.Index, dst.Time = i, t0
	dst.Pose = s.EgoPose(t0)
	dst.Boxes = s.Boxes(dst.Boxes[:0], dst.Pose, t0, 100)
	dyn := s.dynamic(t0, dst.Pose, sen.MaxRange+5, &sc.dyn)
	rays := sen.Columns * len(sen.Beams)
	if dst.Points == nil {
		dst.Points = ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(0, len(Columns)))
		dst.Undistorted = ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(0, len(Columns)))
	}
	dst.Points.Resize(rays, len(Columns))
	dst.Undistorted.Resize(rays, len(Columns))
	out, und := ds3d.AsFloat32(dst.Points), ds3d.AsFloat32(dst.Undistorted)
	period := 1 / sen.RateHz
	nb := len(sen.Beams)
	// Per column: time, pose and head direction.
	if cap(sc.cols) < sen.Columns {
		sc.cols = make([]column, sen.Columns)
	}
	cols := sc.cols[:sen.Columns]
	for c := range cols {
		dt := (-0.5 + (float64(c)+0.5)/float64(sen.Columns)) * period
		pose := dst.Pose
		if !sc.Opts.Still {
			pose = s.EgoPose(t0 + dt)
		}
		head := -2 * math.Pi * sen.RateHz * dt
		cols[c] = column{dt: dt, az: pose.Yaw + head, pose: pose, pc: math.Cos(pose.Yaw), ps: math.Sin(pose.Yaw), hc: math.Cos(head), hs: math.Sin(head)}
	}
	sc.sectors(sc.dyn.objs, s.static, dst.Pose, cols)
	if cap(sc.valid) < rays {
		sc.valid = make([]bool, rays)
	}
	valid := sc.valid[:rays]
	// Beam by beam: neighbouring rays of one laser take nearly the same
	// path through the BVH, which keeps its nodes in cache. Results land
	// in column-major slots and are compacted below. Each beam has its own
	// noise stream (seed, frame, sensor, beam), so frames do not depend on
	// the order they are generated in nor on how beams are shared among
	// workers.
	sc.job = scanJob{sc: sc, s: s, dst: dst, dyn: dyn, frame: i, out: out, und: und, valid: valid}
	job := &sc.job
	if w := min(sc.Opts.Workers, nb); w > 1 {
		var wg sync.WaitGroup
		for k := 0; k < w; k++ {
			wg.Add(1)
			go func(k int) {
				defer wg.Done()
				var st beamStream
				job.beams(k*nb/w, (k+1)*nb/w, &st)
			}(k)
		}
		wg.Wait()
	} else {
		job.beams(0, nb, &sc.stream)
	}
	sc.job = scanJob{} // drop the frame's references
	n := 0
	for slot, ok := range valid {
		if !ok {
			continue
		}
		if n != slot {
			copy(out[n*6:n*6+6], out[slot*6:slot*6+6])
			copy(und[n*6:n*6+6], und[slot*6:slot*6+6])
		}
		n++
	}
	dst.Points.Resize(n, len(Columns))
	dst.Undistorted.Resize(n, len(Columns))
	dst.Points.SetColumns(Columns...)
	dst.Undistorted.SetColumns(Columns...)
}

// castOwner returns the nearest hit of the ray o + t·d (d unit) within tmax
// over the ground, the static BVH and the moving objects' BVH dyn: its
// distance (tmax when nothing), material and unit normal, plus the owner
// (object index + 1, 0 for the world).
func (s *Scene) castOwner(o, d vec, tmax float64, dyn *bvh) (float64, Material, vec, int32) {
	var r ray
	return s.castRoots(&r, o, d, tmax, dyn, wholeTree, wholeTree)
}

// castRoots is castOwner with the moving objects' and the static BVH
// searched from the subtree roots in droots and sroots only, and r as
// scratch.
func (s *Scene) castRoots(r *ray, o, d vec, tmax float64, dyn *bvh, droots, sroots rootList) (float64, Material, vec, int32) {
	t, mat, nrm := groundHit(o, d)
	owner := int32(0)
	if t > tmax {
		t = tmax
	}
	r.set(o, d)
	// The moving objects first: they are near the sensor, and a hit on
	// one bounds the search of the static tree. Each list is nearest
	// first, so the first root no nearer than the hit ends it.
	tri, src := int32(-1), dyn
	near := droots.near[:len(droots.roots)]
	for i, root := range droots.roots {
		if near[i] >= t {
			break
		}
		if t3, tri3 := dyn.intersectAt(r, t, root); tri3 >= 0 {
			t, tri = t3, tri3
		}
	}
	near = sroots.near[:len(sroots.roots)]
	for i, root := range sroots.roots {
		if near[i] >= t {
			break
		}
		if t2, tri2 := s.static.intersectAt(r, t, root); tri2 >= 0 {
			t, tri, src = t2, tri2, s.static
		}
	}
	if tri >= 0 {
		mat, nrm, owner = src.mat[tri], src.normal(tri), src.owner[tri]
	}
	return t, mat, nrm, owner
}

// numSectors is the number of azimuth sectors (a power of two) that the
// moving objects and the static tree's subtrees are sorted into: 0.35°
// each.
const numSectors = 1024

// sectorList lists, per azimuth sector of a sweep, the BVH subtree roots
// that a ray in the sector may hit: sector k's are
// roots[start[k]:start[k+1]], nearest first.
type sectorList struct {
	start, pos, roots []int32
	// near[i] is roots[i]'s nearest distance from the sweep's origins.
	near  []float64
	items []sectorItem
}

// rootList is a list of subtree roots, nearest first, with their nearest
// distances: a search stops at the first root no nearer than its hit.
type rootList struct {
	roots []int32
	near  []float64
}

// wholeTree is the root list of a whole BVH.
var wholeTree = rootList{roots: []int32{0}, near: []float64{0}}

// sectorItem is a subtree seen from the sweep: its root, its sectors
// [k0, k1] (k0 may be negative and k1 may pass numSectors: they wrap) and
// its nearest distance.
type sectorItem struct {
	root   int32
	k0, k1 int
	near   float64
}

func (l *sectorList) of(k int) rootList {
	a, b := l.start[k], l.start[k+1]
	return rootList{roots: l.roots[a:b], near: l.near[a:b]}
}

// fill builds the lists from l.items.
func (l *sectorList) fill() {
	// Nearest first, so that a hit on a near subtree bounds the rest.
	slices.SortStableFunc(l.items, func(a, b sectorItem) int { return cmp.Compare(a.near, b.near) })
	start := grow(l.start, numSectors+1)
	pos := grow(l.pos, numSectors)
	clear(start)
	for _, it := range l.items {
		for k := it.k0; k <= it.k1; k++ {
			start[k&(numSectors-1)+1]++
		}
	}
	for k := 0; k < numSectors; k++ {
		start[k+1] += start[k]
		pos[k] = start[k]
	}
	roots := grow(l.roots, int(start[numSectors]))
	near := grow(l.near, int(start[numSectors]))
	for _, it := range l.items {
		for k := it.k0; k <= it.k1; k++ {
			j := k & (numSectors - 1)
			roots[pos[j]], near[pos[j]] = it.root, it.near
			pos[j]++
		}
	}
	l.start, l.pos, l.roots, l.near = start, pos, roots, near
}

// sectorSpan returns the sectors of the angles [a0, a1] (a1 − a0 < 2π),
// widened by a margin far above the rounding of a ray's azimuth.
func sectorSpan(a0, a1 float64) (k0, k1 int) {
	const w = 2 * math.Pi / numSectors
	k0, k1 = int(math.Floor((a0-1e-9)/w)), int(math.Floor((a1+1e-9)/w))
	if k1-k0 >= numSectors {
		return 0, numSectors - 1
	}
	return k0, k1
}

// maxFrontSpan is the widest azimuth span (radians) of a static subtree
// in the sector lists; wider inner nodes are split into their children.
// From 0.15 to 0.5 the cost of a frame barely changes; at 1.0 it is 10%
// higher.
const maxFrontSpan = 0.3

// sectors fills the sector lists for a sweep around pose p with columns
// cols: of the moving objects objs (their xy circles) and of the static
// tree b (a frontier of its nodes: those whose boxes do not hold the
// sweep's origins and span at most maxFrontSpan, or leaves). What a
// subtree spans is seen from p, its extent widened by the farthest any
// ray origin of the sweep lies from p horizontally (the ego's travel over
// the sweep plus the lasers' origin offsets), so that no ray that can hit
// it skips it; subtrees beyond the sensor's range are left out. The nodes
// that hold the origins are entered by every ray: starting below them
// saves their box tests, and the sectors cull the subtrees behind.
func (sc *Scanner) sectors(objs []bvhGroup, b *bvh, p Pose, cols []column) {
	spread := 0.0
	for c := range cols {
		spread = max(spread, math.Hypot(cols[c].pose.X-p.X, cols[c].pose.Y-p.Y))
	}
	off := 0.0
	for k, bm := range sc.Sensor.Beams {
		off = max(off, math.Abs(bm.VertOffset*sc.se[k]))
	}
	spread += off + 1e-3
	reach := sc.Sensor.MaxRange + spread
	l := &sc.dynSec
	l.items = l.items[:0]
	for i := range objs {
		g := &objs[i]
		dx, dy := g.cx-p.X, g.cy-p.Y
		dist, rr := math.Hypot(dx, dy), g.r+spread
		it := sectorItem{root: g.root, k0: 0, k1: numSectors - 1, near: max(dist-rr, 0)}
		if dist > rr {
			th, dth := math.Atan2(dy, dx), math.Asin(rr/dist)
			it.k0, it.k1 = sectorSpan(th-dth, th+dth)
		}
		l.items = append(l.items, it)
	}
	l.fill()

	l = &sc.statSec
	l.items = l.items[:0]
	stack := append(sc.front[:0], 0)
	for len(stack) > 0 {
		ni := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := &b.nodes[ni]
		x0, y0 := float64(n.b[0])-spread, float64(n.b[1])-spread
		x1, y1 := float64(n.b[3])+spread, float64(n.b[4])+spread
		if x0 <= p.X && p.X <= x1 && y0 <= p.Y && p.Y <= y1 {
			if n.count > 0 {
				l.items = append(l.items, sectorItem{root: ni, k0: 0, k1: numSectors - 1})
			} else {
				stack = append(stack, n.first, n.first+1)
			}
			continue
		}
		// The nearest point of the (widened) box.
		near := math.Hypot(max(x0-p.X, 0, p.X-x1), max(y0-p.Y, 0, p.Y-y1))
		if near > reach {
			continue
		}
		// The box does not hold p: its corners' azimuths, relative to the
		// direction of its centre, lie within (−π, π) and bound it.
		th := math.Atan2((y0+y1)/2-p.Y, (x0+x1)/2-p.X)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, c := range [4][2]float64{{x0, y0}, {x1, y0}, {x0, y1}, {x1, y1}} {
			a := wrapPi(math.Atan2(c[1]-p.Y, c[0]-p.X) - th)
			lo, hi = min(lo, a), max(hi, a)
		}
		if hi-lo > maxFrontSpan && n.count == 0 {
			stack = append(stack, n.first, n.first+1)
			continue
		}
		k0, k1 := sectorSpan(th+lo, th+hi)
		l.items = append(l.items, sectorItem{root: ni, k0: k0, k1: k1, near: near})
	}
	sc.front = stack
	l.fill()
}

// reflectivity is a material's reflectivity at world point p: road hits
// on a lane marking (solid centre and edge lines, dashed lane dividers,
// 0.15 m wide) are bright paint.
func reflectivity(m Material, p vec) float64 {
	if m == MatRoad && onMarking(p) {
		return 0.75
	}
	return materials[m].refl
}

func onMarking(p vec) bool {
	ay := math.Abs(p.Y)
	const half = 0.075
	if math.Abs(ay-0.12) < half || math.Abs(ay-(2*laneW-0.1)) < half {
		return true
	}
	if math.Abs(ay-laneW) < half {
		x := math.Mod(p.X, 9)
		if x < 0 {
			x += 9
		}
		return x < 3
	}
	return false
}

// scanJob is one frame's ray casting, split by beams.
type scanJob struct {
	sc       *Scanner
	s        *Scene
	dst      *FrameData
	dyn      *bvh
	frame    int
	out, und []float32
	valid    []bool
}

// beamStream is a reusable noise generator.
type beamStream struct {
	pcg rand.PCG
	rng *rand.Rand
}

// beams casts the rays of beams [lo, hi).
func (j *scanJob) beams(lo, hi int, st *beamStream) {
	sc, s, dst, dyn := j.sc, j.s, j.dst, j.dyn
	sen := sc.Sensor
	cols := sc.cols[:sen.Columns]
	nb := len(sen.Beams)
	out, und, valid := j.out, j.und, j.valid
	if st.rng == nil {
		st.rng = rand.New(&st.pcg)
	}
	rng := st.rng
	var r ray
	// dst.Pose.toLocal, with its cosine and sine taken once.
	fp := dst.Pose
	fc, fs := math.Cos(fp.Yaw), math.Sin(fp.Yaw)
	for b := lo; b < hi; b++ {
		st.pcg.Seed(s.Seed^0x9e3779b97f4a7c15, uint64(j.frame)<<24|uint64(b)<<12|uint64(nb))
		bm := &sen.Beams[b]
		se, ce := sc.se[b], sc.ce[b]
		ring := float32(sen.rings[b])
		for c := range cols {
			col := &cols[c]
			slot := c*nb + b
			valid[slot] = false
			// cos and sin of head + Rot.
			cp, sp := col.hc*sc.cr[b]-col.hs*sc.sr[b], col.hs*sc.cr[b]+col.hc*sc.sr[b]
			d := vec{ce * cp, ce * sp, se}
			o := vec{-bm.VertOffset * se * cp, -bm.VertOffset * se * sp, bm.VertOffset * ce}
			pc, ps, pose := col.pc, col.ps, &col.pose
			wo := vec{pose.X + pc*o.X - ps*o.Y, pose.Y + ps*o.X + pc*o.Y, pose.Z + o.Z}
			wd := vec{pc*d.X - ps*d.Y, ps*d.X + pc*d.Y, d.Z}
			sec := int(math.Floor((col.az+bm.Rot)*(numSectors/(2*math.Pi)))) & (numSectors - 1)
			droots, sroots := sc.dynSec.of(sec), sc.statSec.of(sec)
			if sc.wholeTree {
				droots, sroots = wholeTree, wholeTree
			}
			t, mat, nrm, _ := s.castRoots(&r, wo, wd, sen.MaxRange, dyn, droots, sroots)
			// The draws happen for every ray, hit or not, so one ray's
			// outcome never shifts another's noise.
			noise := rng.NormFloat64() * sc.Opts.NoiseSigma
			drop := rng.Float64() < sc.Opts.Dropout
			if t >= sen.MaxRange || t < sen.MinRange || drop {
				continue
			}
			hit := wo.add(wd.scale(t))
			cosi := math.Abs(nrm.dot(wd))
			inten := reflectivity(mat, hit) * (0.55 + cosi) / (1 + (t/90)*(t/90))
			if inten < sc.Opts.MinIntensity {
				continue
			}
			rr := t + noise
			lp := o.add(d.scale(rr))
			wp := wo.add(wd.scale(rr)).sub(vec{fp.X, fp.Y, fp.Z})
			up := vec{fc*wp.X + fs*wp.Y, -fs*wp.X + fc*wp.Y, wp.Z}
			k := slot * 6
			in := float32(math.Min(inten, 1))
			out[k], out[k+1], out[k+2], out[k+3], out[k+4], out[k+5] = float32(lp.X), float32(lp.Y), float32(lp.Z), in, ring, float32(col.dt)
			und[k], und[k+1], und[k+2], und[k+3], und[k+4], und[k+5] = float32(up.X), float32(up.Y), float32(up.Z), in, ring, float32(col.dt)
			valid[slot] = true
		}
	}
}
