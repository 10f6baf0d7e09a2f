package meta

import (
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

func fillBatch(b *BatchMeta, frames, objs int) {
	for f := 0; f < frames; f++ {
		fm := b.AddFrame()
		fm.SourceID, fm.FrameNum, fm.PTS = int32(f), 7, 1e9
		fm.User = append(fm.User, UserMeta{Type: "x", Data: f})
		for k := 0; k < objs; k++ {
			o := fm.AddObject()
			o.Object2D = ds3d.Object2D{Left: 1, Width: 2, Height: 3, Label: "person", Score: 0.5, TrackID: int64(k)}
			c := o.AddClassifier(2)
			c.Labels = append(c.Labels, Label{ClassID: 1, Label: "red", Prob: 0.9})
		}
	}
}

func TestResetKeepsCapacityAndClears(t *testing.T) {
	b := &BatchMeta{}
	fillBatch(b, 4, 10)
	if len(b.Frames) != 4 || b.Frames[3].BatchID != 3 || len(b.Frames[2].Objects) != 10 {
		t.Fatalf("fill: %d frames", len(b.Frames))
	}
	b.Reset()
	if len(b.Frames) != 0 || cap(b.Frames) < 4 {
		t.Fatalf("reset: len %d cap %d", len(b.Frames), cap(b.Frames))
	}
	f := b.AddFrame()
	if f.SourceID != 0 || f.PTS != 0 || len(f.Objects) != 0 || cap(f.Objects) < 10 || len(f.User) != 0 {
		t.Fatalf("reused frame not reset: %+v", f)
	}
	o := f.AddObject()
	if o.TrackID != UntrackedID || o.Label != "" || o.Parent != -1 || len(o.Classifiers) != 0 || cap(o.Classifiers) < 1 {
		t.Fatalf("reused object not reset: %+v", o)
	}
	if c := o.AddClassifier(9); len(c.Labels) != 0 || cap(c.Labels) < 1 || c.ComponentID != 9 {
		t.Fatalf("reused classifier: %+v", c)
	}
	// Everything beyond len was cleared of references.
	if full := f.Objects[:cap(f.Objects)]; full[5].Label != "" {
		t.Errorf("stale label kept alive: %q", full[5].Label)
	}
}

func TestPoolSteadyStateNoAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "sync.Pool drops items at random under -race")
	var p Pool
	b := p.Get()
	fillBatch(b, 4, 20)
	p.Put(b)
	allocs := testing.AllocsPerRun(50, func() {
		b := p.Get()
		fillBatch(b, 4, 20)
		p.Put(b)
	})
	// fillBatch boxes an int into UserMeta.Data (one allocation per frame
	// for values ≥ 256; 0..3 are cached by the runtime): expect ≤ 1.
	if allocs > 1 {
		t.Errorf("%v allocations per batch in steady state", allocs)
	}
}

func TestReuseNoAllocs(t *testing.T) {
	b := &BatchMeta{}
	fillBatch(b, 4, 20)
	b.Reset()
	allocs := testing.AllocsPerRun(50, func() {
		fillBatch(b, 4, 20)
		b.Reset()
	})
	if allocs > 1 { // see TestPoolSteadyStateNoAllocs
		t.Errorf("%v allocations per batch after Reset", allocs)
	}
}

func TestObjects2D(t *testing.T) {
	var b BatchMeta
	fillBatch(&b, 1, 3)
	got := b.Frames[0].Objects2D(nil)
	if len(got) != 3 || got[2].TrackID != 2 || got[0].Label != "person" {
		t.Errorf("%+v", got)
	}
}
