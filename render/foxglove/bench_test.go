package foxglove

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// cloud120k is a 120 000-point frame of pseudo-random points within 80 m
// (timings only; no shared data needed, so the test binary runs anywhere).
func cloud120k(testing.TB) *ds3d.Frame {
	f := ds3d.NewLidarFrame(120_000)
	v := ds3d.AsFloat32(f)
	x := uint32(2463534242)
	for i := range v {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = float32(x%16000)/100 - 80
	}
	return f
}

// fakeSubscriber puts a client without a connection in the server's map,
// subscribed to every channel, whose queue the test drains itself.
func fakeSubscriber(s *Server) *client {
	c := &client{queue: make(chan item, 8), sub: make([]atomic.Int64, len(s.channels))}
	for i := range c.sub {
		c.sub[i].Store(int64(i))
		s.channels[i].subs.Add(1)
	}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	return c
}

func drain(c *client) {
	for {
		select {
		case it := <-c.queue:
			c.qbytes.Add(-int64(len(it.p.buf)))
			it.p.release()
		default:
			return
		}
	}
}

// TestRenderAllocs: encoding a cloud and its boxes once and queueing them
// for two subscribers allocates nothing in steady state.
func TestRenderAllocs(t *testing.T) {
	testenv.SkipUnderRace(t, "allocation counts")
	s, err := New(NewConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakeSubscriber(s), fakeSubscriber(s)
	m := frameMap(kittiFrame(t), testBoxes())
	defer m.Release()
	n := testing.AllocsPerRun(50, func() {
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		drain(a)
		drain(b)
	})
	if n != 0 {
		t.Errorf("Render allocates %v times per datamap, want 0", n)
	}
}

// BenchmarkRender120k is the pipeline's cost per datamap: encoding a
// 120k-point cloud and 20 boxes and queueing them for two subscribers.
func BenchmarkRender120k(b *testing.B) {
	s, err := New(NewConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	c1, c2 := fakeSubscriber(s), fakeSubscriber(s)
	boxes := slices.Repeat(testBoxes(), 7)[:20]
	m := frameMap(cloud120k(b), boxes)
	defer m.Release()
	b.SetBytes(120_000 * 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Render(context.Background(), m); err != nil {
			b.Fatal(err)
		}
		drain(c1)
		drain(c2)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// TestLatencyTwoClients measures the time from handing a datamap to Render
// to a client holding the whole message, for two clients reading 120k-point
// clouds at 10 Hz over loopback. The datamap's timestamp is the handoff
// time and travels as the message's receive timestamp.
//
//	go test -run TestLatencyTwoClients -v ./render/foxglove/
func TestLatencyTwoClients(t *testing.T) {
	testenv.SkipUnderRace(t, "latency")
	f := cloud120k(t)
	s := startServer(t, nil)
	var clients []*wsClient
	for i := range 2 {
		c := dial(t, s)
		c.subscribe(t, uint32(i), "/ds3d/points")
		c.readAll(t)
		clients = append(clients, c)
	}
	waitFor(t, "two subscriptions", func() bool { return s.Subscribers("/ds3d/points") == len(clients) })
	const frames = 30
	var slowest time.Duration
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for range frames {
		<-tick.C
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, f.Retain())
		m.SetTimestamp(time.Now().UnixNano())
		t0 := time.Now()
		if err := s.Render(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		slowest = max(slowest, time.Since(t0))
		m.Release()
	}
	waitFor(t, "every message", func() bool { return clients[0].got.Load() == frames })
	var all []time.Duration
	for _, c := range clients {
		c.mu.Lock()
		all = append(all, c.latency...)
		c.mu.Unlock()
	}
	slices.Sort(all)
	p50, p99 := all[len(all)/2], all[(len(all)*99+99)/100-1]
	t.Logf("2 clients × %d clouds of 120k points at 10 Hz: latency p50 %v, p99 %v, max %v; slowest Render %v", frames, p50, p99, all[len(all)-1], slowest)
	// The target is a few milliseconds (docs/PERF.md, measured on a quiet
	// machine); the bound only catches a server that waits, since a shared
	// 2-core machine under make test has shown p99 spikes of 0.5–2 s.
	if p99 > 5*time.Second {
		t.Errorf("p99 latency %v", p99)
	}
}
