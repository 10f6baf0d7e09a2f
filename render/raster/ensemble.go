package raster

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/layout"
)

// Views of a lidar3d_render tile that raster_render draws.
const (
	ViewBEV   = "bev"   // top view, the package doc's BEV convention
	ViewFront = "front" // orthographic view along +x from behind: y across (left on the left), z up
)

// tile is a render_graph tile resolved against the top-level config, with
// the state it reuses from frame to frame.
type tile struct {
	title            string
	texture, project bool
	view             string // lidar3d_render without projection: bev or front
	frameKey         ds3d.Key
	intrKey, extKey  ds3d.Key
	lidarKey, boxKey ds3d.Key
	imgW, imgH       int
	rect             image.Rectangle
	sub              image.RGBA // the tile's part of the picture (a sub-image kept between frames)

	cam   CameraOptions
	bev   BEVOptions
	front frontOptions
	scale scaleTable
}

// resolveTile fills in a tile's values from the top-level config, as
// gl_render does: a key left empty (a number left 0) takes the top-level's.
func (c *RenderConfig) resolveTile(l *layout.Tile) *tile {
	t := &tile{
		title: l.Title, texture: l.Type == layout.Texture3D, project: l.ProjectLidarToImage,
		frameKey: ds3d.Key(l.TextureFrameKey), intrKey: ds3d.Key(l.IntrinsicsKey), extKey: ds3d.Key(l.ExtrinsicsKey),
		lidarKey: ds3d.Key(layout.Or(l.LidarKey, c.LidarKey)), boxKey: ds3d.Key(layout.Or(l.BoxKey, c.BoxKey)),
		imgW: l.ImageWidth, imgH: l.ImageHeight,
	}
	x, y, w, h := layout.PixelRect(l.Layout, c.WindowWidth, c.WindowHeight)
	t.rect = image.Rect(x, y, x+w, y+h)
	ps := PointStyle{ColorBy: ColorMode(c.ColorBy), ValueRange: c.ValueRange, Color: rgb(layout.Or(l.LidarColor, c.LidarColor)), Size: c.PointSize}
	if l.PointSize > 0 {
		ps.Size = max(int(math.Round(l.PointSize)), 1)
	}
	if l.ColorBy != "" {
		ps.ColorBy = ColorMode(l.ColorBy)
	} else if t.project {
		ps.ColorBy = ColorDepth
	}
	if l.ValueRange != ([2]float64{}) {
		ps.ValueRange = l.ValueRange
	} else if string(ps.ColorBy) != c.ColorBy {
		ps.ValueRange = [2]float64{} // another mode than the top level's: the mode's default range
	}
	bs := c.boxStyle()
	bs.Labels = c.Labels && !l.NoLabels
	t.cam = CameraOptions{Points: ps, Boxes: bs, Near: layout.Or(l.PerspectiveNear, c.Near)}
	t.view = layout.Or(l.View, ViewBEV)
	xr, yr, zr := layout.Or(l.XRange, c.XRange), layout.Or(l.YRange, c.YRange), layout.Or(l.ZRange, c.ZRange)
	t.bev = BEVOptions{
		XRange: xr, YRange: yr, Width: w, Height: h,
		Points: ps, Boxes: bs, Background: rgb(c.ColorClear),
		GridStep: c.GridStep, GridColor: rgb(c.GridColor), Ego: c.EgoMarker, EgoColor: color.RGBA{255, 255, 255, 255},
	}
	t.front = frontOptions{XRange: xr, YRange: yr, ZRange: zr, Points: ps, Boxes: bs, Background: rgb(c.ColorClear)}
	return t
}

// checkGraph checks the render_graph: render/layout's checks, then what
// raster_render can draw.
func (c *RenderConfig) checkGraph() error {
	if len(c.RenderGraph) == 0 {
		return nil
	}
	for i := range c.RenderGraph {
		l := &c.RenderGraph[i]
		p := fmt.Sprintf("render_graph[%d].", i)
		if err := l.Check(p, c.WindowWidth, c.WindowHeight); err != nil {
			return err
		}
		name := l.Title
		if name == "" {
			name = l.Type
		}
		t := c.resolveTile(l)
		switch m := t.cam.Points.ColorBy; m {
		case ColorDepth:
			if !t.project {
				return ds3d.ConfigErrorf(p+"color_by", "tile %q: depth colours need project_lidar_to_image (a camera's depth); use range", name)
			}
		case "rgb": // the tile's enum is gl_render's
			return ds3d.ConfigErrorf(p+"color_by", "tile %q: raster_render colours by intensity, height, range, depth or fixed, got %q", name, m)
		}
		if vr := t.cam.Points.ValueRange; vr != ([2]float64{}) && !(vr[1] > vr[0] && !math.IsInf(vr[1]-vr[0], 0)) {
			return ds3d.ConfigErrorf(p+"value_range", "tile %q: must be [low, high] with low < high, got %v", name, vr)
		}
		if l.Type != layout.Lidar3D || t.project {
			continue
		}
		rs := []struct {
			key string
			v   [2]float64
		}{{"x_range", t.bev.XRange}, {"y_range", t.bev.YRange}}
		switch t.view {
		case ViewBEV:
		case ViewFront:
			rs = append(rs, struct {
				key string
				v   [2]float64
			}{"z_range", t.front.ZRange})
		default: // perspective (the tile's enum is gl_render's)
			return ds3d.ConfigErrorf(p+"view", "tile %q: raster_render draws no perspective view; use \"bev\" or \"front\" (or gl_render)", name)
		}
		for _, r := range rs {
			if !(r.v[1] > r.v[0]) || math.IsInf(r.v[1]-r.v[0], 0) {
				return ds3d.ConfigErrorf(p+r.key, "tile %q: must be [min, max] with min < max, got %v", name, r.v)
			}
		}
	}
	return nil
}

// drawEnsemble draws every tile of the render_graph into r.img
// (window_width × window_height, background color_clear).
func (r *Renderer) drawEnsemble(in *ds3d.DataMap) error {
	c := &r.cfg
	if r.img == nil {
		r.img = image.NewRGBA(image.Rect(0, 0, c.WindowWidth, c.WindowHeight))
		for _, t := range r.tiles {
			t.sub = *r.img.SubImage(t.rect).(*image.RGBA)
		}
	}
	draw.Fill(r.img, rgb(c.ColorClear))
	an, err := r.analytics(in)
	if err != nil {
		return err
	}
	r.an = an
	for _, t := range r.tiles {
		if err := r.drawTile(in, t); err != nil {
			return err
		}
	}
	return nil
}

func (r *Renderer) drawTile(in *ds3d.DataMap, t *tile) error {
	img := &t.sub
	var (
		pts    []float32
		stride int
		boxes  []ds3d.Box3D
		fi     FrameImage
		haveFI bool
	)
	if t.texture {
		f, ok, err := lookup[*ds3d.Frame](r, in, t.frameKey, "camera image")
		if err != nil {
			return fmt.Errorf("%s: %w", t.frameKey, err)
		}
		if ok {
			if fi, err = FrameImageOf(f); err != nil {
				return fmt.Errorf("%s: %w", t.frameKey, err)
			}
			haveFI = true
			t.scale.draw(img, &fi)
		}
	}
	if t.texture && !t.project {
		r.drawTitle(t)
		return nil
	}
	if t.lidarKey != "" {
		f, ok, err := lookup[*ds3d.Frame](r, in, t.lidarKey, "lidar frame")
		if err != nil {
			return fmt.Errorf("%s: %w", t.lidarKey, err)
		}
		if ok {
			if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || f.Shape.D[1] < 3 || f.Shape.D[1] > 64 {
				return fmt.Errorf("%s: want a CPU [N,C] f32 frame with 3 ≤ C ≤ 64 (x, y, z, intensity, …), got %s %s (%s)", t.lidarKey, f.DType, f.Shape, f.Mem)
			}
			stride = f.Shape.D[1]
			pts = ds3d.AsFloat32(f)[:f.Shape.D[0]*stride]
		}
	}
	if t.boxKey != "" {
		b, _, err := lookup[[]ds3d.Box3D](r, in, t.boxKey, "boxes")
		if err != nil {
			return fmt.Errorf("%s: %w", t.boxKey, err)
		}
		boxes = b
	}
	switch {
	case t.project:
		intr, ok1, err := lookup[ds3d.Intrinsics](r, in, t.intrKey, "camera intrinsics")
		if err != nil {
			return fmt.Errorf("%s: %w", t.intrKey, err)
		}
		ext, ok2, err := lookup[ds3d.Mat4](r, in, t.extKey, "lidar→camera extrinsics")
		if err != nil {
			return fmt.Errorf("%s: %w", t.extKey, err)
		}
		if !ok1 || !ok2 {
			break
		}
		// The image the calibration belongs to: the texture's size, else
		// image_width/height, else the intrinsics'.
		iw, ih := layout.Or(t.imgW, intr.Width), layout.Or(t.imgH, intr.Height)
		if haveFI {
			iw, ih = fi.W, fi.H
		}
		if iw <= 0 || ih <= 0 {
			r.warn(t.intrKey, "no image size for the projection (no texture, image_width/height or intrinsics size)")
			break
		}
		// Scale the pinhole into the tile: pixel centres sit at integers,
		// so u_tile + ½ = (u + ½)·sx.
		sx, sy := float64(img.Rect.Dx())/float64(iw), float64(img.Rect.Dy())/float64(ih)
		k := intr
		k.Fx, k.Skew, k.Cx = intr.Fx*sx, intr.Skew*sx, (intr.Cx+0.5)*sx-0.5
		k.Fy, k.Cy = intr.Fy*sy, (intr.Cy+0.5)*sy-0.5
		t.cam.Points.Stride = stride
		if n := img.Rect.Dx() * img.Rect.Dy(); len(t.cam.Depth) < n {
			t.cam.Depth = make([]float32, n)
		}
		DrawCamera(img, pts, boxes, Camera{Intrinsics: k, LidarToCam: ext}, &t.cam)
		if r.an != nil {
			DrawAnalyticsCamera(img, r.an, Camera{Intrinsics: k, LidarToCam: ext}, t.cam.Near, r.cfg.GroundZ, r.overlay, false)
		}
	case t.view == ViewFront:
		t.front.Points.Stride = stride
		drawFront(img, pts, boxes, &t.front)
	default:
		t.bev.Points.Stride = stride
		DrawBEV(img, pts, boxes, &t.bev)
		if r.an != nil {
			DrawAnalyticsBEV(img, r.an, &t.bev, r.overlay, false)
		}
	}
	r.drawTitle(t)
	return nil
}

// drawTitle writes the tile's title at its top-left corner, in white, as
// gl_render does.
func (r *Renderer) drawTitle(t *tile) {
	if t.title != "" {
		draw.Text(&t.sub, t.rect.Min.X+4, t.rect.Min.Y+4, t.title, r.cfg.LabelScale, color.RGBA{255, 255, 255, 255})
	}
}

// scaleTable holds the bilinear taps of a source→tile scaling: for each
// tile column (row) the first source column (row) and the weight of the
// second in 1/256ths. Sample positions are the tile pixel centres mapped
// into the source, (x + ½)·sw/dw − ½, clamped to the edge pixels — an
// OpenGL LINEAR texture with CLAMP_TO_EDGE.
type scaleTable struct {
	sw, sh, dw, dh int
	x0, y0         []int32
	fx, fy         []int32
}

func taps(idx, frac []int32, n, src int) ([]int32, []int32) {
	idx, frac = idx[:0], frac[:0]
	for i := 0; i < n; i++ {
		s := (float64(i)+0.5)*float64(src)/float64(n) - 0.5
		s = min(max(s, 0), float64(src-1))
		i0 := int(math.Floor(s))
		f := int32(math.Round((s - float64(i0)) * 256))
		if i0 >= src-1 {
			i0, f = src-1, 0
		}
		idx, frac = append(idx, int32(i0)), append(frac, f)
	}
	return idx, frac
}

// draw scales fi over the whole of dst.
func (s *scaleTable) draw(dst *image.RGBA, fi *FrameImage) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	if s.sw != fi.W || s.sh != fi.H || s.dw != dw || s.dh != dh {
		s.sw, s.sh, s.dw, s.dh = fi.W, fi.H, dw, dh
		s.x0, s.fx = taps(s.x0, s.fx, dw, fi.W)
		s.y0, s.fy = taps(s.y0, s.fy, dh, fi.H)
	}
	ch, pitch := fi.Ch, fi.Pitch
	for y := 0; y < dh; y++ {
		r0 := fi.Data[int(s.y0[y])*pitch:]
		r1 := r0
		wy := s.fy[y]
		if wy > 0 {
			r1 = fi.Data[(int(s.y0[y])+1)*pitch:]
		}
		d := dst.Pix[y*dst.Stride : y*dst.Stride+dw*4]
		for x := 0; x < dw; x++ {
			a := int(s.x0[x]) * ch
			b := a
			wx := s.fx[x]
			if wx > 0 {
				b += ch
			}
			for k := 0; k < 3; k++ {
				top := int32(r0[a+k])*(256-wx) + int32(r0[b+k])*wx
				bot := int32(r1[a+k])*(256-wx) + int32(r1[b+k])*wx
				d[4*x+k] = uint8((top*(256-wy) + bot*wy + 1<<15) >> 16)
			}
			d[4*x+3] = 255
		}
	}
}

// frontOptions configure drawFront.
type frontOptions struct {
	XRange, YRange, ZRange [2]float64
	Points                 PointStyle
	Boxes                  BoxStyle
	Background             color.RGBA
}

// drawFront draws the orthographic front view: the points with x in
// XRange seen along +x from behind, column u = (y_max − y)/res_u (left on
// the left), row v = (z_max − z)/res_v (up is up), over the whole image;
// later points over earlier ones; boxes as their 12 edges and front cross
// seen from behind (those whose centre lies in XRange), labels above them.
func drawFront(img *image.RGBA, pts []float32, boxes []ds3d.Box3D, o *frontOptions) {
	draw.Fill(img, opaque(o.Background))
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w == 0 || h == 0 {
		return
	}
	ru, rv := (o.YRange[1]-o.YRange[0])/float64(w), (o.ZRange[1]-o.ZRange[0])/float64(h)
	ox, oy := float64(img.Rect.Min.X), float64(img.Rect.Min.Y)
	stride := o.Points.Stride
	if stride <= 0 {
		stride = 4
	}
	if !o.Points.Hide && stride >= 3 {
		pc := newPointColorer(&o.Points, ColorIntensity)
		n := len(pts) / stride
		for i := 0; i < n; i++ {
			q := pts[i*stride : i*stride+stride : i*stride+stride]
			if x := float64(q[0]); !(x >= o.XRange[0] && x <= o.XRange[1]) {
				continue
			}
			u := (o.YRange[1] - float64(q[1])) / ru
			v := (o.ZRange[1] - float64(q[2])) / rv
			if !(u >= 0 && u < float64(w) && v >= 0 && v < float64(h)) {
				continue
			}
			var in float32
			if stride >= 4 {
				in = q[3]
			}
			draw.Square(img, int(u)+img.Rect.Min.X, int(v)+img.Rect.Min.Y, o.Points.Size, pc.color(q[0], q[1], q[2], in, 0))
		}
	}
	var buf [96]byte
	for i := range boxes {
		b := &boxes[i]
		if x := float64(b.CX); !(x >= o.XRange[0] && x <= o.XRange[1]) {
			continue
		}
		c := draw.BoxColor(b.Color, b.ClassID, o.Boxes.Palette)
		cs := b.Corners()
		var pu, pv [8]float64
		left, top := math.Inf(1), math.Inf(1)
		for k, q := range cs {
			pu[k], pv[k] = ox+(o.YRange[1]-q.Y)/ru, oy+(o.ZRange[1]-q.Z)/rv
			left, top = math.Min(left, pu[k]), math.Min(top, pv[k])
		}
		th := max(o.Boxes.Thickness, 1)
		for _, e := range boxEdges {
			draw.Line(img, pu[e[0]], pv[e[0]], pu[e[1]], pv[e[1]], th, c)
		}
		if o.Boxes.Labels && draw.Finite(left, top) && math.Abs(left) < maxSide*4 && math.Abs(top) < maxSide*4 {
			sc := max(o.Boxes.LabelScale, 1)
			draw.Text(img, int(left), int(top)-draw.CellHeight*sc-th, labelText(buf[:0], b, o.Boxes.Scores), sc, c)
		}
	}
}
