package mux

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// framePool hands out small RGB frames that carry their source id and
// frame number in their first two bytes; at the end every frame must be
// back in the pool, which proves no frame was leaked or released twice.
type framePool struct {
	p    *ds3d.FramePool
	size int
}

func newFramePool(t *testing.T, size int) *framePool {
	t.Helper()
	p, err := ds3d.NewFramePool(size, func() *ds3d.Frame {
		f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 8, 4, 0)
		if err != nil {
			panic(err)
		}
		return f
	})
	if err != nil {
		t.Fatal(err)
	}
	return &framePool{p: p, size: size}
}

func (fp *framePool) frame(t *testing.T, src int32, num int64) *ds3d.Frame {
	f, err := fp.p.Get(context.Background())
	if err != nil {
		t.Error(err)
		return nil
	}
	f.Data[0], f.Data[1] = byte(src), byte(num)
	return f
}

// checkAllBack fails unless every frame of the pool came back.
func (fp *framePool) checkAllBack(t *testing.T) {
	t.Helper()
	var held []*ds3d.Frame
	for range fp.size {
		f := fp.p.TryGet()
		if f == nil {
			t.Fatalf("only %d of %d frames came back to the pool: a frame leaked", len(held), fp.size)
		}
		held = append(held, f)
	}
	for _, f := range held {
		f.Release()
	}
}

// slot is one frame of a received batch.
type slot struct {
	src int32
	num int64
	pts int64
}

// collect receives every batch from m until Out closes.
func collect(t *testing.T, m *Mux) (batches [][]slot, eos int, times []time.Time) {
	t.Helper()
	for b := range m.Out() {
		var s []slot
		if len(b.Frames) != len(b.Meta.Frames) {
			t.Errorf("batch %d: %d frames, %d frame metas", b.Seq, len(b.Frames), len(b.Meta.Frames))
		}
		for i := range b.Meta.Frames {
			fm := &b.Meta.Frames[i]
			img := b.Frames[i]
			// The frame in slot i is the one its metadata names.
			if int32(img.Data[0]) != fm.SourceID || int64(img.Data[1]) != fm.FrameNum%256 {
				t.Errorf("batch %d slot %d: frame holds source %d frame %d, meta says %d/%d", b.Seq, i, img.Data[0], img.Data[1], fm.SourceID, fm.FrameNum)
			}
			if fm.BatchID != int32(i) {
				t.Errorf("batch %d slot %d: BatchID %d", b.Seq, i, fm.BatchID)
			}
			s = append(s, slot{fm.SourceID, fm.FrameNum, fm.PTS})
		}
		if b.EOS {
			eos++
		}
		batches = append(batches, s)
		times = append(times, time.Now())
		b.Release()
	}
	return batches, eos, times
}

// start runs m on its own goroutine and returns a wait func giving Run's error.
func start(t *testing.T, ctx context.Context, m *Mux) func() error {
	var err error
	done := make(chan struct{})
	go func() { defer close(done); err = m.Run(ctx) }()
	return func() error { <-done; return err }
}

func newMux(t *testing.T, cfg Config, ids ...int32) *Mux {
	t.Helper()
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := m.AddSource(id); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

const framePeriod = int64(33333333) // 30 fps

func push(t *testing.T, m *Mux, fp *framePool, src int32, num int64) {
	t.Helper()
	if err := m.Push(context.Background(), src, Input{Image: fp.frame(t, src, num), PTS: num * framePeriod, FrameNum: num}); err != nil {
		t.Error(err)
	}
}

// TestStalledSourceTimeout: source 1 never sends; with a 30 ms timeout each
// of source 0's frames goes out in a batch of its own, not before the
// timeout, and nothing waits for source 1.
func TestStalledSourceTimeout(t *testing.T) {
	fp := newFramePool(t, 8)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.BatchedPushTimeout = 2, 30000
	m := newMux(t, cfg, 0, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wait := start(t, ctx, m)
	var pushed []time.Time
	var batches [][]slot
	var times []time.Time
	eos := 0
	go func() {
		for k := range int64(4) {
			pushed = append(pushed, time.Now())
			push(t, m, fp, 0, k)
		}
	}()
	// Four batches must come out while both sources still run: only the
	// timeout can push them.
	for b := range m.Out() {
		times = append(times, time.Now())
		var s []slot
		for i := range b.Meta.Frames {
			fm := &b.Meta.Frames[i]
			s = append(s, slot{fm.SourceID, fm.FrameNum, fm.PTS})
		}
		if b.EOS {
			eos++
		}
		batches = append(batches, s)
		b.Release()
		if len(batches) == 4 {
			m.EOS(0)
			m.RemoveSource(1)
			m.Close()
		}
	}
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 4 || eos != 0 {
		t.Fatalf("got %d batches (%d EOS), want 4: %v", len(batches), eos, batches)
	}
	for k, b := range batches {
		if len(b) != 1 || b[0] != (slot{0, int64(k), int64(k) * framePeriod}) {
			t.Errorf("batch %d = %v, want source 0 frame %d alone", k, b, k)
		}
	}
	// The first batch waited for the timeout (source 0's second frame cannot
	// join it: max_same_source_frames = 1, and source 1 is silent).
	if d := times[0].Sub(pushed[0]); d < 30*time.Millisecond {
		t.Errorf("first batch after %v, before the 30 ms timeout", d)
	}
	st := m.Stats()
	if st[0].In != 4 || st[0].Batched != 4 || st[1].In != 0 {
		t.Errorf("stats %+v", st)
	}
	fp.checkAllBack(t)
}

// TestFPSLimit: 30 fps in, max_fps 10 lets every third frame through and 12
// lets 12 of each 30 (the due time advances by the period, not by the PTS
// of the last frame let in).
func TestFPSLimit(t *testing.T) {
	for _, tc := range []struct {
		fps  float64
		want []int64
	}{
		{10, []int64{0, 3, 6, 9, 12, 15, 18, 21, 24, 27}},
		// Due times 0, 83.3, 166.7, 250, 333.3, … ms: the first frame at or
		// after each (within a tenth of the period) — hand-computed.
		{12, []int64{0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28}},
	} {
		t.Run(fmt.Sprint(tc.fps), func(t *testing.T) {
			fp := newFramePool(t, 40)
			cfg := DefaultConfig()
			cfg.MaxFPS = []float64{tc.fps}
			m := newMux(t, cfg, 0)
			wait := start(t, context.Background(), m)
			go func() {
				for k := range int64(30) {
					push(t, m, fp, 0, k)
				}
				m.EOS(0)
				m.Close()
			}()
			batches, _, _ := collect(t, m)
			if err := wait(); err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, b := range batches {
				for _, s := range b {
					got = append(got, s.num)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("frames let in %v, want %v", got, tc.want)
			}
			st := m.Stats()[0]
			if st.In != 30 || st.Batched != uint64(len(tc.want)) || st.DroppedFPS != 30-uint64(len(tc.want)) {
				t.Errorf("stats %+v", st)
			}
			fp.checkAllBack(t)
		})
	}
}

// TestEOSOneSource: source 0 ends after 3 frames, source 1 goes on to 8;
// batches are pairs while both run, then source 1 alone, with no timeout
// needed (an ended source no longer holds batches back).
func TestEOSOneSource(t *testing.T) {
	fp := newFramePool(t, 16)
	cfg := DefaultConfig()
	cfg.BatchSize = 2
	m := newMux(t, cfg, 0, 1)
	wait := start(t, context.Background(), m)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for k := range int64(3) {
			push(t, m, fp, 0, k)
		}
		m.EOS(0)
	}()
	go func() {
		defer wg.Done()
		for k := range int64(8) {
			push(t, m, fp, 1, k)
		}
		m.EOS(1)
	}()
	go func() { wg.Wait(); m.Close() }()
	batches, eos, _ := collect(t, m)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if eos > 1 || len(batches) != 8 {
		t.Fatalf("%d batches, %d EOS: %v", len(batches), eos, batches)
	}
	for k, b := range batches {
		want := 1
		if k < 3 {
			want = 2
		}
		if len(b) != want {
			t.Errorf("batch %d has %d frames, want %d: %v", k, len(b), want, b)
		}
		for _, s := range b {
			if s.src == 1 && s.num != int64(k) || s.src == 0 && s.num != int64(k) {
				t.Errorf("batch %d holds %v", k, s)
			}
		}
	}
	fp.checkAllBack(t)
}

// TestRemoveSource: source 1 is removed with frames queued; they are
// released and counted, source 0 goes on, and a new source 2 added at run
// time joins the batches.
func TestRemoveSource(t *testing.T) {
	fp := newFramePool(t, 16)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.QueueSize = 2, 4
	m := newMux(t, cfg, 0, 1)
	wait := start(t, context.Background(), m)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Source 1 sends 3 frames: the first joins batch 0, two wait.
		for k := range int64(3) {
			push(t, m, fp, 1, k)
		}
		if err := m.RemoveSource(1); err != nil {
			t.Error(err)
		}
		if err := m.Push(context.Background(), 1, Input{Image: fp.frame(t, 1, 9), FrameNum: 9}); err == nil {
			t.Error("push to a removed source succeeded")
		}
		push(t, m, fp, 0, 0) // completes nothing more to wait for: batch {1/0, 0/0}
		if err := m.AddSource(2); err != nil {
			t.Error(err)
		}
		for k := int64(1); k < 4; k++ {
			push(t, m, fp, 0, k)
			push(t, m, fp, 2, k-1)
		}
		m.EOS(0)
		m.EOS(2)
		m.Close()
	}()
	batches, eos, _ := collect(t, m)
	<-done
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	if st[1].In != 3 || st[1].Batched+st[1].Removed != 3 || st[1].Removed < 1 {
		t.Errorf("source 1 stats %+v: want 3 in, the queued ones removed", st[1])
	}
	n := map[int32]int{}
	for _, b := range batches {
		for _, s := range b {
			n[s.src]++
		}
	}
	if n[0] != 4 || n[2] != 3 || uint64(n[1]) != st[1].Batched || eos > 1 {
		t.Errorf("frames out per source %v (source 1 batched %d), EOS %d: %v", n, st[1].Batched, eos, batches)
	}
	if err := m.AddSource(3); err == nil {
		t.Error("AddSource after the muxer stopped succeeded")
	}
	fp.checkAllBack(t)
}

// TestNoFrameLostOrDuplicated: four producers push 120 frames each
// concurrently, one with an fps limit and one live with a tiny queue;
// every frame in is batched or counted as dropped, exactly once, in order
// per source, with its PTS.
func TestNoFrameLostOrDuplicated(t *testing.T) {
	const perSource = 120
	fp := newFramePool(t, 64)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.BatchedPushTimeout, cfg.MaxSameSourceFrames = 3, 2000, 2
	cfg.MaxFPS = []float64{0, 0, 15}
	m := newMux(t, cfg, 0, 1, 2, 3)
	wait := start(t, context.Background(), m)
	var wg sync.WaitGroup
	for src := range int32(4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range int64(perSource) {
				push(t, m, fp, src, k)
				if k%7 == int64(src) {
					time.Sleep(time.Millisecond)
				}
			}
			m.EOS(src)
		}()
	}
	go func() { wg.Wait(); m.Close() }()
	batches, eos, _ := collect(t, m)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	seen := map[[2]int64]int{}
	last := map[int32]int64{0: -1, 1: -1, 2: -1, 3: -1}
	for i, b := range batches {
		if len(b) == 0 || len(b) > 3 {
			t.Errorf("batch %d has %d frames", i, len(b))
		}
		per := map[int32]int{}
		for _, s := range b {
			seen[[2]int64{int64(s.src), s.num}]++
			per[s.src]++
			if s.num <= last[s.src] {
				t.Errorf("source %d frame %d after %d", s.src, s.num, last[s.src])
			}
			last[s.src] = s.num
			if s.pts != s.num*framePeriod {
				t.Errorf("source %d frame %d PTS %d", s.src, s.num, s.pts)
			}
		}
		for src, n := range per {
			if n > 2 {
				t.Errorf("batch %d holds %d frames of source %d (max_same_source_frames 2)", i, n, src)
			}
		}
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("frame %v out %d times", k, n)
		}
	}
	st := m.Stats()
	var out uint64
	for src := range int32(4) {
		s := st[src]
		if s.In != perSource || s.Batched+s.DroppedFPS+s.DroppedLive != s.In {
			t.Errorf("source %d: %+v does not account for every frame", src, s)
		}
		out += s.Batched
	}
	if out != uint64(len(seen)) || eos > 1 {
		t.Errorf("%d frames batched by the counts, %d distinct out; %d EOS", out, len(seen), eos)
	}
	if st[2].DroppedFPS != perSource/2 { // 30 fps PTS through a 15 fps limit
		t.Errorf("source 2 dropped %d by fps, want %d", st[2].DroppedFPS, perSource/2)
	}
	fp.checkAllBack(t)
}

// TestSyncInputs: with sync_inputs the batch takes the oldest PTS across
// sources, whatever the arrival order: source 1 pushes its frames first,
// yet each batch pairs equal timestamps.
func TestSyncInputs(t *testing.T) {
	fp := newFramePool(t, 16)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.SyncInputs, cfg.QueueSize = 2, true, 8
	m := newMux(t, cfg, 0, 1)
	wait := start(t, context.Background(), m)
	go func() {
		for k := range int64(4) {
			push(t, m, fp, 1, k)
		}
		for k := range int64(4) {
			push(t, m, fp, 0, k)
		}
		m.EOS(0)
		m.EOS(1)
		m.Close()
	}()
	batches, _, _ := collect(t, m)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if len(batches) != 4 {
		t.Fatalf("%d batches: %v", len(batches), batches)
	}
	for k, b := range batches {
		if len(b) != 2 || b[0].pts != b[1].pts || b[0].num != int64(k) {
			t.Errorf("batch %d = %v, want frame %d of both sources", k, b, k)
		}
	}
	fp.checkAllBack(t)
}

// TestLiveSourceDrops: a live source never blocks; beyond its queue the
// oldest frame is dropped and counted.
func TestLiveSourceDrops(t *testing.T) {
	fp := newFramePool(t, 16)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.LiveSource, cfg.QueueSize = 2, true, 2
	m := newMux(t, cfg, 0, 1)
	// No Run yet: nothing leaves, so pushes beyond the queue must drop.
	for k := range int64(6) {
		push(t, m, fp, 0, k)
	}
	st := m.Stats()[0]
	// Frame 0 joins the batch being formed; the queue holds 2 (max same = 1).
	if st.In != 6 || st.DroppedLive != 3 {
		t.Errorf("stats %+v, want 6 in and 3 dropped", st)
	}
	wait := start(t, context.Background(), m)
	go func() { m.EOS(0); m.EOS(1); m.Close() }()
	batches, _, _ := collect(t, m)
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, b := range batches {
		for _, s := range b {
			got = append(got, s.num)
		}
	}
	if fmt.Sprint(got) != "[0 4 5]" {
		t.Errorf("frames out %v, want [0 4 5] (1–3 dropped as the oldest)", got)
	}
	fp.checkAllBack(t)
}

// TestCancelReleases: cancelling Run releases every frame the muxer held
// and unblocks a waiting Push.
func TestCancelReleases(t *testing.T) {
	fp := newFramePool(t, 16)
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.QueueSize = 2, 1
	m := newMux(t, cfg, 0, 1)
	ctx, cancel := context.WithCancel(context.Background())
	wait := start(t, ctx, m)
	errc := make(chan error, 1)
	go func() {
		var err error
		for k := int64(0); err == nil; k++ {
			err = m.Push(context.Background(), 0, Input{Image: fp.frame(t, 0, k), FrameNum: k})
		}
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	for range m.Out() {
		t.Error("a batch went out with source 1 silent and no timeout")
	}
	if err := wait(); err != context.Canceled {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	if err := <-errc; err != ErrStopped {
		t.Errorf("blocked Push = %v, want ErrStopped", err)
	}
	fp.checkAllBack(t)
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.BatchSize = 0 }, "batch_size: must be ≥ 1, got 0"},
		{func(c *Config) { c.BatchedPushTimeout = -2 }, "batched_push_timeout"},
		{func(c *Config) { c.Width = 640 }, "width: width and height must both be 0"},
		{func(c *Config) { c.MaxFPS = []float64{10, -1} }, "max_fps: element 1: must be ≥ 0"},
		{func(c *Config) { c.QueueSize = 0 }, "queue_size"},
	} {
		c := DefaultConfig()
		tc.mod(&c)
		err := ds3d.CheckConfig(&c)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("Validate = %v, want %q", err, tc.want)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
