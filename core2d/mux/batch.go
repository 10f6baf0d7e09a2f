package mux

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TransformMetaType tags the UserMeta of each FrameMeta whose Data is the
// *Transform from source to batch pixels.
const TransformMetaType = "mux.Transform"

// Transform maps a source frame's pixels to its batch frame's:
// xb = x·ScaleX + OffsetX, yb = y·ScaleY + OffsetY. Identity when the
// muxer does not scale; equal scales and a centring offset with padding.
type Transform struct {
	ScaleX, ScaleY   float64
	OffsetX, OffsetY float64
}

// ToSource maps a box in batch pixels back to source pixels.
func (t *Transform) ToSource(o ds3d.Object2D) ds3d.Object2D {
	o.Left = float32((float64(o.Left) - t.OffsetX) / t.ScaleX)
	o.Top = float32((float64(o.Top) - t.OffsetY) / t.ScaleY)
	o.Width = float32(float64(o.Width) / t.ScaleX)
	o.Height = float32(float64(o.Height) / t.ScaleY)
	return o
}

// TransformOf returns the transform the muxer attached to a frame, or the
// identity when there is none.
func TransformOf(f *meta.FrameMeta) Transform {
	for _, u := range f.User {
		if t, ok := u.Data.(*Transform); ok && u.Type == TransformMetaType {
			return *t
		}
	}
	return Transform{ScaleX: 1, ScaleY: 1}
}

// Batch is what the muxer emits: up to batch_size frames, one FrameMeta
// per frame (source id, frame number, PTS, NTP arrival time, source size)
// in Meta, and the frames themselves in Frames, in the same order.
type Batch struct {
	Meta       *meta.BatchMeta
	Frames     []*ds3d.Frame // one reference each, owned by the batch
	Transforms []Transform
	PTS        int64  // the earliest PTS of the batch's frames
	Seq        uint64 // batch number from 0
	EOS        bool   // the last batch: every source had ended (and Close was called) when it closed; Out closing is the definitive end

	sh    *shaper
	sizes [][2]int32
}

// Release drops the batch's frame references and returns it to its pool.
func (b *Batch) Release() {
	for i, f := range b.Frames {
		f.Release()
		b.Frames[i] = nil
	}
	b.Frames = b.Frames[:0]
	b.Transforms = b.Transforms[:0]
	if b.sh != nil {
		b.sh.metas.Put(b.Meta)
		b.Meta = nil
		b.sh.batches.Put(b)
	}
}

// shaper turns a formed batch into a Batch: frames scaled (or passed
// through) and metadata filled.
type shaper struct {
	cfg Config
	// pools is copied on write (a new frame type, rare) so that the
	// metrics read it from another goroutine without a lock on the
	// per-frame path.
	pools    atomic.Pointer[map[ds3d.FrameType]*ds3d.FramePool]
	resizers map[[5]int]*Resizer
	metas    meta.Pool
	batches  sync.Pool
	seq      uint64
}

func newShaper(cfg Config) *shaper {
	s := &shaper{cfg: cfg, resizers: map[[5]int]*Resizer{}}
	s.pools.Store(&map[ds3d.FrameType]*ds3d.FramePool{})
	return s
}

func (s *shaper) pool(t ds3d.FrameType) (*ds3d.FramePool, error) {
	cur := *s.pools.Load()
	if p := cur[t]; p != nil {
		return p, nil
	}
	w, h := s.cfg.Width, s.cfg.Height
	if _, err := ds3d.NewImageFrame(t, ds3d.DTypeU8, w, h, 0); err != nil {
		return nil, err
	}
	p, err := ds3d.NewFramePool(s.cfg.MemPoolSize, func() *ds3d.Frame {
		f, _ := ds3d.NewImageFrame(t, ds3d.DTypeU8, w, h, 0)
		return f
	})
	if err != nil {
		return nil, err
	}
	next := make(map[ds3d.FrameType]*ds3d.FramePool, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[t] = p
	s.pools.Store(&next)
	return p, nil
}

// poolStats reports the scaled-frame pools by frame type.
func (s *shaper) poolStats() []ds3d.PoolStat {
	var out []ds3d.PoolStat
	for t, p := range *s.pools.Load() {
		out = append(out, p.Stat(t.String()))
	}
	slices.SortFunc(out, func(a, b ds3d.PoolStat) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// checkImage reports whether f is a CPU RGB/RGBA u8 image frame.
func checkImage(f *ds3d.Frame) error {
	if f == nil {
		return fmt.Errorf("no image frame")
	}
	if f.Mem != ds3d.MemCPU && f.Mem != ds3d.MemCPUPinned {
		return fmt.Errorf("image frame in %s memory: the muxer scales on the CPU", f.Mem)
	}
	if f.DType != ds3d.DTypeU8 || (f.Type != ds3d.FrameColorRGB && f.Type != ds3d.FrameColorRGBA) || f.Plane.Pitch == 0 {
		return fmt.Errorf("want an RGB or RGBA u8 image frame, got %s %s %s", f.Type, f.DType, f.Shape)
	}
	if len(f.Data) < f.Plane.Pitch*f.Plane.Height {
		return fmt.Errorf("image frame of %d bytes is shorter than %d rows of %d", len(f.Data), f.Plane.Height, f.Plane.Pitch)
	}
	return nil
}

// build scales f's frames into a Batch. On an error every frame of f is
// released.
func (s *shaper) build(ctx context.Context, f formed, bm *meta.BatchMeta, b *Batch) error {
	bm.MaxFrames = s.cfg.BatchSize
	b.Meta, b.Seq, b.EOS, b.PTS = bm, s.seq, f.eos, 0
	s.seq++
	sizes := b.sizes[:0]
	for i, p := range f.frames {
		sizes = append(sizes, [2]int32{int32(p.img.Plane.Width), int32(p.img.Plane.Height)})
		out, t, err := s.scale(ctx, p.img)
		if err != nil {
			for _, q := range f.frames[i+1:] {
				q.img.Release()
			}
			return fmt.Errorf("source %d frame %d: %w", p.src.id, p.num, err)
		}
		b.Frames = append(b.Frames, out)
		b.Transforms = append(b.Transforms, t)
		b.sizes = sizes
		if i == 0 || p.pts < b.PTS {
			b.PTS = p.pts
		}
	}
	for i, p := range f.frames {
		fm := bm.AddFrame()
		fm.SourceID, fm.FrameNum, fm.PTS, fm.NTP = p.src.id, p.num, p.pts, p.arrived
		fm.Width, fm.Height = sizes[i][0], sizes[i][1]
		fm.User = append(fm.User, meta.UserMeta{Type: TransformMetaType, Data: &b.Transforms[i]})
	}
	return nil
}

// scale returns the batch frame for img (taking over img's reference) and
// the transform from img's pixels to it.
func (s *shaper) scale(ctx context.Context, img *ds3d.Frame) (*ds3d.Frame, Transform, error) {
	id := Transform{ScaleX: 1, ScaleY: 1}
	if err := checkImage(img); err != nil {
		img.Release()
		return nil, id, err
	}
	sw, sh := img.Plane.Width, img.Plane.Height
	W, H := s.cfg.Width, s.cfg.Height
	if W == 0 || (sw == W && sh == H) {
		return img, id, nil
	}
	ch := img.Plane.BytesPerPixel
	pool, err := s.pool(img.Type)
	if err != nil {
		img.Release()
		return nil, id, err
	}
	out, err := pool.Get(ctx)
	if err != nil {
		img.Release()
		return nil, id, err
	}
	dw, dh, ox, oy := W, H, 0, 0
	if s.cfg.EnablePadding {
		r := min(float64(W)/float64(sw), float64(H)/float64(sh))
		dw, dh = max(1, min(W, int(float64(sw)*r+0.5))), max(1, min(H, int(float64(sh)*r+0.5)))
		ox, oy = (W-dw)/2, (H-dh)/2
		paint(out, ox, oy, dw, dh, s.cfg.PaddingColor)
	}
	key := [5]int{sw, sh, dw, dh, ch}
	rz := s.resizers[key]
	if rz == nil {
		if rz, err = NewResizer(sw, sh, dw, dh, ch); err != nil {
			out.Release()
			img.Release()
			return nil, id, err
		}
		s.resizers[key] = rz
	}
	pitch := out.Plane.Pitch
	rz.Resize(out.Data[oy*pitch+ox*ch:], pitch, img.Data, img.Plane.Pitch)
	img.Release()
	t := Transform{ScaleX: float64(dw) / float64(sw), ScaleY: float64(dh) / float64(sh), OffsetX: float64(ox), OffsetY: float64(oy)}
	return out, t, nil
}

// paint fills the frame outside the dw×dh picture at (ox, oy) with c.
func paint(f *ds3d.Frame, ox, oy, dw, dh int, c [3]uint8) {
	p := f.Plane
	bpp := p.BytesPerPixel
	px := [4]uint8{c[0], c[1], c[2], 255}
	for y := 0; y < p.Height; y++ {
		row := f.Data[y*p.Pitch : y*p.Pitch+p.Width*bpp]
		for x := 0; x < p.Width; x++ {
			if y >= oy && y < oy+dh && x >= ox && x < ox+dw {
				x = ox + dw - 1
				continue
			}
			copy(row[x*bpp:x*bpp+bpp], px[:bpp])
		}
	}
}
