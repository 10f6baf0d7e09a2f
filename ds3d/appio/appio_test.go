package appio_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/appio"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin" // passthrough
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build makes feed (app_source, queue_size q) → pass → out (app_sink).
func build(t *testing.T, q int) (*pipeline.Graph, *appio.Source, *appio.Sink) {
	t.Helper()
	p, err := config.NewPipeline("appio test").
		Add(config.Def{Name: "feed", Impl: "app_source", Config: map[string]any{"queue_size": int64(q)}, LinkTo: []string{"pass"}},
			config.Def{Name: "pass", Impl: "passthrough", LinkTo: []string{"out"}, QueueSize: 1},
			config.Def{Name: "out", Impl: "app_sink", QueueSize: 1}).
		Build()
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := appio.SourceOf(g, "feed")
	if err != nil {
		t.Fatal(err)
	}
	sink, err := appio.SinkOf(g, "out")
	if err != nil {
		t.Fatal(err)
	}
	return g, src, sink
}

// pooled returns a datamap numbered k holding a frame of pool.
func pooled(t *testing.T, pool *ds3d.FramePool, k int) *ds3d.DataMap {
	t.Helper()
	f := pool.TryGet()
	if f == nil {
		t.Fatalf("datamap %d: the pool is empty (%d in use)", k, pool.InUse())
	}
	m := ds3d.NewDataMap()
	m.SetInt64(ds3d.KeyFrameNumber, int64(k))
	m.SetFrame(ds3d.KeyLidarXYZI, f)
	return m
}

func newPool(t *testing.T, n int) *ds3d.FramePool {
	pool, err := ds3d.NewFramePool(n, func() *ds3d.Frame { return ds3d.NewLidarFrame(4) })
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// TestOrderAndEndOfStream pushes 500 datamaps from one goroutine while
// the pipeline runs: all arrive, in order, the run ends at EndOfStream,
// and every pooled frame is back in its pool.
func TestOrderAndEndOfStream(t *testing.T) {
	g, src, sink := build(t, 2)
	pool := newPool(t, 8)
	const n = 500
	var got []int64
	sink.Handle(func(_ context.Context, m *ds3d.DataMap) error {
		k, err := m.Int64(ds3d.KeyFrameNumber)
		got = append(got, k)
		return err
	})
	ctx := context.Background()
	pushErr := make(chan error, 1)
	go func() {
		defer src.EndOfStream()
		for k := range n {
			f, err := pool.Get(ctx) // waits for the sink to release one
			if err != nil {
				pushErr <- err
				return
			}
			m := ds3d.NewDataMap()
			m.SetInt64(ds3d.KeyFrameNumber, int64(k))
			m.SetFrame(ds3d.KeyLidarXYZI, f)
			if err := src.Push(ctx, m); err != nil {
				pushErr <- err
				return
			}
		}
		pushErr <- nil
	}()
	if err := g.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-pushErr; err != nil {
		t.Fatal(err)
	}
	if len(got) != n || sink.Count() != n {
		t.Fatalf("sink saw %d datamaps (Count %d), want %d", len(got), sink.Count(), n)
	}
	for i, k := range got {
		if k != int64(i) {
			t.Fatalf("datamap %d arrived as number %d", i, k)
		}
	}
	if in := pool.InUse(); in != 0 {
		t.Errorf("%d pooled frames not released", in)
	}
	err := src.Push(ctx, pooled(t, pool, n))
	if !errors.Is(err, appio.ErrClosed) || !strings.Contains(err.Error(), `"feed"`) {
		t.Errorf("push after the end: %v", err)
	}
	if in := pool.InUse(); in != 0 {
		t.Errorf("a refused push kept its frame (%d in use)", in)
	}
}

// TestPushBackpressure fills the queue of a source whose pipeline does not
// run yet: Push returns at once while there is room, then waits, and gives
// up when its context ends, releasing the datamap.
func TestPushBackpressure(t *testing.T) {
	_, src, _ := build(t, 3)
	pool := newPool(t, 8)
	ctx := context.Background()
	for k := range 3 {
		start := time.Now()
		if err := src.Push(ctx, pooled(t, pool, k)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("push %d into a queue with room took %v", k, d)
		}
	}
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := src.Push(tctx, pooled(t, pool, 3))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("push into a full queue: %v", err)
	}
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Fatalf("push into a full queue returned after %v, want it to wait", d)
	}
	if in := pool.InUse(); in != 3 {
		t.Fatalf("%d frames in use, want the 3 queued", in)
	}
	// A pipeline that never runs still gives its queue back on Close.
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if in := pool.InUse(); in != 0 {
		t.Fatalf("%d frames in use after Close", in)
	}
}

// TestSinkErrorStopsPusher: a handler error stops the pipeline with the
// sink's name; a Push blocked on the full queue returns ErrClosed, and
// every frame goes back to its pool.
func TestSinkErrorStopsPusher(t *testing.T) {
	g, src, sink := build(t, 1)
	pool := newPool(t, 16)
	sink.Handle(func(_ context.Context, m *ds3d.DataMap) error {
		if k, _ := m.Int64(ds3d.KeyFrameNumber); k == 2 {
			return fmt.Errorf("datamap %d is bad", k)
		}
		return nil
	})
	var wg sync.WaitGroup
	var pushErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; ; k++ {
			f, err := pool.Get(context.Background())
			if err != nil {
				pushErr = err
				return
			}
			m := ds3d.NewDataMap()
			m.SetInt64(ds3d.KeyFrameNumber, int64(k))
			m.SetFrame(ds3d.KeyLidarXYZI, f)
			if err := src.Push(context.Background(), m); err != nil {
				pushErr = err
				return
			}
		}
	}()
	err := g.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `component "out" (app_sink): datamap 2 is bad`) {
		t.Fatalf("Run: %v", err)
	}
	wg.Wait()
	if !errors.Is(pushErr, appio.ErrClosed) {
		t.Fatalf("blocked push: %v, want ErrClosed", pushErr)
	}
	if in := pool.InUse(); in != 0 {
		t.Errorf("%d pooled frames not released", in)
	}
}

// TestDrainEndsSource: Drain ends an app_source's stream like any loader's.
func TestDrainEndsSource(t *testing.T) {
	g, src, sink := build(t, 2)
	first := make(chan struct{})
	var once sync.Once
	sink.Handle(func(context.Context, *ds3d.DataMap) error { once.Do(func() { close(first) }); return nil })
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	if err := src.Push(context.Background(), ds3d.NewDataMap()); err != nil {
		t.Fatal(err)
	}
	<-first
	g.Drain()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Drain")
	}
	if err := src.Push(context.Background(), ds3d.NewDataMap()); !errors.Is(err, appio.ErrClosed) {
		t.Fatalf("push after the run: %v", err)
	}
}

func TestLookupAndMissingHandler(t *testing.T) {
	g, _, _ := build(t, 1)
	if _, err := appio.SourceOf(g, "nope"); err == nil || !strings.Contains(err.Error(), `no component "nope"`) {
		t.Errorf("SourceOf(nope): %v", err)
	}
	if _, err := appio.SourceOf(g, "out"); err == nil || !strings.Contains(err.Error(), `component "out" is a *appio.Sink, not an app_source`) {
		t.Errorf("SourceOf(out): %v", err)
	}
	if _, err := appio.SinkOf(g, "pass"); err == nil || !strings.Contains(err.Error(), "not an app_sink") {
		t.Errorf("SinkOf(pass): %v", err)
	}
	// No Handle call: the run fails at start, naming the sink.
	err := g.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), `app_sink "out" has no handler`) {
		t.Fatalf("Run without a handler: %v", err)
	}
}
