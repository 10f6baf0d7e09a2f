package smartrecord

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const pointsTopic = "/ds3d/points"

// newRec builds a smart_record recording DS3D::LidarXYZI into a temp dir;
// edit changes the defaults first.
func newRec(t *testing.T, edit func(*Config)) *Component {
	t.Helper()
	cfg := DefaultConfig()
	cfg.OutputDir = ds3d.Path(t.TempDir())
	cfg.Topics = map[string]string{string(ds3d.KeyLidarXYZI): pointsTopic}
	cfg.CacheSeconds = 2
	if edit != nil {
		edit(cfg)
	}
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// input is what the test keeps of each datamap it fed: its stamp and a
// copy of its points' bytes (the reference the bag is checked against).
type input struct {
	ts  int64
	pts []byte
}

// feed replays n datamaps of test_source (10 Hz from 0 s, 500-point
// frames from a pool of 2, so a component holding frames would stall it:
// Get would wait out the context) into c, calling after(k) once datamap k
// has been rendered.
func feed(t *testing.T, c *Component, n int, after func(k int)) []input {
	t.Helper()
	cfg := &builtin.SourceConfig{Count: n, RateHz: 10, Points: 500, PoolGroup: ds3d.PoolGroup{MemPoolSize: 2}}
	src, err := builtin.NewSource(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var in []input
	for k := 0; k < n; k++ {
		m, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("datamap %d: %v", k, err)
		}
		ts, _ := m.Timestamp()
		f, err := m.Frame(ds3d.KeyLidarXYZI)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, input{ts: ts, pts: append([]byte(nil), f.Data...)})
		if err := c.Render(ctx, m); err != nil {
			t.Fatalf("datamap %d: %v", k, err)
		}
		m.Release()
		if after != nil {
			after(k)
		}
	}
	return in
}

// window is the inputs stamped within [from, to].
func window(in []input, from, to int64) []input {
	var out []input
	for _, x := range in {
		if x.ts >= from && x.ts <= to {
			out = append(out, x)
		}
	}
	return out
}

// readPoints reads a bag's point clouds: stamps (log time and header
// stamp must agree) and point bytes.
func readPoints(t *testing.T, dir string) []input {
	t.Helper()
	b, err := bag.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []input
	err = b.Messages(bag.Options{Topics: []string{pointsTopic}}, func(m *bag.Message) error {
		pc, err := ros2.DecodePointCloud2(m.Data)
		if err != nil {
			return m.Errorf("%w", err)
		}
		f, err := pc.ToFrame(nil)
		if err != nil {
			return m.Errorf("%w", err)
		}
		if hs := int64(pc.Header.Sec)*1e9 + int64(pc.Header.Nanosec); hs != int64(m.LogTime) {
			return m.Errorf("header stamp %d, log time %d", hs, m.LogTime)
		}
		out = append(out, input{ts: int64(m.LogTime), pts: append([]byte(nil), f.Data...)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Metadata == nil || int(b.Metadata.Info.MessageCount) != len(out) {
		t.Fatalf("metadata.yaml %+v counts other than the %d messages read", b.Metadata, len(out))
	}
	return out
}

func sameInputs(t *testing.T, what string, got, want []input) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d clouds %v, want %d %v", what, len(got), stamps(got), len(want), stamps(want))
	}
	for i := range got {
		if got[i].ts != want[i].ts {
			t.Fatalf("%s: cloud %d stamped %d, want %d", what, i, got[i].ts, want[i].ts)
		}
		if string(got[i].pts) != string(want[i].pts) {
			t.Fatalf("%s: cloud %d (%d bytes) differs from the input (%d bytes)", what, i, len(got[i].pts), len(want[i].pts))
		}
	}
}

func stamps(in []input) []int64 {
	s := make([]int64, len(in))
	for i, x := range in {
		s[i] = x.ts
	}
	return s
}

func result(t *testing.T, c *Component, id string) Result {
	t.Helper()
	for _, r := range c.Results() {
		if r.ID == id {
			if r.Err != nil {
				t.Fatalf("recording %s: %v", id, r.Err)
			}
			return r
		}
	}
	t.Fatalf("no result for %s in %+v", id, c.Results())
	return Result{}
}

// TestRecordWindow starts a recording (before 0.3 s, duration 0.5 s) after
// the datamap stamped 1.9 s and a second, overlapping one after 2.2 s: each
// bag holds exactly the input clouds stamped within [T − before,
// T + duration], byte for byte.
func TestRecordWindow(t *testing.T) {
	c := newRec(t, nil)
	var t1, t2 int64
	in := feed(t, c, 40, func(k int) {
		var err error
		switch k {
		case 19:
			t1 = 1_900_000_000
			err = c.StartRecording("event-1", 300*time.Millisecond, 500*time.Millisecond)
		case 22:
			t2 = 2_200_000_000
			err = c.StartRecording("event-2", 100*time.Millisecond, 200*time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r1, r2 := result(t, c, "event-1"), result(t, c, "event-2")
	want1 := window(in, t1-300_000_000, t1+500_000_000)
	want2 := window(in, t2-100_000_000, t2+200_000_000)
	if len(want1) != 9 || len(want2) != 4 {
		t.Fatalf("the reference windows hold %d and %d clouds, want 9 and 4", len(want1), len(want2))
	}
	sameInputs(t, "event-1", readPoints(t, r1.Bag), want1)
	sameInputs(t, "event-2", readPoints(t, r2.Bag), want2)
	if r1.T != t1 || r1.First != want1[0].ts || r1.Last != want1[8].ts || r1.DataMaps != 9 {
		t.Errorf("result %+v", r1)
	}
	if base := filepath.Base(r1.Bag); base != "event-1_19700101T000001.900Z" {
		t.Errorf("bag folder %s", base)
	}
	if c.Dropped() != 0 {
		t.Errorf("%d dropped", c.Dropped())
	}
}

// TestStopRecording ends a 5 s recording after 0.4 s: the bag ends at the
// datamap seen last before the stop; the id is free again and a second
// stop is an error.
func TestStopRecording(t *testing.T) {
	c := newRec(t, nil)
	in := feed(t, c, 30, func(k int) {
		switch k {
		case 10:
			if err := c.StartRecording("long", 200*time.Millisecond, 5*time.Second); err != nil {
				t.Fatal(err)
			}
		case 14:
			if err := c.StopRecording("long"); err != nil {
				t.Fatal(err)
			}
			if err := c.StopRecording("long"); err == nil || !strings.Contains(err.Error(), `no recording "long"`) {
				t.Fatalf("second stop: %v", err)
			}
		}
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := result(t, c, "long")
	sameInputs(t, "long", readPoints(t, r.Bag), window(in, 800_000_000, 1_400_000_000))
	if r.To != 1_400_000_000 {
		t.Errorf("result ends at %d, want the stop at 1.4 s", r.To)
	}
}

// TestCloseMidRecording closes the component while a recording runs: the
// bag is complete (metadata.yaml, summary) up to the last datamap.
func TestCloseMidRecording(t *testing.T) {
	c := newRec(t, func(c *Config) { c.Compression = "zstd" })
	in := feed(t, c, 20, func(k int) {
		if k == 5 {
			if err := c.StartRecording("cut", 200*time.Millisecond, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := result(t, c, "cut")
	if _, err := os.Stat(filepath.Join(r.Bag, "metadata.yaml")); err != nil {
		t.Fatal(err)
	}
	sameInputs(t, "cut", readPoints(t, r.Bag), window(in, 300_000_000, 1_900_000_000))
	if err := c.StartRecording("late", 0, time.Second); err == nil {
		t.Error("a start after Close was accepted")
	}
}

// TestStartBeforeData: a recording asked for before any datamap starts at
// the first one.
func TestStartBeforeData(t *testing.T) {
	c := newRec(t, nil)
	if err := c.StartRecording("early", time.Second, 250*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	in := feed(t, c, 10, nil)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	sameInputs(t, "early", readPoints(t, result(t, c, "early").Bag), window(in, 0, 250_000_000))
}

// TestCacheBounds: the cache keeps cache_seconds of stream time and no more
// than cache_max_bytes, so a long 'before' gets what is left.
func TestCacheBounds(t *testing.T) {
	const entry = 500*16 + 64 // a 500-point cloud and the entry's overhead
	for _, tc := range []struct {
		name    string
		seconds float64
		bytes   int64
		from    int64
	}{
		{"seconds", 0.45, 1 << 30, 1_500_000_000},    // 1.9 − 0.45 → the clouds from 1.5 s
		{"bytes", 100, 3 * entry, 1_700_000_000},     // three clouds: 1.7, 1.8, 1.9
		{"bytes-one", 100, entry / 2, 1_900_000_000}, // the newest stays however large
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newRec(t, func(c *Config) { c.CacheSeconds, c.CacheMaxBytes = tc.seconds, tc.bytes })
			in := feed(t, c, 25, func(k int) {
				if k == 19 {
					// 1 ns after T ends the window at the next datamap, so
					// only the cache is written.
					if err := c.StartRecording("past", 10*time.Second, time.Nanosecond); err != nil {
						t.Fatal(err)
					}
				}
			})
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			sameInputs(t, tc.name, readPoints(t, result(t, c, "past").Bag), window(in, tc.from, 1_900_000_000))
		})
	}
}

// TestStartErrors: ids that are no safe file name, negative times, an id in
// use, more than max_recordings open, and stopping an unknown id are
// errors naming the id.
func TestStartErrors(t *testing.T) {
	c := newRec(t, func(c *Config) { c.MaxRecordings = 2 })
	for _, id := range []string{"", "../x", "a/b", ".hidden", "sp ace", strings.Repeat("x", 65)} {
		if err := c.StartRecording(id, 0, time.Second); err == nil {
			t.Errorf("id %q accepted", id)
		}
	}
	if err := c.StartRecording("neg", -time.Second, time.Second); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("negative before: %v", err)
	}
	if err := c.StartRecording("a", 0, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.StartRecording("a", 0, time.Second); err == nil || !strings.Contains(err.Error(), `"a" is already running`) {
		t.Errorf("duplicate: %v", err)
	}
	if err := c.StartRecording("b", 0, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.StartRecording("c", 0, time.Second); err == nil || !strings.Contains(err.Error(), "max_recordings") {
		t.Errorf("third of max 2: %v", err)
	}
	if err := c.StopRecording("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown id: %v", err)
	}
}

// TestConfigRules: nothing to record, a bad topic and a repeated schedule
// id are config errors naming the key.
func TestConfigRules(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		key  string
	}{
		{func(c *Config) { c.Topics = nil }, "topics"},
		{func(c *Config) { c.Topics = map[string]string{"DS3D::LidarXYZI": "points"} }, "topics"},
		{func(c *Config) { c.Schedule = []Scheduled{{ID: "a"}, {ID: "a"}} }, "schedule[1].id"},
		{func(c *Config) { c.Schedule = []Scheduled{{ID: "a/b"}} }, "schedule[0].id"},
	} {
		cfg := DefaultConfig()
		cfg.OutputDir = "out"
		cfg.Topics = map[string]string{"DS3D::LidarXYZI": "/p"}
		tc.edit(cfg)
		if _, err := New(cfg, nil); err == nil || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("want an error naming %s, got %v", tc.key, err)
		}
	}
}

// TestScheduleInPipeline runs test_source (pooled frames) into smart_record
// in a real graph with a scheduled recording at 1 s: the run ends (no
// frame held) and the bag holds the clouds of [0.7 s, 1.5 s].
func TestScheduleInPipeline(t *testing.T) {
	out := t.TempDir()
	g := dstest.MustRun(t, "", `
[[component]]
name = "src"
type = "ds3d::dataloader"
impl = "test_source"
link_to = "rec"
[component.config]
count = 30
rate_hz = 10.0
points = 300
mem_pool_size = 2

[[component]]
name = "rec"
type = "ds3d::datarender"
impl = "smart_record"
[component.config]
output_dir = "`+out+`"
[component.config.topics]
"DS3D::LidarXYZI" = "/ds3d/points"
[[component.config.schedule]]
id = "sched"
at = "1s"
before = "300ms"
duration = "500ms"
`)
	c := g.Component("rec").(*Component)
	r := result(t, c, "sched")
	got := readPoints(t, r.Bag)
	var want []int64
	for ts := int64(700_000_000); ts <= 1_500_000_000; ts += 100_000_000 {
		want = append(want, ts)
	}
	if s := stamps(got); len(s) != len(want) || s[0] != want[0] || s[len(s)-1] != want[len(want)-1] {
		t.Fatalf("stamps %v, want %v", s, want)
	}
	for i, x := range got {
		if len(x.pts) != 300*16 {
			t.Fatalf("cloud %d has %d bytes, want 300 points", i, len(x.pts))
		}
	}
}

// TestVideo records a colour key as MP4 beside the bag: ffprobe decodes
// exactly the frames of the window, at video_fps, lasting 9 frames' time.
func TestVideo(t *testing.T) {
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg")
	probe := testenv.Tool(t, "ffprobe", "apt-get install ffmpeg")
	c := newRec(t, func(c *Config) { c.VideoKey = string(ds3d.KeyColorFrame); c.Preset = "ultrafast" })
	ctx := context.Background()
	for k := 0; k < 30; k++ {
		m := ds3d.NewDataMap()
		m.SetTimestamp(int64(k) * 100_000_000)
		f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 64, 48, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Data {
			f.Data[i] = byte(k * 8)
		}
		m.SetFrame(ds3d.KeyColorFrame, f)
		m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(10))
		if err := c.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
		if k == 9 {
			if err := c.StartRecording("cam", 300*time.Millisecond, 500*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := result(t, c, "cam")
	if r.VideoFrames != 9 || filepath.Base(r.Video) != "cam_19700101T000000.900Z.mp4" {
		t.Fatalf("result %+v", r)
	}
	out := testenv.Output(t, exec.Command(probe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,width,height,r_frame_rate:format=duration", "-of", "default=nw=1", r.Video))
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	d, err := strconv.ParseFloat(got["duration"], 64)
	if got["nb_read_frames"] != "9" || got["width"] != "64" || got["height"] != "48" || got["r_frame_rate"] != "10/1" ||
		err != nil || math.Abs(d-0.9) > 0.01 {
		t.Errorf("ffprobe: %v, want 9 frames of 64×48 at 10/1 fps, 0.9 s", got)
	}
	if n := len(readPoints(t, r.Bag)); n != 9 {
		t.Errorf("bag holds %d clouds, want 9", n)
	}
}

// recorder is the interface msgbroker_source drives a recorder through.
var _ interface {
	StartRecording(id string, before, duration time.Duration) error
	StopRecording(id string) error
} = (*Component)(nil)

// TestCommandsWhileRendering starts and stops recordings from another
// goroutine while datamaps flow (run with -race): every recording finishes
// with a readable bag whose stamps are increasing and inside its window.
func TestCommandsWhileRendering(t *testing.T) {
	c := newRec(t, func(c *Config) { c.MaxRecordings = 3 })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := "cmd-" + string(rune('a'+i%5))
			if i%2 == 0 {
				_ = c.StartRecording(id, 200*time.Millisecond, 300*time.Millisecond) // max_recordings may refuse
			} else {
				_ = c.StopRecording(id) // may have ended already
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()
	feed(t, c, 200, func(int) { time.Sleep(50 * time.Microsecond) })
	close(stop)
	<-done
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	rs := c.Results()
	if len(rs) == 0 {
		t.Fatal("no recording finished")
	}
	for _, r := range rs {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.ID, r.Err)
		}
		if r.DataMaps == 0 {
			continue
		}
		got := readPoints(t, r.Bag)
		for i, x := range got {
			if x.ts < r.From || x.ts > r.To || i > 0 && x.ts <= got[i-1].ts {
				t.Fatalf("%s %+v: cloud %d stamped %d", r.ID, r, i, x.ts)
			}
		}
		if len(got) != r.DataMaps {
			t.Fatalf("%s: %d clouds, result says %d", r.ID, len(got), r.DataMaps)
		}
	}
}

// TestSlowWriterDrops makes the writer hang on a video encoder that reads
// nothing for 2 s: every Render returns before it reads (no wait on
// the writer),
// the recording's backlog stays within cache_max_bytes by dropping, and
// written plus dropped datamaps are the window's.
func TestSlowWriterDrops(t *testing.T) {
	dir := t.TempDir()
	slow, woke := filepath.Join(dir, "slow-ffmpeg"), filepath.Join(dir, "reading")
	if err := os.WriteFile(slow, []byte("#!/bin/sh\nsleep 2\ntouch "+woke+"\nexec cat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const frameBytes = 320 * 240 * 3
	c := newRec(t, func(c *Config) {
		c.VideoKey, c.FFmpeg = string(ds3d.KeyColorFrame), slow
		c.CacheMaxBytes = 20 * frameBytes
		c.CacheSeconds = 100
	})
	ctx := context.Background()
	const n = 100
	for k := 0; k < n; k++ {
		m := ds3d.NewDataMap()
		m.SetTimestamp(int64(k) * 100_000_000)
		f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 320, 240, 0)
		if err != nil {
			t.Fatal(err)
		}
		m.SetFrame(ds3d.KeyColorFrame, f)
		if err := c.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
		if k == 0 {
			if err := c.StartRecording("slow", 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := os.Stat(woke); err == nil {
		t.Fatal("the encoder was reading before the renders ended: Render waited for the writer (or the machine is very slow)")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := result(t, c, "slow")
	if r.Dropped == 0 || uint64(r.Dropped) != c.Dropped() || r.DataMaps+r.Dropped != n {
		t.Errorf("written %d + dropped %d (metric %d), want %d in all, some dropped", r.DataMaps, r.Dropped, c.Dropped(), n)
	}
}

// TestNameTaken: a recording whose name exists already (a replay recorded
// twice) writes beside it under -2 and leaves the old folder alone.
func TestNameTaken(t *testing.T) {
	c := newRec(t, nil)
	old := filepath.Join(string(c.cfg.OutputDir), "again_19700101T000000.400Z")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := feed(t, c, 8, func(k int) {
		if k == 4 {
			if err := c.StartRecording("again", 100*time.Millisecond, 100*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
	})
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	r := result(t, c, "again")
	if r.Bag != old+"-2" {
		t.Errorf("bag %s, want %s-2", r.Bag, old)
	}
	sameInputs(t, "again", readPoints(t, r.Bag), window(in, 300_000_000, 500_000_000))
	if _, err := os.Stat(filepath.Join(old, "keep")); err != nil {
		t.Error(err)
	}
}

// TestExampleConfig runs apps/examples/smart-record.toml twice with its
// output in a temp folder: the scheduled recording holds the clouds of
// [1.0 s, 3.5 s] as the file's comment says, and overwrite makes the
// second run replace the first run's bag.
func TestExampleConfig(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "apps", "examples", "smart-record.toml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "apps", "examples")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for run := 0; run < 2; run++ {
		g := dstest.MustRun(t, dir, string(doc))
		r := result(t, g.Component("recorder").(*Component), "incident")
		want := filepath.Join(dir, "..", "..", "out", "smart-record", "incident_19700101T000002.000Z")
		if filepath.Clean(r.Bag) != filepath.Clean(want) {
			t.Fatalf("run %d: bag %s, want %s", run, r.Bag, want)
		}
		s := stamps(readPoints(t, r.Bag))
		if len(s) != 26 || s[0] != 1_000_000_000 || s[25] != 3_500_000_000 {
			t.Fatalf("run %d: stamps %v", run, s)
		}
	}
}

// TestCloseTimeout: an encoder that never reads is killed at close_timeout;
// Close returns its error, and the bag, written on regardless, holds every
// cloud of the recording.
func TestCloseTimeout(t *testing.T) {
	hung := filepath.Join(t.TempDir(), "hung-ffmpeg")
	if err := os.WriteFile(hung, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := newRec(t, func(c *Config) {
		c.VideoKey, c.FFmpeg, c.CloseTimeout = string(ds3d.KeyColorFrame), hung, 300*time.Millisecond
	})
	ctx := context.Background()
	var want []int64
	for k := 0; k < 10; k++ {
		m := ds3d.NewDataMap()
		m.SetTimestamp(int64(k) * 100_000_000)
		f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 320, 240, 0) // over a pipe's 64 KiB: the first write blocks
		if err != nil {
			t.Fatal(err)
		}
		m.SetFrame(ds3d.KeyColorFrame, f)
		m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(10))
		if err := c.Render(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.Release()
		want = append(want, int64(k)*100_000_000)
		if k == 0 {
			if err := c.StartRecording("hung", 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	err := c.Close()
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Close took %v with close_timeout 300ms", took)
	}
	if err == nil || !strings.Contains(err.Error(), "ffmpeg") {
		t.Fatalf("Close: %v, want the killed encoder's error", err)
	}
	r := c.Results()[0]
	if got := stamps(readPoints(t, r.Bag)); len(got) != len(want) {
		t.Fatalf("bag stamps %v, want %v", got, want)
	}
}

// TestNothingRecorded: a recording started and stopped before any datamap
// makes no output and leaves output_dir as it was (with overwrite on, a
// nameless recording must never touch the folder itself).
func TestNothingRecorded(t *testing.T) {
	c := newRec(t, func(c *Config) { c.Overwrite = true })
	dir := string(c.cfg.OutputDir)
	if err := os.WriteFile(filepath.Join(dir, "metadata.yaml"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.StartRecording("void", time.Second, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.StopRecording("void"); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r := result(t, c, "void"); r.Bag != "" || r.Video != "" || r.DataMaps != 0 {
		t.Errorf("result %+v", r)
	}
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) != 1 {
		t.Errorf("output_dir holds %v (%v), want only the file put there", ents, err)
	}
}
