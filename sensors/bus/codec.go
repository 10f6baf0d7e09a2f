package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// The wire encoding of a datamap (version 1), little-endian throughout:
//
//	"DS3M" | version u8 | entries uvarint | entry…
//	entry = key (uvarint length, bytes) | tag u8 | body
//
// Bodies by tag: a frame is element type u8, frame type u8, rank u8, each
// dimension uvarint, plane (width, height, pitch, bytes per pixel) as four
// uvarints, column count uvarint and each name (uvarint length, bytes), data
// length uvarint and the raw bytes; scalars are 8 bytes (int64, float64) or
// one (bool); strings and byte slices are a uvarint length and the bytes;
// numeric slices are a uvarint count and the elements; box and object slices
// are a uvarint count and each record field by field in declaration order
// (strings as length and bytes). A decoder refuses another magic or a
// version it does not know, so a change of layout bumps Version.
const (
	Magic   = "DS3M"
	Version = 1
)

const (
	tagFrame byte = iota + 1
	tagInt64
	tagFloat64
	tagString
	tagBool
	tagBytes
	tagF32s
	tagF64s
	tagI32s
	tagI64s
	tagStrings
	tagBoxes3D
	tagObjects2D
	tagFused
	tagIntrinsics
	tagMat4
	tagExtrinsics
)

// ErrFormat is wrapped by every decoding error.
var ErrFormat = errors.New("bus: malformed datamap encoding")

// Encode appends the encoding of m to dst. Keys for which skip returns true
// are left out (nil skips none). A value of a type the encoding does not
// carry, or a frame outside CPU memory, is an error naming the key: nothing
// is dropped silently.
func Encode(dst []byte, m *ds3d.DataMap, skip func(ds3d.Key) bool) ([]byte, error) {
	dst = append(dst, Magic...)
	dst = append(dst, Version)
	n := 0
	m.Range(func(k ds3d.Key, _ any) bool {
		if skip == nil || !skip(k) {
			n++
		}
		return true
	})
	dst = binary.AppendUvarint(dst, uint64(n))
	var err error
	m.Range(func(k ds3d.Key, v any) bool {
		if skip != nil && skip(k) {
			return true
		}
		dst = appendString(dst, string(k))
		dst, err = appendValue(dst, v)
		if err != nil {
			err = fmt.Errorf("bus: key %s: %w", k, err)
			return false
		}
		return true
	})
	return dst, err
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case *ds3d.Frame:
		return appendFrame(b, x)
	case int64:
		b = append(b, tagInt64)
		return binary.LittleEndian.AppendUint64(b, uint64(x)), nil
	case float64:
		b = append(b, tagFloat64)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(x)), nil
	case string:
		return appendString(append(b, tagString), x), nil
	case bool:
		c := byte(0)
		if x {
			c = 1
		}
		return append(b, tagBool, c), nil
	case []byte:
		b = append(b, tagBytes)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), nil
	case []float32:
		b = binary.AppendUvarint(append(b, tagF32s), uint64(len(x)))
		for _, f := range x {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
		}
		return b, nil
	case []float64:
		b = binary.AppendUvarint(append(b, tagF64s), uint64(len(x)))
		for _, f := range x {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		return b, nil
	case []int32:
		b = binary.AppendUvarint(append(b, tagI32s), uint64(len(x)))
		for _, f := range x {
			b = binary.LittleEndian.AppendUint32(b, uint32(f))
		}
		return b, nil
	case []int64:
		b = binary.AppendUvarint(append(b, tagI64s), uint64(len(x)))
		for _, f := range x {
			b = binary.LittleEndian.AppendUint64(b, uint64(f))
		}
		return b, nil
	case []string:
		b = binary.AppendUvarint(append(b, tagStrings), uint64(len(x)))
		for _, s := range x {
			b = appendString(b, s)
		}
		return b, nil
	case []ds3d.Box3D:
		b = binary.AppendUvarint(append(b, tagBoxes3D), uint64(len(x)))
		for i := range x {
			b = appendBox(b, &x[i])
		}
		return b, nil
	case []ds3d.Object2D:
		b = binary.AppendUvarint(append(b, tagObjects2D), uint64(len(x)))
		for i := range x {
			b = appendObject(b, &x[i])
		}
		return b, nil
	case []ds3d.FusedDetection:
		b = binary.AppendUvarint(append(b, tagFused), uint64(len(x)))
		for i := range x {
			b = appendBox(b, &x[i].Box3D)
			b = appendObject(b, &x[i].Object2D)
			b = binary.LittleEndian.AppendUint32(b, uint32(x[i].CamID))
			b = appendF32(b, x[i].FusedScore)
		}
		return b, nil
	case ds3d.Intrinsics:
		b = append(b, tagIntrinsics)
		for _, f := range [...]float64{x.Fx, x.Fy, x.Cx, x.Cy, x.Skew} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(int64(x.Width)))
		b = binary.LittleEndian.AppendUint64(b, uint64(int64(x.Height)))
		b = binary.AppendUvarint(b, uint64(len(x.Distortion)))
		for _, f := range x.Distortion {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
		}
		return b, nil
	case ds3d.Mat4:
		return appendMat4(append(b, tagMat4), &x), nil
	case ds3d.Extrinsics:
		b = appendString(append(b, tagExtrinsics), x.From)
		b = appendString(b, x.To)
		return appendMat4(b, &x.Transform), nil
	}
	return b, fmt.Errorf("value of type %T has no wire encoding (leave the key out with exclude_keys)", v)
}

func appendFrame(b []byte, f *ds3d.Frame) ([]byte, error) {
	if f.Mem == ds3d.MemGPU {
		return b, errors.New("frame in GPU memory: the bus carries CPU frames (download it first)")
	}
	n := f.Bytes()
	if n > len(f.Data) {
		return b, fmt.Errorf("frame %s %s holds %d bytes, its shape needs %d", f.DType, f.Shape, len(f.Data), n)
	}
	b = append(b, tagFrame, byte(f.DType), byte(f.Type), byte(f.Shape.NumDims))
	for _, d := range f.Shape.Dims() {
		b = binary.AppendUvarint(b, uint64(d))
	}
	for _, v := range [...]int{f.Plane.Width, f.Plane.Height, f.Plane.Pitch, f.Plane.BytesPerPixel} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	cols := f.Columns()
	b = binary.AppendUvarint(b, uint64(len(cols)))
	for _, c := range cols {
		b = appendString(b, c)
	}
	b = binary.AppendUvarint(b, uint64(n))
	return append(b, f.Data[:n]...), nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendF32(b []byte, f float32) []byte {
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
}

func appendMat4(b []byte, m *ds3d.Mat4) []byte {
	for _, f := range m {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	return b
}

// appendBox writes every field of a Box3D in declaration order; the
// codec test fails when Box3D gains a field this does not write.
func appendBox(b []byte, x *ds3d.Box3D) []byte {
	for _, f := range [...]float32{x.CX, x.CY, x.CZ, x.DX, x.DY, x.DZ, x.Yaw, x.Pitch, x.Roll} {
		b = appendF32(b, f)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(x.ClassID))
	b = appendString(b, x.Label)
	b = appendF32(b, x.Score)
	b = append(b, x.Color[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(x.TrackID))
	b = appendF32(b, x.VX)
	return appendF32(b, x.VY)
}

func appendObject(b []byte, x *ds3d.Object2D) []byte {
	for _, f := range [...]float32{x.Left, x.Top, x.Width, x.Height} {
		b = appendF32(b, f)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(x.ClassID))
	b = appendString(b, x.Label)
	b = appendF32(b, x.Score)
	b = binary.LittleEndian.AppendUint64(b, uint64(x.TrackID))
	return binary.LittleEndian.AppendUint32(b, uint32(x.SourceID))
}

// FrameSource gives Decode a frame to fill: a pooled one (FramePool.TryGet)
// or nil, in which case Decode allocates one.
type FrameSource func() *ds3d.Frame

// Decode reads an encoded datamap into m (which should be empty; keys it
// holds are replaced). Frame bytes are copied once, into frames from src
// (reshaped and grown as needed); every other value is built from the
// encoding, sharing nothing with data, so data may be reused at once. An
// error wraps ErrFormat and says what was wrong and where.
func Decode(data []byte, m *ds3d.DataMap, src FrameSource) error {
	var d Decoder
	return d.Decode(data, m, src)
}

// Decoder decodes datamaps like Decode, remembering the key strings it saw
// (up to 1024) so that a stream of datamaps with the same keys decodes
// without allocating. A Decoder is used by one goroutine at a time.
type Decoder struct {
	keys map[string]ds3d.Key
	cols []string
}

const maxInterned = 1024

// Decode is the package's Decode with the decoder's key table.
func (dd *Decoder) Decode(data []byte, m *ds3d.DataMap, src FrameSource) error {
	d := decoder{b: data, dd: dd}
	if len(data) < len(Magic)+1 || string(data[:len(Magic)]) != Magic {
		return fmt.Errorf("%w: no %q magic", ErrFormat, Magic)
	}
	if v := data[len(Magic)]; v != Version {
		return fmt.Errorf("%w: version %d, this build reads version %d", ErrFormat, v, Version)
	}
	d.off = len(Magic) + 1
	n := d.count(2)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.key()
		if d.err != nil {
			break
		}
		at := d.off
		if err := d.value(m, k, src); err != nil {
			return err
		}
		if d.err != nil {
			return fmt.Errorf("%w: key %s (byte %d): %v", ErrFormat, k, at, d.err)
		}
	}
	if d.err != nil {
		return fmt.Errorf("%w: at byte %d: %v", ErrFormat, d.off, d.err)
	}
	if d.off != len(data) {
		return fmt.Errorf("%w: %d bytes after the last entry", ErrFormat, len(data)-d.off)
	}
	return nil
}

func (d *decoder) key() ds3d.Key {
	p := d.take(d.count(1))
	if k, ok := d.dd.keys[string(p)]; ok {
		return k
	}
	k := ds3d.Key(p)
	if d.dd.keys == nil {
		d.dd.keys = map[string]ds3d.Key{}
	}
	if len(d.dd.keys) < maxInterned {
		d.dd.keys[string(k)] = k
	}
	return k
}

type decoder struct {
	b   []byte
	off int
	err error
	dd  *Decoder
}

var errShort = errors.New("truncated")

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail(errShort)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8() byte {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (d *decoder) u32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(p)
}

func (d *decoder) u64() uint64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(p)
}

func (d *decoder) f32() float32 { return math.Float32frombits(d.u32()) }
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.fail(errors.New("bad varint"))
		return 0
	}
	d.off += n
	return v
}

// count reads a count of elements each at least minSize bytes long,
// refusing one the remaining bytes cannot hold (so a corrupt count never
// allocates more than the message's size).
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if d.err != nil {
		return 0
	}
	if v > uint64((len(d.b)-d.off)/max(minSize, 1)) {
		d.fail(fmt.Errorf("count %d exceeds the %d bytes left", v, len(d.b)-d.off))
		return 0
	}
	return int(v)
}

func (d *decoder) str() string {
	n := d.count(1)
	return string(d.take(n))
}

// knownColumns are the column names decoded without allocating.
var knownColumns = [...]string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing,
	ds3d.ColTime, ds3d.ColReturn, ds3d.ColTimeLag}

// column reads a column name, sharing the constant for the usual names so
// that steady-state decoding allocates nothing.
func (d *decoder) column() string {
	p := d.take(d.count(1))
	for _, c := range knownColumns {
		if string(p) == c {
			return c
		}
	}
	return string(p)
}

func (d *decoder) box(x *ds3d.Box3D) {
	for _, p := range [...]*float32{&x.CX, &x.CY, &x.CZ, &x.DX, &x.DY, &x.DZ, &x.Yaw, &x.Pitch, &x.Roll} {
		*p = d.f32()
	}
	x.ClassID = int32(d.u32())
	x.Label = d.str()
	x.Score = d.f32()
	copy(x.Color[:], d.take(4))
	x.TrackID = int64(d.u64())
	x.VX = d.f32()
	x.VY = d.f32()
}

func (d *decoder) object(x *ds3d.Object2D) {
	for _, p := range [...]*float32{&x.Left, &x.Top, &x.Width, &x.Height} {
		*p = d.f32()
	}
	x.ClassID = int32(d.u32())
	x.Label = d.str()
	x.Score = d.f32()
	x.TrackID = int64(d.u64())
	x.SourceID = int32(d.u32())
}

func (d *decoder) mat4(m *ds3d.Mat4) {
	for i := range m {
		m[i] = d.f64()
	}
}

// Minimum encoded sizes of the records, for count checks.
const (
	minBox    = 9*4 + 4 + 1 + 4 + 4 + 8 + 8
	minObject = 4*4 + 4 + 1 + 4 + 8 + 4
)

func (d *decoder) value(m *ds3d.DataMap, k ds3d.Key, src FrameSource) error {
	switch tag := d.u8(); tag {
	case tagFrame:
		return d.frame(m, k, src)
	case tagInt64:
		v := int64(d.u64())
		if d.err == nil {
			m.SetInt64(k, v)
		}
	case tagFloat64:
		v := d.f64()
		if d.err == nil {
			m.SetFloat64(k, v)
		}
	case tagString:
		v := d.str()
		if d.err == nil {
			m.Set(k, v)
		}
	case tagBool:
		v := d.u8()
		if d.err == nil && v > 1 {
			d.fail(fmt.Errorf("bool byte %d", v))
		}
		if d.err == nil {
			m.Set(k, v == 1)
		}
	case tagBytes:
		n := d.count(1)
		v := append([]byte(nil), d.take(n)...)
		if d.err == nil {
			m.Set(k, v)
		}
	case tagF32s:
		v := make([]float32, d.count(4))
		for i := range v {
			v[i] = d.f32()
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagF64s:
		v := make([]float64, d.count(8))
		for i := range v {
			v[i] = d.f64()
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagI32s:
		v := make([]int32, d.count(4))
		for i := range v {
			v[i] = int32(d.u32())
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagI64s:
		v := make([]int64, d.count(8))
		for i := range v {
			v[i] = int64(d.u64())
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagStrings:
		v := make([]string, d.count(1))
		for i := range v {
			v[i] = d.str()
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagBoxes3D:
		v := make([]ds3d.Box3D, d.count(minBox))
		for i := range v {
			d.box(&v[i])
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagObjects2D:
		v := make([]ds3d.Object2D, d.count(minObject))
		for i := range v {
			d.object(&v[i])
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagFused:
		v := make([]ds3d.FusedDetection, d.count(minBox+minObject+8))
		for i := range v {
			d.box(&v[i].Box3D)
			d.object(&v[i].Object2D)
			v[i].CamID = int32(d.u32())
			v[i].FusedScore = d.f32()
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagIntrinsics:
		var v ds3d.Intrinsics
		for _, p := range [...]*float64{&v.Fx, &v.Fy, &v.Cx, &v.Cy, &v.Skew} {
			*p = d.f64()
		}
		v.Width, v.Height = int(int64(d.u64())), int(int64(d.u64()))
		if n := d.count(8); n > 0 {
			v.Distortion = make([]float64, n)
			for i := range v.Distortion {
				v.Distortion[i] = d.f64()
			}
		}
		if d.err == nil {
			m.Set(k, v)
		}
	case tagMat4:
		var v ds3d.Mat4
		d.mat4(&v)
		if d.err == nil {
			m.Set(k, v)
		}
	case tagExtrinsics:
		var v ds3d.Extrinsics
		v.From, v.To = d.str(), d.str()
		d.mat4(&v.Transform)
		if d.err == nil {
			m.Set(k, v)
		}
	default:
		if d.err == nil {
			d.fail(fmt.Errorf("unknown value tag %d", tag))
		}
	}
	return nil
}

func (d *decoder) frame(m *ds3d.DataMap, k ds3d.Key, src FrameSource) error {
	dt, ft, rank := ds3d.DataType(d.u8()), ds3d.FrameType(d.u8()), int(d.u8())
	if d.err != nil {
		return nil
	}
	if dt.Size() == 0 {
		d.fail(fmt.Errorf("frame element type %d", dt))
		return nil
	}
	if rank > ds3d.MaxDims {
		d.fail(fmt.Errorf("frame of %d dimensions (at most %d)", rank, ds3d.MaxDims))
		return nil
	}
	var shape ds3d.Shape
	shape.NumDims = rank
	elems := uint64(1)
	for i := 0; i < rank; i++ {
		v := d.uvarint()
		if v > math.MaxInt32 {
			d.fail(fmt.Errorf("dimension %d is %d", i, v))
			return nil
		}
		shape.D[i] = int(v)
		elems *= v
		if elems > math.MaxInt32 {
			d.fail(fmt.Errorf("frame of more than %d elements (dimension %d)", math.MaxInt32, i))
			return nil
		}
	}
	var pl [4]int
	for i := range pl {
		v := d.uvarint()
		if v > math.MaxInt32 {
			d.fail(fmt.Errorf("plane value %d", v))
			return nil
		}
		pl[i] = int(v)
	}
	plane := ds3d.Plane{Width: pl[0], Height: pl[1], Pitch: pl[2], BytesPerPixel: pl[3]}
	nc := d.count(1)
	if nc > 64 {
		d.fail(fmt.Errorf("%d column names (at most 64)", nc))
		return nil
	}
	cols := d.dd.cols[:0]
	for i := 0; i < nc; i++ {
		cols = append(cols, d.column())
	}
	d.dd.cols = cols
	want := int(elems) * dt.Size()
	if plane.Pitch > 0 {
		want = plane.Pitch * plane.Height
	}
	n := d.count(1)
	if d.err != nil {
		return nil
	}
	if n != want {
		d.fail(fmt.Errorf("frame %s %s carries %d bytes, its layout needs %d", dt, shape.String(), n, want))
		return nil
	}
	raw := d.take(n)
	if d.err != nil {
		return nil
	}
	var f *ds3d.Frame
	if src != nil {
		f = src()
	}
	if f == nil {
		f = &ds3d.Frame{}
	}
	f.DType, f.Type, f.Mem, f.Device, f.DevPtr = dt, ft, ds3d.MemCPU, 0, 0
	f.Shape, f.Plane = shape, plane
	if cap(f.Data) < n {
		f.Data = make([]byte, n)
	}
	f.Data = f.Data[:n]
	copy(f.Data, raw)
	f.SetColumns(cols...)
	m.SetFrame(k, f)
	return nil
}
