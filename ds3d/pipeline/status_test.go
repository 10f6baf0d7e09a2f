package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// TestStatus follows Status through a graph's life (built, running,
// finished; failed; stopped) and checks the accessors the control plane
// reads: the live config, queue occupancy and the latency buckets.
func TestStatus(t *testing.T) {
	defer goleak.VerifyNone(t)
	g := build(t, chain("test_source\n--\ncount = 50\n", []string{"passthrough"}, "counting_sink\n--\ndelay = \"1ms\"\n"))
	if st := g.Status(); st.State != pipeline.StateBuilt || st.Sources != 1 || st.SourcesStarted != 0 {
		t.Errorf("before Run: %+v", st)
	}
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := g.Status(); st.State != pipeline.StateFinished || st.SourcesStarted != 1 || st.Err != nil {
		t.Errorf("after Run: %+v", st)
	}
	if d := g.Config("sink").(*builtin.CountConfig).Delay; d != time.Millisecond {
		t.Errorf("Config(sink).Delay = %v", d)
	}
	if g.Config("nope") != nil {
		t.Error("Config of a missing component")
	}
	for i, m := range g.Metrics() {
		var n uint64
		prev := time.Duration(-1)
		sum := g.LatencyBuckets(i, func(upper time.Duration, c uint64) {
			if upper <= prev {
				t.Errorf("%s: buckets out of order", m.Name)
			}
			prev = upper
			n += c
		})
		want := m.In
		if i == 0 {
			want = m.Out
			if m.QueueCap != 0 {
				t.Errorf("the loader has a queue of %d", m.QueueCap)
			}
		} else if m.QueueCap != 4 || m.Queued != 0 {
			t.Errorf("%s: queue %d of %d after the run, want 0 of 4", m.Name, m.Queued, m.QueueCap)
		}
		if n != want || sum <= 0 || prev < m.P99 {
			t.Errorf("%s: %d latencies summing to %v, largest bucket %v; want %d, p99 %v", m.Name, n, sum, prev, want, m.P99)
		}
		if m.Name == "sink" && sum < 50*time.Millisecond {
			t.Errorf("sink latencies sum to %v, less than 50 × its 1 ms delay", sum)
		}
	}

	g = build(t, chain("test_source\n--\ncount = 0\n", nil, "counting_sink\n--\nexpect = 1\n"))
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	for g.Status().State != pipeline.StateRunning {
		time.Sleep(time.Millisecond)
	}
	stop := errors.New("stop")
	cancel(stop)
	if err := <-done; !errors.Is(err, stop) {
		t.Fatalf("Run: %v", err)
	}
	if st := g.Status(); st.State != pipeline.StateStopped || !errors.Is(st.Err, stop) {
		t.Errorf("after a stop: %+v", st)
	}

	g = build(t, chain("test_source\n--\ncount = 3\n", nil, "counting_sink\n--\nexpect = 5\n"))
	if err := g.Run(context.Background()); err == nil {
		t.Fatal("a close error was not reported")
	}
	if st := g.Status(); st.State != pipeline.StateFailed || !strings.Contains(st.Err.Error(), "expected 5 datamaps, got 3") {
		t.Errorf("after a failing close: %+v", st)
	}
}
