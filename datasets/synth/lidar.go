package synth

import (
	"math"
	"math/rand/v2"
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
	stream         beamStream
	job            scanJob
}

// column is one firing time of the sweep.
type column struct {
	dt             float64
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
		cols[c] = column{dt: dt, pose: pose, pc: math.Cos(pose.Yaw), ps: math.Sin(pose.Yaw), hc: math.Cos(head), hs: math.Sin(head)}
	}
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

// cast returns the nearest hit of the ray o + t·d (d unit) within tmax
// over the ground, the static BVH and the moving objects' BVH dyn: its
// distance (tmax when nothing), material and unit normal, plus the owner
// (object index + 1, 0 for the world).
func (s *Scene) cast(o, d vec, tmax float64, dyn *bvh) (float64, Material, vec) {
	t, mat, nrm, _ := s.castOwner(o, d, tmax, dyn)
	return t, mat, nrm
}

func (s *Scene) castOwner(o, d vec, tmax float64, dyn *bvh) (float64, Material, vec, int32) {
	t, mat, nrm := groundHit(o, d)
	owner := int32(0)
	if t > tmax {
		t = tmax
	}
	r := newRay(o, d)
	t2, tri := s.static.intersect(&r, t)
	src := s.static
	if tri >= 0 {
		t = t2
	}
	if t3, tri3 := dyn.intersect(&r, t); tri3 >= 0 {
		t, tri, src = t3, tri3, dyn
	}
	if tri >= 0 {
		mat, nrm, owner = src.mat[tri], src.normal(tri), src.owner[tri]
	}
	return t, mat, nrm, owner
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
			t, mat, nrm := s.cast(wo, wd, sen.MaxRange, dyn)
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
			up := dst.Pose.toLocal(wo.add(wd.scale(rr)))
			k := slot * 6
			in := float32(math.Min(inten, 1))
			out[k], out[k+1], out[k+2], out[k+3], out[k+4], out[k+5] = float32(lp.X), float32(lp.Y), float32(lp.Z), in, ring, float32(col.dt)
			und[k], und[k+1], und[k+2], und[k+3], und[k+4], und[k+5] = float32(up.X), float32(up.Y), float32(up.Z), in, ring, float32(col.dt)
			valid[slot] = true
		}
	}
}
