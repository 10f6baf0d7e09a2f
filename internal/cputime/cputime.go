// Package cputime measures the CPU time of the calling goroutine's OS
// thread (RUSAGE_THREAD on Linux) for benchmarks on a shared, loaded
// machine: there the thread's CPU time is the figure that compares with a
// peer's own CPU time, where wall time also counts the waits for a core.
package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Timer reports a benchmark's CPU time per op of the benchmark's own thread
// as the "cpu-ms/op" metric. Call Start before the loop and Stop after it;
// the goroutine stays locked to its thread in between.
type Timer struct{ t0 time.Duration }

// Start locks the goroutine to its thread and reads its CPU time.
func (c *Timer) Start() {
	runtime.LockOSThread()
	c.t0 = Thread()
}

// Stop reports the CPU time per op since Start and unlocks the thread.
// Nothing is reported where the thread's CPU time is not available.
func (c *Timer) Stop(b *testing.B) {
	d := Thread() - c.t0
	runtime.UnlockOSThread()
	if c.t0 > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
	}
}
