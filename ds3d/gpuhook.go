package ds3d

import "context"

// GPUAware is implemented by components that take datamaps holding GPU
// frames (MemGPU) as they are. The runtime hands every other component
// host frames: before such a component sees a datamap, ToHost copies its
// device frames to host memory.
type GPUAware interface {
	AcceptsGPUFrames() bool
}

// ToHost, when set, replaces a datamap's GPU frames by host copies and
// returns how many it copied. Package gpu sets it in cuda builds (init);
// in CPU builds it stays nil and no datamap ever holds a GPU frame, so the
// runtime's check costs one nil compare per datamap.
var ToHost func(ctx context.Context, m *DataMap) (int, error)
