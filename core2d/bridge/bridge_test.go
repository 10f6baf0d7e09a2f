package bridge

import (
	"context"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/mux"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/fusion/mixer"
)

// batchOf runs a Go-API muxer over one 200×100 frame of source 3 and one
// 100×100 frame of source 5, letterboxed to 100×100, and returns the batch.
func batchOf(t *testing.T) *mux.Batch {
	t.Helper()
	cfg := mux.DefaultConfig()
	cfg.BatchSize, cfg.Width, cfg.Height, cfg.EnablePadding = 2, 100, 100, true
	m, err := mux.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	go m.Run(ctx)
	m.AddSource(3)
	m.AddSource(5)
	for _, s := range []struct {
		id   int32
		w, h int
	}{{3, 200, 100}, {5, 100, 100}} {
		f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, s.w, s.h, 0)
		if err := m.Push(ctx, s.id, mux.Input{Image: f, PTS: 1e9, FrameNum: 7}); err != nil {
			t.Fatal(err)
		}
	}
	b := <-m.Out()
	m.Close()
	m.EOS(3)
	m.EOS(5)
	for range m.Out() {
	}
	return b
}

// TestFromBatch: objects a detector added to the batch meta come out as
// DS3D::Object2DBboxKey_N; with source_coordinates a box on the
// letterboxed frame of source 3 (200×100 scaled by 0.5 to 100×50 at row
// 25) maps back by hand: (10, 30, 20×10) → (20, 10, 40×20).
func TestFromBatch(t *testing.T) {
	b := batchOf(t)
	defer b.Release()
	o := b.Meta.Frames[0].AddObject()
	o.Left, o.Top, o.Width, o.Height, o.ClassID, o.Label = 10, 30, 20, 10, 0, "person"
	cfg := DefaultConfig()
	cfg.SourceCoordinates = true
	br, _ := New(cfg)
	m, err := br.FromBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	objs, err := ds3d.Get[[]ds3d.Object2D](m, "DS3D::Object2DBboxKey_0")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Left != 20 || objs[0].Top != 10 || objs[0].Width != 40 || objs[0].Height != 20 || objs[0].SourceID != 3 {
		t.Errorf("slot 0 objects %+v, want (20,10,40×20) of source 3", objs)
	}
	if o1, err := ds3d.Get[[]ds3d.Object2D](m, "DS3D::Object2DBboxKey_1"); err != nil || len(o1) != 0 {
		t.Errorf("slot 1 objects %v %v, want none", o1, err)
	}
	for k, want := range map[ds3d.Key]int64{"DS3D::SourceId_0": 3, "DS3D::SourceId_1": 5, "DS3D::FrameNumber_1": 7, "DS3D::Timestamp_0": 1e9} {
		if v, err := m.Int64(k); err != nil || v != want {
			t.Errorf("%s = %d %v, want %d", k, v, err, want)
		}
	}
	f, err := m.Frame("DS3D::ColorFrame_1")
	if err != nil || f.Plane.Width != 100 {
		t.Errorf("DS3D::ColorFrame_1: %v %v", f, err)
	}
}

// TestIndexBySourceMeetsLidar: with index = source the keys carry the
// camera index (3, 5); the datamap then meets a lidar sweep of the same
// time in multisensor_mixer, whose output holds both sides.
func TestIndexBySourceMeetsLidar(t *testing.T) {
	b := batchOf(t)
	defer b.Release()
	cfg := DefaultConfig()
	cfg.Index = IndexSource
	br, _ := New(cfg)
	cam, err := br.FromBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	lidar := ds3d.NewDataMap()
	lidar.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(4))
	lidar.SetTimestamp(1e9)
	mx, err := mixer.New(&mixer.Config{Policy: mixer.PolicyApproximateTime, QueueSize: 4, RenameKeys: true}, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*ds3d.DataMap
	emit := func(m *ds3d.DataMap) error { out = append(out, m); return nil }
	ctx := context.Background()
	if err := mx.Push(ctx, 0, lidar, emit); err != nil {
		t.Fatal(err)
	}
	if err := mx.Push(ctx, 1, cam, emit); err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 {
		t.Fatalf("mixer published %d sets", len(out))
	}
	defer out[0].Release()
	for _, k := range []ds3d.Key{"DS3D::LidarXYZI+0", "DS3D::ColorFrame_3+1", "DS3D::ColorFrame_5+1", "DS3D::Object2DBboxKey_3+1", "DS3D::SourceId_5+1"} {
		if !out[0].Has(k) {
			t.Errorf("mixed datamap lacks %s: %v", k, out[0].Keys(nil))
		}
	}
}

// TestSingleFrame: a datamap of one frame (no batch meta), as infer_2d and
// nvtracker_2d leave it, becomes slot 0.
func TestSingleFrame(t *testing.T) {
	m := ds3d.NewDataMap()
	defer m.Release()
	f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 4, 4, 0)
	m.SetFrame(ds3d.KeyColorFrame, f)
	m.Set(ds3d.KeyObject2DBbox, []ds3d.Object2D{{Left: 1, Width: 2, Height: 2, TrackID: 4}})
	m.SetInt64(ds3d.KeySourceID, 2)
	br, _ := New(DefaultConfig())
	if err := br.Convert(m); err != nil {
		t.Fatal(err)
	}
	o, err := ds3d.Get[[]ds3d.Object2D](m, "DS3D::Object2DBboxKey_0")
	if err != nil || len(o) != 1 || o[0].TrackID != 4 || m.Has(ds3d.KeyColorFrame) || !m.Has("DS3D::ColorFrame_0") {
		t.Errorf("converted: %v %v keys %v", o, err, m.Keys(nil))
	}
	empty := ds3d.NewDataMap()
	defer empty.Release()
	if err := br.Convert(empty); err == nil {
		t.Error("a datamap without frames converted")
	}
}
