//go:build cuda

package gpu

import (
	"context"
	"fmt"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// The runtime calls ds3d.ToHost before every component that does not take
// GPU frames, so a config that forgets a to_cpu still runs (each copy is
// counted as the component's gpu→host metric and in TransferStats().Auto)
// instead of failing in the CPU component.
func init() { ds3d.ToHost = autoToHost }

// keyScratch holds key lists for autoToHost, which many components' goroutines
// call at once.
var keyScratch = sync.Pool{New: func() any { s := make([]ds3d.Key, 0, 32); return &s }}

func autoToHost(ctx context.Context, m *ds3d.DataMap) (int, error) {
	sp := keyScratch.Get().(*[]ds3d.Key)
	defer keyScratch.Put(sp)
	*sp = m.Keys((*sp)[:0])
	moved := 0
	for _, k := range *sp {
		v, _ := m.Value(k)
		f, ok := v.(*ds3d.Frame)
		if !ok || f.Mem != ds3d.MemGPU {
			continue
		}
		c, err := Shared(f.Device)
		if err != nil {
			return moved, fmt.Errorf("%s: %w", k, err)
		}
		// A plain host frame: this path is the fallback for a missing
		// to_cpu, so it trades the pinned pool for not needing one.
		h := ds3d.NewFrame(f.DType, f.Type, ds3d.NewShape(f.Shape.Dims()...))
		err = c.Download(h, f)
		ReleaseShared(f.Device)
		if err != nil {
			return moved, fmt.Errorf("%s: %w", k, err)
		}
		stats.d2h.Add(1)
		stats.d2hBytes.Add(uint64(f.Bytes()))
		stats.auto.Add(1)
		m.SetFrame(k, h)
		moved++
	}
	return moved, nil
}

// AcceptsGPUFrames tells the runtime that GPU components take device frames
// as they are (ds3d.GPUAware).
func (u *deviceUser) AcceptsGPUFrames() bool { return true }
