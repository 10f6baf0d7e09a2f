package ros2

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// AppendPointCloud2 appends a sensor_msgs/msg/PointCloud2 of the point
// frame f (float32 [N, C] with named columns, ds3d.Frame.Columns) to dst:
// one FLOAT32 field of count 1 per column at offset 4k, named as the column
// except ds3d.ColReturn, written "return_type" (ds3d.ColTime stays "time",
// seconds relative to the stamp as velodyne_pointcloud writes it); height
// 1, width N, point_step 4C, row_step 4CN, little endian, is_dense true.
func AppendPointCloud2(dst []byte, h Header, f *ds3d.Frame) ([]byte, error) {
	n, c, size, err := pointFrame("PointCloud2", f)
	if err != nil {
		return dst, err
	}
	cols := f.Columns()
	w := NewWriter(dst)
	w.Header(&h)
	w.Uint32(1)
	w.Uint32(uint32(n))
	w.Count(c)
	for k, name := range cols {
		w.String(fieldName(name))
		w.Uint32(uint32(4 * k))
		w.Uint8(PFFloat32)
		w.Uint32(1)
	}
	w.Bool(false) // is_bigendian
	w.Uint32(uint32(4 * c))
	w.Uint32(uint32(4 * c * n))
	w.Count(size)
	w.buf = appendF32LE(w.buf, f, n*c)
	w.Bool(true) // is_dense
	return w.Bytes(), nil
}

// pointFrame checks that f is a float32 [N, C] point frame with named
// columns, for the message typ, and returns N, C and its size in bytes.
func pointFrame(typ string, f *ds3d.Frame) (n, c, size int, err error) {
	if f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 {
		return 0, 0, 0, fmt.Errorf("%s: frame %s of %s is not a float32 [N, C] point frame", typ, f.Shape, f.DType)
	}
	n, c = f.Shape.D[0], f.Shape.D[1]
	if len(f.Columns()) != c {
		return 0, 0, 0, fmt.Errorf("%s: frame %s has no column names", typ, f.Shape)
	}
	size = n * c * 4
	if len(f.Data) < size {
		return 0, 0, 0, fmt.Errorf("%s: frame %s holds %d bytes, want %d", typ, f.Shape, len(f.Data), size)
	}
	return n, c, size, nil
}

// appendF32LE appends the first k floats of f little endian: a copy on a
// little-endian machine.
func appendF32LE(buf []byte, f *ds3d.Frame, k int) []byte {
	size := 4 * k
	if nativeLE {
		return append(buf, f.Data[:size]...)
	}
	buf = growBytes(buf, size)
	out := buf[len(buf)-size:]
	for i, v := range ds3d.AsFloat32(f)[:k] {
		binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
	}
	return buf
}

// growBytes extends b by n bytes.
func growBytes(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), len(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
