//go:build cuda

package gpu

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"gorgonia.org/cu"
)

// Crop is pointcloud.Crop on the GPU, byte for byte: the points of src
// inside b (bounds inclusive, NaN dropped) are copied to dst in input order,
// every column kept, and their number is returned. For a CPU (or pinned) src,
// the points go up, are cropped, and come back into dst as a CPU frame. For a
// device src (MemGPU) everything stays on the device: dst becomes a device
// frame (its buffer from the pool, reused when big enough). dst may not be
// src.
func (c *Context) Crop(dst, src *ds3d.Frame, b pointcloud.Box) (int, error) {
	if err := checkCloud(src, 3); err != nil {
		return 0, err
	}
	if dst == src {
		return 0, fmt.Errorf("gpu: Crop in place is not supported")
	}
	n, cols := src.Shape.D[0], src.Shape.D[1]
	rowBytes := cols * 4
	dev := src.Mem == ds3d.MemGPU
	k := 0
	err := c.do(func() error {
		var in, out, sums cu.DevicePtr
		defer func() {
			if sums != 0 {
				c.release(sums)
			}
			if !dev {
				for _, p := range []cu.DevicePtr{in, out} {
					if p != 0 {
						c.release(p)
					}
				}
			}
		}()
		var err error
		if dev {
			in = cu.DevicePtr(src.DevPtr)
		} else {
			if in, err = c.alloc(int64(max(n*rowBytes, 1))); err != nil {
				return err
			}
			if err := c.h2d(in, src.Data, n*rowBytes); err != nil {
				return err
			}
		}
		nb := scanBlocks(n)
		if sums, err = c.alloc(int64(nb+1) * 4); err != nil {
			return err
		}
		if dev {
			if err := c.ensureFrame(dst, int64(max(n*rowBytes, 1))); err != nil {
				return err
			}
			out = cu.DevicePtr(dst.DevPtr)
		} else if out, err = c.alloc(int64(max(n*rowBytes, 1))); err != nil {
			return err
		}
		box := []any{in, n, cols, b.Min[0], b.Min[1], b.Min[2], b.Max[0], b.Max[1], b.Max[2]}
		if nb == 0 {
			if err := cu.MemsetD32Async(sums, 0, 1, c.stream); err != nil {
				return err
			}
		} else {
			if err := c.launch("crop_reduce", nb*256, 256, append(box, sums)...); err != nil {
				return err
			}
			if err := c.launch("scan_top", 256, 256, sums, nb); err != nil {
				return err
			}
			if err := c.launch("crop_down", nb*256, 256, append(box, sums, out)...); err != nil {
				return err
			}
		}
		var tot [4]byte
		if err := c.d2h(tot[:], sums+cu.DevicePtr(nb*4), 4); err != nil {
			return err
		}
		k = int(int32(uint32(tot[0]) | uint32(tot[1])<<8 | uint32(tot[2])<<16 | uint32(tot[3])<<24))
		dst.DType, dst.Type = src.DType, src.Type
		if dev {
			dst.Shape = ds3d.NewShape(k, cols)
			return nil
		}
		if dst.Mem == ds3d.MemGPU {
			c.release(cu.DevicePtr(dst.DevPtr))
			dst.Mem, dst.DevPtr, dst.Data = ds3d.MemCPU, 0, nil
		}
		dst.Resize(k, cols)
		return c.d2h(dst.Data, out, k*rowBytes)
	})
	return k, err
}
