package foxglove

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	fg "github.com/ds3d-go/ds3d-go/sensors/foxglove"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// TestServerToSource: foxglove_ws_source reads what foxglove_ws serves.
// (The server's output is checked against the Foxglove libraries in
// TestFoxgloveClientDecodes, the source's input in sensors/foxglove; this
// joins the two.)
func TestServerToSource(t *testing.T) {
	f := kittiFrame(t)
	s := startServer(t, nil)
	c := fg.NewSourceConfig()
	c.URL, c.PointsTopic = "ws://"+s.Addr(), "/ds3d/points"
	src, err := fg.NewSource(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	waitFor(t, "the source's subscription", func() bool { return s.Subscribers("/ds3d/points") == 1 })
	m := frameMap(f, nil)
	m.SetTimestamp(1_234_567_890_123)
	if err := s.Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Release()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	g, err := out.Frame(ds3d.KeyLidarXYZI)
	if err != nil {
		t.Fatal(err)
	}
	if ts, _ := out.Timestamp(); ts != 1_234_567_890_123 {
		t.Errorf("timestamp %d", ts)
	}
	if !bytes.Equal(g.Data, f.Data) {
		t.Error("the cloud changed on the way")
	}
}

// TestPointCloud2Columns: a frame with extra named columns is published
// with one float32 field per column at its offset.
func TestPointCloud2Columns(t *testing.T) {
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(3, 6))
	f.SetColumns("x", "y", "z", "intensity", "ring", "time")
	for i, v := range ds3d.AsFloat32(f) {
		ds3d.AsFloat32(f)[i] = float32(i) + v
	}
	b, err := ros2.AppendPointCloud2(nil, ros2.HeaderAt(5e9+7, "velo"), f)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ros2.DecodePointCloud2(b)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Len() != 3 || pc.PointStep != 24 || pc.Header.FrameID != "velo" || pc.Header.Nanos() != 5e9+7 {
		t.Errorf("decoded %+v", pc.Header)
	}
	for i, name := range f.Columns() {
		fd := pc.Field(name)
		if fd == nil || fd.Offset != uint32(4*i) || fd.Datatype != ros2.PFFloat32 || fd.Count != 1 {
			t.Errorf("field %s: %+v", name, fd)
		}
	}
	if !bytes.Equal(pc.Data, f.Data) {
		t.Error("data differs")
	}
	if _, err := ros2.AppendPointCloud2(nil, ros2.HeaderAt(0, "x"), ds3d.NewTensorFrame(ds3d.DTypeF32, 4, 5)); err == nil {
		t.Error("a frame without column names was published")
	}
}
