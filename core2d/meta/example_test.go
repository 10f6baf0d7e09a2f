package meta_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// A muxer fills a pooled batch, a detector adds objects, a tracker sets
// their ids, and the batch goes back to the pool when the sink is done.
func Example() {
	var pool meta.Pool
	b := pool.Get()
	f := b.AddFrame()
	f.SourceID, f.FrameNum, f.PTS = 0, 41, 1_640_000_000
	o := f.AddObject()
	o.Object2D = ds3d.Object2D{Left: 10, Top: 20, Width: 40, Height: 90, ClassID: 0, Label: "person", Score: 0.87}
	o.TrackID, o.TrackerConfidence = 3, 1
	for _, fm := range b.Frames {
		for _, om := range fm.Objects {
			fmt.Printf("source %d frame %d: %s #%d at (%g,%g) %gx%g\n",
				fm.SourceID, fm.FrameNum, om.Label, om.TrackID, om.Left, om.Top, om.Width, om.Height)
		}
	}
	pool.Put(b)
	// Output: source 0 frame 41: person #3 at (10,20) 40x90
}
