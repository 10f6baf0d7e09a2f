// Package las reads ASPRS LAS 1.0–1.4 point files (point data record
// formats 0–10, extra bytes described by the Extra Bytes VLR, VLRs and
// EVLRs) into the framework's lidar frame. It registers the format "las"
// (.las, and .laz only to say that compressed LAS is not supported) with
// lidar.RegisterFormat in init(), so lidar.ReadFile, lidar_file_loader and
// lidar.Inspect read LAS with a blank import.
//
// Coordinates are X·scale + offset (the header's per-axis scale and
// offset), evaluated in float64 and stored as float32 in the [N,4] frame,
// so georeferenced files (eastings of 10^5–10^6 m) keep only centimetre-
// level precision there; the raw int32 X, Y, Z are kept as fields and
// ReadInfo gives the exact float64 bounds. Intensity is the record's u16
// intensity. Every other record member becomes a Cloud field named as in
// the specification (return_number, classification, gps_time, red, …);
// extra bytes become one field per Extra Bytes descriptor (or one u8 field
// "extra_bytes" without a descriptor).
package las

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func init() {
	lidar.RegisterFormat("las", []string{".las", ".laz"}, func(h []byte) bool {
		return len(h) >= 4 && string(h[:4]) == "LASF"
	}, decode)
}

// VLR is a variable-length record (or an extended one, after the points).
type VLR struct {
	UserID      string `json:"user_id"`
	RecordID    uint16 `json:"record_id"`
	Description string `json:"description"`
	Data        []byte `json:"-"` // aliases the file's bytes for Parse; copied by ReadInfo
	Extended    bool   `json:"extended"`
}

// ExtraBytes describes one extra-bytes member (LAS 1.4 Extra Bytes VLR,
// LASF_Spec record 4).
type ExtraBytes struct {
	Name        string           `json:"name"`
	Type        lidar.ScalarType `json:"type"` // 0 for undocumented bytes
	Size        int              `json:"size"` // bytes (Type's size × 1, 2 or 3 elements)
	Description string           `json:"description"`
	Scale       float64          `json:"scale"` // 0 when the descriptor has none
	Offset      float64          `json:"offset"`
}

// Header is the public header block plus the records around it.
type Header struct {
	Version            string       `json:"version"` // "1.2"
	Minor              int          `json:"minor"`
	FileSourceID       uint16       `json:"file_source_id"`
	GlobalEncoding     uint16       `json:"global_encoding"`
	SystemID           string       `json:"system_id"`
	Software           string       `json:"software"`
	CreationDay        uint16       `json:"creation_day"`
	CreationYear       uint16       `json:"creation_year"`
	HeaderSize         int          `json:"header_size"`
	OffsetToPoints     int64        `json:"offset_to_points"`
	PointFormat        int          `json:"point_format"` // 0–10
	RecordLength       int          `json:"record_length"`
	Points             int64        `json:"points"` // 64-bit count in 1.4 when set, else the legacy count
	Scale              [3]float64   `json:"scale"`
	Offset             [3]float64   `json:"offset"`
	Min                [3]float64   `json:"min"`
	Max                [3]float64   `json:"max"` // as stored in the header (may be unscaled: see simple1_3.las)
	StartOfWaveform    uint64       `json:"start_of_waveform"`
	StartOfFirstEVLR   uint64       `json:"start_of_first_evlr"`
	Compressed         bool         `json:"compressed"` // LAZ: point format bit 7 or 6, or a LASzip VLR
	VLRs               []VLR        `json:"vlrs"`
	ExtraBytes         []ExtraBytes `json:"extra_bytes"`
	ExtraBytesPerPoint int          `json:"extra_bytes_per_point"`
}

// baseLen is each point format's record length without extra bytes.
var baseLen = [...]int{20, 28, 26, 34, 57, 63, 30, 36, 38, 59, 67}

func errAt(name string, off int64, msg string, args ...any) error {
	return &lidar.FormatError{Format: "las", File: name, Offset: off, Msg: fmt.Sprintf(msg, args...)}
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.TrimSpace(string(b))
}

// ParseHeader reads the header, VLRs and EVLRs of a LAS file's bytes.
func ParseHeader(name string, b []byte) (*Header, error) {
	if len(b) < 227 {
		if len(b) >= 4 && string(b[:4]) != "LASF" {
			return nil, errAt(name, 0, "not a LAS file: signature %q, want \"LASF\"", b[:4])
		}
		return nil, errAt(name, int64(len(b)), "file of %d bytes is shorter than a LAS header (227)", len(b))
	}
	if string(b[:4]) != "LASF" {
		return nil, errAt(name, 0, "not a LAS file: signature %q, want \"LASF\"", b[:4])
	}
	le := binary.LittleEndian
	h := &Header{FileSourceID: le.Uint16(b[4:]), GlobalEncoding: le.Uint16(b[6:])}
	if b[24] != 1 || b[25] > 4 {
		return nil, errAt(name, 24, "LAS version %d.%d is not 1.0–1.4", b[24], b[25])
	}
	h.Minor = int(b[25])
	h.Version = fmt.Sprintf("%d.%d", b[24], b[25])
	h.SystemID, h.Software = cstr(b[26:58]), cstr(b[58:90])
	h.CreationDay, h.CreationYear = le.Uint16(b[90:]), le.Uint16(b[92:])
	h.HeaderSize = int(le.Uint16(b[94:]))
	h.OffsetToPoints = int64(le.Uint32(b[96:]))
	nvlr := int(le.Uint32(b[100:]))
	fmtRaw := b[104]
	h.Compressed = fmtRaw&0xC0 != 0
	h.PointFormat = int(fmtRaw & 0x3f)
	h.RecordLength = int(le.Uint16(b[105:]))
	h.Points = int64(le.Uint32(b[107:]))
	for k := 0; k < 3; k++ {
		h.Scale[k] = math.Float64frombits(le.Uint64(b[131+8*k:]))
		h.Offset[k] = math.Float64frombits(le.Uint64(b[155+8*k:]))
		h.Max[k] = math.Float64frombits(le.Uint64(b[179+16*k:]))
		h.Min[k] = math.Float64frombits(le.Uint64(b[187+16*k:]))
	}
	if h.HeaderSize < 227 || h.HeaderSize > len(b) {
		return nil, errAt(name, 94, "header size %d is not in [227, file size %d]", h.HeaderSize, len(b))
	}
	if h.Minor >= 3 && h.HeaderSize >= 235 {
		h.StartOfWaveform = le.Uint64(b[227:])
	}
	nevlr := 0
	if h.Minor >= 4 && h.HeaderSize >= 375 {
		h.StartOfFirstEVLR = le.Uint64(b[235:])
		nevlr = int(le.Uint32(b[243:]))
		if n := le.Uint64(b[247:]); n != 0 {
			if n > math.MaxInt32 {
				return nil, errAt(name, 247, "point count %d is implausible", n)
			}
			h.Points = int64(n)
		}
	}
	// VLRs: 54-byte header + data, from the end of the header block.
	pos := int64(h.HeaderSize)
	for i := 0; i < nvlr; i++ {
		if pos+54 > int64(len(b)) {
			return nil, errAt(name, pos, "VLR %d of %d: header past the end of the file", i+1, nvlr)
		}
		n := int64(le.Uint16(b[pos+20:]))
		if pos+54+n > int64(len(b)) {
			return nil, errAt(name, pos, "VLR %d of %d: %d data bytes past the end of the file", i+1, nvlr, n)
		}
		h.VLRs = append(h.VLRs, VLR{UserID: cstr(b[pos+2 : pos+18]), RecordID: le.Uint16(b[pos+18:]),
			Description: cstr(b[pos+22 : pos+54]), Data: b[pos+54 : pos+54+n]})
		pos += 54 + n
	}
	if pos > h.OffsetToPoints && nvlr > 0 {
		return nil, errAt(name, 96, "VLRs end at byte %d, after the point data offset %d", pos, h.OffsetToPoints)
	}
	// EVLRs: 60-byte header + data, usually after the points.
	if nevlr > 0 {
		pos = int64(h.StartOfFirstEVLR)
		for i := 0; i < nevlr; i++ {
			if pos < 0 || pos+60 > int64(len(b)) {
				return nil, errAt(name, 235, "EVLR %d of %d at byte %d: past the end of the file", i+1, nevlr, pos)
			}
			n := le.Uint64(b[pos+20:])
			if n > uint64(int64(len(b))-pos-60) {
				return nil, errAt(name, pos, "EVLR %d of %d: %d data bytes past the end of the file", i+1, nevlr, n)
			}
			h.VLRs = append(h.VLRs, VLR{UserID: cstr(b[pos+2 : pos+18]), RecordID: le.Uint16(b[pos+18:]),
				Description: cstr(b[pos+28 : pos+60]), Data: b[pos+60 : pos+60+int64(n)], Extended: true})
			pos += 60 + int64(n)
		}
	}
	for _, v := range h.VLRs {
		if v.UserID == "laszip encoded" || v.RecordID == 22204 {
			h.Compressed = true
		}
	}
	if h.Compressed {
		return h, nil
	}
	if h.PointFormat > 10 {
		return nil, errAt(name, 104, "point data record format %d is not 0–10", h.PointFormat)
	}
	if h.RecordLength < baseLen[h.PointFormat] {
		return nil, errAt(name, 105, "point record length %d is shorter than format %d's %d bytes", h.RecordLength, h.PointFormat, baseLen[h.PointFormat])
	}
	h.ExtraBytesPerPoint = h.RecordLength - baseLen[h.PointFormat]
	for _, v := range h.VLRs {
		if v.UserID == "LASF_Spec" && v.RecordID == 4 {
			if err := h.parseExtraBytes(name, v.Data); err != nil {
				return nil, err
			}
		}
	}
	end := h.OffsetToPoints + h.Points*int64(h.RecordLength)
	if h.OffsetToPoints < int64(h.HeaderSize) || end > int64(len(b)) {
		return nil, errAt(name, h.OffsetToPoints, "%d points of %d bytes from byte %d need %d bytes; the file has %d",
			h.Points, h.RecordLength, h.OffsetToPoints, end, len(b))
	}
	for _, k := range []int{0, 1, 2} {
		if h.Scale[k] == 0 || math.IsNaN(h.Scale[k]) || math.IsInf(h.Scale[k], 0) || math.IsNaN(h.Offset[k]) || math.IsInf(h.Offset[k], 0) {
			return nil, errAt(name, 131, "scale %v / offset %v of axis %d are not usable", h.Scale[k], h.Offset[k], k)
		}
	}
	return h, nil
}

// extraTypes maps Extra Bytes data types 1–10 to scalar types.
var extraTypes = [...]lidar.ScalarType{0, lidar.Uint8, lidar.Int8, lidar.Uint16, lidar.Int16, lidar.Uint32,
	lidar.Int32, lidar.Uint64, lidar.Int64, lidar.Float32, lidar.Float64}

func (h *Header) parseExtraBytes(name string, d []byte) error {
	total := 0
	for o := 0; o+192 <= len(d); o += 192 {
		e := d[o : o+192]
		dt, opts := int(e[2]), e[3]
		x := ExtraBytes{Name: cstr(e[4:36]), Description: cstr(e[160:192])}
		switch {
		case dt == 0:
			x.Size = int(opts)
		case dt <= 30:
			// 11–30 are the deprecated 2- and 3-element arrays of 1–10.
			x.Type = extraTypes[(dt-1)%10+1]
			x.Size = x.Type.Size() * ((dt-1)/10 + 1)
		default:
			return errAt(name, 0, "extra bytes %q: unknown data type %d", x.Name, dt)
		}
		if dt > 0 && opts&0x08 != 0 {
			x.Scale = math.Float64frombits(binary.LittleEndian.Uint64(e[112:]))
		}
		if dt > 0 && opts&0x10 != 0 {
			x.Offset = math.Float64frombits(binary.LittleEndian.Uint64(e[136:]))
		}
		total += x.Size
		h.ExtraBytes = append(h.ExtraBytes, x)
	}
	if total > h.ExtraBytesPerPoint {
		return errAt(name, 105, "Extra Bytes VLR describes %d bytes per point but records carry %d", total, h.ExtraBytesPerPoint)
	}
	return nil
}

// member is one record member copied into a field.
type member struct {
	name string
	t    lidar.ScalarType
	off  int
	size int // bytes; for bit fields, 0
	// bit fields: value = (byte at off >> shift) & mask
	shift, mask byte
}

func members(h *Header) []member {
	f := h.PointFormat
	m := []member{{name: "X", t: lidar.Int32, off: 0, size: 4}, {name: "Y", t: lidar.Int32, off: 4, size: 4},
		{name: "Z", t: lidar.Int32, off: 8, size: 4}, {name: "intensity", t: lidar.Uint16, off: 12, size: 2}}
	var gps, rgb, wave int = -1, -1, -1
	if f < 6 {
		m = append(m,
			member{name: "return_number", t: lidar.Uint8, off: 14, shift: 0, mask: 7},
			member{name: "number_of_returns", t: lidar.Uint8, off: 14, shift: 3, mask: 7},
			member{name: "scan_direction_flag", t: lidar.Uint8, off: 14, shift: 6, mask: 1},
			member{name: "edge_of_flight_line", t: lidar.Uint8, off: 14, shift: 7, mask: 1},
			member{name: "classification", t: lidar.Uint8, off: 15, shift: 0, mask: 31},
			member{name: "classification_flags", t: lidar.Uint8, off: 15, shift: 5, mask: 7}, // synthetic, key-point, withheld
			member{name: "scan_angle_rank", t: lidar.Int8, off: 16, size: 1},
			member{name: "user_data", t: lidar.Uint8, off: 17, size: 1},
			member{name: "point_source_id", t: lidar.Uint16, off: 18, size: 2})
		switch f {
		case 1, 4:
			gps = 20
		case 2:
			rgb = 20
		case 3, 5:
			gps, rgb = 20, 28
		}
		if f == 4 {
			wave = 28
		} else if f == 5 {
			wave = 34
		}
	} else {
		m = append(m,
			member{name: "return_number", t: lidar.Uint8, off: 14, shift: 0, mask: 15},
			member{name: "number_of_returns", t: lidar.Uint8, off: 14, shift: 4, mask: 15},
			member{name: "classification_flags", t: lidar.Uint8, off: 15, shift: 0, mask: 15}, // synthetic, key-point, withheld, overlap
			member{name: "scanner_channel", t: lidar.Uint8, off: 15, shift: 4, mask: 3},
			member{name: "scan_direction_flag", t: lidar.Uint8, off: 15, shift: 6, mask: 1},
			member{name: "edge_of_flight_line", t: lidar.Uint8, off: 15, shift: 7, mask: 1},
			member{name: "classification", t: lidar.Uint8, off: 16, size: 1},
			member{name: "user_data", t: lidar.Uint8, off: 17, size: 1},
			member{name: "scan_angle", t: lidar.Int16, off: 18, size: 2}, // 0.006° units
			member{name: "point_source_id", t: lidar.Uint16, off: 20, size: 2})
		gps = 22
		if f == 7 || f == 8 || f == 10 {
			rgb = 30
		}
		if f == 8 || f == 10 {
			m = append(m, member{name: "nir", t: lidar.Uint16, off: 36, size: 2})
		}
		if f == 9 {
			wave = 30
		} else if f == 10 {
			wave = 38
		}
	}
	if gps >= 0 {
		m = append(m, member{name: "gps_time", t: lidar.Float64, off: gps, size: 8})
	}
	if rgb >= 0 {
		m = append(m, member{name: "red", t: lidar.Uint16, off: rgb, size: 2},
			member{name: "green", t: lidar.Uint16, off: rgb + 2, size: 2},
			member{name: "blue", t: lidar.Uint16, off: rgb + 4, size: 2})
	}
	if wave >= 0 {
		m = append(m, member{name: "wave_packet_descriptor_index", t: lidar.Uint8, off: wave, size: 1},
			member{name: "byte_offset_to_waveform_data", t: lidar.Uint64, off: wave + 1, size: 8},
			member{name: "waveform_packet_size", t: lidar.Uint32, off: wave + 9, size: 4},
			member{name: "return_point_waveform_location", t: lidar.Float32, off: wave + 13, size: 4},
			member{name: "x_t", t: lidar.Float32, off: wave + 17, size: 4},
			member{name: "y_t", t: lidar.Float32, off: wave + 21, size: 4},
			member{name: "z_t", t: lidar.Float32, off: wave + 25, size: 4})
	}
	off := baseLen[f]
	for _, x := range h.ExtraBytes {
		t := x.Type
		if t == 0 {
			t = lidar.Uint8
		}
		m = append(m, member{name: x.Name, t: t, off: off, size: x.Size})
		off += x.Size
	}
	if rest := baseLen[f] + h.ExtraBytesPerPoint - off; rest > 0 {
		m = append(m, member{name: "extra_bytes", t: lidar.Uint8, off: off, size: rest})
	}
	return m
}

var errLAZ = "compressed LAS (LAZ) is not supported: decompress it first (e.g. `pdal translate in.laz out.las` or `laszip -i in.laz -o out.las`)"

func decode(c *lidar.Cloud, name string, b []byte, opts lidar.ReadOptions) error {
	h, err := ParseHeader(name, b)
	if err != nil {
		return err
	}
	if h.Compressed {
		return errAt(name, 104, "%s", errLAZ)
	}
	n := int(h.Points)
	rl := h.RecordLength
	data := b[h.OffsetToPoints : h.OffsetToPoints+int64(n*rl)]
	pts := c.Resize(n)
	sx, sy, sz := h.Scale[0], h.Scale[1], h.Scale[2]
	le := binary.LittleEndian
	c.Origin = origin(h, data, n)
	ox, oy, oz := h.Offset[0]-c.Origin[0], h.Offset[1]-c.Origin[1], h.Offset[2]-c.Origin[2]
	mem := members(h)
	iname := opts.IntensityField
	var imem *member
	if iname == "" || iname == "intensity" {
		imem = &mem[3]
	} else {
		for i := range mem {
			if mem[i].name == iname {
				imem = &mem[i]
			}
		}
		if imem == nil {
			return errAt(name, -1, "no field %q to read as intensity", iname)
		}
	}
	for i := 0; i < n; i++ {
		r := data[i*rl : i*rl+rl : i*rl+rl]
		p := pts[4*i : 4*i+4 : 4*i+4]
		p[0] = float32(float64(int32(le.Uint32(r[0:])))*sx + ox)
		p[1] = float32(float64(int32(le.Uint32(r[4:])))*sy + oy)
		p[2] = float32(float64(int32(le.Uint32(r[8:])))*sz + oz)
		if imem == &mem[3] {
			p[3] = float32(le.Uint16(r[12:]))
		} else {
			p[3] = float32(memberValue(imem, r))
		}
	}
	c.Intensity = imem.name
	c.Encoding = fmt.Sprintf("LAS %s point format %d", h.Version, h.PointFormat)
	for i := range mem {
		mb := &mem[i]
		count, sz := 1, mb.t.Size()
		if mb.size > sz && sz > 0 {
			count = mb.size / sz
		}
		f := lidar.Field{Name: mb.name, Type: mb.t, Count: count}
		if !opts.SkipFields {
			f.Data = make([]byte, n*count*sz)
			for k := 0; k < n; k++ {
				r := data[k*rl : k*rl+rl]
				if mb.size == 0 {
					f.Data[k] = (r[mb.off] >> mb.shift) & mb.mask
				} else {
					copy(f.Data[k*mb.size:], r[mb.off:mb.off+mb.size])
				}
			}
		}
		c.Fields = append(c.Fields, f)
	}
	return nil
}

// origin picks the point the decoded coordinates are measured from (see
// lidar.Cloud.Origin): zero when float32 holds every coordinate to within
// the file's scale (its quantum), else the whole metre nearest the centre
// of the points' bounds on each axis, which keeps a survey of a few
// kilometres within float32's 0.5 mm grid. The bounds come from the points
// themselves: some writers leave the header's bounds unscaled or zero.
func origin(h *Header, data []byte, n int) [3]float64 {
	var o [3]float64
	if n == 0 {
		return o
	}
	lo, hi := bounds(h, data, n)
	recentre := false
	var mid [3]float64
	for k := 0; k < 3; k++ {
		a, b := lo[k], hi[k]
		mid[k] = math.Round((a + b) / 2)
		// float32's spacing at |v| is |v|·2⁻²³ at most.
		if max(math.Abs(a), math.Abs(b))*0x1p-23 > math.Abs(h.Scale[k]) {
			recentre = true
		}
	}
	if recentre {
		o = mid
	}
	return o
}

// bounds returns the exact extent of the n point records in data (from the
// first record on): the stored integers' minimum and maximum, scaled and
// offset in float64.
func bounds(h *Header, data []byte, n int) (lo, hi [3]float64) {
	le := binary.LittleEndian
	rl := h.RecordLength
	ilo := [3]int32{math.MaxInt32, math.MaxInt32, math.MaxInt32}
	ihi := [3]int32{math.MinInt32, math.MinInt32, math.MinInt32}
	for i := 0; i < n; i++ {
		r := data[i*rl : i*rl+12]
		for k := 0; k < 3; k++ {
			v := int32(le.Uint32(r[4*k:]))
			ilo[k], ihi[k] = min(ilo[k], v), max(ihi[k], v)
		}
	}
	for k := 0; k < 3; k++ {
		lo[k] = float64(ilo[k])*h.Scale[k] + h.Offset[k]
		hi[k] = float64(ihi[k])*h.Scale[k] + h.Offset[k]
	}
	return lo, hi
}

func memberValue(m *member, r []byte) float64 {
	le := binary.LittleEndian
	if m.size == 0 {
		return float64((r[m.off] >> m.shift) & m.mask)
	}
	b := r[m.off:]
	switch m.t {
	case lidar.Int8:
		return float64(int8(b[0]))
	case lidar.Uint8:
		return float64(b[0])
	case lidar.Int16:
		return float64(int16(le.Uint16(b)))
	case lidar.Uint16:
		return float64(le.Uint16(b))
	case lidar.Int32:
		return float64(int32(le.Uint32(b)))
	case lidar.Uint32:
		return float64(le.Uint32(b))
	case lidar.Int64:
		return float64(int64(le.Uint64(b)))
	case lidar.Uint64:
		return float64(le.Uint64(b))
	case lidar.Float32:
		return float64(math.Float32frombits(le.Uint32(b)))
	case lidar.Float64:
		return math.Float64frombits(le.Uint64(b))
	}
	return 0
}

// Info is a LAS file's header facts plus the exact float64 bounds of its
// points, for `ds3d inspect` beside lidar.Info.
type Info struct {
	Header
	// PointsMin and PointsMax are computed from the points (X·scale +
	// offset in float64); the header's own bounds are in Header.Min/Max.
	PointsMin [3]float64 `json:"points_min"`
	PointsMax [3]float64 `json:"points_max"`
}

// ReadInfo reads a LAS file's header and records and, unless compressed,
// the exact bounds of its points.
func ReadInfo(path string) (*Info, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	h, err := ParseHeader(path, b)
	if err != nil {
		return nil, err
	}
	for i := range h.VLRs {
		h.VLRs[i].Data = append([]byte(nil), h.VLRs[i].Data...)
	}
	in := &Info{Header: *h}
	if h.Compressed || h.Points == 0 {
		return in, nil
	}
	in.PointsMin, in.PointsMax = bounds(h, b[h.OffsetToPoints:], int(h.Points))
	return in, nil
}

// String prints the facts one per line, for `ds3d inspect`.
func (in *Info) String() string {
	var b strings.Builder
	// The layout of lidar.Info.WriteText, which `ds3d inspect` prints
	// first: the point count and bounds there are the decoded frame's;
	// these lines add what only the LAS header holds.
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-16s "+format+"\n", append([]any{key + ":"}, args...)...)
	}
	line("las version", "%s, point format %d (%d-byte records, %d extra bytes)", in.Version, in.PointFormat, in.RecordLength, in.ExtraBytesPerPoint)
	created := ""
	if in.CreationYear != 0 {
		created = fmt.Sprintf(", created %04d day %d", in.CreationYear, in.CreationDay)
	}
	line("software", "%s / system %s%s", orNone(in.Software), orNone(in.SystemID), created)
	line("scale", "%g %g %g, offset %g %g %g", in.Scale[0], in.Scale[1], in.Scale[2], in.Offset[0], in.Offset[1], in.Offset[2])
	if in.Compressed {
		line("compressed", "LAZ (points not decoded)")
	} else {
		line("exact bounds", "%.6f %.6f %.6f … %.6f %.6f %.6f", in.PointsMin[0], in.PointsMin[1], in.PointsMin[2], in.PointsMax[0], in.PointsMax[1], in.PointsMax[2])
	}
	for _, v := range in.VLRs {
		kind := "vlr"
		if v.Extended {
			kind = "evlr"
		}
		line(kind, "%s/%d %d bytes %q", v.UserID, v.RecordID, len(v.Data), v.Description)
	}
	for _, x := range in.ExtraBytes {
		line("extra bytes", "%s %v ×%d %q", x.Name, x.Type, x.Size, x.Description)
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
