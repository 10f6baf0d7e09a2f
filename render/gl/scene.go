//go:build cgo

package gl

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"unsafe"

	gogl "github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// scene holds a renderer's GL objects; it lives on the GL thread.
type scene struct {
	w, h                  int32
	fbo, colorRB, depthRB uint32

	ptProg, lnProg, txProg uint32
	// point uniforms
	uPtMVP, uMode, uLo, uInv, uRev, uFixed, uPtSize, uCmap int32
	uLnMVP                                                 int32
	uViewport, uFont                                       int32

	ptVAO, ptVBO, lnVAO, lnVBO, txVAO, txVBO, stVAO, stVBO uint32
	ptCap, lnCap, txCap                                    int // buffer sizes in bytes
	staticN                                                int32
	cmapTex, fontTex                                       uint32
	m32                                                    [16]float32
}

// Vertex layouts (floats per vertex).
const (
	lineFloats = 6 // x, y, z, r, g, b
	textFloats = 7 // px, py, u, v, r, g, b
)

// Font atlas: 16×8 cells of raster's 6×8-pixel cells, one per ASCII code.
const (
	atlasCols = 16
	atlasRows = 8
	atlasW    = atlasCols * raster.CellWidth
	atlasH    = atlasRows * raster.CellHeight
)

func genVAO(vbo *uint32, vao *uint32) {
	gogl.GenVertexArrays(1, vao)
	gogl.GenBuffers(1, vbo)
	gogl.BindVertexArray(*vao)
	gogl.BindBuffer(gogl.ARRAY_BUFFER, *vbo)
}

func attrib(i uint32, n int32, strideFloats, offFloats int) {
	gogl.EnableVertexAttribArray(i)
	gogl.VertexAttribPointerWithOffset(i, n, gogl.FLOAT, false, int32(strideFloats*4), uintptr(offFloats*4))
}

// init creates the framebuffer, programs, buffers and textures, and the
// static grid and axes.
func (s *scene) init(c *Config) error {
	s.w, s.h = int32(c.WindowWidth), int32(c.WindowHeight)
	gogl.GenFramebuffers(1, &s.fbo)
	gogl.BindFramebuffer(gogl.FRAMEBUFFER, s.fbo)
	gogl.GenRenderbuffers(1, &s.colorRB)
	gogl.BindRenderbuffer(gogl.RENDERBUFFER, s.colorRB)
	gogl.RenderbufferStorage(gogl.RENDERBUFFER, gogl.RGBA8, s.w, s.h)
	gogl.FramebufferRenderbuffer(gogl.FRAMEBUFFER, gogl.COLOR_ATTACHMENT0, gogl.RENDERBUFFER, s.colorRB)
	gogl.GenRenderbuffers(1, &s.depthRB)
	gogl.BindRenderbuffer(gogl.RENDERBUFFER, s.depthRB)
	gogl.RenderbufferStorage(gogl.RENDERBUFFER, gogl.DEPTH_COMPONENT24, s.w, s.h)
	gogl.FramebufferRenderbuffer(gogl.FRAMEBUFFER, gogl.DEPTH_ATTACHMENT, gogl.RENDERBUFFER, s.depthRB)
	if st := gogl.CheckFramebufferStatus(gogl.FRAMEBUFFER); st != gogl.FRAMEBUFFER_COMPLETE {
		return fmt.Errorf("gl_render: %dx%d framebuffer incomplete (status 0x%x)", s.w, s.h, st)
	}

	var err error
	if s.ptProg, err = linkProgram(pointVS, colorFS); err != nil {
		return err
	}
	if s.lnProg, err = linkProgram(lineVS, colorFS); err != nil {
		return err
	}
	if s.txProg, err = linkProgram(textVS, textFS); err != nil {
		return err
	}
	s.uPtMVP, s.uMode, s.uLo, s.uInv = uniform(s.ptProg, "mvp"), uniform(s.ptProg, "mode"), uniform(s.ptProg, "lo"), uniform(s.ptProg, "inv")
	s.uRev, s.uFixed, s.uPtSize, s.uCmap = uniform(s.ptProg, "reversed"), uniform(s.ptProg, "fixedColor"), uniform(s.ptProg, "pointSize"), uniform(s.ptProg, "cmap")
	s.uLnMVP = uniform(s.lnProg, "mvp")
	s.uViewport, s.uFont = uniform(s.txProg, "viewport"), uniform(s.txProg, "font")

	// Points: attributes set per frame (the stride follows the frame).
	gogl.GenVertexArrays(1, &s.ptVAO)
	gogl.GenBuffers(1, &s.ptVBO)
	genVAO(&s.lnVBO, &s.lnVAO)
	attrib(0, 3, lineFloats, 0)
	attrib(1, 3, lineFloats, 3)
	genVAO(&s.stVBO, &s.stVAO)
	attrib(0, 3, lineFloats, 0)
	attrib(1, 3, lineFloats, 3)
	st := staticLines(c)
	if len(st) > 0 {
		gogl.BufferData(gogl.ARRAY_BUFFER, len(st)*4, unsafe.Pointer(&st[0]), gogl.STATIC_DRAW)
	}
	s.staticN = int32(len(st) / lineFloats)
	genVAO(&s.txVBO, &s.txVAO)
	attrib(0, 2, textFloats, 0)
	attrib(1, 2, textFloats, 2)
	attrib(2, 3, textFloats, 4)
	gogl.BindVertexArray(0)

	// Colour map: 256 texels of raster.Colormap.
	cm := make([]uint8, 256*4)
	for i := 0; i < 256; i++ {
		c := raster.Colormap(float64(i) / 255)
		cm[i*4], cm[i*4+1], cm[i*4+2], cm[i*4+3] = c.R, c.G, c.B, 255
	}
	s.cmapTex = texture(256, 1, cm)
	// Font atlas drawn with raster's 5×7 font.
	atlas := image.NewRGBA(image.Rect(0, 0, atlasW, atlasH))
	var ch [1]byte
	for code := 33; code < 128; code++ {
		ch[0] = byte(code)
		raster.DrawText(atlas, (code%atlasCols)*raster.CellWidth, (code/atlasCols)*raster.CellHeight, string(ch[:]), 1, color.RGBA{255, 255, 255, 255})
	}
	s.fontTex = texture(atlasW, atlasH, atlas.Pix)
	gogl.Enable(gogl.PROGRAM_POINT_SIZE)
	return glError("setup")
}

func texture(w, h int, rgba []uint8) uint32 {
	var t uint32
	gogl.GenTextures(1, &t)
	gogl.BindTexture(gogl.TEXTURE_2D, t)
	gogl.PixelStorei(gogl.UNPACK_ALIGNMENT, 1)
	gogl.TexImage2D(gogl.TEXTURE_2D, 0, gogl.RGBA8, int32(w), int32(h), 0, gogl.RGBA, gogl.UNSIGNED_BYTE, unsafe.Pointer(&rgba[0]))
	gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_MIN_FILTER, gogl.NEAREST)
	gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_MAG_FILTER, gogl.NEAREST)
	gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_WRAP_S, gogl.CLAMP_TO_EDGE)
	gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_WRAP_T, gogl.CLAMP_TO_EDGE)
	return t
}

func glError(where string) error {
	if e := gogl.GetError(); e != gogl.NO_ERROR {
		return fmt.Errorf("gl_render: %s: OpenGL error 0x%x", where, e)
	}
	return nil
}

// staticLines returns the ground grid (lines at multiples of grid_step
// through the origin, at z = grid_z) and the x/y/z axes.
func staticLines(c *Config) []float32 {
	var v []float32
	add := func(a, b [3]float64, col [3]uint8) {
		r, g, bl := float32(col[0])/255, float32(col[1])/255, float32(col[2])/255
		v = append(v, float32(a[0]), float32(a[1]), float32(a[2]), r, g, bl,
			float32(b[0]), float32(b[1]), float32(b[2]), r, g, bl)
	}
	if c.GridStep > 0 {
		e := c.GridExtent
		if c.View == ViewBEV { // cover the view and some panning
			e = 2 * math.Max(math.Max(math.Abs(c.XRange[0]), math.Abs(c.XRange[1])), math.Max(math.Abs(c.YRange[0]), math.Abs(c.YRange[1])))
			e = math.Min(e, 1000*c.GridStep)
		}
		n := math.Floor(e / c.GridStep)
		for k := -n; k <= n; k++ {
			t := k * c.GridStep
			add([3]float64{t, -e, c.GridZ}, [3]float64{t, e, c.GridZ}, c.GridColor)
			add([3]float64{-e, t, c.GridZ}, [3]float64{e, t, c.GridZ}, c.GridColor)
		}
	}
	if l := c.AxisLength; l > 0 {
		add([3]float64{}, [3]float64{l, 0, 0}, [3]uint8{255, 0, 0})
		add([3]float64{}, [3]float64{0, l, 0}, [3]uint8{0, 255, 0})
		add([3]float64{}, [3]float64{0, 0, l}, [3]uint8{0, 0, 255})
	}
	return v
}

// upload copies data into vbo, orphaning its storage first (glBufferData
// with a nil pointer, so the driver need not wait for the previous frame's
// draw) and growing it geometrically; the Go side allocates nothing.
func upload(vbo uint32, capBytes *int, data unsafe.Pointer, n int) {
	gogl.BindBuffer(gogl.ARRAY_BUFFER, vbo)
	if n > *capBytes {
		*capBytes = max(n, *capBytes*2, 64<<10)
	}
	gogl.BufferData(gogl.ARRAY_BUFFER, *capBytes, nil, gogl.STREAM_DRAW)
	if n > 0 {
		gogl.BufferSubData(gogl.ARRAY_BUFFER, 0, n, data)
	}
}

// frameData is what one frame draws.
type frameData struct {
	pts    []float32
	stride int
	boxes  []ds3d.Box3D
}

// draw renders one frame into the framebuffer. lines and text are the
// caller's staging buffers (returned grown, reused next frame).
func (s *scene) draw(c *Config, mvp *mat4, fd *frameData, lines, text []float32, lbuf []byte) ([]float32, []float32, []byte) {
	m32 := &s.m32 // a field: a local would escape through cgo
	mvp.float32s(m32)
	gogl.BindFramebuffer(gogl.FRAMEBUFFER, s.fbo)
	gogl.Viewport(0, 0, s.w, s.h)
	gogl.ClearColor(float32(c.ColorClear[0])/255, float32(c.ColorClear[1])/255, float32(c.ColorClear[2])/255, 1)
	gogl.Clear(gogl.COLOR_BUFFER_BIT | gogl.DEPTH_BUFFER_BIT)
	gogl.Enable(gogl.DEPTH_TEST)
	gogl.DepthFunc(gogl.LEQUAL)
	gogl.LineWidth(float32(c.LineWidth))

	// Grid and axes.
	gogl.UseProgram(s.lnProg)
	gogl.UniformMatrix4fv(s.uLnMVP, 1, false, &m32[0])
	if s.staticN > 0 {
		gogl.BindVertexArray(s.stVAO)
		gogl.DrawArrays(gogl.LINES, 0, s.staticN)
	}

	// Points, straight from the frame's memory.
	if n := len(fd.pts) / fd.stride; n > 0 {
		gogl.UseProgram(s.ptProg)
		gogl.UniformMatrix4fv(s.uPtMVP, 1, false, &m32[0])
		mode, rev := int32(0), int32(0)
		cm := raster.ColorMode(c.ColorBy)
		switch cm {
		case raster.ColorHeight:
			mode = 1
		case raster.ColorRange:
			mode, rev = 2, 1
		case raster.ColorFixed:
			mode = 3
		}
		vr := c.ValueRange
		if vr == ([2]float64{}) {
			vr = raster.DefaultValueRange(cm)
		}
		gogl.Uniform1i(s.uMode, mode)
		gogl.Uniform1i(s.uRev, rev)
		gogl.Uniform1f(s.uLo, float32(vr[0]))
		gogl.Uniform1f(s.uInv, float32(1/(vr[1]-vr[0])))
		gogl.Uniform3f(s.uFixed, float32(c.LidarColor[0])/255, float32(c.LidarColor[1])/255, float32(c.LidarColor[2])/255)
		gogl.Uniform1f(s.uPtSize, float32(c.PointSize))
		gogl.ActiveTexture(gogl.TEXTURE0)
		gogl.BindTexture(gogl.TEXTURE_2D, s.cmapTex)
		gogl.Uniform1i(s.uCmap, 0)
		gogl.BindVertexArray(s.ptVAO)
		upload(s.ptVBO, &s.ptCap, unsafe.Pointer(&fd.pts[0]), n*fd.stride*4)
		attrib(0, 3, fd.stride, 0)
		if fd.stride >= 4 {
			attrib(1, 1, fd.stride, 3)
		} else {
			gogl.DisableVertexAttribArray(1)
			gogl.VertexAttrib1f(1, 0)
		}
		gogl.DrawArrays(gogl.POINTS, 0, int32(n))
	}

	// Boxes: 12 edges and a cross on the front face (+x in the box frame).
	if len(fd.boxes) > 0 {
		lines = lines[:0]
		for i := range fd.boxes {
			lines = appendBox(lines, &fd.boxes[i])
		}
		if c.BoxesOnTop {
			gogl.Disable(gogl.DEPTH_TEST)
		}
		gogl.UseProgram(s.lnProg)
		gogl.BindVertexArray(s.lnVAO)
		upload(s.lnVBO, &s.lnCap, unsafe.Pointer(&lines[0]), len(lines)*4)
		gogl.DrawArrays(gogl.LINES, 0, int32(len(lines)/lineFloats))
		gogl.Enable(gogl.DEPTH_TEST)

		if c.Labels {
			text, lbuf = s.appendLabels(text[:0], lbuf, c, mvp, fd.boxes)
			if len(text) > 0 {
				gogl.Disable(gogl.DEPTH_TEST)
				gogl.UseProgram(s.txProg)
				gogl.Uniform2f(s.uViewport, float32(s.w), float32(s.h))
				gogl.ActiveTexture(gogl.TEXTURE0)
				gogl.BindTexture(gogl.TEXTURE_2D, s.fontTex)
				gogl.Uniform1i(s.uFont, 0)
				gogl.BindVertexArray(s.txVAO)
				upload(s.txVBO, &s.txCap, unsafe.Pointer(&text[0]), len(text)*4)
				gogl.DrawArrays(gogl.TRIANGLES, 0, int32(len(text)/textFloats))
				gogl.Enable(gogl.DEPTH_TEST)
			}
		}
	}
	gogl.BindVertexArray(0)
	return lines, text, lbuf
}

// boxEdges are the corner pairs of Box3D.Corners' 12 edges (bottom face,
// top face, verticals) then the front-face cross (corners 0, 3, 4, 7 are
// the +x face).
var boxEdges = [14][2]int{
	{0, 1}, {1, 2}, {2, 3}, {3, 0},
	{4, 5}, {5, 6}, {6, 7}, {7, 4},
	{0, 4}, {1, 5}, {2, 6}, {3, 7},
	{0, 7}, {3, 4},
}

func appendBox(v []float32, b *ds3d.Box3D) []float32 {
	col := raster.BoxColor(b.Color, b.ClassID, nil)
	r, g, bl := float32(col.R)/255, float32(col.G)/255, float32(col.B)/255
	cs := b.Corners()
	for _, e := range boxEdges {
		p, q := cs[e[0]], cs[e[1]]
		v = append(v, float32(p.X), float32(p.Y), float32(p.Z), r, g, bl,
			float32(q.X), float32(q.Y), float32(q.Z), r, g, bl)
	}
	return v
}

// appendLabels lays out each box's label (raster's text: label or
// #class, score, #track) a few pixels above the projection of its top
// centre, in pixels from the top-left.
func (s *scene) appendLabels(v []float32, lbuf []byte, c *Config, mvp *mat4, boxes []ds3d.Box3D) ([]float32, []byte) {
	sc := float32(c.LabelScale)
	cw, ch := float32(raster.CellWidth)*sc, float32(raster.CellHeight)*sc
	for i := range boxes {
		b := &boxes[i]
		xw, yw, ok := mvp.project([3]float64{float64(b.CX), float64(b.CY), float64(b.CZ) + float64(b.DZ)/2}, int(s.w), int(s.h))
		if !ok || !finite(xw, yw) || math.Abs(xw) > 4*maxSide || math.Abs(yw) > 4*maxSide {
			continue
		}
		lbuf = labelText(lbuf[:0], b)
		col := raster.BoxColor(b.Color, b.ClassID, nil)
		r, g, bl := float32(col.R)/255, float32(col.G)/255, float32(col.B)/255
		x0, y0 := float32(math.Round(xw))+3, float32(math.Round(float64(s.h)-yw))-ch-3
		for k, code := range lbuf {
			if code == ' ' {
				continue
			}
			if code >= 128 {
				code = '?'
			}
			if code >= 'a' && code <= 'z' {
				code -= 'a' - 'A'
			}
			x := x0 + float32(k)*cw
			u0, v0 := float32(int(code)%atlasCols*raster.CellWidth)/atlasW, float32(int(code)/atlasCols*raster.CellHeight)/atlasH
			u1, v1 := u0+float32(raster.CellWidth)/atlasW, v0+float32(raster.CellHeight)/atlasH
			quad := [6][4]float32{{x, y0, u0, v0}, {x + cw, y0, u1, v0}, {x + cw, y0 + ch, u1, v1},
				{x, y0, u0, v0}, {x + cw, y0 + ch, u1, v1}, {x, y0 + ch, u0, v1}}
			for _, q := range quad {
				v = append(v, q[0], q[1], q[2], q[3], r, g, bl)
			}
		}
	}
	return v, lbuf
}

// labelText appends raster's label text: Label (or "#ClassID"), the score
// with two decimals when positive, and "#TrackID" when tracked.
func labelText(b []byte, box *ds3d.Box3D) []byte {
	if box.Label != "" {
		b = append(b, box.Label...)
	} else {
		b = append(b, '#')
		b = strconv.AppendInt(b, int64(box.ClassID), 10)
	}
	if box.Score > 0 && !math.IsInf(float64(box.Score), 0) {
		b = append(b, ' ')
		b = strconv.AppendFloat(b, float64(box.Score), 'f', 2, 32)
	}
	if box.TrackID >= 0 {
		b = append(b, " #"...)
		b = strconv.AppendInt(b, box.TrackID, 10)
	}
	return b
}

// readPixels reads the framebuffer into buf (w·h·4 bytes, bottom row
// first) and flips it into img (top row first).
func (s *scene) readPixels(buf []byte, img *image.RGBA) {
	gogl.BindFramebuffer(gogl.READ_FRAMEBUFFER, s.fbo)
	gogl.PixelStorei(gogl.PACK_ALIGNMENT, 1)
	gogl.ReadPixels(0, 0, s.w, s.h, gogl.RGBA, gogl.UNSIGNED_BYTE, unsafe.Pointer(&buf[0]))
	row := int(s.w) * 4
	for y := 0; y < int(s.h); y++ {
		copy(img.Pix[y*img.Stride:y*img.Stride+row], buf[(int(s.h)-1-y)*row:(int(s.h)-y)*row])
	}
}

// present blits the framebuffer into the window's and swaps.
func (s *scene) present(w *glfw.Window) {
	fw, fh := w.GetFramebufferSize()
	gogl.BindFramebuffer(gogl.READ_FRAMEBUFFER, s.fbo)
	gogl.BindFramebuffer(gogl.DRAW_FRAMEBUFFER, 0)
	gogl.BlitFramebuffer(0, 0, s.w, s.h, 0, 0, int32(fw), int32(fh), gogl.COLOR_BUFFER_BIT, gogl.NEAREST)
	w.SwapBuffers()
}

// free deletes the GL objects.
func (s *scene) free() {
	for _, p := range []uint32{s.ptProg, s.lnProg, s.txProg} {
		if p != 0 {
			gogl.DeleteProgram(p)
		}
	}
	bufs := []uint32{s.ptVBO, s.lnVBO, s.txVBO, s.stVBO}
	gogl.DeleteBuffers(int32(len(bufs)), &bufs[0])
	vaos := []uint32{s.ptVAO, s.lnVAO, s.txVAO, s.stVAO}
	gogl.DeleteVertexArrays(int32(len(vaos)), &vaos[0])
	texs := []uint32{s.cmapTex, s.fontTex}
	gogl.DeleteTextures(int32(len(texs)), &texs[0])
	rbs := []uint32{s.colorRB, s.depthRB}
	gogl.DeleteRenderbuffers(int32(len(rbs)), &rbs[0])
	gogl.DeleteFramebuffers(1, &s.fbo)
}
