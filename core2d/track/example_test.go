package track_test

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/core2d/track"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// A person walking right, detected in every frame: SORT gives it id 1 and
// keeps it, and the Kalman filter learns its velocity.
func Example() {
	tr, err := track.New(track.DefaultSORT())
	if err != nil {
		panic(err)
	}
	for f := 0; f < 5; f++ {
		dets := []ds3d.Object2D{{Left: float32(100 + 10*f), Top: 50, Width: 40, Height: 100, Score: 0.9}}
		for _, o := range tr.Update(dets) {
			fmt.Printf("frame %d: id %d at x=%.0f\n", f+1, o.TrackID, o.Left)
		}
	}
	// Output:
	// frame 1: id 1 at x=100
	// frame 2: id 1 at x=110
	// frame 3: id 1 at x=120
	// frame 4: id 1 at x=130
	// frame 5: id 1 at x=140
}
