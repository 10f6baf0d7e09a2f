package raster

import (
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Camera is what projecting lidar points into an image needs: the pinhole
// intrinsics and the lidar→camera transform (camera point = LidarToCam ·
// lidar point; camera x right, y down, z forward). For a sensors/calib
// Camera pass its Intrinsics and Extrinsics.Transform; from a datamap, the
// values under DS3D::CamN_IntrinsicMatrix and DS3D::LidarToCamN_ExtrinsicMatrix.
type Camera struct {
	Intrinsics ds3d.Intrinsics
	LidarToCam ds3d.Mat4
}

// CameraOptions configure DrawCamera.
type CameraOptions struct {
	Points PointStyle // ColorBy "" is depth
	Boxes  BoxStyle
	// Near is the near plane in metres along the optical axis: points
	// closer are dropped and box edges are clipped there; ≤ 0 is 0.1.
	Near float64
	// Depth, when it holds at least one value per pixel of the image,
	// depth-tests the points (nearest wins, as gl_render's z-buffer):
	// DrawCamera resets it to +Inf and keeps each pixel's camera depth in
	// it, row by row. Nil draws points in the order given.
	Depth []float32
}

// DefaultCameraOptions colour points by depth (0–60 m, near red), 2-pixel
// points and boxes, labels on.
func DefaultCameraOptions() CameraOptions {
	return CameraOptions{
		Points: PointStyle{ColorBy: ColorDepth, Color: color.RGBA{0, 255, 0, 255}, Size: 2},
		Boxes:  BoxStyle{Thickness: 2, Labels: true, Scores: true, LabelScale: 1},
		Near:   0.1,
	}
}

// projector is P = K·T unpacked: w = row2·p is the depth, (u, v) =
// (row0·p, row1·p)/w.
type projector struct {
	r0, r1, r2 [4]float64
	near       float64
	ox, oy     float64 // the image's Rect.Min: a sub-image draws at its own place
}

func newProjector(cam *Camera, near float64) projector {
	k, t := &cam.Intrinsics, &cam.LidarToCam
	var p projector
	for c := 0; c < 4; c++ {
		p.r0[c] = k.Fx*t[c] + k.Skew*t[4+c] + k.Cx*t[8+c]
		p.r1[c] = k.Fy*t[4+c] + k.Cy*t[8+c]
		p.r2[c] = t[8+c]
	}
	p.near = near
	if !(p.near > 0) {
		p.near = 0.1
	}
	return p
}

// toCam maps a lidar point to (u·w, v·w, w).
func (p *projector) toCam(x, y, z float64) (float64, float64, float64) {
	return p.r0[0]*x + p.r0[1]*y + p.r0[2]*z + p.r0[3],
		p.r1[0]*x + p.r1[1]*y + p.r1[2]*z + p.r1[3],
		p.r2[0]*x + p.r2[1]*y + p.r2[2]*z + p.r2[3]
}

// DrawCamera draws lidar points pts ([N, Stride] float32, lidar frame) and
// the boxes' wireframes (12 edges, plus a cross on the front face) over the
// picture already in img, projected through cam as the package doc states.
// Box edges are clipped at the near plane in the camera frame before
// projection. It allocates nothing.
func DrawCamera(img *image.RGBA, pts []float32, boxes []ds3d.Box3D, cam Camera, o *CameraOptions) {
	if img.Rect.Empty() {
		return
	}
	p := newProjector(&cam, o.Near)
	p.ox, p.oy = float64(img.Rect.Min.X), float64(img.Rect.Min.Y)
	if !o.Points.Hide {
		var depth []float32
		if n := img.Rect.Dx() * img.Rect.Dy(); len(o.Depth) >= n {
			depth = o.Depth[:n]
			for i := range depth {
				depth[i] = float32(math.Inf(1))
			}
		}
		drawCameraPoints(img, pts, &o.Points, &p, depth)
	}
	var buf [96]byte
	for i := range boxes {
		b := &boxes[i]
		c := draw.BoxColor(b.Color, b.ClassID, o.Boxes.Palette)
		cs := b.Corners()
		var cc [8][3]float64
		for k, v := range cs {
			cc[k][0], cc[k][1], cc[k][2] = p.toCam(v.X, v.Y, v.Z)
		}
		th := max(o.Boxes.Thickness, 1)
		for _, e := range boxEdges {
			p.edge(img, cc[e[0]], cc[e[1]], th, c)
		}
		if o.Boxes.Labels {
			left, top, ok := math.Inf(1), math.Inf(1), false
			for _, q := range cc {
				if q[2] >= p.near {
					left, top, ok = math.Min(left, q[0]/q[2]), math.Min(top, q[1]/q[2]), true
				}
			}
			if ok && draw.Finite(left, top) && math.Abs(left) < 1<<20 && math.Abs(top) < 1<<20 {
				sc := max(o.Boxes.LabelScale, 1)
				draw.Text(img, int(math.Floor(left+0.5+p.ox)), int(math.Floor(top+0.5+p.oy))-draw.CellHeight*sc-th, labelText(buf[:0], b, o.Boxes.Scores), sc, c)
			}
		}
	}
}

// boxEdges are the 12 edges of Box3D.Corners (bottom, top, verticals) and
// the front face's two diagonals (corners 0, 3, 4, 7 are at +x, the heading).
var boxEdges = [...][2]int{
	{0, 1}, {1, 2}, {2, 3}, {3, 0},
	{4, 5}, {5, 6}, {6, 7}, {7, 4},
	{0, 4}, {1, 5}, {2, 6}, {3, 7},
	{0, 7}, {3, 4},
}

// edge draws the segment between two points given as (u·w, v·w, w), clipped
// to w ≥ near (linear in the camera frame, where the homogeneous
// coordinates are linear too).
func (p *projector) edge(img *image.RGBA, a, b [3]float64, th int, c color.RGBA) {
	if math.IsNaN(a[2]) || math.IsNaN(b[2]) || (a[2] < p.near && b[2] < p.near) {
		return
	}
	if a[2] < p.near {
		a, b = b, a
	}
	if b[2] < p.near {
		t := (a[2] - p.near) / (a[2] - b[2])
		for k := 0; k < 3; k++ {
			b[k] = a[k] + t*(b[k]-a[k])
		}
		b[2] = p.near
	}
	// Pixel centres are at integers: shift by ½ so that line's ⌊·⌋ rounds.
	draw.Line(img, a[0]/a[2]+0.5+p.ox, a[1]/a[2]+0.5+p.oy, b[0]/b[2]+0.5+p.ox, b[1]/b[2]+0.5+p.oy, th, c)
}

// drawCameraPoints projects and paints each point in front of the camera.
func drawCameraPoints(img *image.RGBA, pts []float32, s *PointStyle, p *projector, depth []float32) {
	stride := s.Stride
	if stride <= 0 {
		stride = 4
	}
	if stride < 3 {
		return
	}
	pc := newPointColorer(s, ColorDepth)
	wf, hf := float64(img.Rect.Dx()), float64(img.Rect.Dy())
	ox, oy := img.Rect.Min.X, img.Rect.Min.Y
	n := len(pts) / stride
	for i := 0; i < n; i++ {
		q := pts[i*stride : i*stride+stride : i*stride+stride]
		x, y, z := float64(q[0]), float64(q[1]), float64(q[2])
		uw, vw, w := p.toCam(x, y, z)
		if !(w >= p.near) {
			continue
		}
		u, v := uw/w+0.5, vw/w+0.5
		if !(u >= 0 && u < wf && v >= 0 && v < hf) {
			continue
		}
		var in float32
		if stride >= 4 {
			in = q[3]
		}
		c := pc.color(q[0], q[1], q[2], in, float32(w))
		if depth != nil {
			depthSquare(img, depth, int(u), int(v), s.Size, float32(w), c)
			continue
		}
		if s.Size <= 1 {
			j := int(v)*img.Stride + int(u)*4
			d := img.Pix[j : j+4 : j+4]
			d[0], d[1], d[2], d[3] = c.R, c.G, c.B, 255
		} else {
			draw.Square(img, int(u)+ox, int(v)+oy, s.Size, c)
		}
	}
}

// FrameImage is an RGB or RGBA u8 image frame's pixels: H rows of W
// pixels of Ch bytes, rows Pitch bytes apart.
type FrameImage struct {
	Data            []byte
	W, H, Pitch, Ch int
}

// FrameImageOf checks that f is a CPU RGB or RGBA u8 image frame whose rows
// fit its bytes and returns its pixels without copying them.
func FrameImageOf(f *ds3d.Frame) (FrameImage, error) {
	if f == nil {
		return FrameImage{}, fmt.Errorf("raster: no image frame")
	}
	if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) {
		return FrameImage{}, fmt.Errorf("raster: image frame must be a CPU rgb or rgba u8 frame, not %s %s (%s)", f.Type, f.DType, f.Mem)
	}
	pl := f.Plane
	ch := 3
	if f.Type == ds3d.FrameColorRGBA {
		ch = 4
	}
	if pl.Width <= 0 || pl.Height <= 0 {
		if f.Shape.NumDims == 3 {
			pl.Height, pl.Width = f.Shape.D[0], f.Shape.D[1]
		}
	}
	if pl.Pitch == 0 {
		pl.Pitch = pl.Width * ch
	}
	if pl.Width <= 0 || pl.Height <= 0 || pl.Width > maxSide || pl.Height > maxSide || pl.Pitch < pl.Width*ch || len(f.Data) < pl.Pitch*(pl.Height-1)+pl.Width*ch {
		return FrameImage{}, fmt.Errorf("raster: image frame %dx%d pitch %d does not fit its %d bytes", pl.Width, pl.Height, pl.Pitch, len(f.Data))
	}
	return FrameImage{Data: f.Data, W: pl.Width, H: pl.Height, Pitch: pl.Pitch, Ch: ch}, nil
}

// depthSquare paints the pixels of square's size×size square at (x, y)
// (image-relative) whose depth is greater than d.
func depthSquare(img *image.RGBA, depth []float32, x, y, size int, d float32, c color.RGBA) {
	size = max(size, 1)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	x0, y0 := max(x-(size-1)/2, 0), max(y-(size-1)/2, 0)
	x1, y1 := min(x-(size-1)/2+size, w), min(y-(size-1)/2+size, h)
	for yy := y0; yy < y1; yy++ {
		row := depth[yy*w : yy*w+w]
		pix := img.Pix[yy*img.Stride:]
		for xx := x0; xx < x1; xx++ {
			if d < row[xx] {
				row[xx] = d
				q := pix[xx*4 : xx*4+4 : xx*4+4]
				q[0], q[1], q[2], q[3] = c.R, c.G, c.B, 255
			}
		}
	}
}

// CopyFrame copies an RGB or RGBA u8 image frame (ds3d.FrameColorRGB/RGBA,
// rows Plane.Pitch bytes apart) into an opaque RGBA image, reusing dst when
// it has the frame's size.
func CopyFrame(dst *image.RGBA, f *ds3d.Frame) (*image.RGBA, error) {
	fi, err := FrameImageOf(f)
	if err != nil {
		return dst, err
	}
	ch := fi.Ch
	dst = draw.EnsureRGBA(dst, fi.W, fi.H)
	for y := 0; y < fi.H; y++ {
		src := fi.Data[y*fi.Pitch : y*fi.Pitch+fi.W*ch]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+fi.W*4]
		if ch == 4 {
			copy(d, src)
			for i := 3; i < len(d); i += 4 {
				d[i] = 255
			}
			continue
		}
		for i, j := 0, 0; i < len(src); i, j = i+3, j+4 {
			d[j], d[j+1], d[j+2], d[j+3] = src[i], src[i+1], src[i+2], 255
		}
	}
	return dst, nil
}

// CopyImage draws any image (a decoded PNG or JPEG) into an RGBA image of its
// size, reusing dst when it has that size; the origin moves to (0, 0).
func CopyImage(dst *image.RGBA, src image.Image) *image.RGBA {
	b := src.Bounds()
	dst = draw.EnsureRGBA(dst, b.Dx(), b.Dy())
	stddraw.Draw(dst, dst.Rect, src, b.Min, stddraw.Src)
	return dst
}
