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

	// ToFrame's column plan, kept so that a stream of clouds allocates nothing.
	cols     []pcCol
	colNames []string
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

// Column conversions of ToFrame.
const (
	convRaw      = iota // the value converted to float32
	convZero            // a missing intensity: 0
	convNsRel           // uint32 nanoseconds after the stamp (Ouster's "t"): × 1e-9
	convTimeF64         // a float64 time, its unit not yet known
	convF64RelS         // float64 seconds after the stamp
	convF64AbsS         // float64 seconds since the epoch
	convF64AbsNs        // float64 nanoseconds since the epoch
)

// pcCol is one column of the frame ToFrame writes.
type pcCol struct {
	off  int
	dt   uint8
	conv uint8
}

// ColumnName is the ds3d column a PointCloud2 field becomes: "t",
// "timestamp", "time_stamp" and "time" are ds3d.ColTime, "return_type"
// ds3d.ColReturn, any other name is kept.
func ColumnName(field string) string {
	switch field {
	case "t", "timestamp", "time_stamp", "time":
		return ds3d.ColTime
	case "return_type":
		return ds3d.ColReturn
	}
	return field
}

// fieldName is the PointCloud2 field a ds3d column becomes (AppendPointCloud2).
func fieldName(col string) string {
	if col == ds3d.ColReturn {
		return "return_type"
	}
	return col
}

// ToFrame writes the cloud into a float32 lidar frame (ds3d.FrameLidarXYZI)
// of N = width×height points, row by row, keeping NaN points of organised
// clouds. Its columns are x, y, z, intensity (0 when the cloud has none),
// then every other single-valued field in message order, named by
// ColumnName (fields of count > 1 are dropped). Other datatypes are
// converted to float32; per-point times become ds3d.ColTime, seconds
// relative to the header stamp, where the datatype tells the convention:
// float32 is already that (velodyne_pointcloud's "time"); uint32 "t" is
// nanoseconds after the stamp (Ouster); float64 is read as seconds after
// the stamp, seconds since the epoch (Hesai, RoboSense) or nanoseconds since
// the epoch (Livox), whichever puts the cloud's first point nearest the
// stamp, and that reading holds for the whole cloud. Any other integer time
// field is kept raw, in the driver's unit (ColTime still names it). When
// two fields map to ColTime the second keeps its own name. dst is reused
// when its buffer is large enough (nil allocates). x, y and z must exist.
func (pc *PointCloud2) ToFrame(dst *ds3d.Frame) (*ds3d.Frame, error) {
	return pc.toFrame(dst, nil)
}

// ToFrameColumns is ToFrame writing exactly the named columns, in order:
// ds3d column names or field names; "intensity" and every column other than
// x, y, z that the cloud lacks are filled with 0. Asking for x, y, z,
// intensity of a float32 x y z intensity cloud is a single copy.
func (pc *PointCloud2) ToFrameColumns(dst *ds3d.Frame, names []string) (*ds3d.Frame, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("PointCloud2: no columns asked for")
	}
	return pc.toFrame(dst, names)
}

func (pc *PointCloud2) plan(names []string) error {
	pc.cols, pc.colNames = pc.cols[:0], pc.colNames[:0]
	add := func(f *PointField, name string) {
		c := pcCol{conv: convZero}
		if f != nil {
			c = pcCol{off: int(f.Offset), dt: f.Datatype, conv: convRaw}
			if ColumnName(f.Name) == ds3d.ColTime {
				switch {
				case f.Datatype == PFUint32 && f.Name == "t":
					c.conv = convNsRel
				case f.Datatype == PFFloat64:
					c.conv = convTimeF64
				}
			}
		}
		pc.cols = append(pc.cols, c)
		pc.colNames = append(pc.colNames, name)
	}
	if names == nil {
		for k, name := range [4]string{"x", "y", "z", "intensity"} {
			f := pc.Field(name)
			if f == nil && k < 3 {
				return fmt.Errorf("PointCloud2: no %q field (fields: %s)", name, pc.fieldList())
			}
			add(f, name)
		}
		for i := range pc.Fields {
			f := &pc.Fields[i]
			switch f.Name {
			case "x", "y", "z", "intensity":
				continue
			}
			if f.Count > 1 {
				continue
			}
			name := ColumnName(f.Name)
			for _, n := range pc.colNames {
				if n == name { // a second time field keeps its own name
					name = f.Name
					break
				}
			}
			add(f, name)
		}
		return nil
	}
	for _, name := range names {
		f := pc.Field(name)
		if f == nil {
			for i := range pc.Fields {
				if ColumnName(pc.Fields[i].Name) == name {
					f = &pc.Fields[i]
					break
				}
			}
		}
		if f == nil && (name == "x" || name == "y" || name == "z") {
			return fmt.Errorf("PointCloud2: no %q field (fields: %s)", name, pc.fieldList())
		}
		add(f, name)
	}
	return nil
}

func (pc *PointCloud2) toFrame(dst *ds3d.Frame, names []string) (*ds3d.Frame, error) {
	if err := pc.plan(names); err != nil {
		return nil, err
	}
	n, nc := pc.Len(), len(pc.cols)
	if dst == nil {
		dst = &ds3d.Frame{}
	}
	dst.DType, dst.Type = ds3d.DTypeF32, ds3d.FrameLidarXYZI
	dst.Resize(n, nc)
	dst.SetColumns(pc.colNames...)
	if n == 0 { // no rows to walk, however many the header claims
		return dst, nil
	}
	out := ds3d.AsFloat32(dst)
	bo := byteOrder(pc.IsBigEndian)
	ps, rs := int(pc.PointStep), int(pc.RowStep)
	w := int(pc.Width)
	// Fast path: little-endian float32 x y z (intensity) at 0, 4, 8 (12).
	fast := !pc.IsBigEndian && nc == 4
	for k, c := range pc.cols[:min(nc, 4)] {
		if c.conv == convZero && k == 3 {
			continue
		}
		fast = fast && c.conv == convRaw && c.dt == PFFloat32 && c.off == 4*k
	}
	hasI := fast && pc.cols[3].conv != convZero
	// The KITTI/driver layout on a little-endian host: one copy.
	if fast && nativeLE && hasI && ps == 16 && rs == 16*w {
		copy(dst.Data, pc.Data)
		return dst, nil
	}
	stampS, stampNs := float64(pc.Header.Sec)+float64(pc.Header.Nanosec)*1e-9, float64(pc.Header.Nanos())
	for k := range pc.cols {
		if c := &pc.cols[k]; c.conv == convTimeF64 {
			c.conv = pc.timeUnit(c.off, bo, stampS, stampNs)
		}
	}
	for row := 0; row < int(pc.Height); row++ {
		base := row * rs
		o := out[row*w*nc : (row+1)*w*nc]
		if fast {
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
		cols, data := pc.cols, pc.Data
		for i := 0; i < w; i++ {
			p := data[base+i*ps : base+(i+1)*ps]
			oo := o[i*nc : (i+1)*nc]
			for k := range cols {
				c := &cols[k]
				if k >= len(oo) {
					break
				}
				switch c.conv {
				case convZero:
					oo[k] = 0
				case convRaw:
					oo[k] = scalar(p[c.off:], c.dt, bo)
				case convNsRel:
					oo[k] = float32(float64(bo.u32(p[c.off:])) * 1e-9)
				case convF64RelS:
					oo[k] = float32(math.Float64frombits(bo.u64(p[c.off:])))
				case convF64AbsS:
					oo[k] = float32(math.Float64frombits(bo.u64(p[c.off:])) - stampS)
				case convF64AbsNs:
					oo[k] = float32((math.Float64frombits(bo.u64(p[c.off:])) - stampNs) * 1e-9)
				}
			}
		}
	}
	return dst, nil
}

// timeUnit reads a float64 time column as relative seconds, absolute
// seconds or absolute nanoseconds, whichever puts the first finite value
// nearest the stamp.
func (pc *PointCloud2) timeUnit(off int, bo byteOrder, stampS, stampNs float64) uint8 {
	ps, rs, w := int(pc.PointStep), int(pc.RowStep), int(pc.Width)
	for i := range min(pc.Len(), 1024) {
		p := pc.Data[(i/w)*rs+(i%w)*ps+off:]
		v := math.Float64frombits(bo.u64(p))
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		best, unit := math.Abs(v), uint8(convF64RelS)
		if d := math.Abs(v - stampS); d < best {
			best, unit = d, convF64AbsS
		}
		if d := math.Abs(v-stampNs) * 1e-9; d < best {
			unit = convF64AbsNs
		}
		return unit
	}
	return convF64RelS
}

// byteOrder is a point's byte order (true: big endian) with readers the
// compiler inlines, unlike calls through binary.ByteOrder.
type byteOrder bool

func (big byteOrder) u16(p []byte) uint16 {
	if big {
		return binary.BigEndian.Uint16(p)
	}
	return binary.LittleEndian.Uint16(p)
}

func (big byteOrder) u32(p []byte) uint32 {
	if big {
		return binary.BigEndian.Uint32(p)
	}
	return binary.LittleEndian.Uint32(p)
}

func (big byteOrder) u64(p []byte) uint64 {
	if big {
		return binary.BigEndian.Uint64(p)
	}
	return binary.LittleEndian.Uint64(p)
}

var nativeLE = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func scalar(p []byte, dt uint8, bo byteOrder) float32 {
	switch dt {
	case PFInt8:
		return float32(int8(p[0]))
	case PFUint8:
		return float32(p[0])
	case PFInt16:
		return float32(int16(bo.u16(p)))
	case PFUint16:
		return float32(bo.u16(p))
	case PFInt32:
		return float32(int32(bo.u32(p)))
	case PFUint32:
		return float32(bo.u32(p))
	case PFFloat32:
		return math.Float32frombits(bo.u32(p))
	case PFFloat64:
		return float32(math.Float64frombits(bo.u64(p)))
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
