//go:build linux

package cputime

import (
	"syscall"
	"time"
)

// Thread is the CPU time (user + system) of the calling OS thread.
func Thread() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(1, &ru) != nil { // 1: RUSAGE_THREAD
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
