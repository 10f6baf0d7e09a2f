package lidar

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Raw float files: little-endian float32 values, ElementStride per point,
// of which the first ElementSize are x, y, z[, intensity]. KITTI velodyne
// scans are 4/4 (x, y, z, reflectance); nuScenes .pcd.bin sweeps are 4/5
// (x, y, z, intensity, ring).
func init() {
	register(&format{name: "bin", exts: []string{".bin"}, dec: binDecoder(4),
		readFrame: binReadFrame(4)})
	register(&format{name: "pcd.bin", exts: []string{".pcd.bin"}, dec: binDecoder(5),
		readFrame: binReadFrame(5)})
}

// binLayout resolves the options against the format's default stride.
func binLayout(name string, defStride int, opts ReadOptions) (size, stride int, err error) {
	size, stride = opts.ElementSize, opts.ElementStride
	if size == 0 {
		size = 4
	}
	if stride == 0 {
		stride = max(defStride, size)
	}
	if size < 3 || size > 4 || stride < size || stride > 1<<16 {
		return 0, 0, fmt.Errorf("bin %s: element_size %d / element_stride %d: need size 3 or 4 and stride ≥ size",
			name, size, stride)
	}
	return size, stride, nil
}

func binCount(name string, n, stride int) (int, error) {
	rec := stride * 4
	if n%rec != 0 {
		return 0, byteErr("bin", name, int64(n-n%rec),
			"file size %d bytes is not a multiple of %d (%d float32 per point): %d trailing bytes",
			n, rec, stride, n%rec)
	}
	return n / rec, nil
}

// rawName names float k of a raw point: x, y, z, intensity, then
// nuScenes' ring or f4, f5, ...
func rawName(defStride, k int) string {
	if k < 4 {
		return [...]string{"x", "y", "z", "intensity"}[k]
	}
	if defStride == 5 && k == 4 {
		return "ring"
	}
	return fmt.Sprintf("f%d", k)
}

func binDecoder(defStride int) DecodeFunc {
	return func(c *Cloud, name string, data []byte, opts ReadOptions) error {
		size, stride, err := binLayout(name, defStride, opts)
		if err != nil {
			return err
		}
		n, err := binCount(name, len(data), stride)
		if err != nil {
			return err
		}
		pts := c.Resize(n)
		copyRaw(c.Points.Data, pts, data, n, size, stride)
		c.Encoding = "float32"
		if size == 4 {
			c.Intensity = "intensity"
		}
		for k := 0; k < stride; k++ {
			fsz := 4 * n
			if k < size || opts.SkipFields {
				fsz = 0 // in the frame, or not wanted
			}
			f := c.addField(rawName(defStride, k), Float32, 1, fsz)
			if f.Data != nil {
				gatherRaw(f.Data, data[4*k:], 4*stride, 4, n, 4, false)
			}
		}
		return nil
	}
}

// copyRaw moves n raw points into the frame. 4/4 is the KITTI layout and a
// single copy; 4/5 moves each point's 16 bytes as two 8-byte words.
func copyRaw(dst []byte, pts []float32, src []byte, n, size, stride int) {
	switch {
	case size == 4 && stride == 4:
		copy(dst, src[:n*16])
	case size == 4:
		rec := stride * 4
		if n == 0 {
			return
		}
		_ = src[(n-1)*rec+15]
		_ = dst[n*16-1]
		le := binary.LittleEndian
		for i := 0; i < n; i++ {
			s := src[i*rec : i*rec+16 : i*rec+16]
			d := dst[i*16 : i*16+16 : i*16+16]
			le.PutUint64(d, le.Uint64(s))
			le.PutUint64(d[8:], le.Uint64(s[8:]))
		}
	default: // x, y, z only: intensity 0
		rec := stride * 4
		for i := 0; i < n; i++ {
			s := src[i*rec:]
			pts[i*4] = math.Float32frombits(binary.LittleEndian.Uint32(s))
			pts[i*4+1] = math.Float32frombits(binary.LittleEndian.Uint32(s[4:]))
			pts[i*4+2] = math.Float32frombits(binary.LittleEndian.Uint32(s[8:]))
			pts[i*4+3] = 0
		}
	}
}

// binReadFrame reads a 4/4 file with one read into the frame's own buffer:
// there is nothing to convert, so staging it first would double the copy.
func binReadFrame(defStride int) func(*ds3d.Frame, string, *os.File, int64, ReadOptions) (bool, error) {
	return func(dst *ds3d.Frame, name string, f *os.File, size int64, opts ReadOptions) (bool, error) {
		es, st, err := binLayout(name, defStride, opts)
		if err != nil {
			return true, err
		}
		if es != 4 || st != 4 {
			return false, nil
		}
		n, err := binCount(name, int(size), st)
		if err != nil {
			return true, err
		}
		dst.DType, dst.Type = ds3d.DTypeF32, ds3d.FrameLidarXYZI
		dst.Resize(n, 4)
		if _, err := io.ReadFull(f, dst.Data); err != nil {
			return true, fmt.Errorf("bin %s: %w", name, err)
		}
		return true, nil
	}
}

// WriteBin writes the points as raw little-endian float32 x, y, z,
// intensity (the KITTI layout, stride 4). Other fields are not written.
func WriteBin(w io.Writer, c *Cloud) error {
	if c.Points == nil {
		return nil
	}
	// The frame already is that layout on little-endian hosts, but going
	// through the values keeps it right on big-endian ones.
	// A wider frame (ring, time, … after intensity) gives its first four
	// columns; a 3-column one intensity 0.
	stride := c.Points.Stride()
	if stride < 3 {
		return fmt.Errorf("bin: points frame of shape %s, want [N,C≥3]", c.Points.Shape)
	}
	pts := ds3d.AsFloat32(c.Points)[:c.Len()*stride]
	bw := bufio.NewWriterSize(w, 64<<10)
	var b [16]byte
	for i := 0; i < len(pts); i += stride {
		for k := 0; k < 4; k++ {
			v := float32(0)
			if k < stride {
				v = pts[i+k]
			}
			binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(v))
		}
		bw.Write(b[:])
	}
	return bw.Flush()
}
