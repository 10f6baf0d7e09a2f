package lidar

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ScalarType is the type of one value of a field, as the file stores it.
type ScalarType uint8

// Scalar types. PCD's TYPE/SIZE pairs map as I1..I8 → Int8..Int64,
// U1..U8 → Uint8..Uint64, F4 → Float32, F8 → Float64; PLY's char, uchar,
// short, ushort, int, uint, float, double (and int8..float64) likewise.
const (
	Int8 ScalarType = iota + 1
	Uint8
	Int16
	Uint16
	Int32
	Uint32
	Int64
	Uint64
	Float32
	Float64
)

var scalarInfo = [...]struct {
	name string
	size int
}{
	Int8: {"int8", 1}, Uint8: {"uint8", 1}, Int16: {"int16", 2}, Uint16: {"uint16", 2},
	Int32: {"int32", 4}, Uint32: {"uint32", 4}, Int64: {"int64", 8}, Uint64: {"uint64", 8},
	Float32: {"float32", 4}, Float64: {"float64", 8},
}

// Size is the size of one value in bytes (0 for an invalid type).
func (t ScalarType) Size() int {
	if t == 0 || int(t) >= len(scalarInfo) {
		return 0
	}
	return scalarInfo[t].size
}

func (t ScalarType) String() string {
	if t == 0 || int(t) >= len(scalarInfo) {
		return fmt.Sprintf("scalar(%d)", uint8(t))
	}
	return scalarInfo[t].name
}

// MarshalText writes the type's name ("float32"), so JSON descriptions
// read like the text ones.
func (t ScalarType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t ScalarType) isFloat() bool { return t == Float32 || t == Float64 }
func (t ScalarType) isSigned() bool {
	return t == Int8 || t == Int16 || t == Int32 || t == Int64
}

// Field is one field (PCD) or vertex property (PLY) of a file.
//
// Data holds the values of fields that are not in the cloud's points frame:
// Len()*Count values, point-major, little-endian whatever the file's byte
// order. It is nil for x, y, z and the field read as intensity, whose values
// live in Cloud.Points (as float32), and for every field when the cloud was
// read with ReadOptions.SkipFields. A coordinate or intensity field with
// COUNT > 1 contributes its first value to the frame; the rest are dropped.
type Field struct {
	Name  string     `json:"name"`
	Type  ScalarType `json:"type"`
	Count int        `json:"count"` // values per point (PCD COUNT; 1 for PLY)
	Data  []byte     `json:"-"`
}

// Value returns value k (0 ≤ k < Count) of point i as a float64; 64-bit
// integers beyond 2^53 lose precision. It panics when Data is nil or i, k
// are out of range, like a slice index.
func (f *Field) Value(i, k int) float64 {
	sz := f.Type.Size()
	return scalarAt(f.Data[(i*f.Count+k)*sz:], f.Type, false)
}

// setLen sizes Data to n bytes, reusing its buffer; an empty cloud's kept
// field gets empty, non-nil Data, so that it still reads as kept.
func (f *Field) setLen(n int) {
	if f.Data == nil || cap(f.Data) < n {
		f.Data = make([]byte, n)
	}
	f.Data = f.Data[:n]
}

// Cloud is a decoded point cloud: the points as a lidar frame plus
// everything else the file said.
//
// Points is an [N,4] float32 frame of x, y, z, intensity (ds3d.FrameLidarXYZI);
// intensity is 0 when the file has no intensity field. Organised clouds
// (Height > 1) keep every point, NaN ones included, row by row, so point
// (row r, column c) is r*Width+c. Unorganised clouds have Width = N,
// Height = 1.
type Cloud struct {
	Points *ds3d.Frame

	// Fields lists every field of the file in file order (see Field.Data
	// for where each one's values are).
	Fields []Field
	// Intensity names the field copied into column 3 of Points; "" when
	// the file had none.
	Intensity string

	Width, Height int
	// Viewpoint is the sensor pose of a PCD file: translation tx, ty, tz
	// then the orientation quaternion qw, qx, qy, qz. Files that give none
	// read as the identity 0 0 0 1 0 0 0.
	Viewpoint [7]float64
	// NaNs counts points with a NaN in x, y or z.
	NaNs int
	// Origin is where the points' coordinates are measured from: a point's
	// position in the file's own coordinates is Points' x, y, z plus
	// Origin, in float64. It is zero unless the file's coordinates are
	// too large for float32 at the file's precision (georeferenced LAS:
	// a UTM northing of 5×10⁶ m lands on a 0.5 m float32 grid), in which
	// case the decoder moves them to a whole-metre point near their
	// centre.
	Origin [3]float64

	Format   string // registered format name: "pcd", "ply", "bin", "pcd.bin", "xyz"
	Encoding string // "ascii", "binary", "binary_compressed", "binary_little_endian", "binary_big_endian", "float32"
}

// Len is the number of points.
func (c *Cloud) Len() int {
	if c.Points == nil {
		return 0
	}
	return c.Points.Points()
}

// Field returns the field with the given name, or nil.
func (c *Cloud) Field(name string) *Field {
	for i := range c.Fields {
		if c.Fields[i].Name == name {
			return &c.Fields[i]
		}
	}
	return nil
}

// Resize makes Points an [n,4] float32 lidar frame, reusing its buffer when
// it is large enough, and returns its values. Decoders call it once they
// know n; every value must then be written, since a reused buffer holds the
// previous cloud.
func (c *Cloud) Resize(n int) []float32 {
	if c.Points == nil {
		c.Points = ds3d.NewLidarFrame(0)
	}
	c.Points.DType = ds3d.DTypeF32
	c.Points.Type = ds3d.FrameLidarXYZI
	c.Points.Resize(n, 4)
	return ds3d.AsFloat32(c.Points)
}

// addField appends a field, reusing the Data buffer that an earlier decode
// left in the same slot; size is the byte length Data needs (0: no data).
func (c *Cloud) addField(name string, t ScalarType, count, size int) *Field {
	var buf []byte
	if len(c.Fields) < cap(c.Fields) {
		buf = c.Fields[:len(c.Fields)+1][len(c.Fields)].Data
	}
	if size > 0 {
		if cap(buf) < size {
			buf = make([]byte, size)
		}
		buf = buf[:size]
	} else {
		buf = nil
	}
	c.Fields = append(c.Fields, Field{Name: name, Type: t, Count: count, Data: buf})
	return &c.Fields[len(c.Fields)-1]
}

var identityViewpoint = [7]float64{0, 0, 0, 1, 0, 0, 0}

// reset clears everything but the buffers, before a decode.
func (c *Cloud) reset() {
	c.Fields = c.Fields[:0]
	c.Intensity = ""
	c.Width, c.Height = 0, 0
	c.Viewpoint = identityViewpoint
	c.NaNs = 0
	c.Origin = [3]float64{}
	c.Format, c.Encoding = "", ""
}

// scalarAt reads one value of type t at b[0:].
func scalarAt(b []byte, t ScalarType, bigEndian bool) float64 {
	var bo binary.ByteOrder = binary.LittleEndian
	if bigEndian {
		bo = binary.BigEndian
	}
	switch t {
	case Int8:
		return float64(int8(b[0]))
	case Uint8:
		return float64(b[0])
	case Int16:
		return float64(int16(bo.Uint16(b)))
	case Uint16:
		return float64(bo.Uint16(b))
	case Int32:
		return float64(int32(bo.Uint32(b)))
	case Uint32:
		return float64(bo.Uint32(b))
	case Int64:
		return float64(int64(bo.Uint64(b)))
	case Uint64:
		return float64(bo.Uint64(b))
	case Float32:
		return float64(math.Float32frombits(bo.Uint32(b)))
	case Float64:
		return math.Float64frombits(bo.Uint64(b))
	}
	return math.NaN()
}

// gather converts n values of type t, one every stride bytes from src[0:],
// into column col of the [n,4] pts. The type switch sits outside the loops so
// each loop is a plain load-convert-store.
func gather(pts []float32, col int, src []byte, stride, n int, t ScalarType, bigEndian bool) {
	if n == 0 {
		return
	}
	_ = src[(n-1)*stride+t.Size()-1] // one bounds check for the lot
	_ = pts[(n-1)*4+col]
	if bigEndian && t.Size() > 1 {
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(scalarAt(src[i*stride:], t, true))
		}
		return
	}
	le := binary.LittleEndian
	switch t {
	case Float32:
		for i := 0; i < n; i++ {
			pts[i*4+col] = math.Float32frombits(le.Uint32(src[i*stride:]))
		}
	case Float64:
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(math.Float64frombits(le.Uint64(src[i*stride:])))
		}
	case Uint8:
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(src[i*stride])
		}
	case Uint16:
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(le.Uint16(src[i*stride:]))
		}
	case Uint32:
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(le.Uint32(src[i*stride:]))
		}
	default:
		for i := 0; i < n; i++ {
			pts[i*4+col] = float32(scalarAt(src[i*stride:], t, false))
		}
	}
}

// gatherRaw copies width bytes per point, one record every stride bytes of
// src, into the packed dst, swapping each value of size elem to
// little-endian when the source is big-endian.
func gatherRaw(dst, src []byte, stride, width, n, elem int, bigEndian bool) {
	if n == 0 {
		return
	}
	_ = src[(n-1)*stride+width-1]
	_ = dst[n*width-1]
	for i := 0; i < n; i++ {
		copy(dst[i*width:(i+1)*width], src[i*stride:])
	}
	if bigEndian && elem > 1 {
		for i := 0; i < len(dst); i += elem {
			v := dst[i : i+elem]
			for a, b := 0, elem-1; a < b; a, b = a+1, b-1 {
				v[a], v[b] = v[b], v[a]
			}
		}
	}
}

// countNaN counts points of the [n,4] pts with a NaN coordinate.
func countNaN(pts []float32) int {
	n := 0
	for i := 0; i+3 < len(pts); i += 4 {
		x, y, z := pts[i], pts[i+1], pts[i+2]
		if x != x || y != y || z != z {
			n++
		}
	}
	return n
}
