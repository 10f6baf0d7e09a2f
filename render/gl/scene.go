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

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// scene holds a renderer's GL objects; it lives on the GL thread.
type scene struct {
	w, h                  int32
	fbo, colorRB, depthRB uint32

	ptProg, lnProg, txProg, imProg uint32
	// point uniforms
	uPtMVP, uMode, uLo, uInv, uRev, uFixed, uPtSize, uCmap int32
	uRGB, uTcXform                                         int32
	uLnMVP                                                 int32
	uViewport, uFont, uImg                                 int32

	ptVAO, ptVBO, lnVAO, lnVBO, txVAO, txVBO, stVAO, stVBO uint32
	tcVBO, emptyVAO                                        uint32
	ptCap, lnCap, txCap, tcCap                             int // buffer sizes in bytes
	staticN                                                int32
	cmapTex, fontTex                                       uint32
	m32                                                    [16]float32

	// images: one texture per tile (camera images) and one for RGB point
	// colours, each reallocated only when the image size changes
	tileTex      []uint32
	tileW, tileH []int
	rgbTex       uint32
	rgbW, rgbH   int
	lastPts      *float32 // points uploaded last in this frame (tiles share a cloud)
	lastPtsN     int
	lastTc       *float32
	lastTcN      int
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
	atlasW    = atlasCols * draw.CellWidth
	atlasH    = atlasRows * draw.CellHeight
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
	if s.imProg, err = linkProgram(imageVS, imageFS); err != nil {
		return err
	}
	s.uPtMVP, s.uMode, s.uLo, s.uInv = uniform(s.ptProg, "mvp"), uniform(s.ptProg, "mode"), uniform(s.ptProg, "lo"), uniform(s.ptProg, "inv")
	s.uRev, s.uFixed, s.uPtSize, s.uCmap = uniform(s.ptProg, "reversed"), uniform(s.ptProg, "fixedColor"), uniform(s.ptProg, "pointSize"), uniform(s.ptProg, "cmap")
	s.uLnMVP = uniform(s.lnProg, "mvp")
	s.uViewport, s.uFont = uniform(s.txProg, "viewport"), uniform(s.txProg, "font")
	s.uRGB, s.uTcXform, s.uImg = uniform(s.ptProg, "rgbTex"), uniform(s.ptProg, "tcXform"), uniform(s.imProg, "img")
	gogl.GenVertexArrays(1, &s.emptyVAO)
	gogl.GenBuffers(1, &s.tcVBO)
	n := max(len(c.RenderGraph), 1)
	s.tileTex, s.tileW, s.tileH = make([]uint32, n), make([]int, n), make([]int, n)
	gogl.GenTextures(int32(n), &s.tileTex[0])
	gogl.GenTextures(1, &s.rgbTex)

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

	// Colour map: 256 texels of draw.Colormap.
	cm := make([]uint8, 256*4)
	for i := 0; i < 256; i++ {
		c := draw.Colormap(float64(i) / 255)
		cm[i*4], cm[i*4+1], cm[i*4+2], cm[i*4+3] = c.R, c.G, c.B, 255
	}
	s.cmapTex = texture(256, 1, cm)
	// Font atlas drawn with raster's 5×7 font.
	atlas := image.NewRGBA(image.Rect(0, 0, atlasW, atlasH))
	var ch [1]byte
	for code := 33; code < 128; code++ {
		ch[0] = byte(code)
		draw.Text(atlas, (code%atlasCols)*draw.CellWidth, (code/atlasCols)*draw.CellHeight, string(ch[:]), 1, color.RGBA{255, 255, 255, 255})
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

// imageRef is a CPU u8 RGB or RGBA image in a frame's memory.
type imageRef struct {
	data            []byte
	w, h, ch, pitch int
}

// frameData is what one tile of one frame draws.
type frameData struct {
	pts      []float32
	stride   int
	boxes    []ds3d.Box3D
	img      imageRef // texture tile: the camera image
	cam      bool     // intr and ext hold the camera of a projecting tile
	intr     ds3d.Intrinsics
	ext      ds3d.Mat4
	tc       []float32 // rgb: colour coordinates, tcStride floats a point
	tcStride int
	rgb      imageRef // rgb: the colour image

	an *ds3d.Analytics // analytics_key's result, nil when absent
}

// staging holds the caller's reused CPU buffers.
type staging struct {
	lines, text []float32
	lbuf        []byte
}

// draw renders one frame into the framebuffer: the tiles in order, each
// in its own viewport, then the HUD line (hud, empty for none). mvp0, when
// not nil, replaces the first tile's matrix (the interactive camera of a
// single view).
func (s *scene) draw(c *Config, tiles []tileSpec, fds []frameData, mvp0 *mat4, hud []byte, st *staging) {
	gogl.BindFramebuffer(gogl.FRAMEBUFFER, s.fbo)
	gogl.Disable(gogl.SCISSOR_TEST)
	gogl.Viewport(0, 0, s.w, s.h)
	gogl.ClearColor(float32(c.ColorClear[0])/255, float32(c.ColorClear[1])/255, float32(c.ColorClear[2])/255, 1)
	gogl.Clear(gogl.COLOR_BUFFER_BIT | gogl.DEPTH_BUFFER_BIT)
	gogl.LineWidth(float32(c.LineWidth))
	s.lastPts, s.lastTc = nil, nil
	for i := range tiles {
		t, fd := &tiles[i], &fds[i]
		gogl.Enable(gogl.SCISSOR_TEST)
		gogl.Viewport(int32(t.x), s.h-int32(t.y+t.h), int32(t.w), int32(t.h))
		gogl.Scissor(int32(t.x), s.h-int32(t.y+t.h), int32(t.w), int32(t.h))
		gogl.Clear(gogl.DEPTH_BUFFER_BIT)
		if t.texture && fd.img.data != nil {
			s.drawImage(i, &fd.img)
		}
		var m mat4
		switch {
		case t.project:
			w, h := t.imgW, t.imgH
			if fd.img.data != nil {
				w, h = fd.img.w, fd.img.h
			} else if w == 0 || h == 0 {
				w, h = fd.intr.Width, fd.intr.Height
			}
			if !fd.cam || w <= 0 || h <= 0 {
				s.drawText(st, t, nil, c)
				continue
			}
			m = cameraMatrix(&fd.intr, &fd.ext, w, h, t.near, t.far)
		case t.texture:
			s.drawText(st, t, nil, c)
			continue
		case i == 0 && mvp0 != nil:
			m = *mvp0
		default:
			m = t.matrix()
		}
		s.drawLidar(c, t, &m, fd, st)
	}
	gogl.Disable(gogl.SCISSOR_TEST)
	if len(hud) > 0 {
		gogl.Viewport(0, 0, s.w, s.h)
		st.text = appendText(st.text[:0], hud, 4, int(s.h)-draw.CellHeight*c.LabelScale-4, c.LabelScale, [3]float32{1, 1, 1})
		s.flushText(st.text)
	}
	s.drawAnalyticsHUD(c, fds, st)
	gogl.BindVertexArray(0)
}

// matrix is a lidar3d tile's clip matrix.
func (t *tileSpec) matrix() mat4 {
	switch t.view {
	case ViewBEV:
		return bevOrtho(t.xr, t.yr)
	case ViewFront:
		return frontOrtho(t.xr, t.yr, t.zr)
	}
	p := perspective(t.fov, float64(t.w)/float64(t.h), t.near, t.far)
	return p.mul(lookAt(t.pos, t.target, t.up))
}

// drawImage uploads img into tile i's texture and stretches it over the
// viewport.
func (s *scene) drawImage(i int, img *imageRef) {
	gogl.ActiveTexture(gogl.TEXTURE0)
	uploadImage(s.tileTex[i], &s.tileW[i], &s.tileH[i], img)
	gogl.Disable(gogl.DEPTH_TEST)
	gogl.UseProgram(s.imProg)
	gogl.Uniform1i(s.uImg, 0)
	gogl.BindVertexArray(s.emptyVAO)
	gogl.DrawArrays(gogl.TRIANGLE_STRIP, 0, 4)
}

// uploadImage copies img into tex straight from the frame's memory
// (glTexSubImage2D, or glTexImage2D when the size changed).
func uploadImage(tex uint32, tw, th *int, img *imageRef) {
	gogl.BindTexture(gogl.TEXTURE_2D, tex)
	gogl.PixelStorei(gogl.UNPACK_ALIGNMENT, 1)
	gogl.PixelStorei(gogl.UNPACK_ROW_LENGTH, int32(img.pitch/img.ch))
	format := uint32(gogl.RGB)
	if img.ch == 4 {
		format = gogl.RGBA
	}
	p := unsafe.Pointer(&img.data[0])
	if img.w != *tw || img.h != *th {
		gogl.TexImage2D(gogl.TEXTURE_2D, 0, gogl.RGBA8, int32(img.w), int32(img.h), 0, format, gogl.UNSIGNED_BYTE, p)
		gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_MIN_FILTER, gogl.LINEAR)
		gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_MAG_FILTER, gogl.LINEAR)
		gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_WRAP_S, gogl.CLAMP_TO_EDGE)
		gogl.TexParameteri(gogl.TEXTURE_2D, gogl.TEXTURE_WRAP_T, gogl.CLAMP_TO_EDGE)
		*tw, *th = img.w, img.h
	} else {
		gogl.TexSubImage2D(gogl.TEXTURE_2D, 0, 0, 0, int32(img.w), int32(img.h), format, gogl.UNSIGNED_BYTE, p)
	}
	gogl.PixelStorei(gogl.UNPACK_ROW_LENGTH, 0)
}

// pointMode returns the shader's colour mode for a color_by value and
// whether the colour map runs reversed (near is red).
func pointMode(colorBy string) (int32, int32) {
	switch colorBy {
	case string(raster.ColorHeight):
		return 1, 0
	case string(raster.ColorRange):
		return 2, 1
	case string(raster.ColorFixed):
		return 3, 0
	case ColorDepth:
		return 4, 1
	case ColorRGB:
		return 5, 0
	}
	return 0, 0
}

// drawLidar draws a tile's grid (3D views), points, boxes and labels
// through the clip matrix m, into the current viewport.
func (s *scene) drawLidar(c *Config, t *tileSpec, m *mat4, fd *frameData, st *staging) {
	m32 := &s.m32 // a field: a local would escape through cgo
	m.float32s(m32)
	gogl.Enable(gogl.DEPTH_TEST)
	gogl.DepthFunc(gogl.LEQUAL)
	if t.grid && s.staticN > 0 {
		gogl.UseProgram(s.lnProg)
		gogl.UniformMatrix4fv(s.uLnMVP, 1, false, &m32[0])
		gogl.BindVertexArray(s.stVAO)
		gogl.DrawArrays(gogl.LINES, 0, s.staticN)
	}

	// Points, straight from the frame's memory.
	if n := len(fd.pts) / max(fd.stride, 1); n > 0 {
		gogl.UseProgram(s.ptProg)
		gogl.UniformMatrix4fv(s.uPtMVP, 1, false, &m32[0])
		mode, rev := pointMode(t.colorBy)
		vr := t.valueRange
		if vr == ([2]float64{}) {
			vr = raster.DefaultValueRange(raster.ColorMode(t.colorBy))
		}
		gogl.Uniform1i(s.uMode, mode)
		gogl.Uniform1i(s.uRev, rev)
		gogl.Uniform1f(s.uLo, float32(vr[0]))
		gogl.Uniform1f(s.uInv, float32(1/(vr[1]-vr[0])))
		gogl.Uniform3f(s.uFixed, float32(t.lidarColor[0])/255, float32(t.lidarColor[1])/255, float32(t.lidarColor[2])/255)
		gogl.Uniform1f(s.uPtSize, float32(t.pointSize))
		gogl.ActiveTexture(gogl.TEXTURE0)
		gogl.BindTexture(gogl.TEXTURE_2D, s.cmapTex)
		gogl.Uniform1i(s.uCmap, 0)
		gogl.BindVertexArray(s.ptVAO)
		if s.lastPts != &fd.pts[0] || s.lastPtsN != len(fd.pts) {
			upload(s.ptVBO, &s.ptCap, unsafe.Pointer(&fd.pts[0]), n*fd.stride*4)
			s.lastPts, s.lastPtsN = &fd.pts[0], len(fd.pts)
		}
		gogl.BindBuffer(gogl.ARRAY_BUFFER, s.ptVBO)
		attrib(0, 3, fd.stride, 0)
		if fd.stride >= 4 {
			attrib(1, 1, fd.stride, 3)
		} else {
			gogl.DisableVertexAttribArray(1)
			gogl.VertexAttrib1f(1, 0)
		}
		if mode == 5 && fd.rgb.data != nil && len(fd.tc) >= n*fd.tcStride {
			gogl.ActiveTexture(gogl.TEXTURE1)
			uploadImage(s.rgbTex, &s.rgbW, &s.rgbH, &fd.rgb)
			gogl.Uniform1i(s.uRGB, 1)
			if c.ColorCoordUnits == "pixels" {
				w, h := float32(fd.rgb.w), float32(fd.rgb.h)
				gogl.Uniform4f(s.uTcXform, 1/w, 1/h, 0.5/w, 0.5/h)
			} else {
				gogl.Uniform4f(s.uTcXform, 1, 1, 0, 0)
			}
			if s.lastTc != &fd.tc[0] || s.lastTcN != len(fd.tc) {
				upload(s.tcVBO, &s.tcCap, unsafe.Pointer(&fd.tc[0]), n*fd.tcStride*4)
				s.lastTc, s.lastTcN = &fd.tc[0], len(fd.tc)
			}
			gogl.BindBuffer(gogl.ARRAY_BUFFER, s.tcVBO)
			attrib(2, 2, fd.tcStride, 0)
			gogl.ActiveTexture(gogl.TEXTURE0)
		} else {
			gogl.DisableVertexAttribArray(2)
			if mode == 5 { // no colours this frame: fixed colour
				gogl.Uniform1i(s.uMode, 3)
			}
		}
		gogl.DrawArrays(gogl.POINTS, 0, int32(n))
	}

	// Boxes: 12 edges and a cross on the front face (+x in the box frame).
	// Edges crossing the near plane are clipped by GL in clip space, before
	// the division by w, so a box partly behind a camera keeps its visible
	// part only.
	if len(fd.boxes) > 0 {
		st.lines = st.lines[:0]
		for i := range fd.boxes {
			st.lines = appendBox(st.lines, &fd.boxes[i])
		}
		if c.BoxesOnTop {
			gogl.Disable(gogl.DEPTH_TEST)
		}
		gogl.UseProgram(s.lnProg)
		gogl.UniformMatrix4fv(s.uLnMVP, 1, false, &m32[0])
		gogl.BindVertexArray(s.lnVAO)
		upload(s.lnVBO, &s.lnCap, unsafe.Pointer(&st.lines[0]), len(st.lines)*4)
		gogl.DrawArrays(gogl.LINES, 0, int32(len(st.lines)/lineFloats))
		gogl.Enable(gogl.DEPTH_TEST)
	}
	s.drawAnalytics(c, fd, st)
	var boxes []ds3d.Box3D
	if t.labels {
		boxes = fd.boxes
	}
	s.drawText(st, t, m, c, boxes...)
}

// drawText writes the tile's title and its boxes' labels (projected
// through m) inside the tile.
func (s *scene) drawText(st *staging, t *tileSpec, m *mat4, c *Config, boxes ...ds3d.Box3D) {
	st.text = st.text[:0]
	if len(boxes) > 0 && m != nil {
		st.text, st.lbuf = appendLabels(st.text, st.lbuf, c.LabelScale, m, boxes, t)
	}
	if t.title != "" {
		st.lbuf = append(st.lbuf[:0], t.title...)
		st.text = appendText(st.text, st.lbuf, t.x+4, t.y+4, c.LabelScale, [3]float32{1, 1, 1})
	}
	if len(st.text) == 0 {
		return
	}
	gogl.Viewport(0, 0, s.w, s.h) // text is placed in window pixels; the scissor keeps it in the tile
	s.flushText(st.text)
}

// flushText draws text quads (window pixels, origin top-left).
func (s *scene) flushText(text []float32) {
	if len(text) == 0 {
		return
	}
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

// cameraMatrix is the clip matrix of a pinhole camera: lidar point p maps
// through the lidar→camera extrinsic E (camera x right, y down, z
// forward) and K to the image point (u, v) = ((fx·x + s·y)/z + cx,
// fy·y/z + cy), pixel centres at integers (render/raster's camera
// convention), and the w×h image fills the viewport:
// x_ndc = 2(u + ½)/w − 1, y_ndc = 1 − 2(v + ½)/h, clip w = z, and z_ndc
// runs from −1 at z = near to 1 at z = far.
func cameraMatrix(k *ds3d.Intrinsics, e *ds3d.Mat4, w, h int, near, far float64) mat4 {
	W, H := float64(w), float64(h)
	p := [4][4]float64{
		{2 * k.Fx / W, 2 * k.Skew / W, 2*(k.Cx+0.5)/W - 1, 0},
		{0, -2 * k.Fy / H, 1 - 2*(k.Cy+0.5)/H, 0},
		{0, 0, (far + near) / (far - near), -2 * far * near / (far - near)},
		{0, 0, 1, 0},
	}
	var m mat4
	for r := 0; r < 4; r++ {
		for col := 0; col < 4; col++ {
			var v float64
			for i := 0; i < 4; i++ {
				v += p[r][i] * e[i*4+col]
			}
			m[col*4+r] = v
		}
	}
	return m
}

// appendText lays out s at window pixel (x, y) (top-left of the first
// glyph) in colour col over a black shadow one pixel down and right.
func appendText(v []float32, s []byte, x, y, scale int, col [3]float32) []float32 {
	v = appendGlyphs(v, s, float32(x+1), float32(y+1), float32(scale), [3]float32{})
	return appendGlyphs(v, s, float32(x), float32(y), float32(scale), col)
}

func appendGlyphs(v []float32, s []byte, x0, y0, sc float32, col [3]float32) []float32 {
	cw, ch := float32(draw.CellWidth)*sc, float32(draw.CellHeight)*sc
	for k, code := range s {
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
		u0, v0 := float32(int(code)%atlasCols*draw.CellWidth)/atlasW, float32(int(code)/atlasCols*draw.CellHeight)/atlasH
		u1, v1 := u0+float32(draw.CellWidth)/atlasW, v0+float32(draw.CellHeight)/atlasH
		quad := [6][4]float32{{x, y0, u0, v0}, {x + cw, y0, u1, v0}, {x + cw, y0 + ch, u1, v1},
			{x, y0, u0, v0}, {x + cw, y0 + ch, u1, v1}, {x, y0 + ch, u0, v1}}
		for _, q := range quad {
			v = append(v, q[0], q[1], q[2], q[3], col[0], col[1], col[2])
		}
	}
	return v
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
	col := draw.BoxColor(b.Color, b.ClassID, nil)
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
// centre through mvp into tile t, in window pixels from the top-left.
func appendLabels(v []float32, lbuf []byte, scale int, mvp *mat4, boxes []ds3d.Box3D, t *tileSpec) ([]float32, []byte) {
	ch := float64(draw.CellHeight * scale)
	for i := range boxes {
		b := &boxes[i]
		xw, yw, ok := mvp.project([3]float64{float64(b.CX), float64(b.CY), float64(b.CZ) + float64(b.DZ)/2}, t.w, t.h)
		if !ok || !finite(xw, yw) || math.Abs(xw) > 4*maxSide || math.Abs(yw) > 4*maxSide {
			continue
		}
		lbuf = labelText(lbuf[:0], b)
		col := draw.BoxColor(b.Color, b.ClassID, nil)
		x0, y0 := float32(float64(t.x)+math.Round(xw))+3, float32(float64(t.y)+math.Round(float64(t.h)-yw)-ch-3)
		v = appendGlyphs(v, lbuf, x0, y0, float32(scale), [3]float32{float32(col.R) / 255, float32(col.G) / 255, float32(col.B) / 255})
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
	for _, p := range []uint32{s.ptProg, s.lnProg, s.txProg, s.imProg} {
		if p != 0 {
			gogl.DeleteProgram(p)
		}
	}
	bufs := []uint32{s.ptVBO, s.lnVBO, s.txVBO, s.stVBO, s.tcVBO}
	gogl.DeleteBuffers(int32(len(bufs)), &bufs[0])
	vaos := []uint32{s.ptVAO, s.lnVAO, s.txVAO, s.stVAO, s.emptyVAO}
	gogl.DeleteVertexArrays(int32(len(vaos)), &vaos[0])
	texs := append([]uint32{s.cmapTex, s.fontTex, s.rgbTex}, s.tileTex...)
	gogl.DeleteTextures(int32(len(texs)), &texs[0])
	rbs := []uint32{s.colorRB, s.depthRB}
	gogl.DeleteRenderbuffers(int32(len(rbs)), &rbs[0])
	gogl.DeleteFramebuffers(1, &s.fbo)
}
