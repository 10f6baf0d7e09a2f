//go:build cgo

package gl

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// VideoRenderer is gl_render with output_video: every frame is read back
// (the buffer PNG output uses) and appended to an H.264 MP4 through
// core2d/osd's ffmpeg writer, or to a Motion-JPEG AVI through its pure-Go
// AVI writer. The MP4 path converts each frame to rgb24 in a reused buffer
// and hands ffmpeg one write: it allocates nothing per frame (the AVI path
// allocates inside image/jpeg). The registry builds one for gl_render
// when output_video is set.
type VideoRenderer struct {
	*Renderer
	vw     osd.FrameWriter
	rgb    []byte
	frames int64

	// WriteTime is the total time spent handing frames to the video
	// writer (conversion and the pipe write, or JPEG encoding), for
	// docs/PERF.md.
	WriteTime time.Duration
}

func init() { wrapVideo = func(r *Renderer) any { return &VideoRenderer{Renderer: r} } }

// NewVideoRenderer makes a renderer that writes c.OutputVideo (which must
// be set) from a validated config; env may be nil.
func NewVideoRenderer(c *Config, env *ds3d.Env) (*VideoRenderer, error) {
	if c.OutputVideo == "" {
		return nil, ds3d.ConfigErrorf("output_video", "a video renderer needs the video file's path")
	}
	r, err := NewRenderer(c, env)
	if err != nil {
		return nil, err
	}
	return &VideoRenderer{Renderer: r}, nil
}

// Start checks that ffmpeg is there (for an MP4) before touching the
// display, opens the renderer, then the video file (ffmpeg belongs to ctx:
// cancelling it kills the encoder; the pipeline closes its components
// before it cancels).
func (v *VideoRenderer) Start(ctx context.Context) error {
	if v.vw != nil {
		return nil
	}
	c := &v.cfg
	sc := osd.DefaultSinkConfig()
	sc.Path, sc.FPS = c.OutputVideo, c.VideoFPS
	if c.videoFormat() == videoMP4 {
		if _, err := exec.LookPath(sc.FFmpeg); err != nil {
			return fmt.Errorf("%s: output_video %s is H.264 through ffmpeg, which is not installed or not on PATH (%w); install ffmpeg or write a .avi (Motion-JPEG, pure Go)", v.name, c.OutputVideo, err)
		}
	}
	if err := v.Renderer.Start(ctx); err != nil {
		return err
	}
	w, err := osd.Open(ctx, &sc, c.WindowWidth, c.WindowHeight)
	if err != nil {
		v.Renderer.Close()
		return fmt.Errorf("%s: output_video: %w", v.name, err)
	}
	v.vw = w
	if c.videoFormat() == videoMP4 {
		v.rgb = make([]byte, c.WindowWidth*c.WindowHeight*3)
	}
	return nil
}

// Render draws in (writing its PNG when output_dir is set) and appends the
// read-back frame to the video.
func (v *VideoRenderer) Render(ctx context.Context, in *ds3d.DataMap) error {
	if v.vw == nil {
		return fmt.Errorf("%s: Render before Start", v.name)
	}
	r := v.Renderer
	var err error
	if r.cfg.OutputDir != "" {
		err = r.Render(ctx, in) // reads back for the PNG
	} else {
		r.ctx = ctx
		if err = r.Draw(in, true); err == nil {
			r.count++
			if r.winClosed {
				err = ErrWindowClosed
			}
		}
	}
	if err != nil && !errors.Is(err, ErrWindowClosed) {
		return err
	}
	if werr := v.writeFrame(); werr != nil {
		return fmt.Errorf("%s: output_video: %w", v.name, werr)
	}
	return err
}

// writeFrame hands the last read-back frame to the writer: rgb24 in one
// piece for ffmpeg, the RGBA image itself for the JPEG encoder.
func (v *VideoRenderer) writeFrame() error {
	t0 := time.Now()
	img := v.img
	w, h := img.Rect.Dx(), img.Rect.Dy()
	cv := osd.Canvas{Pix: img.Pix, Width: w, Height: h, Pitch: img.Stride, BPP: 4}
	if v.rgb != nil {
		rgbaToRGB(v.rgb, img.Pix, w, h, img.Stride)
		cv = osd.Canvas{Pix: v.rgb, Width: w, Height: h, Pitch: w * 3, BPP: 3}
	}
	err := v.vw.WriteFrame(cv)
	v.WriteTime += time.Since(t0)
	if err == nil {
		v.frames++
	}
	return err
}

// rgbaToRGB packs w×h RGBA pixels (rows stride bytes apart) into rgb24.
func rgbaToRGB(dst, src []byte, w, h, stride int) {
	for y := 0; y < h; y++ {
		s := src[y*stride : y*stride+w*4]
		d := dst[y*w*3 : (y+1)*w*3]
		for i, j := 0, 0; i+3 < len(s) && j+2 < len(d); i, j = i+4, j+3 {
			d[j], d[j+1], d[j+2] = s[i], s[i+1], s[i+2]
		}
	}
}

// VideoFrames is the number of frames written to the video so far.
func (v *VideoRenderer) VideoFrames() int64 { return v.frames }

// Close finishes the video first — for an MP4 it closes ffmpeg's input and
// waits for ffmpeg to write the index and exit — then closes the renderer.
func (v *VideoRenderer) Close() error {
	var err error
	if v.vw != nil {
		err = v.vw.Close()
		v.vw = nil
		if err == nil {
			v.log.Info("gl_render: wrote video", "frames", v.frames, "file", string(v.cfg.OutputVideo))
		} else {
			err = fmt.Errorf("%s: output_video: %w", v.name, err)
		}
	}
	return errors.Join(err, v.Renderer.Close())
}
