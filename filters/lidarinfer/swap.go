package lidarinfer

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
)

// SwapModel loads the ONNX model at path (under models_dir, checked by
// infer2d.ResolveModel, sha256 optional) on the caller's goroutine with the
// configured threads, checks that its inputs and outputs (names, order,
// shapes) equal the running model's, and parks it: the filter's goroutine
// switches to it before its next datamap and closes the old one, so every
// frame runs whole on one model and none is lost. The buffers, output
// pools and anchor head bound to the first model serve the new one, which
// is why its shapes must not change. On any error the running model stays.
// It returns once the model is parked, not when it first runs.
func (f *Filter) SwapModel(ctx context.Context, path, sum string) error {
	real, err := infer2d.ResolveModel(string(f.c.ModelsDir), path, sum)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s, err := infer.Open(real, infer.Options{Threads: f.c.Threads})
	if err != nil {
		return fmt.Errorf("model %s: %w", real, err)
	}
	if err := infer2d.SameIO(f.ioIn, f.ioOut, s); err != nil {
		s.Close()
		return fmt.Errorf("model %s refused: %w", real, err)
	}
	return f.swap.Offer(s, real)
}

// takeSwap switches to a parked model; it runs on the filter's goroutine,
// between two datamaps.
func (f *Filter) takeSwap() {
	r, path := f.swap.Take()
	if r == nil {
		return
	}
	old, oldPath := f.s, f.running
	f.s, f.running = r.(*infer.Session), path
	f.log.Info("model swapped between two datamaps", "old", oldPath, "new", path)
	if err := old.Close(); err != nil {
		f.log.Warn("closing the old model", "model", oldPath, "err", err)
	}
}
