//go:build linux

package msgbroker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/analytics"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// TestE2EAnalyticsEventsMQTT sends the analytics filter's events through
// mosquitto: one message per event, at the topic of the event's own source
// ({sensor} from the metadata file), with frame_interval thinning nothing.
// Two streams (source 0 and 5) each walk a box across a line; each
// subscriber, on one stream's topic only, receives exactly that stream's
// crossing, byte for byte msgconv.AppendAnalyticsJSON of the event.
func TestE2EAnalyticsEventsMQTT(t *testing.T) {
	testenv.E2E(t)
	srv := mosquitto(t)
	sub0 := subscribe(t, srv.port, "ds3d/0/events", "")
	sub5 := subscribe(t, srv.port, "ds3d/cam_b/events", "")
	meta := filepath.Join(t.TempDir(), "meta.toml")
	if err := os.WriteFile(meta, []byte("[sensor.5]\nid = \"cam_b\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.EventsKey = string(ds3d.KeyAnalyticsEvents)
	cfg.Topic = "ds3d/{sensor}/events"
	cfg.FrameInterval = 5 // the crossings happen at frames 3, which frame_interval alone would skip
	cfg.MetadataFile = ds3d.Path(meta)
	cfg.MQTT.Broker = fmt.Sprintf("tcp://127.0.0.1:%d", srv.port)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sink, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sink.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer sink.Close()

	rules := analytics.RulesConfig{MinTrackAge: 1, MaxGap: 30, FrameRate: 10, Labels: []string{"person"}, ResultRing: 4,
		Lines: []analytics.LineConfig{{ID: "gate", SourceID: -1, Points: [][2]float64{{600, 100}, {600, 900}}}}}
	f, err := analytics.NewFilter(&analytics.Config{ObjectsKey: string(ds3d.KeyObject2DBbox), ResultKey: string(ds3d.KeyAnalytics),
		EventsKey: string(ds3d.KeyAnalyticsEvents), RulesConfig: rules})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32][]string{}
	for i := range 6 {
		for _, src := range []int32{0, 5} {
			m := ds3d.NewDataMap()
			m.SetInt64(ds3d.KeyFrameNumber, int64(i))
			m.SetInt64(ds3d.KeySourceID, int64(src))
			m.SetTimestamp(1796687999000000000 + int64(i)*100_000_000)
			// Source 0 walks right, source 5 left: opposite directions.
			x := float32(490 + 40*i)
			if src == 5 {
				x = 690 - 40*float32(i)
			}
			m.Set(ds3d.KeyObject2DBbox, []ds3d.Object2D{{Left: x, Top: 400, Width: 40, Height: 100, Label: "person", TrackID: 3}})
			if err := f.Process(context.Background(), m, func(m *ds3d.DataMap) error {
				ev, err := ds3d.Get[*ds3d.AnalyticsEvents](m, ds3d.KeyAnalyticsEvents)
				if err != nil {
					return err
				}
				for k := range ev.Events {
					sensor := map[int32]string{0: "0", 5: "cam_b"}[src]
					want[src] = append(want[src], string(msgconv.AppendAnalyticsJSON(nil, sensor, &ev.Events[k])))
				}
				return sink.Render(context.Background(), m)
			}); err != nil {
				t.Fatal(err)
			}
			m.Release()
		}
	}
	if len(want[0]) != 1 || len(want[5]) != 1 {
		t.Fatalf("the filter made %d and %d events, want one crossing per stream", len(want[0]), len(want[5]))
	}
	for src, sub := range map[int32]*mqttSubscriber{0: sub0, 5: sub5} {
		waitUntil(t, 10*time.Second, "the events at the subscriber", func() bool { return len(sub.payloads()) >= len(want[src]) })
		got := sub.payloads()
		if len(got) != len(want[src]) || string(got[0]) != want[src][0] {
			t.Errorf("source %d: received %q, want %q", src, got, want[src])
		}
	}
	// Sent counts acknowledgements, which may come after the subscribers
	// have the messages.
	waitUntil(t, 10*time.Second, "both acknowledgements", func() bool { return sink.Stats().Sent >= 2 })
	if st := sink.Stats(); st.Sent != 2 || st.Dropped != 0 || st.Failed != 0 {
		t.Errorf("stats %+v, want 2 sent", st)
	}
}
