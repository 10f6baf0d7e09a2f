package synth

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"gonum.org/v1/gonum/spatial/r3"
)

// kittiCalib is the calibration of KITTI object training frame 000000
// (calib/000000.txt of the object benchmark): the generated frames use it
// for every camera and label, so they line up with KITTI tools.
const kittiCalib = `P0: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 0.000000000000e+00 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 0.000000000000e+00
P1: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 -3.797842000000e+02 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 0.000000000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 0.000000000000e+00
P2: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 4.575831000000e+01 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 -3.454157000000e-01 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 4.981016000000e-03
P3: 7.070493000000e+02 0.000000000000e+00 6.040814000000e+02 -3.341081000000e+02 0.000000000000e+00 7.070493000000e+02 1.805066000000e+02 2.330660000000e+00 0.000000000000e+00 0.000000000000e+00 1.000000000000e+00 3.201153000000e-03
R0_rect: 9.999128000000e-01 1.009263000000e-02 -8.511932000000e-03 -1.012729000000e-02 9.999406000000e-01 -4.037671000000e-03 8.470675000000e-03 4.123522000000e-03 9.999556000000e-01
Tr_velo_to_cam: 6.927964000000e-03 -9.999722000000e-01 -2.757829000000e-03 -2.457729000000e-02 -1.162982000000e-03 2.749836000000e-03 -9.999955000000e-01 -6.127237000000e-02 9.999753000000e-01 6.931141000000e-03 -1.143899000000e-03 -3.321029000000e-01
Tr_imu_to_velo: 9.999976000000e-01 7.553071000000e-04 -2.035826000000e-03 -8.086759000000e-01 -7.854027000000e-04 9.998898000000e-01 -1.482298000000e-02 3.195559000000e-01 2.024406000000e-03 1.482454000000e-02 9.998881000000e-01 -7.997231000000e-01
`

// Image size of KITTI's image_2.
const (
	ImageWidth  = 1242
	ImageHeight = 375
)

// KITTICalib returns the calibration every generated frame uses, and its
// calib file text.
func KITTICalib() (*calib.KITTI, string) {
	c, err := calib.ParseKITTI(strings.NewReader(kittiCalib), "synth kitti calib")
	if err != nil {
		panic(fmt.Sprintf("synth: built-in calibration: %v", err)) // a constant: cannot fail
	}
	return c, kittiCalib
}

// Camera renders a pinhole camera of a KITTI calibration by ray casting.
type Camera struct {
	Width, Height int
	// k is P's intrinsics, centre the camera centre and rot the
	// rectified-camera-to-lidar rotation.
	fx, fy, cx, cy float64
	centre         vec
	rot            [9]float64
}

// NewCamera returns camera cam (2 = image_2) of calibration c.
func NewCamera(c *calib.KITTI, cam int) (*Camera, error) {
	p := c.P[cam]
	if p[0] == 0 || p[5] == 0 {
		return nil, fmt.Errorf("synth: camera P%d has zero focal length", cam)
	}
	rectToVelo, err := c.VeloToRect().Inverse()
	if err != nil {
		return nil, fmt.Errorf("synth: calibration: %w", err)
	}
	k := &Camera{Width: ImageWidth, Height: ImageHeight, fx: p[0], fy: p[5], cx: p[2], cy: p[6]}
	// P = K·[I | t]: t = K⁻¹·p4, and the centre is −t in the rectified
	// frame.
	tz := p[11]
	tx := (p[3] - k.cx*tz) / k.fx
	ty := (p[7] - k.cy*tz) / k.fy
	m := rectToVelo
	a := m.Apply(vecR3(vec{-tx, -ty, -tz}))
	k.centre = vec{a.X, a.Y, a.Z}
	k.rot = [9]float64{m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10]}
	return k, nil
}

// ray returns pixel (u, v)'s ray in the lidar frame (unit direction) and
// the ray's length per metre of depth along the optical axis.
func (k *Camera) ray(u, v float64) (o, d vec, perDepth float64) {
	x, y := (u-k.cx)/k.fx, (v-k.cy)/k.fy
	r := k.rot
	d = vec{r[0]*x + r[1]*y + r[2], r[3]*x + r[4]*y + r[5], r[6]*x + r[7]*y + r[8]}
	n := d.norm()
	return k.centre, d.scale(1 / n), n
}

// Render is a rendered camera frame: colour and depth (metres along the
// optical axis; 0 where nothing is within range).
type Render struct {
	RGB   *image.RGBA
	Depth []float32
	// Owner is each pixel's object index + 1 (0: the world).
	Owner []int32
}

// DepthImage returns the depth as 16-bit millimetres (0 = none, the
// convention of the RGB-D loaders).
func (r *Render) DepthImage() *image.Gray16 {
	b := r.RGB.Bounds()
	g := image.NewGray16(b)
	for i, d := range r.Depth {
		mm := math.Round(float64(d) * 1000)
		if mm > 65535 {
			mm = 0
		}
		g.Pix[2*i], g.Pix[2*i+1] = uint8(uint16(mm)>>8), uint8(mm)
	}
	return g
}

// Render casts one ray per pixel at frame time t from lidar pose p:
// Lambert shading under a fixed sun plus ambient light, a sky gradient,
// lane markings and object colours.
func (s *Scene) Render(k *Camera, p Pose, t float64) *Render {
	dyn := s.dynamic(t, p, 150, nil)
	w, h := k.Width, k.Height
	out := &Render{RGB: image.NewRGBA(image.Rect(0, 0, w, h)), Depth: make([]float32, w*h), Owner: make([]int32, w*h)}
	sun := vec{-0.4, 0.3, 0.85}.unit()
	xf := p.xform()
	for v := 0; v < h; v++ {
		for u := 0; u < w; u++ {
			o, d, per := k.ray(float64(u)+0.5, float64(v)+0.5)
			wo, wd := xf.apply(o), rotate(xf, d)
			dist, mat, nrm, owner := s.castOwner(wo, wd, 150, dyn)
			i := v*w + u
			var c [3]float64
			if dist >= 150 {
				// Sky: lighter towards the horizon.
				e := math.Max(0, wd.Z)
				c = [3]float64{0.55 - 0.3*e, 0.70 - 0.25*e, 0.95 - 0.1*e}
			} else {
				base := materials[mat].rgb
				if owner > 0 && mat == MatCarBody {
					base = s.Objects[owner-1].colour
				}
				if mat == MatRoad && onMarking(wo.add(wd.scale(dist))) {
					base = [3]float64{0.9, 0.9, 0.88}
				}
				lam := math.Abs(nrm.dot(sun))
				// Haze with distance.
				f := math.Exp(-dist / 400)
				for j := range c {
					c[j] = f*base[j]*(0.35+0.75*lam) + (1-f)*0.7
				}
				out.Depth[i] = float32(dist / per)
				out.Owner[i] = owner
			}
			out.RGB.SetRGBA(u, v, color.RGBA{srgb(c[0]), srgb(c[1]), srgb(c[2]), 255})
		}
	}
	return out
}

func rotate(x xform, d vec) vec {
	return vec{x.R[0]*d.X + x.R[1]*d.Y + x.R[2]*d.Z, x.R[3]*d.X + x.R[4]*d.Y + x.R[5]*d.Z, x.R[6]*d.X + x.R[7]*d.Y + x.R[8]*d.Z}
}

// srgbLUT encodes linear values in 1/4095 steps (finer than 8-bit sRGB
// needs); a table keeps math.Pow out of the per-pixel loop.
var srgbLUT = func() (t [4096]uint8) {
	for i := range t {
		v := float64(i) / 4095
		if v <= 0.0031308 {
			v *= 12.92
		} else {
			v = 1.055*math.Pow(v, 1/2.4) - 0.055
		}
		t[i] = uint8(math.Round(v * 255))
	}
	return t
}()

// srgb encodes a linear value.
func srgb(v float64) uint8 {
	v = math.Max(0, math.Min(1, v))
	return srgbLUT[int(v*4095+0.5)]
}

func vecR3(v vec) r3.Vec { return r3.Vec{X: v.X, Y: v.Y, Z: v.Z} }
