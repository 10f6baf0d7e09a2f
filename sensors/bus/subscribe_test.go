package bus

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// testBus starts an embedded server and returns a subscriber config on it
// and a JetStream handle to publish with.
func testBus(t *testing.T, stream string) (*SubscribeConfig, jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	srv, err := StartEmbedded(&EmbeddedConfig{DataDir: ds3d.Path(t.TempDir()), MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultSubscribeConfig()
	cfg.URL = srv.URL()
	cfg.Stream = stream
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := cfg.StreamConfig.Ensure(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, js, st
}

// publishFrames publishes n small datamaps of one source with ids.
func publishFrames(t *testing.T, js jetstream.JetStream, cfg *StreamConfig, src int64, frames ...int64) {
	t.Helper()
	for _, fn := range frames {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeySourceID, src)
		m.SetInt64(ds3d.KeyFrameNumber, fn)
		m.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(3))
		enc, err := Encode(nil, m, nil)
		m.Release()
		if err != nil {
			t.Fatal(err)
		}
		msg := &nats.Msg{Subject: cfg.Subject(src), Data: enc, Header: nats.Header{}}
		msg.Header.Set(HdrSource, strconv.FormatInt(src, 10))
		msg.Header.Set(HdrFrame, strconv.FormatInt(fn, 10))
		if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(MsgID("", src, fn))); err != nil {
			t.Fatal(err)
		}
	}
}

func startSub(t *testing.T, cfg *SubscribeConfig) *Subscriber {
	t.Helper()
	s, err := NewSubscriber(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func next(t *testing.T, s *Subscriber) *ds3d.DataMap {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func frameOf(t *testing.T, m *ds3d.DataMap) int64 {
	t.Helper()
	fn, err := m.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: not within 5 s", what)
}

// TestAckAfterRelease checks that a datamap is acked only when it and
// every clone of it have been released.
func TestAckAfterRelease(t *testing.T) {
	cfg, js, _ := testBus(t, "ACK")
	publishFrames(t, js, &cfg.StreamConfig, 0, 0)
	s := startSub(t, cfg)
	m := next(t, s)
	c := m.Clone()
	m.Release()
	time.Sleep(100 * time.Millisecond)
	if a := s.Stats().Acked; a != 0 {
		t.Fatalf("acked %d while a clone is held", a)
	}
	c.Release()
	eventually(t, "ack after the last release", func() bool { return s.Stats().Acked == 1 })
}

// TestWorkSharingRedelivery: two subscribers share one durable; the first
// takes a datamap and never releases it (a stuck or dead worker); the
// second gets every datamap, that one after ack_wait.
func TestWorkSharingRedelivery(t *testing.T) {
	cfg, js, _ := testBus(t, "WQ")
	cfg.AckWait = 400 * time.Millisecond
	cfg.MaxPending = 1
	publishFrames(t, js, &cfg.StreamConfig, 0, 0, 1, 2, 3, 4, 5, 6, 7)
	stuck := startSub(t, cfg)
	held := next(t, stuck)
	heldFrame := frameOf(t, held)
	other := startSub(t, cfg)
	got := map[int64]int{}
	start := time.Now()
	for len(got) < 8 {
		m := next(t, other)
		got[frameOf(t, m)]++
		m.Release()
		if time.Since(start) > 8*time.Second {
			t.Fatalf("got %v after 8 s", got)
		}
	}
	if got[heldFrame] == 0 {
		t.Fatalf("held frame %d never redelivered: %v", heldFrame, got)
	}
	if time.Since(start) < cfg.AckWait/2 {
		t.Errorf("held frame came back after %v, before ack_wait %v", time.Since(start), cfg.AckWait)
	}
	held.Release()
}

// TestDedup: a datamap held past ack_wait is delivered again to the same
// subscriber; with dedup on, the copy is dropped and counted.
func TestDedup(t *testing.T) {
	cfg, js, _ := testBus(t, "DUP")
	cfg.AckWait = 300 * time.Millisecond
	cfg.Dedup = 16
	cfg.Idle = 1500 * time.Millisecond
	publishFrames(t, js, &cfg.StreamConfig, 0, 0, 1)
	s := startSub(t, cfg)
	a := next(t, s)
	time.Sleep(700 * time.Millisecond) // past ack_wait: the server sends it again
	frames := []int64{frameOf(t, a)}
	a.Release()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		m, err := s.Next(ctx)
		cancel()
		if err != nil {
			break // io.EOF after idle_timeout
		}
		frames = append(frames, frameOf(t, m))
		m.Release()
	}
	if len(frames) != 2 || frames[0] == frames[1] {
		t.Errorf("frames %v, want 0 and 1 once each", frames)
	}
	if s.Stats().Duplicates == 0 {
		t.Errorf("no duplicate counted: %+v", s.Stats())
	}
}

func TestReassembleMissingChunk(t *testing.T) {
	_, js, st := testBus(t, "CH")
	ack, err := js.Publish(context.Background(), "CH.chunk.0", []byte("abc"))
	if err != nil {
		t.Fatal(err)
	}
	h := nats.Header{}
	h.Set(HdrChunks, strconv.FormatUint(ack.Sequence, 10)+",9999")
	h.Set(HdrSize, "6")
	_, err = Reassemble(context.Background(), st, h, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("err = %v, want one naming the missing sequence 9999", err)
	}
	h.Set(HdrChunks, strconv.FormatUint(ack.Sequence, 10))
	h.Set(HdrSize, "3")
	b, err := Reassemble(context.Background(), st, h, nil, nil)
	if err != nil || string(b) != "abc" {
		t.Fatalf("one chunk: %q, %v", b, err)
	}
}

func TestReorder(t *testing.T) {
	r := newReorderBuf(3, time.Second)
	t0 := time.Unix(0, 0)
	mk := func(fn int64) *ds3d.DataMap {
		m := ds3d.NewDataMap()
		m.SetInt64(ds3d.KeyFrameNumber, fn)
		return m
	}
	var out []int64
	pop := func(now time.Time, force bool) bool {
		m := r.pop(now, force)
		if m == nil {
			return false
		}
		fn, _ := m.Int64(ds3d.KeyFrameNumber)
		out = append(out, fn)
		m.Release()
		return true
	}
	for _, fn := range []int64{2, 1} {
		r.push(0, fn, mk(fn), t0)
	}
	if pop(t0, false) {
		t.Fatalf("handed on %v before frame 0 came", out)
	}
	r.push(0, 0, mk(0), t0)
	for pop(t0, false) {
	}
	r.push(0, 5, mk(5), t0) // 3 and 4 are missing
	r.push(7, 0, mk(0), t0) // another source goes on its own
	for pop(t0, false) {
	}
	if !equal(out, []int64{0, 1, 2, 0}) {
		t.Fatalf("order %v, want 0 1 2 (source 0) then 0 (source 7)", out)
	}
	if pop(t0.Add(500*time.Millisecond), false) {
		t.Fatalf("gap given up before reorder_timeout: %v", out)
	}
	if !pop(t0.Add(time.Second), false) || out[len(out)-1] != 5 {
		t.Fatalf("after the timeout: %v, want 5 last", out)
	}
	r.push(0, 3, mk(3), t0) // late: after 5 went on
	if !pop(t0, false) || r.late.Load() != 1 {
		t.Fatalf("late frame: out %v, late %d", out, r.late.Load())
	}
	for _, fn := range []int64{9, 8, 10} { // full at 3 held: the smallest goes
		r.push(0, fn, mk(fn), t0)
	}
	if !pop(t0, false) || out[len(out)-1] != 8 {
		t.Fatalf("full buffer: %v, want 8 last", out)
	}
	r.releaseAll()
}

func TestIDWindow(t *testing.T) {
	w := newIDWindow(2)
	for i, c := range []struct {
		id  string
		new bool
	}{{"a", true}, {"b", true}, {"a", false}, {"c", true}, {"a", true}, {"c", false}} {
		if got := w.add(c.id); got != c.new {
			t.Errorf("step %d add(%s) = %v, want %v", i, c.id, got, c.new)
		}
	}
}

func equal(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A subscriber that may end before a redelivery comes back is refused at
// load: the datamap a dead worker held would reach nobody.
func TestAckWaitBelowIdle(t *testing.T) {
	c := DefaultSubscribeConfig()
	c.Idle, c.AckWait = 5*time.Second, 30*time.Second
	err := ds3d.CheckConfig(c)
	var ce *ds3d.ConfigError
	if !errors.As(err, &ce) || ce.Key != "ack_wait" {
		t.Fatalf("ack_wait 30s with idle_timeout 5s: %v", err)
	}
	c.AckWait = 3 * time.Second
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatalf("ack_wait 3s with idle_timeout 5s: %v", err)
	}
	c.Idle = 0 // never ends for want of datamaps
	c.AckWait = time.Minute
	if err := ds3d.CheckConfig(c); err != nil {
		t.Fatalf("ack_wait 1m without idle_timeout: %v", err)
	}
}
