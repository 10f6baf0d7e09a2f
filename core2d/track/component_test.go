package track

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestFilterBatchPerSource feeds nvtracker_2d stream_mux-style batches of
// two streams — TUD-Campus's public detections as source 3 and
// PETS09-S2L1's as source 8 — with the slots swapping every other frame,
// as arrival order does. Each stream's output must be exactly what a
// tracker of that stream alone gives (no shared state, ids counting from 1
// per stream, whichever slot it is in), with ids unique per stream per
// frame and every object tagged with its source.
func TestFilterBatchPerSource(t *testing.T) {
	seqs := []string{"TUD-Campus", "PETS09-S2L1"}
	srcIDs := []int32{3, 8}
	var byFrame [2]map[int][]mot.Row
	for k, seq := range seqs {
		rows, err := mot.Read(sampledata.Shared(t, "mot15/"+seq+"/det.txt"))
		if err != nil {
			t.Fatal(err)
		}
		_, byFrame[k] = mot.ByFrame(rows)
	}
	const frames = 70 // TUD-Campus has 71
	dets := func(k, f int) []ds3d.Object2D {
		var d []ds3d.Object2D
		for _, r := range byFrame[k][f] {
			d = append(d, r.Object2D())
		}
		return d
	}
	// Reference: each stream through its own tracker.
	var want [2][][]ds3d.Object2D
	for k := range seqs {
		tr := mustNew(t, DefaultSORT())
		for f := 1; f <= frames; f++ {
			out := slices.Clone(tr.Update(dets(k, f)))
			for i := range out {
				out[i].SourceID = srcIDs[k]
			}
			want[k] = append(want[k], out)
		}
	}
	m, err := NewMulti(DefaultSORT())
	if err != nil {
		t.Fatal(err)
	}
	filt := &Filter{m: m}
	for f := 1; f <= frames; f++ {
		order := []int{0, 1}
		if f%2 == 0 {
			order = []int{1, 0}
		}
		dm := ds3d.NewDataMap()
		bm := &meta.BatchMeta{MaxFrames: 2}
		for slot, k := range order {
			fm := bm.AddFrame()
			fm.SourceID, fm.FrameNum = srcIDs[k], int64(f-1)
			dm.Set(ds3d.KeyObject2DBbox.Sensor(slot), dets(k, f))
		}
		dm.Set(ds3d.KeyBatchMeta, bm)
		var got *ds3d.DataMap
		if err := filt.Process(context.Background(), dm, func(o *ds3d.DataMap) error { got = o; return nil }); err != nil {
			t.Fatal(err)
		}
		for slot, k := range order {
			out, err := ds3d.Get[[]ds3d.Object2D](got, ds3d.KeyObject2DBbox.Sensor(slot))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(out, want[k][f-1]) {
				t.Fatalf("frame %d, %s in slot %d: batch tracking gave %v, alone %v", f, seqs[k], slot, out, want[k][f-1])
			}
			seen := map[int64]bool{}
			for _, o := range out {
				if seen[o.TrackID] || o.SourceID != srcIDs[k] {
					t.Fatalf("frame %d source %d: id %d repeated or source %d", f, srcIDs[k], o.TrackID, o.SourceID)
				}
				seen[o.TrackID] = true
			}
		}
	}
	if m.Streams() != 2 {
		t.Errorf("%d streams tracked, want 2", m.Streams())
	}
	// A slot without its object list is a configuration error naming it.
	dm := ds3d.NewDataMap()
	bm := &meta.BatchMeta{}
	bm.AddFrame().SourceID = 3
	bm.AddFrame().SourceID = 8
	dm.Set(ds3d.KeyBatchMeta, bm)
	dm.Set(ds3d.KeyObject2DBbox.Sensor(0), dets(0, 1))
	err = filt.Process(context.Background(), dm, func(*ds3d.DataMap) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "DS3D::Object2DBboxKey_1") {
		t.Errorf("missing slot 1 objects: %v", err)
	}
}
