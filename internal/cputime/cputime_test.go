package cputime

import (
	"runtime"
	"testing"
	"time"
)

// A busy loop of ~20 ms on a locked thread shows up as thread CPU time
// (Linux), and a sleep of the same length does not.
func TestThreadCountsWorkNotSleep(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("RUSAGE_THREAD is Linux only")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := Thread()
	for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
	}
	busy := Thread() - t0
	t1 := Thread()
	time.Sleep(20 * time.Millisecond)
	slept := Thread() - t1
	if busy < 5*time.Millisecond {
		t.Errorf("20 ms of work counted %v of thread CPU", busy)
	}
	if slept > busy/2 {
		t.Errorf("a 20 ms sleep counted %v of thread CPU (work: %v)", slept, busy)
	}
}
