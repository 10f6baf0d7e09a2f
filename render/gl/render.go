//go:build cgo

package gl

import (
	"bufio"
	"context"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	gogl "github.com/go-gl/gl/v3.3-core/gl"
	"github.com/go-gl/glfw/v3.3/glfw"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Renderer is gl_render. Its exported methods may be called from any
// goroutine (one at a time); the GL work runs on the package's GL thread.
type Renderer struct {
	cfg  Config
	log  *slog.Logger
	name string

	th   *glThread
	win  *glfw.Window
	sc   scene
	done chan error
	ctx  context.Context

	// the frame being drawn, handed to the GL thread: one frameData a tile
	tiles    []tileSpec
	fd       []frameData
	keep     frameData // hold_on_eos: a copy of the single view's last frame
	readback bool
	drawFn   func() error
	finishFn func() error
	// staging buffers reused from frame to frame
	st   staging
	read []byte
	img  *image.RGBA

	// HUD
	hud      []byte
	lastDraw time.Time
	fps      float64

	enc     png.Encoder
	bw      *bufio.Writer
	fname   []byte
	count   int64
	written int64
	warned  map[ds3d.Key]bool

	// interactive state (GL thread only)
	cam            orbit
	camMoved       bool
	paused, step   bool
	winClosed      bool
	shots          int
	dragX, dragY   float64
	dragL, dragR   bool
	interactiveErr error

	// ReadbackTime is the total time spent reading frames back (glReadPixels
	// and the row flip), for docs/PERF.md; Frames counts drawn frames.
	ReadbackTime time.Duration
	Frames       int64
}

// NewRenderer makes a renderer from a validated config; env may be nil.
// Nothing touches the display before Start.
func NewRenderer(c *Config, env *ds3d.Env) (*Renderer, error) {
	if err := ds3d.CheckConfig(c); err != nil {
		return nil, err
	}
	r := &Renderer{cfg: *c, name: "gl_render", done: make(chan error, 1), warned: map[ds3d.Key]bool{}}
	if env != nil {
		r.log = env.Log
		if env.Name != "" {
			r.name = env.Name
		}
		if env.Headless { // ds3d run --headless overrides the config
			r.cfg.Headless = true
		}
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	r.enc = png.Encoder{CompressionLevel: pngLevels[c.PNGCompress], BufferPool: &pngPool{}}
	r.tiles = r.cfg.tiles()
	r.fd = make([]frameData, len(r.tiles))
	r.cam = newOrbit(c)
	r.paused = c.StartPaused
	r.drawFn, r.finishFn = r.drawOnThread, r.finish
	return r, nil
}

type pngPool struct{ b *png.EncoderBuffer }

func (p *pngPool) Get() *png.EncoderBuffer  { return p.b }
func (p *pngPool) Put(b *png.EncoderBuffer) { p.b = b }

// visible reports whether the renderer shows a window.
func (r *Renderer) visible() bool { return !r.cfg.Headless }

// Start opens the (hidden, when headless) window and its GL context on the
// GL thread and creates the output folder. It fails with ErrNoDisplay when
// there is no X server.
func (r *Renderer) Start(ctx context.Context) error {
	r.ctx = ctx
	if r.cfg.OutputDir != "" {
		if err := os.MkdirAll(string(r.cfg.OutputDir), 0o755); err != nil {
			return err
		}
	}
	if r.th != nil {
		return nil
	}
	th, err := acquireThread()
	if err != nil {
		return err
	}
	r.th = th
	if err := th.do(r.open, r.done); err != nil {
		r.th.do(r.closeWindow, r.done)
		releaseThread()
		r.th = nil
		return err
	}
	return nil
}

func (r *Renderer) open() error {
	glfw.DefaultWindowHints()
	glfw.WindowHint(glfw.ContextVersionMajor, 3)
	glfw.WindowHint(glfw.ContextVersionMinor, 3)
	glfw.WindowHint(glfw.OpenGLProfile, glfw.OpenGLCoreProfile)
	glfw.WindowHint(glfw.Samples, 0)
	w, h := r.cfg.WindowWidth, r.cfg.WindowHeight
	if r.cfg.Headless {
		glfw.WindowHint(glfw.Visible, glfw.False)
		w, h = 64, 64 // the framebuffer object has the real size
	}
	win, err := glfw.CreateWindow(w, h, r.cfg.WindowTitle, nil, nil)
	if err != nil {
		return fmt.Errorf("gl_render: creating an OpenGL 3.3 core window: %w", err)
	}
	r.win = win
	if err := r.th.makeCurrent(win); err != nil {
		return err
	}
	glfw.SwapInterval(0)
	if !r.cfg.Headless {
		r.bindInput()
	}
	if err := r.sc.init(&r.cfg); err != nil {
		return err
	}
	r.read = make([]byte, r.cfg.WindowWidth*r.cfg.WindowHeight*4)
	r.img = image.NewRGBA(image.Rect(0, 0, r.cfg.WindowWidth, r.cfg.WindowHeight))
	return nil
}

// warn logs once per key that it is missing.
func (r *Renderer) warn(k ds3d.Key, what string) {
	if r.warned[k] {
		return
	}
	r.warned[k] = true
	r.log.Warn("gl_render: no "+what+" in the datamap; further datamaps without it are drawn without it silently", "key", string(k))
}

// frame fills r.fd from the datamap, tile by tile: a missing key draws
// nothing of that kind (warned once per key); a value of the wrong type is
// an error naming the key.
func (r *Renderer) frame(in *ds3d.DataMap) error {
	for i := range r.tiles {
		t, fd := &r.tiles[i], &r.fd[i]
		*fd = frameData{stride: 4}
		if t.texture {
			img, ok, err := r.image(in, t.frameKey, "camera image")
			if err != nil {
				return err
			}
			if ok {
				fd.img = img
			}
		}
		if t.project {
			intr, ok1, err := lookup[ds3d.Intrinsics](r, in, t.intrKey, "camera intrinsics")
			if err != nil {
				return err
			}
			ext, ok2, err := lookup[ds3d.Mat4](r, in, t.extKey, "lidar→camera extrinsic")
			if err != nil {
				return err
			}
			fd.cam, fd.intr, fd.ext = ok1 && ok2, intr, ext
		}
		if t.texture && !t.project {
			continue
		}
		if t.lidarKey != "" {
			f, ok, err := lookup[*ds3d.Frame](r, in, t.lidarKey, "lidar frame")
			if err != nil {
				return err
			}
			if ok {
				if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || f.Shape.D[1] < 3 || f.Shape.D[1] > 64 {
					return fmt.Errorf("%s: %s: want a CPU [N,C] f32 frame with 3 ≤ C ≤ 64 (x, y, z, intensity, …), got %s %s (%s)", r.name, t.lidarKey, f.DType, f.Shape, f.Mem)
				}
				fd.pts, fd.stride = ds3d.AsFloat32(f), f.Shape.D[1]
				fd.pts = fd.pts[:f.Shape.D[0]*fd.stride]
			}
		}
		if t.boxKey != "" {
			b, ok, err := lookup[[]ds3d.Box3D](r, in, t.boxKey, "3D boxes")
			if err != nil {
				return err
			}
			fd.boxes = b
			_ = ok
		}
		if t.colorBy == ColorRGB && len(fd.pts) > 0 {
			if err := r.rgbColors(in, fd); err != nil {
				return err
			}
		}
	}
	if err := r.analytics(in); err != nil {
		return err
	}
	r.hudLine(in)
	return nil
}

// lookup returns the value under k when present (warning once per key
// when not); a value of another type is an error naming the key.
func lookup[T any](r *Renderer, in *ds3d.DataMap, k ds3d.Key, what string) (T, bool, error) {
	var zero T
	if !in.Has(k) {
		r.warn(k, what)
		return zero, false, nil
	}
	v, err := ds3d.Get[T](in, k)
	if err != nil {
		return zero, false, fmt.Errorf("%s: %w", r.name, err)
	}
	return v, true, nil
}

// image returns the CPU RGB/RGBA u8 image under k.
func (r *Renderer) image(in *ds3d.DataMap, k ds3d.Key, what string) (imageRef, bool, error) {
	f, ok, err := lookup[*ds3d.Frame](r, in, k, what)
	if err != nil || !ok {
		return imageRef{}, false, err
	}
	ch := 3
	if f.Type == ds3d.FrameColorRGBA {
		ch = 4
	}
	if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) {
		return imageRef{}, false, fmt.Errorf("%s: %s: want a CPU rgb or rgba u8 image frame, got %s %s (%s)", r.name, k, f.Type, f.DType, f.Mem)
	}
	w, h, pitch := f.Plane.Width, f.Plane.Height, f.Plane.Pitch
	if (w <= 0 || h <= 0) && f.Shape.NumDims == 3 {
		h, w = f.Shape.D[0], f.Shape.D[1]
	}
	if pitch == 0 {
		pitch = w * ch
	}
	if w <= 0 || h <= 0 || w > maxSide || h > maxSide || pitch < w*ch || pitch%ch != 0 || len(f.Data) < pitch*(h-1)+w*ch {
		return imageRef{}, false, fmt.Errorf("%s: %s: image %dx%d with row pitch %d (a multiple of %d bytes wanted) does not fit its %d bytes", r.name, k, w, h, pitch, ch, len(f.Data))
	}
	return imageRef{data: f.Data, w: w, h: h, ch: ch, pitch: pitch}, true, nil
}

// rgbColors adds the colour coordinates and image of an RGB-coloured cloud.
func (r *Renderer) rgbColors(in *ds3d.DataMap, fd *frameData) error {
	k := ds3d.Key(r.cfg.ColorCoordKey)
	f, ok, err := lookup[*ds3d.Frame](r, in, k, "colour coordinates")
	if err != nil || !ok {
		return err
	}
	n := len(fd.pts) / fd.stride
	if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || f.Shape.D[1] < 2 || f.Shape.D[0] != n {
		return fmt.Errorf("%s: %s: want a CPU [%d,2] (or [%d,3]) f32 frame, one coordinate a point, got %s %s (%s)", r.name, k, n, n, f.DType, f.Shape, f.Mem)
	}
	img, ok, err := r.image(in, ds3d.Key(r.cfg.ColorFrameKey), "colour image")
	if err != nil || !ok {
		return err
	}
	fd.tcStride = f.Shape.D[1]
	fd.tc = ds3d.AsFloat32(f)[:n*fd.tcStride]
	fd.rgb = img
	return nil
}

// hudLine writes the HUD text: frames per second (smoothed over about ten
// frames), frame number, timestamp in seconds, points and boxes of the
// first tile that has them.
func (r *Renderer) hudLine(in *ds3d.DataMap) {
	now := time.Now()
	if !r.lastDraw.IsZero() {
		if dt := now.Sub(r.lastDraw).Seconds(); dt > 0 {
			if r.fps == 0 {
				r.fps = 1 / dt
			} else {
				r.fps += (1/dt - r.fps) * 0.1
			}
		}
	}
	r.lastDraw = now
	if !r.cfg.HUD {
		r.hud = r.hud[:0]
		return
	}
	fn := r.count
	if in.Has(ds3d.KeyFrameNumber) { // (the error of a missing key allocates)
		if n, err := in.Int64(ds3d.KeyFrameNumber); err == nil {
			fn = n
		}
	}
	pts, boxes := -1, -1
	for i := range r.fd {
		if pts < 0 && len(r.fd[i].pts) > 0 {
			pts = len(r.fd[i].pts) / r.fd[i].stride
		}
		if boxes < 0 && r.fd[i].boxes != nil {
			boxes = len(r.fd[i].boxes)
		}
	}
	b := append(r.hud[:0], "FPS "...)
	b = strconv.AppendFloat(b, r.fps, 'f', 1, 64)
	b = append(b, "  FRAME "...)
	b = strconv.AppendInt(b, fn, 10)
	if ts, ok := in.Timestamp(); ok {
		b = append(b, "  T "...)
		b = strconv.AppendFloat(b, float64(ts)/1e9, 'f', 3, 64)
	}
	b = append(b, "  POINTS "...)
	b = strconv.AppendInt(b, int64(max(pts, 0)), 10)
	b = append(b, "  BOXES "...)
	b = strconv.AppendInt(b, int64(max(boxes, 0)), 10)
	r.hud = b
}

// Draw renders in without writing a file; with readback the picture is then
// available from Image.
func (r *Renderer) Draw(in *ds3d.DataMap, readback bool) error {
	if r.th == nil {
		return fmt.Errorf("%s: Draw before Start", r.name)
	}
	if err := r.frame(in); err != nil {
		return err
	}
	r.readback = readback
	err := r.th.do(r.drawFn, r.done)
	if r.visible() && r.cfg.HoldOnEOS && len(r.cfg.RenderGraph) == 0 { // keep a copy to redraw after EOS
		r.keep.pts = append(r.keep.pts[:0], r.fd[0].pts...)
		r.keep.boxes = append(r.keep.boxes[:0], r.fd[0].boxes...)
		r.keep.stride = r.fd[0].stride
	}
	clear(r.fd) // the datamap's memory goes back with it
	return err
}

// Sync waits until the GL has finished every command issued (glFinish):
// Draw without readback only queues work, so benchmarks call Sync to time
// whole frames.
func (r *Renderer) Sync() error {
	if r.th == nil {
		return nil
	}
	return r.th.do(r.finishFn, r.done)
}

func (r *Renderer) finish() error {
	gogl.Finish()
	return nil
}

// Image is the last frame read back (top row first); it is reused by the
// next frame.
func (r *Renderer) Image() *image.RGBA { return r.img }

// Render draws in, writes its PNG when output_dir is set, and, with a
// shown window, presents it and handles input (blocking while paused).
func (r *Renderer) Render(ctx context.Context, in *ds3d.DataMap) error {
	r.ctx = ctx
	if err := r.Draw(in, r.cfg.OutputDir != ""); err != nil {
		return err
	}
	if r.interactiveErr != nil {
		err := r.interactiveErr
		r.interactiveErr = nil
		return err
	}
	fn := r.count
	if n, err := in.Int64(ds3d.KeyFrameNumber); err == nil {
		fn = n
	}
	r.count++
	if r.cfg.OutputDir != "" {
		r.fname = append(r.fname[:0], r.cfg.OutputDir...)
		r.fname = append(r.fname, os.PathSeparator)
		r.fname = fmt.Appendf(r.fname, r.cfg.Filename, fn)
		if err := r.writePNG(string(r.fname)); err != nil {
			return err
		}
		r.written++
	}
	if r.winClosed {
		return ErrWindowClosed
	}
	return nil
}

// writePNG encodes the last read-back frame to path.
func (r *Renderer) writePNG(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if r.bw == nil {
		r.bw = bufio.NewWriterSize(f, 256<<10)
	} else {
		r.bw.Reset(f)
	}
	err = r.enc.Encode(r.bw, r.img)
	if err == nil {
		err = r.bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", r.name, path, err)
	}
	return nil
}

// mvp is the current clip matrix: the configured camera until the user
// moves it, then the orbit camera.
func (r *Renderer) mvp() mat4 {
	c := &r.cfg
	switch c.View {
	case ViewBEV:
		return bevOrtho(r.cam.xr, r.cam.yr)
	case ViewFront:
		return frontOrtho(c.XRange, r.cam.yr, c.ZRange)
	}
	eye := c.ViewPosition
	target := c.ViewTarget
	if r.camMoved {
		eye, target = r.cam.eye(), r.cam.target
	}
	p := perspective(c.PerspectiveFov, float64(c.WindowWidth)/float64(c.WindowHeight), c.PerspectiveNear, c.PerspectiveFar)
	return p.mul(lookAt(eye, target, c.ViewUp))
}

// drawOnThread draws r.fd, reads it back when asked, and for a shown
// window presents it and runs the input loop while paused.
func (r *Renderer) drawOnThread() error {
	if err := r.th.makeCurrent(r.win); err != nil {
		return err
	}
	r.paint()
	if r.readback {
		gogl.Finish() // so ReadbackTime is the transfer alone (glReadPixels would wait anyway)
		t0 := time.Now()
		r.sc.readPixels(r.read, r.img)
		r.ReadbackTime += time.Since(t0)
	}
	r.Frames++
	if !r.visible() {
		return glError("draw")
	}
	r.sc.present(r.win)
	glfw.PollEvents()
	for r.paused && !r.step && !r.win.ShouldClose() && (r.ctx == nil || r.ctx.Err() == nil) {
		glfw.WaitEventsTimeout(0.05)
	}
	r.step = false
	r.winClosed = r.win.ShouldClose()
	return glError("draw")
}

func (r *Renderer) paint() {
	var m *mat4
	if len(r.cfg.RenderGraph) == 0 {
		mm := r.mvp()
		m = &mm
	}
	r.sc.draw(&r.cfg, r.tiles, r.fd, m, r.hud, &r.st)
}

// Close waits, with hold_on_eos and a shown window, until the window is
// closed, then frees the GL objects and the window.
func (r *Renderer) Close() error {
	if r.th == nil {
		return nil
	}
	if r.visible() && r.cfg.HoldOnEOS && r.win != nil {
		r.th.do(func() error {
			r.fd[0] = r.keep
			defer clear(r.fd)
			for !r.win.ShouldClose() && (r.ctx == nil || r.ctx.Err() == nil) {
				glfw.WaitEventsTimeout(0.05)
			}
			return nil
		}, r.done)
	}
	err := r.th.do(r.closeWindow, r.done)
	releaseThread()
	r.th = nil
	if r.cfg.OutputDir != "" {
		r.log.Info("gl_render: wrote PNG frames", "frames", r.written, "dir", string(r.cfg.OutputDir))
	}
	return err
}

func (r *Renderer) closeWindow() error {
	if r.win == nil {
		return nil
	}
	if err := r.th.makeCurrent(r.win); err == nil {
		r.sc.free()
	}
	r.win.Destroy()
	r.th.current = nil
	r.win = nil
	return nil
}

// screenshot writes the current frame to output_dir (or the working
// folder) as screenshot_N.png.
func (r *Renderer) screenshot() {
	r.paint()
	r.sc.readPixels(r.read, r.img)
	dir := string(r.cfg.OutputDir)
	if dir == "" {
		dir = "."
	}
	r.shots++
	p := filepath.Join(dir, fmt.Sprintf("screenshot_%04d.png", r.shots))
	if err := r.writePNG(p); err != nil {
		r.log.Error("gl_render: screenshot", "err", err)
		return
	}
	r.log.Info("gl_render: screenshot", "file", p)
}
