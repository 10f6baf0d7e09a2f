package synth

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Street layout (world frame: x along the road, y to the left, z up, road
// surface at z = 0). Each side has two 3.5 m driving lanes, a 2 m parking
// strip, a 0.15 m kerb and a 3.5 m sidewalk; buildings start behind it.
const (
	laneW       = 3.5
	parkEdge    = 9.0  // |y| of the kerb face
	walkEdge    = 12.5 // |y| of the sidewalk's back
	kerbH       = 0.15
	lidarHeight = 1.73 // KITTI's velodyne above the road
	frameDT     = 0.1  // frames at 10 Hz
)

// Options shape a scene. Zero Frames and densities take DefaultOptions'
// values; Speed and YawRate are used as given (zero: the ego stands still).
type Options struct {
	// Frames is the sequence length the street is planned for.
	Frames int
	// Speed (m/s) and YawRate (rad/s) are the ego's constant twist.
	Speed, YawRate float64
	// Densities per 100 m of street and side.
	Parked, Moving, Pedestrians, Cyclists, Trees, Poles float64
}

// DefaultOptions is a busy urban street with the ego at 10 m/s (the
// defaults of ds3d synth).
func DefaultOptions() Options {
	return Options{Frames: 10, Speed: 10, Parked: 9, Moving: 3, Pedestrians: 6, Cyclists: 1.5, Trees: 5, Poles: 3}
}

func (o *Options) fill() {
	d := DefaultOptions()
	if o.Frames <= 0 {
		o.Frames = d.Frames
	}
	for _, p := range []struct{ v, d *float64 }{
		{&o.Parked, &d.Parked}, {&o.Moving, &d.Moving}, {&o.Pedestrians, &d.Pedestrians},
		{&o.Cyclists, &d.Cyclists}, {&o.Trees, &d.Trees}, {&o.Poles, &d.Poles},
	} {
		if *p.v == 0 {
			*p.v = *p.d
		}
	}
}

// Class is an object class with KITTI's type name.
type Class uint8

// Object classes.
const (
	Car Class = iota
	Van
	Truck
	Pedestrian
	Cyclist
)

var classNames = [...]string{"Car", "Van", "Truck", "Pedestrian", "Cyclist"}

func (c Class) String() string { return classNames[c] }

// Object is a labelled road user. It moves in a straight line at Speed
// along its heading; a pedestrian's limbs swing with its stride.
type Object struct {
	ID    int
	Class Class
	// L, W, H are the box's length (along the heading), width and height.
	L, W, H float64
	// X0, Y0 is the box centre's ground point at t = 0, Z0 the ground
	// height under it; Yaw the heading (world, counterclockwise from +x).
	X0, Y0, Z0, Yaw float64
	Speed           float64
	phase           float64
	colour          [3]float64
}

// At returns the object's ground-centre position at time t (s).
func (o *Object) At(t float64) (x, y float64) {
	return o.X0 + o.Speed*math.Cos(o.Yaw)*t, o.Y0 + o.Speed*math.Sin(o.Yaw)*t
}

// Pose is a lidar pose in the world frame: position and heading (the
// lidar stays level).
type Pose struct{ X, Y, Z, Yaw float64 }

// Mat4 returns the world-from-lidar transform (ds3d.KeyEgoPose's layout).
func (p Pose) Mat4() ds3d.Mat4 {
	c, s := math.Cos(p.Yaw), math.Sin(p.Yaw)
	return ds3d.Mat4{c, -s, 0, p.X, s, c, 0, p.Y, 0, 0, 1, p.Z, 0, 0, 0, 1}
}

func (p Pose) xform() xform { return yawXform(p.Yaw, vec{p.X, p.Y, p.Z}) }

// toLocal maps a world point into the lidar frame at p.
func (p Pose) toLocal(w vec) vec {
	c, s := math.Cos(p.Yaw), math.Sin(p.Yaw)
	d := w.sub(vec{p.X, p.Y, p.Z})
	return vec{c*d.X + s*d.Y, -s*d.X + c*d.Y, d.Z}
}

// Scene is a generated street with its objects and ego trajectory. It is
// immutable after NewScene and safe for concurrent Frame calls.
type Scene struct {
	Seed    uint64
	Opts    Options
	Objects []Object
	static  *bvh
	// x extent of the street.
	x0, x1 float64
}

// NewScene generates the scene of seed.
func NewScene(seed uint64, opts Options) (*Scene, error) {
	opts.fill()
	dist := math.Abs(opts.Speed) * float64(opts.Frames) * frameDT
	if opts.Frames > 100000 || !(math.Abs(opts.Speed) <= 60) || !(math.Abs(opts.YawRate) <= 2) || dist > 50000 {
		return nil, fmt.Errorf("synth: options out of range (frames ≤ 100000, |speed| ≤ 60 m/s, |yaw rate| ≤ 2 rad/s, a drive of ≤ 50 km): %+v", opts)
	}
	s := &Scene{Seed: seed, Opts: opts}
	dur := float64(opts.Frames) * frameDT
	// The street reaches 80 m behind the start and 140 m beyond the end
	// of the drive (either way along x).
	s.x0, s.x1 = -80, 140.0
	if opts.Speed >= 0 {
		s.x1 += opts.Speed * dur
	} else {
		s.x0 += opts.Speed * dur
	}
	rng := rand.New(rand.NewPCG(seed, 0x5717e5))
	var m mesh
	m.xf = identity()
	s.buildStreet(&m, rng)
	s.placeObjects(rng, dur)
	for i := range s.Objects {
		if s.Objects[i].Speed == 0 {
			s.objectMesh(&m, i, 0)
		}
	}
	s.static = buildBVH(&m)
	return s, nil
}

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

// buildStreet adds road, kerbs, sidewalks, buildings, trees and poles.
func (s *Scene) buildStreet(m *mesh, r *rand.Rand) {
	x0, x1 := s.x0, s.x1
	// The ground (road, kerbs, sidewalks, verges) is not in the BVH:
	// groundHit intersects it analytically, and a ray's ground distance
	// bounds its BVH search, which then skips everything behind it.
	for _, side := range []float64{-1, 1} {
		// Buildings: a row with gaps, each a block with an optional
		// set-back upper part and a band of windows on its street face.
		for x := x0; x < x1; {
			w := uniform(r, 8, 30)
			if r.Float64() < 0.2 {
				x += uniform(r, 4, 15) // a gap (yard, side street)
				continue
			}
			setback := uniform(r, 0.5, 4)
			depth := uniform(r, 10, 20)
			h := uniform(r, 6, 24)
			yIn := side * (walkEdge + setback)
			yOut := side * (walkEdge + setback + depth)
			m.curMat = MatBuilding
			m.box(x, math.Min(yIn, yOut), kerbH, x+w, math.Max(yIn, yOut), kerbH+h)
			if h > 12 && r.Float64() < 0.5 {
				sb := side * 2
				m.box(x+1, math.Min(yIn+sb, yOut), kerbH+h, x+w-1, math.Max(yIn+sb, yOut), kerbH+h+uniform(r, 3, 8))
			}
			m.curMat = MatWindow
			for fl := kerbH + 3.5; fl+1.5 < kerbH+h; fl += 3.2 {
				yw := yIn - side*0.02
				m.quad(vec{x + 1, yw, fl}, vec{x + w - 1, yw, fl}, vec{x + w - 1, yw, fl + 1.4}, vec{x + 1, yw, fl + 1.4})
			}
			x += w + uniform(r, 0, 2)
		}
		dens := func(per100 float64) int { return int(per100 * (x1 - x0) / 100) }
		for i := 0; i < dens(s.Opts.Trees); i++ {
			x := uniform(r, x0, x1)
			y := side * uniform(r, parkEdge+0.6, parkEdge+1.2)
			th := uniform(r, 2, 3.5)
			cr := uniform(r, 1.2, 2.5)
			m.curMat = MatTrunk
			m.cylinderZ(x, y, uniform(r, 0.1, 0.2), kerbH, kerbH+th+cr*0.5, 8)
			m.curMat = MatFoliage
			m.sphere(vec{x, y, kerbH + th + cr*0.8}, cr, cr, cr*uniform(r, 0.8, 1.2), 2)
		}
		for i := 0; i < dens(s.Opts.Poles); i++ {
			x := uniform(r, x0, x1)
			y := side * (parkEdge + 0.4)
			h := uniform(r, 5, 8)
			m.curMat = MatPole
			m.cylinderZ(x, y, uniform(r, 0.07, 0.12), kerbH, kerbH+h, 8)
			if r.Float64() < 0.5 { // a street light's arm
				m.box(x-0.05, math.Min(y, y-side*1.8), kerbH+h-0.15, x+0.05, math.Max(y, y-side*1.8), kerbH+h)
			}
		}
	}
}

// groundHit intersects the ray o + t·d with the ground: the road z = 0
// for |y| < parkEdge, the kerb faces at |y| = parkEdge (0 ≤ z ≤ kerbH) and
// the sidewalks and verges z = kerbH beyond them. It returns the nearest
// distance (or +Inf), the material and the normal.
func groundHit(o, d vec) (float64, Material, vec) {
	best, mat, nrm := math.Inf(1), Material(0), vec{}
	if d.Z != 0 {
		if t := -o.Z / d.Z; t > 1e-6 && math.Abs(o.Y+t*d.Y) < parkEdge {
			best, mat, nrm = t, MatRoad, vec{0, 0, 1}
		}
		if t := (kerbH - o.Z) / d.Z; t > 1e-6 && t < best {
			if y := o.Y + t*d.Y; math.Abs(y) >= parkEdge {
				best, mat, nrm = t, sidewalkMat(y), vec{0, 0, 1}
			}
		}
	}
	if d.Y != 0 {
		for _, y := range [2]float64{-parkEdge, parkEdge} {
			t := (y - o.Y) / d.Y
			if t > 1e-6 && t < best {
				if z := o.Z + t*d.Z; z >= 0 && z <= kerbH {
					best, mat, nrm = t, MatKerb, vec{0, 1, 0}
				}
			}
		}
	}
	return best, mat, nrm
}

func sidewalkMat(y float64) Material {
	if math.Abs(y) < walkEdge {
		return MatSidewalk
	}
	return MatGrass
}

// KITTI's class means (l, w, h) with their spread, from the object
// benchmark's training labels.
var classSize = [...]struct{ l, w, h, sd float64 }{
	Car:        {3.88, 1.63, 1.53, 0.06},
	Van:        {5.08, 1.90, 2.21, 0.06},
	Truck:      {10.1, 2.59, 3.25, 0.08},
	Pedestrian: {0.84, 0.66, 1.76, 0.05},
	Cyclist:    {1.76, 0.60, 1.74, 0.04},
}

var carColours = [][3]float64{{0.6, 0.1, 0.1}, {0.1, 0.2, 0.55}, {0.8, 0.8, 0.8}, {0.1, 0.1, 0.1}, {0.45, 0.45, 0.48}, {0.9, 0.9, 0.85}}

// placeObjects fills s.Objects: parked vehicles along both kerbs, traffic
// in every lane (vehicles of one lane share its speed, so they never
// collide), pedestrians on the sidewalks and cyclists at the outer lanes'
// edges.
func (s *Scene) placeObjects(r *rand.Rand, dur float64) {
	x0, x1 := s.x0+10, s.x1-10
	add := func(c Class, x, y, z, yaw, speed float64) {
		sz := classSize[c]
		k := 1 + sz.sd*r.NormFloat64()
		o := Object{ID: len(s.Objects), Class: c, L: sz.l * k, W: sz.w * (1 + sz.sd*r.NormFloat64()), H: sz.h * (1 + sz.sd*r.NormFloat64()),
			X0: x, Y0: y, Z0: z, Yaw: yaw, Speed: speed, phase: uniform(r, 0, 2*math.Pi),
			colour: carColours[r.IntN(len(carColours))]}
		s.Objects = append(s.Objects, o)
	}
	vehicle := func() Class {
		switch p := r.Float64(); {
		case p < 0.8:
			return Car
		case p < 0.95:
			return Van
		}
		return Truck
	}
	n := func(per100 float64) int { return int(per100*(x1-x0)/100 + 0.5) }
	for _, side := range []float64{-1, 1} {
		// Parked: bumper to bumper with gaps, a few angled slightly.
		for x := x0; x < x1; {
			c := vehicle()
			l := classSize[c].l
			if r.Float64() < 100/(s.Opts.Parked*l*3) {
				x += uniform(r, 3, 12)
				continue
			}
			yaw := 0.0
			if side > 0 {
				yaw = math.Pi
			}
			add(c, x+l/2, side*(parkEdge-1.05), 0, yaw+uniform(r, -0.04, 0.04), 0)
			x += l + uniform(r, 0.8, 3)
		}
		// Traffic: the two lanes of this side, heading +x on the right
		// (side −1) and −x on the left.
		for lane := 0; lane < 2; lane++ {
			y := side * (laneW/2 + laneW*float64(lane))
			yaw := 0.0
			if side > 0 {
				yaw = math.Pi
			}
			speed := uniform(r, 6, 14)
			ego := side < 0 && lane == 0
			if ego {
				speed = s.Opts.Speed
			}
			// Spread over the street and the distance they drive.
			lo, hi := x0-speed*dur, x1
			if side > 0 {
				lo, hi = x0, x1+speed*dur
			}
			cnt := n(s.Opts.Moving * (hi - lo) / (x1 - x0))
			gap := (hi - lo) / float64(cnt+1)
			for i := 0; i < cnt; i++ {
				x := lo + gap*(float64(i)+uniform(r, 0.6, 1.4))
				if ego && math.Abs(x) < 14 {
					continue // the ego's own spot
				}
				add(vehicle(), x, y+uniform(r, -0.3, 0.3), 0, yaw, speed)
			}
		}
		for i := 0; i < n(s.Opts.Pedestrians); i++ {
			x := uniform(r, x0, x1)
			y := side * uniform(r, parkEdge+1.5, walkEdge-0.5)
			speed, yaw := uniform(r, 0.9, 1.6), 0.0
			if r.Float64() < 0.5 {
				yaw = math.Pi
			}
			if r.Float64() < 0.25 {
				speed, yaw = 0, uniform(r, -math.Pi, math.Pi) // standing
			}
			add(Pedestrian, x, y, kerbH, yaw, speed)
		}
		for i := 0; i < n(s.Opts.Cyclists); i++ {
			yaw := 0.0
			if side > 0 {
				yaw = math.Pi
			}
			add(Cyclist, uniform(r, x0, x1), side*(2*laneW-0.6), 0, yaw, uniform(r, 3, 7))
		}
	}
}

// objectMesh adds object i's triangles, placed at time t.
func (s *Scene) objectMesh(m *mesh, i int, t float64) {
	o := &s.Objects[i]
	x, y := o.At(t)
	base := yawXform(o.Yaw, vec{x, y, o.Z0})
	m.curOwner = int32(i + 1)
	defer func() { m.curOwner, m.xf = 0, identity() }()
	m.xf = base
	l, w, h := o.L, o.W, o.H
	wheels := func(r float64, xs ...float64) {
		m.curMat = MatTyre
		for _, wx := range xs {
			m.cylinderY(wx, r, r, -w/2, -w/2+0.25, 10)
			m.cylinderY(wx, r, r, w/2-0.25, w/2, 10)
		}
	}
	switch o.Class {
	case Car:
		m.curMat = MatCarBody
		m.box(-l/2, -w/2+0.03, 0.25, l/2, w/2-0.03, 0.62*h)
		m.curMat = MatCarGlass
		m.box(-0.32*l, -0.45*w, 0.62*h, 0.2*l, 0.45*w, h)
		wheels(0.32, -0.33*l, 0.33*l)
	case Van:
		m.curMat = MatCarBody
		m.box(-l/2, -w/2+0.03, 0.3, 0.35*l, w/2-0.03, h)
		m.box(0.35*l, -w/2+0.03, 0.3, l/2, w/2-0.03, 0.55*h)
		m.curMat = MatCarGlass
		m.box(0.35*l, -0.45*w, 0.55*h, 0.42*l, 0.45*w, 0.9*h)
		wheels(0.35, -0.33*l, 0.35*l)
	case Truck:
		m.curMat = MatCarBody
		m.box(l/2-2.3, -w/2+0.03, 0.4, l/2, w/2-0.03, 0.9*h)
		m.curMat = MatBuilding
		m.box(-l/2, -w/2, 1.1, l/2-2.5, w/2, h)
		wheels(0.5, -0.38*l, -0.26*l, 0.4*l)
	case Pedestrian:
		s.person(m, o, t, 0)
	case Cyclist:
		m.curMat = MatBicycle
		r := 0.34
		m.cylinderY(-l/2+r, r, r, -0.03, 0.03, 12)
		m.cylinderY(l/2-r, r, r, -0.03, 0.03, 12)
		m.box(-l/2+r, -0.03, r, l/2-r, 0.03, r+0.45)
		s.person(m, o, t, 1)
	}
}

// person adds a pedestrian (kind 0, legs swinging at its stride) or a
// cyclist's rider (kind 1, seated, leaning forward).
func (s *Scene) person(m *mesh, o *Object, t float64, kind int) {
	h := o.H
	base := m.xf
	hip := 0.52 * h
	sw := 0.0
	if kind == 0 && o.Speed > 0 {
		// About 1.8 strides a second at 1.3 m/s, swinging ±25°.
		sw = 0.45 * math.Sin(o.phase+2*math.Pi*1.4*o.Speed*t/1.3)
	}
	lean := 0.0
	if kind == 1 {
		hip = 0.55 * h
		lean = 0.5
	}
	bw := math.Min(o.W, 0.5)
	// Legs.
	m.curMat = MatCloth
	if kind == 1 {
		m.xf = base
		m.box(-0.25, -0.15, 0.35, 0.15, -0.05, hip)
		m.box(-0.1, 0.05, 0.35, 0.25, 0.15, hip)
	} else {
		for k, a := range []float64{sw, -sw} {
			y0 := -0.16 + 0.19*float64(k)
			m.xf = base.then(pitchAbout(a, vec{0, 0, hip}))
			m.box(-0.07, y0, 0, 0.07, y0+0.13, hip)
		}
	}
	// Torso and head, leaning for a rider.
	m.xf = base.then(pitchAbout(lean, vec{-0.2 * float64(kind), 0, hip}))
	if kind == 1 {
		m.xf = base.then(xform{R: identity().R, T: vec{-0.2, 0, 0}}).then(pitchAbout(lean, vec{0, 0, hip}))
	}
	m.curMat = MatCloth
	m.box(-0.12, -bw/2, hip, 0.12, bw/2, 0.82*h)
	m.curMat = MatSkin
	m.sphere(vec{0, 0, 0.9 * h}, 0.1, 0.09, 0.1*h/1.76, 1)
	// Arms swing opposite to the legs.
	m.curMat = MatCloth
	sh := 0.8 * h
	for k, a := range []float64{-sw, sw} {
		y0 := -bw/2 - 0.09 + (bw+0.09)*float64(k)
		arm := pitchAbout(a, vec{0, 0, sh})
		if kind == 1 {
			arm = pitchAbout(-1.0, vec{0, 0, sh})
		}
		m.xf = base.then(pitchAbout(lean, vec{0, 0, hip})).then(arm)
		if kind == 1 {
			m.xf = base.then(xform{R: identity().R, T: vec{-0.2, 0, 0}}).then(pitchAbout(lean, vec{0, 0, hip})).then(arm)
		}
		m.box(-0.05, y0, sh-0.55, 0.05, y0+0.09, sh)
	}
	m.xf = base
}

// EgoPose returns the lidar's pose at time t (s): the constant twist
// (Speed, YawRate) from (0, −1.75, 1.73) heading +x, the right lane's
// centre at KITTI's mounting height.
func (s *Scene) EgoPose(t float64) Pose {
	v, w := s.Opts.Speed, s.Opts.YawRate
	p := Pose{Y: -laneW / 2, Z: lidarHeight}
	if math.Abs(w) < 1e-9 {
		p.X += v * t
		return p
	}
	p.Yaw = w * t
	p.X += v / w * math.Sin(w*t)
	p.Y += v / w * (1 - math.Cos(w*t))
	return p
}

// FrameTime is frame i's timestamp in seconds (10 Hz from 0).
func FrameTime(i int) float64 { return float64(i) * frameDT }

// dynScratch holds the moving objects' mesh and BVH between frames.
type dynScratch struct {
	m    mesh
	b    bvh
	tris []buildTri
	// objs are the objects in b, each with its subtree root and the
	// world xy circle (centre cx, cy; radius r) around its triangles.
	objs []bvhGroup
}

// dynamic builds the BVH of the objects that move, placed at time t,
// those within reach of a sensor at p; d (nil: fresh buffers) keeps the
// buffers between calls. Each object has a subtree of its own (d.objs).
func (s *Scene) dynamic(t float64, p Pose, reach float64, d *dynScratch) *bvh {
	if d == nil {
		d = &dynScratch{}
	}
	m := &d.m
	m.v, m.mat, m.owner, m.xf = m.v[:0], m.mat[:0], m.owner[:0], identity()
	d.objs = d.objs[:0]
	for i := range s.Objects {
		o := &s.Objects[i]
		if o.Speed == 0 {
			continue
		}
		x, y := o.At(t)
		if math.Hypot(x-p.X, y-p.Y) > reach+o.L {
			continue
		}
		lo := len(m.mat)
		s.objectMesh(m, i, t)
		if len(m.mat) == lo {
			continue
		}
		x0, x1, y0, y1 := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, v := range m.v[3*lo:] {
			x0, x1 = math.Min(x0, v.X), math.Max(x1, v.X)
			y0, y1 = math.Min(y0, v.Y), math.Max(y1, v.Y)
		}
		d.objs = append(d.objs, bvhGroup{lo: int32(lo), hi: int32(len(m.mat)), cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, r: math.Hypot(x1-x0, y1-y0) / 2})
	}
	d.tris = d.b.buildGroups(m, d.objs, d.tris)
	return &d.b
}

// Boxes appends to dst the objects' boxes in the lidar frame of pose p at
// time t, with their velocities (over ground, in the lidar frame's axes),
// in object order; those whose centre lies beyond maxDist are left out.
// TrackID is the object's index in Objects.
func (s *Scene) Boxes(dst []ds3d.Box3D, p Pose, t, maxDist float64) []ds3d.Box3D {
	out := dst
	for i := range s.Objects {
		o := &s.Objects[i]
		x, y := o.At(t)
		c := p.toLocal(vec{x, y, o.Z0 + o.H/2})
		if math.Hypot(c.X, c.Y) > maxDist {
			continue
		}
		yaw := wrapPi(o.Yaw - p.Yaw)
		vx, vy := o.Speed*math.Cos(o.Yaw-p.Yaw), o.Speed*math.Sin(o.Yaw-p.Yaw)
		out = append(out, ds3d.Box3D{
			CX: float32(c.X), CY: float32(c.Y), CZ: float32(c.Z),
			DX: float32(o.L), DY: float32(o.W), DZ: float32(o.H), Yaw: float32(yaw),
			ClassID: int32(o.Class), Label: o.Class.String(), Score: 1, TrackID: int64(o.ID),
			VX: float32(vx), VY: float32(vy),
		})
	}
	return out
}

func wrapPi(a float64) float64 {
	a = math.Mod(a+math.Pi, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a - math.Pi
}
