package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Busy work on a locked thread advances thread CPU time (Linux) to 20 ms
// within a generous wall-clock bound — on a loaded machine the thread gets
// less than the wall time, so the loop runs on thread time, not wall time —
// and a 20 ms sleep adds almost none.
func TestThreadCountsWorkNotSleep(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RUSAGE_THREAD is Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := Thread()
	deadline := time.Now().Add(10 * time.Second)
	busy := time.Duration(0)
	for busy < 20*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("10 s of busy work counted only %v of thread CPU", busy)
		}
		busy = Thread() - t0
	}
	t1 := Thread()
	time.Sleep(20 * time.Millisecond)
	slept := Thread() - t1
	if slept > 5*time.Millisecond {
		t.Errorf("a 20 ms sleep counted %v of thread CPU (work: %v)", slept, busy)
	}
}
