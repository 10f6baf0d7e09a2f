//go:build linux

package pointcloud

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTimer reports a benchmark's CPU time per op of the benchmark's own
// thread (RUSAGE_THREAD): on a shared, loaded machine it is the figure
// that compares with a peer's thread CPU time, where wall time also counts
// the waits for a core. Call start before the loop and stop after it.
type cpuTimer struct{ t0 time.Duration }

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1, &ru) != nil { // 1: RUSAGE_THREAD
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (c *cpuTimer) start() {
	runtime.LockOSThread()
	c.t0 = threadCPU()
}

func (c *cpuTimer) stop(b *testing.B) {
	d := threadCPU() - c.t0
	runtime.UnlockOSThread()
	if c.t0 > 0 && b.N > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
	}
}
