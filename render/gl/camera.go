package gl

import "math"

// mat4 is a 4×4 matrix in OpenGL's column-major order: element (row r,
// column c) is m[c*4+r], so clip = M·[x y z 1]ᵀ. It is float64 on the CPU
// and converted to float32 only when handed to a shader.
type mat4 [16]float64

// mul returns a·b (b applied first).
func (a mat4) mul(b mat4) mat4 {
	var o mat4
	for c := 0; c < 4; c++ {
		for r := 0; r < 4; r++ {
			var s float64
			for k := 0; k < 4; k++ {
				s += a[k*4+r] * b[c*4+k]
			}
			o[c*4+r] = s
		}
	}
	return o
}

// float32s converts m into dst for glUniformMatrix4fv (column-major, no
// transpose).
func (m *mat4) float32s(dst *[16]float32) {
	for i, v := range m {
		dst[i] = float32(v)
	}
}

// project maps p through the clip matrix m to window coordinates of a
// w×h viewport (origin bottom-left, pixel centres at half-integers, as
// glViewport does); ok is false when p is behind the camera (clip w ≤ 0).
func (m *mat4) project(p [3]float64, w, h int) (xw, yw float64, ok bool) {
	x := m[0]*p[0] + m[4]*p[1] + m[8]*p[2] + m[12]
	y := m[1]*p[0] + m[5]*p[1] + m[9]*p[2] + m[13]
	cw := m[3]*p[0] + m[7]*p[1] + m[11]*p[2] + m[15]
	if !(cw > 0) {
		return 0, 0, false
	}
	return (x/cw + 1) / 2 * float64(w), (y/cw + 1) / 2 * float64(h), true
}

func sub3(a, b [3]float64) [3]float64 { return [3]float64{a[0] - b[0], a[1] - b[1], a[2] - b[2]} }
func add3(a, b [3]float64) [3]float64 { return [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]} }
func scale3(a [3]float64, s float64) [3]float64 {
	return [3]float64{a[0] * s, a[1] * s, a[2] * s}
}
func dot3(a, b [3]float64) float64 { return a[0]*b[0] + a[1]*b[1] + a[2]*b[2] }
func norm3(a [3]float64) float64   { return math.Sqrt(dot3(a, a)) }
func cross3(a, b [3]float64) [3]float64 {
	return [3]float64{a[1]*b[2] - a[2]*b[1], a[2]*b[0] - a[0]*b[2], a[0]*b[1] - a[1]*b[0]}
}
func unit3(a [3]float64) [3]float64 { return scale3(a, 1/norm3(a)) }

// lookAt is gluLookAt: with f = (target − eye)/|target − eye|,
// s = f×up/|f×up| and u = s×f, the view matrix has rows (s, −s·eye),
// (u, −u·eye), (−f, f·eye), (0, 0, 0, 1): the camera sits at the origin
// looking down −z with u up and s to the right.
func lookAt(eye, target, up [3]float64) mat4 {
	f := unit3(sub3(target, eye))
	s := unit3(cross3(f, up))
	u := cross3(s, f)
	var m mat4
	for i := 0; i < 3; i++ {
		m[i*4+0], m[i*4+1], m[i*4+2] = s[i], u[i], -f[i]
	}
	m[12], m[13], m[14], m[15] = -dot3(s, eye), -dot3(u, eye), dot3(f, eye), 1
	return m
}

// perspective is gluPerspective: vertical field of view fovy (degrees),
// aspect = width/height, near and far planes n < f. With t = 1/tan(fovy/2),
// rows (t/aspect, 0, 0, 0), (0, t, 0, 0), (0, 0, (f+n)/(n−f), 2fn/(n−f)),
// (0, 0, −1, 0).
func perspective(fovy, aspect, n, f float64) mat4 {
	t := 1 / math.Tan(fovy*math.Pi/360)
	var m mat4
	m[0] = t / aspect
	m[5] = t
	m[10] = (f + n) / (n - f)
	m[11] = -1
	m[14] = 2 * f * n / (n - f)
	return m
}

// bevDepth is the half-height of the z slab a BEV keeps: |z| ≤ bevDepth
// metres; higher points are nearer the (overhead) viewer.
const bevDepth = 500

// bevOrtho maps the lidar frame to clip space so that a w×h viewport shows
// x ∈ xr (up) and y ∈ yr (left) by render/raster's BEV convention: window
// x_w = (y_max − y)/res_u and row-from-the-top h − y_w = (x_max − x)/res_v
// with res_u = (y_max − y_min)/w, res_v = (x_max − x_min)/h. Hence
// ndc_x = 2(y_max − y)/(y_max − y_min) − 1, ndc_y = 2(x − x_min)/(x_max − x_min) − 1,
// ndc_z = −z/bevDepth.
func bevOrtho(xr, yr [2]float64) mat4 {
	var m mat4
	dx, dy := xr[1]-xr[0], yr[1]-yr[0]
	m[4] = -2 / dy // ndc_x from y
	m[12] = 2*yr[1]/dy - 1
	m[1] = 2 / dx // ndc_y from x
	m[13] = -2*xr[0]/dx - 1
	m[10] = -1.0 / bevDepth
	m[15] = 1
	return m
}

// frontOrtho maps the lidar frame to clip space for the front view: looking
// along +x from behind, y ∈ yr across (left, +y, on the left), z ∈ zr up,
// x ∈ xr the depth slab (smaller x nearer the viewer):
// ndc_x = 2(y_max − y)/(y_max − y_min) − 1, ndc_y = 2(z − z_min)/(z_max − z_min) − 1,
// ndc_z = 2(x − x_min)/(x_max − x_min) − 1.
func frontOrtho(xr, yr, zr [2]float64) mat4 {
	var m mat4
	dx, dy, dz := xr[1]-xr[0], yr[1]-yr[0], zr[1]-zr[0]
	m[4] = -2 / dy // ndc_x from y
	m[12] = 2*yr[1]/dy - 1
	m[9] = 2 / dz // ndc_y from z
	m[13] = -2*zr[0]/dz - 1
	m[2] = 2 / dx // ndc_z from x
	m[14] = -2*xr[0]/dx - 1
	m[15] = 1
	return m
}

// orbit is the interactive camera: a perspective camera orbiting target at
// distance dist with azimuth az (radians about +z from +x, of the eye seen
// from the target) and elevation el, or a BEV window over xr × yr.
type orbit struct {
	target       [3]float64
	dist, az, el float64
	up           [3]float64
	xr, yr       [2]float64
}

func newOrbit(c *Config) orbit {
	o := orbit{target: c.ViewTarget, up: c.ViewUp, xr: c.XRange, yr: c.YRange}
	d := sub3(c.ViewPosition, c.ViewTarget)
	o.dist = norm3(d)
	if o.dist > 0 {
		o.az = math.Atan2(d[1], d[0])
		o.el = math.Asin(math.Max(-1, math.Min(1, d[2]/o.dist)))
	}
	return o
}

// eye returns the camera position. Only used once the user moved the view:
// the configured view_position is used exactly until then.
func (o *orbit) eye() [3]float64 {
	ce := math.Cos(o.el)
	return add3(o.target, [3]float64{o.dist * ce * math.Cos(o.az), o.dist * ce * math.Sin(o.az), o.dist * math.Sin(o.el)})
}

// rotate turns the eye about the target; the elevation stays within ±89°.
func (o *orbit) rotate(daz, del float64) {
	o.az += daz
	o.el = math.Max(-1.55, math.Min(1.55, o.el+del))
}

// pan moves the target (and eye) by dx, dy in screen directions, in units of
// the distance (perspective) or of the view size (BEV).
func (o *orbit) pan(bev bool, dx, dy float64) {
	if bev {
		sx, sy := (o.yr[1]-o.yr[0])*dx, (o.xr[1]-o.xr[0])*dy
		o.yr[0], o.yr[1] = o.yr[0]+sx, o.yr[1]+sx
		o.xr[0], o.xr[1] = o.xr[0]+sy, o.xr[1]+sy
		return
	}
	f := unit3(sub3(o.target, o.eye()))
	s := unit3(cross3(f, o.up))
	u := cross3(s, f)
	o.target = add3(o.target, add3(scale3(s, -dx*o.dist), scale3(u, dy*o.dist)))
}

// zoom scales the distance (perspective) or the ranges about their centre
// (BEV) by k.
func (o *orbit) zoom(bev bool, k float64) {
	if !bev {
		o.dist = math.Max(0.5, o.dist*k)
		return
	}
	for _, r := range []*[2]float64{&o.xr, &o.yr} {
		c, h := (r[0]+r[1])/2, (r[1]-r[0])/2*k
		r[0], r[1] = c-h, c+h
	}
}
