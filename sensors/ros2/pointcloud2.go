package ros2

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// PointCloud2Type is the ROS 2 name of the point-cloud message.
const PointCloud2Type = "sensor_msgs/msg/PointCloud2"

// MaxPoints bounds width×height of a PointCloud2 (2^28 points, 4 GiB as
// an [N,4] float32 frame); larger clouds are refused before allocating.
const MaxPoints = 1 << 28

// PointField datatypes (sensor_msgs/msg/PointField).
const (
	PFInt8    = 1
	PFUint8   = 2
	PFInt16   = 3
	PFUint16  = 4
	PFInt32   = 5
	PFUint32  = 6
	PFFloat32 = 7
	PFFloat64 = 8
)

var pfSize = [...]int{0, 1, 1, 2, 2, 4, 4, 4, 8}
var pfName = [...]string{"?", "int8", "uint8", "int16", "uint16", "int32", "uint32", "float32", "float64"}

// PointField is one field of a PointCloud2.
type PointField struct {
	Name     string `json:"name"`
	Offset   uint32 `json:"offset"`
	Datatype uint8  `json:"datatype"`
	Count    uint32 `json:"count"`
}

// TypeName is the field's datatype as a word ("float32").
func (f PointField) TypeName() string {
	if int(f.Datatype) < len(pfName) && f.Datatype > 0 {
		return pfName[f.Datatype]
	}
	return fmt.Sprintf("datatype(%d)", f.Datatype)
}

// Header is std_msgs/msg/Header.
type Header struct {
	Sec     int32
	Nanosec uint32
	FrameID string
}

// Nanos is the stamp in nanoseconds since the epoch.
func (h Header) Nanos() int64 { return int64(h.Sec)*1e9 + int64(h.Nanosec) }

// PointCloud2 is sensor_msgs/msg/PointCloud2; Data aliases the message bytes.
type PointCloud2 struct {
	Header      Header
	Height      uint32
	Width       uint32
	Fields      []PointField
	IsBigEndian bool
	PointStep   uint32
	RowStep     uint32
	Data        []byte
	IsDense     bool
}

// DecodePointCloud2 decodes a CDR PointCloud2 (encapsulation header
// included) and checks that its sizes agree: point_step covers every field,
// row_step ≥ width×point_step, len(data) = row_step×height and
// width×height ≤ MaxPoints. Data aliases b.
func DecodePointCloud2(b []byte) (*PointCloud2, error) {
	pc := new(PointCloud2)
	if err := pc.Unmarshal(b); err != nil {
		return nil, err
	}
	return pc, nil
}

// Unmarshal is DecodePointCloud2 into pc, reusing its Fields slice and
// strings: decoding a stream of clouds of one layout allocates nothing.
func (pc *PointCloud2) Unmarshal(b []byte) error {
	if err := pc.decode(b); err != nil {
		return fmt.Errorf("PointCloud2: %w", err)
	}
	if err := pc.Check(); err != nil {
		return fmt.Errorf("PointCloud2: %w", err)
	}
	return nil
}

// setStr replaces *s by b only when they differ (no allocation otherwise).
func setStr(s *string, b []byte) {
	if *s != string(b) {
		*s = string(b)
	}
}

func (pc *PointCloud2) decode(b []byte) error {
	rv, err := newCDR(b)
	if err != nil {
		return err
	}
	r := &rv
	sec, err := r.u32("header.stamp.sec")
	if err != nil {
		return err
	}
	ns, err := r.u32("header.stamp.nanosec")
	if err != nil {
		return err
	}
	fid, err := r.strBytes("header.frame_id")
	if err != nil {
		return err
	}
	pc.Header.Sec, pc.Header.Nanosec = int32(sec), ns
	setStr(&pc.Header.FrameID, fid)
	if pc.Height, err = r.u32("height"); err != nil {
		return err
	}
	if pc.Width, err = r.u32("width"); err != nil {
		return err
	}
	nf, err := r.count("fields", 13)
	if err != nil {
		return err
	}
	if cap(pc.Fields) < nf {
		pc.Fields = make([]PointField, nf)
	}
	pc.Fields = pc.Fields[:nf]
	for i := range pc.Fields {
		f := &pc.Fields[i]
		name, err := r.strBytes("fields.name")
		if err != nil {
			return err
		}
		setStr(&f.Name, name)
		if f.Offset, err = r.u32("fields.offset"); err != nil {
			return err
		}
		if f.Datatype, err = r.u8("fields.datatype"); err != nil {
			return err
		}
		if f.Count, err = r.u32("fields.count"); err != nil {
			return err
		}
	}
	be, err := r.u8("is_bigendian")
	if err != nil {
		return err
	}
	pc.IsBigEndian = be != 0
	if pc.PointStep, err = r.u32("point_step"); err != nil {
		return err
	}
	if pc.RowStep, err = r.u32("row_step"); err != nil {
		return err
	}
	nd, err := r.count("data", 1)
	if err != nil {
		return err
	}
	pc.Data = r.b[r.off : r.off+nd]
	r.off += nd
	d, err := r.u8("is_dense")
	if err != nil {
		return err
	}
	pc.IsDense = d != 0
	return nil
}

// Check verifies that the cloud's sizes agree.
func (pc *PointCloud2) Check() error {
	n := uint64(pc.Width) * uint64(pc.Height)
	if n > MaxPoints {
		return fmt.Errorf("width %d × height %d = %d points exceeds the limit of %d", pc.Width, pc.Height, n, MaxPoints)
	}
	for _, f := range pc.Fields {
		if f.Datatype < 1 || int(f.Datatype) >= len(pfSize) {
			return fmt.Errorf("field %q: unknown datatype %d", f.Name, f.Datatype)
		}
		end := uint64(f.Offset) + uint64(pfSize[f.Datatype])*uint64(max(f.Count, 1))
		if end > uint64(pc.PointStep) {
			return fmt.Errorf("field %q (offset %d, %s×%d) ends at byte %d, past point_step %d", f.Name, f.Offset, f.TypeName(), f.Count, end, pc.PointStep)
		}
	}
	if n > 0 && pc.PointStep == 0 {
		return fmt.Errorf("point_step is 0 for %d points", n)
	}
	if uint64(pc.RowStep) < uint64(pc.Width)*uint64(pc.PointStep) {
		return fmt.Errorf("row_step %d < width %d × point_step %d", pc.RowStep, pc.Width, pc.PointStep)
	}
	if want := uint64(pc.RowStep) * uint64(pc.Height); uint64(len(pc.Data)) != want {
		return fmt.Errorf("data has %d bytes, row_step %d × height %d = %d", len(pc.Data), pc.RowStep, pc.Height, want)
	}
	return nil
}

// Field returns the named field, or nil.
func (pc *PointCloud2) Field(name string) *PointField {
	for i := range pc.Fields {
		if pc.Fields[i].Name == name {
			return &pc.Fields[i]
		}
	}
	return nil
}

// Len is width × height.
func (pc *PointCloud2) Len() int { return int(pc.Width) * int(pc.Height) }

// ToFrame writes the cloud's x, y, z, intensity into an [N,4] float32
// lidar frame (ds3d.FrameLidarXYZI), N = width×height, row by row, keeping
// NaN points of organised clouds. Other datatypes are converted to float32;
// a cloud without an intensity field gets intensity 0. dst is reused when
// its buffer is large enough (nil allocates). x, y and z must exist.
func (pc *PointCloud2) ToFrame(dst *ds3d.Frame) (*ds3d.Frame, error) {
	var cols [4]*PointField
	for k, name := range [4]string{"x", "y", "z", "intensity"} {
		cols[k] = pc.Field(name)
		if cols[k] == nil && k < 3 {
			return nil, fmt.Errorf("PointCloud2: no %q field (fields: %s)", name, pc.fieldList())
		}
	}
	n := pc.Len()
	if dst == nil || cap(dst.Data) < n*16 {
		dst = ds3d.NewLidarFrame(n)
	} else {
		dst.DType, dst.Type, dst.Shape = ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 4)
		dst.Data = dst.Data[:n*16]
	}
	out := ds3d.AsFloat32(dst)
	var bo binary.ByteOrder = binary.LittleEndian
	if pc.IsBigEndian {
		bo = binary.BigEndian
	}
	ps, rs := int(pc.PointStep), int(pc.RowStep)
	w := int(pc.Width)
	// Fast path: little-endian float32 x y z (intensity) at 0, 4, 8 (12).
	fast := !pc.IsBigEndian
	for k, c := range cols {
		if c == nil {
			continue
		}
		fast = fast && c.Datatype == PFFloat32 && int(c.Offset) == 4*k
	}
	// The KITTI/driver layout on a little-endian host: one copy.
	if fast && nativeLE && cols[3] != nil && ps == 16 && rs == 16*w {
		copy(dst.Data, pc.Data)
		return dst, nil
	}
	for row := 0; row < int(pc.Height); row++ {
		base := row * rs
		o := out[row*w*4 : (row+1)*w*4]
		if fast {
			hasI := cols[3] != nil
			for i := 0; i < w; i++ {
				p := pc.Data[base+i*ps : base+i*ps+16-boolInt(!hasI)*4]
				o[4*i] = math.Float32frombits(binary.LittleEndian.Uint32(p))
				o[4*i+1] = math.Float32frombits(binary.LittleEndian.Uint32(p[4:]))
				o[4*i+2] = math.Float32frombits(binary.LittleEndian.Uint32(p[8:]))
				if hasI {
					o[4*i+3] = math.Float32frombits(binary.LittleEndian.Uint32(p[12:]))
				} else {
					o[4*i+3] = 0
				}
			}
			continue
		}
		for i := 0; i < w; i++ {
			p := pc.Data[base+i*ps : base+(i+1)*ps]
			for k, c := range cols {
				if c == nil {
					o[4*i+k] = 0
					continue
				}
				o[4*i+k] = scalar(p[c.Offset:], c.Datatype, bo)
			}
		}
	}
	return dst, nil
}

var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scalar(p []byte, dt uint8, bo binary.ByteOrder) float32 {
	switch dt {
	case PFInt8:
		return float32(int8(p[0]))
	case PFUint8:
		return float32(p[0])
	case PFInt16:
		return float32(int16(bo.Uint16(p)))
	case PFUint16:
		return float32(bo.Uint16(p))
	case PFInt32:
		return float32(int32(bo.Uint32(p)))
	case PFUint32:
		return float32(bo.Uint32(p))
	case PFFloat32:
		return math.Float32frombits(bo.Uint32(p))
	case PFFloat64:
		return float32(math.Float64frombits(bo.Uint64(p)))
	}
	return 0
}

func (pc *PointCloud2) fieldList() string {
	s := ""
	for i, f := range pc.Fields {
		if i > 0 {
			s += " "
		}
		s += f.Name
	}
	if s == "" {
		return "none"
	}
	return s
}

// DecodePointCloud2Frame decodes a CDR PointCloud2 straight into a lidar
// frame (see PointCloud2.ToFrame).
func DecodePointCloud2Frame(b []byte, dst *ds3d.Frame) (*ds3d.Frame, *PointCloud2, error) {
	pc, err := DecodePointCloud2(b)
	if err != nil {
		return nil, nil, err
	}
	f, err := pc.ToFrame(dst)
	if err != nil {
		return nil, nil, err
	}
	return f, pc, nil
}
