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
	if f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 {
		return dst, fmt.Errorf("PointCloud2: frame %s of %s is not a float32 [N, C] point frame", f.Shape, f.DType)
	}
	cols := f.Columns()
	n, c := f.Shape.D[0], f.Shape.D[1]
	if len(cols) != c {
		return dst, fmt.Errorf("PointCloud2: frame %s has no column names", f.Shape)
	}
	size := n * c * 4
	if len(f.Data) < size {
		return dst, fmt.Errorf("PointCloud2: frame %s holds %d bytes, want %d", f.Shape, len(f.Data), size)
	}
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
	if nativeLE {
		w.buf = append(w.buf, f.Data[:size]...)
	} else {
		w.buf = growBytes(w.buf, size)
		out := w.buf[len(w.buf)-size:]
		for i, v := range ds3d.AsFloat32(f)[:n*c] {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	}
	w.Bool(true) // is_dense
	return w.Bytes(), nil
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
