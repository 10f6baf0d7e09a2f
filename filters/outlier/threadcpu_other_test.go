//go:build !linux

package outlier

import (
	"testing"
	"time"
)

// cpuTimer reports nothing where the thread's CPU time is not available.
type cpuTimer struct{}

func (c *cpuTimer) start()            {}
func (c *cpuTimer) stop(b *testing.B) {}

// threadCPU is 0 where the thread's CPU time is not available.
func threadCPU() time.Duration { return 0 }
