package smartrecord

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/bagrecord"
)

// maxResults bounds the finished recordings Results keeps.
const maxResults = 64

// recWriter is a recording's output, touched by the writer goroutine only.
type recWriter struct {
	bag         *bagrecord.Writer
	mp4         *osd.MP4Writer
	bagDir      string
	videoPath   string
	first, last int64
	maps        int
	frames      int
	opened      bool
	err         error // the bag's first failure (or the output folder's); the bag writes nothing after it
	verr        error // the video's first failure; likewise
}

// writeLoop is the component's one writer goroutine: it takes each open
// recording's backlog under the lock, writes it without the lock, and
// finishes the recordings that ended. It returns after Close once every
// recording is finished.
func (c *Component) writeLoop() {
	defer close(c.done)
	c.mu.Lock()
	defer c.mu.Unlock()
	var batch []*entry
	for {
		worked := false
		for i := 0; i < len(c.open); i++ {
			r := c.open[i]
			if len(r.pending) == 0 && !r.ended {
				continue
			}
			// The backlog slice moves to the writer and a fresh one starts,
			// so Render never waits for a write.
			batch, r.pending = r.pending, batch[:0]
			r.pendingBytes = 0
			ended := r.ended
			c.mu.Unlock()
			c.write(r, batch)
			var res Result
			if ended {
				res = c.finish(r)
			}
			c.mu.Lock()
			for _, e := range batch {
				c.release(e)
			}
			clear(batch)
			worked = true
			if ended {
				// An ended recording gets no more entries, so the batch just
				// written was its last.
				c.open = slices.Delete(c.open, i, i+1)
				i--
				res.Dropped = r.dropped
				c.results = append(c.results, res)
				if len(c.results) > maxResults {
					c.results = slices.Delete(c.results, 0, len(c.results)-maxResults)
				}
				if res.Err != nil && len(c.errs) < maxResults {
					c.errs = append(c.errs, res.Err)
				}
			}
		}
		if !worked {
			if c.closed && len(c.open) == 0 {
				return
			}
			c.cond.Wait()
		}
	}
}

// write writes a batch of r's datamaps into its bag and video, opening
// them at the first datamap. A failed video does not stop the bag, nor the
// reverse: each output stops at its own first error.
func (c *Component) write(r *recording, batch []*entry) {
	w := &r.w
	if len(batch) == 0 {
		return // nothing to write: no output is made (a recording that never saw a datamap has no name)
	}
	if !w.opened {
		w.opened = true
		if w.err = c.open1(r); w.err != nil {
			c.log.Error("recording failed", "id", r.id, "err", w.err)
		}
		w.verr = w.err
	}
	for _, e := range batch {
		if w.err != nil && w.verr != nil {
			return
		}
		wrote := false
		if w.bag != nil && w.err == nil {
			if err := w.bag.Render(context.Background(), e.m); err != nil {
				w.err = fmt.Errorf("recording %q, bag %s: %w", r.id, w.bagDir, err)
				c.log.Error("recording's bag failed", "id", r.id, "err", w.err)
			} else {
				wrote = true
			}
		}
		if c.video != "" && w.verr == nil {
			ok, err := c.writeVideo(r, e)
			if err != nil {
				w.verr = err
				c.log.Error("recording's video failed", "id", r.id, "err", err)
			}
			wrote = wrote || ok
		}
		if !wrote {
			continue
		}
		if w.maps == 0 || e.ts < w.first {
			w.first = e.ts
		}
		if w.maps == 0 || e.ts > w.last {
			w.last = e.ts
		}
		w.maps++
	}
}

// open1 picks r's output name and creates its bag folder. A name in use
// (a replay recorded again, two recordings of one id at one T) gets a
// suffix -2, -3 … rather than touching what is there, unless overwrite
// is set.
func (c *Component) open1(r *recording) error {
	dir, err := c.outputDir()
	if err != nil {
		return err
	}
	base := r.name
	if base == "" {
		return fmt.Errorf("recording %q has no T, so no name", r.id) // write() prevents it: a guard for output_dir itself
	}
	if c.cfg.Overwrite {
		// bagrecord replaces a bag folder (and refuses any other); the
		// video is ours to replace.
		if err := os.Remove(filepath.Join(dir, base+".mp4")); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("recording %q: overwrite: %w", r.id, err)
		}
	}
	for i := 2; !c.cfg.Overwrite && taken(dir, r.name); i++ {
		if i > 1000 {
			return fmt.Errorf("recording %q: %s in %s is taken up to -1000", r.id, base, dir)
		}
		r.name = fmt.Sprintf("%s-%d", base, i)
	}
	if len(c.cfg.Topics) == 0 {
		return nil
	}
	w := &r.w
	w.bagDir = filepath.Join(dir, r.name)
	if w.bag, err = bagrecord.New(c.bagConfig(w.bagDir)); err != nil {
		return fmt.Errorf("recording %q: %w", r.id, err)
	}
	return nil
}

// writeVideo sends e's colour frame to ffmpeg, starting it at the first
// frame, when the size is known. It reports whether e had a frame written.
func (c *Component) writeVideo(r *recording, e *entry) (bool, error) {
	f, err := e.m.Frame(c.video)
	if err != nil {
		return false, nil // this datamap has no video frame
	}
	cv, err := osd.CanvasOf(f)
	if err != nil {
		return false, fmt.Errorf("recording %q: video_key %s: %w", r.id, c.video, err)
	}
	w := &r.w
	if w.mp4 == nil {
		dir, err := c.outputDir()
		if err != nil {
			return false, err
		}
		path := filepath.Join(dir, r.name+".mp4")
		sc := osd.DefaultSinkConfig()
		sc.Path, sc.FPS, sc.CRF, sc.Preset, sc.FFmpeg = ds3d.Path(path), c.cfg.VideoFPS, c.cfg.CRF, c.cfg.Preset, c.cfg.FFmpeg
		if w.mp4, err = osd.StartMP4(c.ctx, &sc, cv.Width, cv.Height); err != nil {
			return false, fmt.Errorf("recording %q: %w", r.id, err)
		}
		w.videoPath = path
	}
	if err := w.mp4.WriteFrame(cv); err != nil {
		return false, fmt.Errorf("recording %q: %w", r.id, err)
	}
	w.frames++
	return true, nil
}

// finish closes r's bag (metadata.yaml) and video and describes it.
func (c *Component) finish(r *recording) Result {
	w := &r.w
	errs := []error{w.err}
	if w.verr != w.err {
		errs = append(errs, w.verr)
	}
	if w.bag != nil {
		if err := w.bag.Close(); err != nil {
			errs = append(errs, fmt.Errorf("recording %q, bag %s: %w", r.id, w.bagDir, err))
		}
	}
	if w.mp4 != nil {
		if err := w.mp4.Close(); err != nil {
			errs = append(errs, fmt.Errorf("recording %q: %w", r.id, err))
		}
	}
	res := Result{ID: r.id, Bag: w.bagDir, Video: w.videoPath, T: r.t, From: r.t - r.before, To: r.t + r.dur,
		First: w.first, Last: w.last, DataMaps: w.maps, VideoFrames: w.frames, Err: errors.Join(errs...)}
	if r.stoppedAt != math.MaxInt64 && r.stoppedAt < res.To {
		res.To = r.stoppedAt
	}
	if w.bag == nil {
		res.Bag = ""
	}
	if res.Err != nil {
		c.log.Error("recording finished with an error", "id", r.id, "err", res.Err)
	} else {
		c.log.Info("recording finished", "id", r.id, "bag", res.Bag, "video", res.Video,
			"datamaps", res.DataMaps, "video_frames", res.VideoFrames, "dropped", r.dropped)
	}
	return res
}

// taken reports whether the bag folder or video of name exists in dir.
func taken(dir, name string) bool {
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, name+".mp4")} {
		if _, err := os.Lstat(p); err == nil {
			return true
		}
	}
	return false
}
