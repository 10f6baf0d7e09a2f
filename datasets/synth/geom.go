package synth

import "math"

// vec is a point or direction in metres (float64 keeps the geometry exact
// well below the float32 precision of the output points).
type vec struct{ X, Y, Z float64 }

func (a vec) add(b vec) vec       { return vec{a.X + b.X, a.Y + b.Y, a.Z + b.Z} }
func (a vec) sub(b vec) vec       { return vec{a.X - b.X, a.Y - b.Y, a.Z - b.Z} }
func (a vec) scale(s float64) vec { return vec{a.X * s, a.Y * s, a.Z * s} }
func (a vec) dot(b vec) float64   { return a.X*b.X + a.Y*b.Y + a.Z*b.Z }
func (a vec) cross(b vec) vec {
	return vec{a.Y*b.Z - a.Z*b.Y, a.Z*b.X - a.X*b.Z, a.X*b.Y - a.Y*b.X}
}
func (a vec) norm() float64 { return math.Sqrt(a.dot(a)) }
func (a vec) unit() vec {
	n := a.norm()
	if n == 0 {
		return a
	}
	return a.scale(1 / n)
}

// Material names a surface kind; it picks the lidar reflectivity and the
// camera colour.
type Material uint8

// Materials of the generated surfaces.
const (
	MatRoad Material = iota
	MatSidewalk
	MatKerb
	MatBuilding
	MatWindow
	MatPole
	MatTrunk
	MatFoliage
	MatCarBody
	MatCarGlass
	MatTyre
	MatSkin
	MatCloth
	MatBicycle
	MatGrass
	numMaterials
)

// materials holds each material's lidar reflectivity (KITTI's 0..1
// intensity scale at normal incidence and short range) and camera colour
// (linear RGB 0..1).
var materials = [numMaterials]struct {
	refl float64
	rgb  [3]float64
}{
	MatRoad:     {0.22, [3]float64{0.28, 0.28, 0.30}},
	MatSidewalk: {0.32, [3]float64{0.62, 0.60, 0.57}},
	MatKerb:     {0.38, [3]float64{0.72, 0.72, 0.70}},
	MatBuilding: {0.34, [3]float64{0.70, 0.62, 0.52}},
	MatWindow:   {0.08, [3]float64{0.20, 0.27, 0.35}},
	MatPole:     {0.45, [3]float64{0.45, 0.47, 0.50}},
	MatTrunk:    {0.30, [3]float64{0.35, 0.25, 0.17}},
	MatFoliage:  {0.42, [3]float64{0.20, 0.42, 0.16}},
	MatCarBody:  {0.30, [3]float64{0.60, 0.10, 0.10}},
	MatCarGlass: {0.05, [3]float64{0.10, 0.12, 0.15}},
	MatTyre:     {0.04, [3]float64{0.06, 0.06, 0.06}},
	MatSkin:     {0.35, [3]float64{0.85, 0.68, 0.55}},
	MatCloth:    {0.25, [3]float64{0.20, 0.25, 0.45}},
	MatBicycle:  {0.40, [3]float64{0.15, 0.15, 0.18}},
	MatGrass:    {0.40, [3]float64{0.30, 0.50, 0.20}},
}

// mesh collects triangles with a material and an owner (object index + 1,
// 0 for the static world) per triangle.
type mesh struct {
	v     []vec // 3 per triangle
	mat   []Material
	owner []int32
	// cur* are applied by the shape helpers.
	curMat   Material
	curOwner int32
	// xf places shapes: p_out = rot·p + off (rot about z by yaw, then a
	// pitch about the local y axis for limbs).
	xf xform
}

// xform is a rigid transform: p' = R·p + T with R row-major.
type xform struct {
	R [9]float64
	T vec
}

func identity() xform { return xform{R: [9]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}} }

func yawXform(yaw float64, t vec) xform {
	c, s := math.Cos(yaw), math.Sin(yaw)
	return xform{R: [9]float64{c, -s, 0, s, c, 0, 0, 0, 1}, T: t}
}

func (x xform) apply(p vec) vec {
	return vec{
		x.R[0]*p.X + x.R[1]*p.Y + x.R[2]*p.Z + x.T.X,
		x.R[3]*p.X + x.R[4]*p.Y + x.R[5]*p.Z + x.T.Y,
		x.R[6]*p.X + x.R[7]*p.Y + x.R[8]*p.Z + x.T.Z,
	}
}

// then returns the transform that applies y first, then x.
func (x xform) then(y xform) xform {
	var r [9]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			r[i*3+j] = x.R[i*3]*y.R[j] + x.R[i*3+1]*y.R[3+j] + x.R[i*3+2]*y.R[6+j]
		}
	}
	return xform{R: r, T: x.apply(y.T)}
}

// pitchAbout rotates by a about the y axis through pivot p.
func pitchAbout(a float64, p vec) xform {
	c, s := math.Cos(a), math.Sin(a)
	r := xform{R: [9]float64{c, 0, s, 0, 1, 0, -s, 0, c}}
	r.T = p.sub(r.apply(p))
	return r
}

func (m *mesh) tri(a, b, c vec) {
	m.v = append(m.v, m.xf.apply(a), m.xf.apply(b), m.xf.apply(c))
	m.mat = append(m.mat, m.curMat)
	m.owner = append(m.owner, m.curOwner)
}

// quad adds the planar quad a b c d (a parallelogram), cut into tiles of
// at most tileLen on a side: long thin triangles would give BVH nodes that
// overlap everything.
func (m *mesh) quad(a, b, c, d vec) {
	const tileLen = 12.0
	u, v := b.sub(a), d.sub(a)
	nu, nv := int(math.Ceil(u.norm()/tileLen)), int(math.Ceil(v.norm()/tileLen))
	if nu <= 1 && nv <= 1 {
		m.tri(a, b, c)
		m.tri(a, c, d)
		return
	}
	nu, nv = max(nu, 1), max(nv, 1)
	p := func(i, j int) vec {
		return a.add(u.scale(float64(i) / float64(nu))).add(v.scale(float64(j) / float64(nv)))
	}
	for i := 0; i < nu; i++ {
		for j := 0; j < nv; j++ {
			m.tri(p(i, j), p(i+1, j), p(i+1, j+1))
			m.tri(p(i, j), p(i+1, j+1), p(i, j+1))
		}
	}
}

// box adds an axis-aligned box (in the current transform's frame).
func (m *mesh) box(x0, y0, z0, x1, y1, z1 float64) {
	p := func(i int) vec {
		v := vec{x0, y0, z0}
		if i&1 != 0 {
			v.X = x1
		}
		if i&2 != 0 {
			v.Y = y1
		}
		if i&4 != 0 {
			v.Z = z1
		}
		return v
	}
	m.quad(p(0), p(2), p(3), p(1)) // bottom
	m.quad(p(4), p(5), p(7), p(6)) // top
	m.quad(p(0), p(1), p(5), p(4)) // y0
	m.quad(p(2), p(6), p(7), p(3)) // y1
	m.quad(p(0), p(4), p(6), p(2)) // x0
	m.quad(p(1), p(3), p(7), p(5)) // x1
}

// cylinderZ adds an upright cylinder of radius r from z0 to z1 around
// (cx, cy) with n sides (and caps).
func (m *mesh) cylinderZ(cx, cy, r, z0, z1 float64, n int) {
	for i := 0; i < n; i++ {
		a0 := 2 * math.Pi * float64(i) / float64(n)
		a1 := 2 * math.Pi * float64(i+1) / float64(n)
		p0 := vec{cx + r*math.Cos(a0), cy + r*math.Sin(a0), 0}
		p1 := vec{cx + r*math.Cos(a1), cy + r*math.Sin(a1), 0}
		b0, b1, t0, t1 := p0, p1, p0, p1
		b0.Z, b1.Z, t0.Z, t1.Z = z0, z0, z1, z1
		m.quad(b0, b1, t1, t0)
		m.tri(vec{cx, cy, z1}, t0, t1)
		m.tri(vec{cx, cy, z0}, b1, b0)
	}
}

// cylinderY adds a cylinder whose axis runs along y (a wheel) centred at
// (cx, cz), from y0 to y1.
func (m *mesh) cylinderY(cx, cz, r, y0, y1 float64, n int) {
	for i := 0; i < n; i++ {
		a0 := 2 * math.Pi * float64(i) / float64(n)
		a1 := 2 * math.Pi * float64(i+1) / float64(n)
		p0 := vec{cx + r*math.Cos(a0), 0, cz + r*math.Sin(a0)}
		p1 := vec{cx + r*math.Cos(a1), 0, cz + r*math.Sin(a1)}
		b0, b1, t0, t1 := p0, p1, p0, p1
		b0.Y, b1.Y, t0.Y, t1.Y = y0, y0, y1, y1
		m.quad(b0, t0, t1, b1)
		m.tri(vec{cx, y1, cz}, t1, t0)
		m.tri(vec{cx, y0, cz}, b0, b1)
	}
}

// sphere adds an octahedron subdivided depth times (8·4^depth triangles)
// scaled to radii (rx, ry, rz) around c: a tree crown or a head.
func (m *mesh) sphere(c vec, rx, ry, rz float64, depth int) {
	o := [6]vec{{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}}
	faces := [8][3]int{{0, 2, 4}, {2, 1, 4}, {1, 3, 4}, {3, 0, 4}, {2, 0, 5}, {1, 2, 5}, {3, 1, 5}, {0, 3, 5}}
	sc := vec{rx, ry, rz}
	for _, f := range faces {
		m.sphereFace(c, sc, o[f[0]], o[f[1]], o[f[2]], depth)
	}
}

func (m *mesh) sphereFace(c, sc, a, b, d vec, depth int) {
	if depth == 0 {
		s := func(p vec) vec { return vec{c.X + sc.X*p.X, c.Y + sc.Y*p.Y, c.Z + sc.Z*p.Z} }
		m.tri(s(a), s(b), s(d))
		return
	}
	ab, bd, da := a.add(b).unit(), b.add(d).unit(), d.add(a).unit()
	m.sphereFace(c, sc, a, ab, da, depth-1)
	m.sphereFace(c, sc, ab, b, bd, depth-1)
	m.sphereFace(c, sc, da, bd, d, depth-1)
	m.sphereFace(c, sc, ab, bd, da, depth-1)
}
