package mux_test

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/mux"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Two sources batched two at a time and scaled to 320×240: Run owns the
// batching goroutine, producers Push, and Out closes after the last batch
// once every source has ended and Close was called.
func Example() {
	cfg := mux.DefaultConfig()
	cfg.BatchSize, cfg.Width, cfg.Height = 2, 320, 240
	m, err := mux.New(cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	go m.Run(ctx)
	m.AddSource(0)
	m.AddSource(1)
	go func() {
		for k := int64(0); k < 3; k++ {
			for src := int32(0); src < 2; src++ {
				img, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 640, 480, 0)
				m.Push(ctx, src, mux.Input{Image: img, PTS: k * 100e6, FrameNum: k})
			}
		}
		m.EOS(0)
		m.EOS(1)
		m.Close()
	}()
	for b := range m.Out() {
		for i, fm := range b.Meta.Frames {
			fmt.Printf("batch %d slot %d: source %d frame %d pts %dms %dx%d→%dx%d\n", b.Seq, i, fm.SourceID, fm.FrameNum,
				fm.PTS/1e6, fm.Width, fm.Height, b.Frames[i].Plane.Width, b.Frames[i].Plane.Height)
		}
		b.Release()
	}
	// Output:
	// batch 0 slot 0: source 0 frame 0 pts 0ms 640x480→320x240
	// batch 0 slot 1: source 1 frame 0 pts 0ms 640x480→320x240
	// batch 1 slot 0: source 0 frame 1 pts 100ms 640x480→320x240
	// batch 1 slot 1: source 1 frame 1 pts 100ms 640x480→320x240
	// batch 2 slot 0: source 0 frame 2 pts 200ms 640x480→320x240
	// batch 2 slot 1: source 1 frame 2 pts 200ms 640x480→320x240
}
