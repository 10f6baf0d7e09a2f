package ds3d

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// DataType is the element type of a frame.
type DataType uint8

// Element types. The numbering is ours; ds3d's names are kept.
const (
	DTypeUnknown DataType = iota
	DTypeF32
	DTypeF16
	DTypeF64
	DTypeU8
	DTypeI8
	DTypeU16
	DTypeI16
	DTypeU32
	DTypeI32
	DTypeI64
)

var dtypeInfo = [...]struct {
	name string
	size int
}{
	DTypeUnknown: {"unknown", 0},
	DTypeF32:     {"f32", 4},
	DTypeF16:     {"f16", 2},
	DTypeF64:     {"f64", 8},
	DTypeU8:      {"u8", 1},
	DTypeI8:      {"i8", 1},
	DTypeU16:     {"u16", 2},
	DTypeI16:     {"i16", 2},
	DTypeU32:     {"u32", 4},
	DTypeI32:     {"i32", 4},
	DTypeI64:     {"i64", 8},
}

// Size is the element size in bytes (0 for DTypeUnknown).
func (d DataType) Size() int {
	if int(d) >= len(dtypeInfo) {
		return 0
	}
	return dtypeInfo[d].size
}

func (d DataType) String() string {
	if int(d) >= len(dtypeInfo) {
		return fmt.Sprintf("dtype(%d)", d)
	}
	return dtypeInfo[d].name
}

// FrameType says what a frame holds.
type FrameType uint8

// Frame types.
const (
	FrameCustom     FrameType = iota
	FrameLidarXYZI            // [N,4] x, y, z, intensity
	FramePointXYZ             // [N,3] x, y, z
	FrameColorRGB             // [H,W,3] u8
	FrameColorRGBA            // [H,W,4] u8
	FrameDepth                // [H,W] u16 or f32
	FrameTensor               // a model tensor of any shape
	FramePointCoord           // [N,2] f32 pixel coordinates
)

var frameTypeNames = [...]string{"custom", "lidar_xyzi", "point_xyz", "rgb", "rgba", "depth", "tensor", "point_coord"}

func (t FrameType) String() string {
	if int(t) < len(frameTypeNames) {
		return frameTypeNames[t]
	}
	return fmt.Sprintf("frametype(%d)", t)
}

// MemType says where a frame's bytes live.
type MemType uint8

// Memory types. GPU frames exist only in builds with the cuda tag.
const (
	MemCPU MemType = iota
	MemCPUPinned
	MemGPU
)

func (m MemType) String() string {
	switch m {
	case MemCPU:
		return "cpu"
	case MemCPUPinned:
		return "cpu_pinned"
	case MemGPU:
		return "gpu"
	}
	return fmt.Sprintf("memtype(%d)", m)
}

// MaxDims is the largest rank a Shape holds (as in ds3d).
const MaxDims = 8

// Shape is an N-d shape of at most MaxDims dimensions, stored inline so that
// copying a shape never allocates.
type Shape struct {
	NumDims int
	D       [MaxDims]int
}

// NewShape returns the shape with the given dimensions. It panics on more
// than MaxDims or a negative dimension: shapes come from code, not input.
func NewShape(dims ...int) Shape {
	if len(dims) > MaxDims {
		panic(fmt.Sprintf("ds3d: shape of %d dims exceeds %d", len(dims), MaxDims))
	}
	var s Shape
	s.NumDims = len(dims)
	for i, d := range dims {
		if d < 0 {
			panic(fmt.Sprintf("ds3d: negative dimension %d", d))
		}
		s.D[i] = d
	}
	return s
}

// Dims returns the dimensions as a slice aliasing the shape.
func (s *Shape) Dims() []int { return s.D[:s.NumDims] }

// Elements is the product of the dimensions (1 for a scalar).
func (s Shape) Elements() int {
	n := 1
	for i := 0; i < s.NumDims; i++ {
		n *= s.D[i]
	}
	return n
}

func (s Shape) String() string {
	b := []byte{'['}
	for i := 0; i < s.NumDims; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, "%d", s.D[i])
	}
	return string(append(b, ']'))
}

// Plane describes the layout of an image frame: rows of Pitch bytes, of
// which Width*BytesPerPixel carry pixels.
type Plane struct {
	Width, Height, Pitch, BytesPerPixel int
}

// Frame is an N-d array of one element type, in CPU memory or (with the cuda
// tag) on a GPU. Data holds Shape.Elements()*DType.Size() bytes for CPU
// frames; image frames may carry row padding described by Plane, in which
// case Data holds Plane.Pitch*Plane.Height bytes.
//
// Frames taken from a FramePool are reference counted: Retain adds a holder,
// Release drops one and the last Release returns the frame to its pool.
// Frames made by the constructors below are not pooled and Retain/Release are
// no-ops on them.
type Frame struct {
	DType  DataType
	Type   FrameType
	Mem    MemType
	Device int
	Shape  Shape
	Plane  Plane // image frames only
	Data   []byte

	// DevPtr is the device address of a GPU frame (MemGPU); 0 otherwise.
	DevPtr uintptr

	// cols names the columns of a point frame (columns.go).
	cols []string

	pool *FramePool
	refs atomic.Int32
}

// NewFrame allocates a CPU frame of the given type and shape.
func NewFrame(dt DataType, ft FrameType, shape Shape) *Frame {
	return &Frame{DType: dt, Type: ft, Shape: shape, Data: make([]byte, shape.Elements()*dt.Size())}
}

// NewLidarFrame returns an [n,4] f32 x,y,z,intensity frame.
func NewLidarFrame(n int) *Frame { return NewFrame(DTypeF32, FrameLidarXYZI, NewShape(n, 4)) }

// NewPointFrame returns an [n,3] f32 x,y,z frame.
func NewPointFrame(n int) *Frame { return NewFrame(DTypeF32, FramePointXYZ, NewShape(n, 3)) }

// NewTensorFrame returns a tensor frame of the given element type and shape.
func NewTensorFrame(dt DataType, dims ...int) *Frame {
	return NewFrame(dt, FrameTensor, NewShape(dims...))
}

// NewImageFrame returns a 2D frame: FrameColorRGB/RGBA with DTypeU8, or
// FrameDepth with DTypeU16 or DTypeF32. pitch is the row stride in bytes; 0
// means tightly packed. It returns an error for a combination that makes no
// image or a pitch shorter than a row.
func NewImageFrame(ft FrameType, dt DataType, width, height, pitch int) (*Frame, error) {
	var ch int
	switch {
	case ft == FrameColorRGB && dt == DTypeU8:
		ch = 3
	case ft == FrameColorRGBA && dt == DTypeU8:
		ch = 4
	case ft == FrameDepth && (dt == DTypeU16 || dt == DTypeF32):
		ch = 1
	default:
		return nil, fmt.Errorf("ds3d: no image frame of type %s with elements %s", ft, dt)
	}
	if width <= 0 || height <= 0 {
		return nil, fmt.Errorf("ds3d: image size %dx%d must be positive", width, height)
	}
	bpp := ch * dt.Size()
	if pitch == 0 {
		pitch = width * bpp
	}
	if pitch < width*bpp {
		return nil, fmt.Errorf("ds3d: pitch %d is shorter than a row of %d bytes", pitch, width*bpp)
	}
	var shape Shape
	if ch == 1 {
		shape = NewShape(height, width)
	} else {
		shape = NewShape(height, width, ch)
	}
	return &Frame{
		DType: dt, Type: ft, Shape: shape,
		Plane: Plane{Width: width, Height: height, Pitch: pitch, BytesPerPixel: bpp},
		Data:  make([]byte, pitch*height),
	}, nil
}

// Points is the number of points of a point frame (the first dimension), or
// the number of elements of a frame with one dimension.
func (f *Frame) Points() int {
	if f.Shape.NumDims == 0 {
		return 0
	}
	return f.Shape.D[0]
}

// Bytes is the number of meaningful bytes: elements × element size, or
// pitch × height for image frames.
func (f *Frame) Bytes() int {
	if f.Plane.Pitch > 0 {
		return f.Plane.Pitch * f.Plane.Height
	}
	return f.Shape.Elements() * f.DType.Size()
}

// Retain adds a holder to a pooled frame and returns it.
func (f *Frame) Retain() *Frame {
	if f.pool != nil {
		f.refs.Add(1)
	}
	return f
}

// Release drops a holder; the last one returns a pooled frame to its pool.
// Releasing a frame more often than it was held panics, since that is a
// use-after-free in the making.
func (f *Frame) Release() {
	if f.pool == nil {
		return
	}
	switch n := f.refs.Add(-1); {
	case n == 0:
		f.pool.put(f)
	case n < 0:
		panic("ds3d: frame released more often than retained")
	}
}

// AsFloat32 views a CPU frame's bytes as float32 without copying. The view
// covers whole elements only.
func AsFloat32(f *Frame) []float32 {
	if len(f.Data) < 4 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&f.Data[0])), len(f.Data)/4)
}

// AsUint16 views a CPU frame's bytes as uint16 without copying.
func AsUint16(f *Frame) []uint16 {
	if len(f.Data) < 2 {
		return nil
	}
	return unsafe.Slice((*uint16)(unsafe.Pointer(&f.Data[0])), len(f.Data)/2)
}

// AsInt32 views a CPU frame's bytes as int32 without copying.
func AsInt32(f *Frame) []int32 {
	if len(f.Data) < 4 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&f.Data[0])), len(f.Data)/4)
}
