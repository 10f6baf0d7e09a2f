//go:build !linux

package main

import "time"

// threadCPU is 0 where no per-thread CPU clock is wired up: the curves
// then use wall time.
func threadCPU() time.Duration { return 0 }
