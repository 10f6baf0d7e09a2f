//go:build !linux

package pointcloud

import "testing"

// cpuTimer reports nothing where the thread's CPU time is not available.
type cpuTimer struct{}

func (c *cpuTimer) start()            {}
func (c *cpuTimer) stop(b *testing.B) {}
