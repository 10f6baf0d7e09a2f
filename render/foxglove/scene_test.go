package foxglove

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/coder/websocket"

	fg "github.com/ds3d-go/ds3d-go/sensors/foxglove"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// sceneField walks a generically decoded message along field names.
func sceneField(v ros2.Value, path ...string) ros2.Value {
	for _, p := range path {
		m, ok := v.(*ros2.Message)
		if !ok {
			return nil
		}
		v = m.Get(p)
	}
	return v
}

func sceneVec(v ros2.Value, keys ...string) []float64 {
	out := make([]float64, len(keys))
	for i, k := range keys {
		out[i], _ = sceneField(v, k).(float64)
	}
	return out
}

// TestSceneTopic: a client subscribed to scene_topic gets a
// foxglove_msgs/msg/SceneUpdate that the schema-driven decoder, reading
// the schema text the server advertised, turns back into the pipeline's
// boxes: a delete-all, then one cube per box at the box's centre, size and
// yaw, stamped with the datamap's time in frame_id.
func TestSceneTopic(t *testing.T) {
	s := startServer(t, func(c *Config) { c.SceneTopic = "/ds3d/scene"; c.BoxLifetime = 1500 * time.Millisecond })
	// A client of its own: dial keeps only the channels' ids, this test
	// needs the advertised schema.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+s.Addr(), &websocket.DialOptions{Subprotocols: []string{fg.Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	c := &wsClient{conn: conn, channels: map[string]uint32{}}
	var ch fg.Channel
	for _, op := range []string{"serverInfo", "advertise"} {
		m := c.readJSON(t, ctx)
		if m.Op != op {
			t.Fatalf("server sent %q, want %q", m.Op, op)
		}
		for _, x := range m.Channels {
			c.channels[x.Topic] = x.ID
			if x.Topic == "/ds3d/scene" {
				ch = x
			}
		}
	}
	if ch.SchemaName != ros2.SceneUpdateType || ch.Encoding != "cdr" || ch.SchemaEncoding != "ros2msg" {
		t.Fatalf("scene channel %+v", ch)
	}
	schema, err := ros2.ParseSchema(ch.SchemaName, ch.Schema)
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe(t, 1, "/ds3d/scene")
	waitFor(t, "the subscription", func() bool { return s.Subscribers("/ds3d/scene") == 1 })
	boxes := testBoxes()
	m := frameMap(kittiFrame(t), boxes)
	m.SetTimestamp(1_234_567_890_123)
	if err := s.Render(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Release()
	var payload []byte
	for payload == nil {
		typ, b, err := c.conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if typ != websocket.MessageBinary {
			continue
		}
		bm, err := fg.ParseServerBinary(b)
		if err != nil {
			t.Fatal(err)
		}
		if bm.Op == fg.OpMessageData {
			payload = bm.Payload
		}
	}
	v, err := schema.Decode(payload)
	if err != nil {
		t.Fatal(err)
	}
	dels, _ := sceneField(v, "deletions").([]any)
	if len(dels) != 1 || sceneField(dels[0], "type") != uint64(ros2.SceneDeleteAll) {
		t.Errorf("deletions %v, want one delete-all", dels)
	}
	ents, _ := sceneField(v, "entities").([]any)
	if len(ents) != len(boxes) {
		t.Fatalf("%d entities, want %d", len(ents), len(boxes))
	}
	wantIDs := []string{"track-7", "box-1", "box-2"}
	for i, e := range ents {
		b := boxes[i]
		if sceneField(e, "frame_id") != "lidar" || sceneField(e, "id") != wantIDs[i] ||
			sceneField(e, "timestamp", "sec") != int64(1234) || sceneField(e, "timestamp", "nanosec") != uint64(567_890_123) ||
			sceneField(e, "lifetime", "sec") != int64(1) || sceneField(e, "lifetime", "nanosec") != uint64(500_000_000) {
			t.Errorf("entity %d: frame %v id %v stamp %v lifetime %v", i, sceneField(e, "frame_id"), sceneField(e, "id"),
				sceneField(e, "timestamp"), sceneField(e, "lifetime"))
		}
		cubes, _ := sceneField(e, "cubes").([]any)
		if len(cubes) != 1 {
			t.Fatalf("entity %d: %d cubes", i, len(cubes))
		}
		pos := sceneVec(sceneField(cubes[0], "pose", "position"), "x", "y", "z")
		size := sceneVec(sceneField(cubes[0], "size"), "x", "y", "z")
		q := sceneVec(sceneField(cubes[0], "pose", "orientation"), "x", "y", "z", "w")
		if pos[0] != float64(b.CX) || pos[1] != float64(b.CY) || pos[2] != float64(b.CZ) ||
			size[0] != float64(b.DX) || size[1] != float64(b.DY) || size[2] != float64(b.DZ) {
			t.Errorf("entity %d: position %v size %v", i, pos, size)
		}
		// The test boxes turn about z only: q = (0, 0, sin(yaw/2), cos(yaw/2)).
		y := float64(b.Yaw)
		if math.Abs(q[2]-math.Sin(y/2)) > 1e-9 || math.Abs(q[3]-math.Cos(y/2)) > 1e-9 || q[0] != 0 || q[1] != 0 {
			t.Errorf("entity %d: orientation %v for yaw %v", i, q, y)
		}
	}
	red := sceneVec(sceneField(sceneField(ents[1], "cubes").([]any)[0], "color"), "r", "g", "b", "a")
	if red[0] != 1 || red[1] != 0 || red[2] != 0 || red[3] != 1 {
		t.Errorf("entity 1: colour %v, want the box's opaque red", red)
	}
}

// TestSceneTopicValidate: scene_topic may not reuse another topic, and is
// off by default.
func TestSceneTopicValidate(t *testing.T) {
	c := NewConfig()
	if c.SceneTopic != "" {
		t.Errorf("scene_topic defaults to %q, want off", c.SceneTopic)
	}
	c.SceneTopic = c.BoxesTopic
	if err := c.Validate(); err == nil || !contains(err.Error(), "scene_topic") {
		t.Errorf("scene_topic equal to boxes_topic: %v", err)
	}
	c.SceneTopic, c.BoxesKey = c.BoxesTopic, "" // no boxes: no scene, no clash
	if err := c.Validate(); err != nil {
		t.Errorf("scene_topic without boxes_key: %v", err)
	}
}
