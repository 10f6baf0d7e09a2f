package lidar

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// wfield is one field as a writer emits it: from column role of Points
// (stride columns per point) or from Field.Data (role −1).
type wfield struct {
	name   string
	typ    ScalarType
	count  int
	role   int
	stride int
	data   []byte
}

// writePlan lists the fields to write: Cloud.Fields when given (values from
// Points for those without Data), else every named column of Points as
// float32 (x, y, z, intensity for an unnamed [N,4] frame; the drivers'
// x y z intensity ring time return for theirs).
func writePlan(c *Cloud, format string) ([]wfield, int, error) {
	n := c.Len()
	stride := 4
	var cols []string
	if c.Points != nil {
		p := c.Points
		if p.DType != ds3d.DTypeF32 || p.Shape.NumDims != 2 || p.Shape.D[1] < 3 {
			return nil, 0, fmt.Errorf("%s: points must be an [N,C≥3] f32 frame, not %s %s", format, p.DType, p.Shape)
		}
		stride, cols = p.Stride(), p.Columns()
		if cols == nil && stride <= 4 { // an unnamed frame of another type reads by position
			cols = []string{"x", "y", "z", "intensity"}[:stride]
		}
		if len(cols) != stride || cols[0] != "x" || cols[1] != "y" || cols[2] != "z" {
			return nil, 0, fmt.Errorf("%s: the %d columns of the points frame are not named x, y, z, … (names: %v)", format, stride, cols)
		}
	}
	if len(c.Fields) == 0 {
		if cols == nil {
			cols = []string{"x", "y", "z", "intensity"}
		}
		out := make([]wfield, len(cols))
		for i, name := range cols {
			if name == "" || strings.ContainsAny(name, " \t\r\n") {
				return nil, 0, fmt.Errorf("%s: column %d name %q cannot be written", format, i, name)
			}
			out[i] = wfield{name: name, typ: Float32, count: 1, role: i, stride: stride}
		}
		return out, n, nil
	}
	out := make([]wfield, 0, len(c.Fields))
	seen := make([]bool, stride)
	for _, f := range c.Fields {
		if f.Type.Size() == 0 || f.Count < 1 || f.Name == "" || strings.ContainsAny(f.Name, " \t\r\n") {
			return nil, 0, fmt.Errorf("%s: field %q of type %s count %d cannot be written", format, f.Name, f.Type, f.Count)
		}
		w := wfield{name: f.Name, typ: f.Type, count: f.Count, role: -1, stride: stride, data: f.Data}
		if f.Data == nil {
			// x, y, z and the intensity field come from Points' first four
			// columns (the reader's layout); other fields from the column
			// of their name.
			for r, rn := range [...]string{"x", "y", "z", c.Intensity} {
				if rn != "" && f.Name == rn && r < stride && !seen[r] {
					w.role, seen[r] = r, true
					break
				}
			}
			if w.role < 0 {
				for r := 4; r < len(cols); r++ {
					if cols[r] == f.Name && !seen[r] {
						w.role, seen[r] = r, true
						break
					}
				}
			}
			if w.role < 0 {
				return nil, 0, fmt.Errorf("%s: field %s has no data (read with SkipFields?) and is not a column of the points (%v)", format, f.Name, cols)
			}
		} else if len(f.Data) != n*f.Count*f.Type.Size() {
			return nil, 0, fmt.Errorf("%s: field %s holds %d bytes, %d points × %d × %d bytes need %d",
				format, f.Name, len(f.Data), n, f.Count, f.Type.Size(), n*f.Count*f.Type.Size())
		}
		out = append(out, w)
	}
	return out, n, nil
}

// appendValue appends value k of point i in the field's binary form,
// little-endian (or big-endian when be).
func (f *wfield) appendValue(dst []byte, pts []float32, i, k int) []byte {
	sz := f.typ.Size()
	if f.role < 0 {
		return append(dst, f.data[(i*f.count+k)*sz:(i*f.count+k+1)*sz]...)
	}
	var v float64
	if k == 0 {
		v = float64(pts[i*f.stride+f.role])
	}
	var b [8]byte
	switch f.typ {
	case Float32:
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(float32(v)))
	case Float64:
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
	default:
		if f.typ.isSigned() {
			putUint(b[:], uint64(int64(v)), sz)
		} else {
			putUint(b[:], uint64(v), sz)
		}
	}
	return append(dst, b[:sz]...)
}

// appendText appends value k of point i as text that parses back to the
// same value: shortest round-trip floats, nan/inf as PCL writes them.
func (f *wfield) appendText(dst []byte, pts []float32, i, k int) []byte {
	if f.role >= 0 && (f.typ.isFloat() || k > 0) {
		v := float32(0)
		if k == 0 {
			v = pts[i*f.stride+f.role]
		}
		if f.typ == Float64 {
			return appendFloat(dst, float64(v), 64)
		}
		return appendFloat(dst, float64(v), 32)
	}
	var raw [8]byte
	b := f.appendValue(raw[:0], pts, i, k)
	switch f.typ {
	case Float32:
		return appendFloat(dst, float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), 32)
	case Float64:
		return appendFloat(dst, math.Float64frombits(binary.LittleEndian.Uint64(b)), 64)
	case Int8:
		return strconv.AppendInt(dst, int64(int8(b[0])), 10)
	case Int16:
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10)
	case Int32:
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10)
	case Int64:
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10)
	case Uint8:
		return strconv.AppendUint(dst, uint64(b[0]), 10)
	case Uint16:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(b)), 10)
	case Uint32:
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b)), 10)
	}
	return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10)
}

func appendFloat(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "nan"...)
	case math.IsInf(v, 1):
		return append(dst, "inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, bits)
}

// WriteFile writes c to path in the format its extension names: .pcd
// (encoding "ascii", "binary" or "binary_compressed"; "" = binary), .ply
// ("ascii" or "binary_little_endian"; "" = binary_little_endian) or .bin
// (float32 x, y, z, intensity; encoding ignored).
func WriteFile(path string, c *Cloud, encoding string) error {
	lower := strings.ToLower(path)
	var write func(io.Writer) error
	switch {
	case strings.HasSuffix(lower, ".pcd"):
		if encoding == "" {
			encoding = "binary"
		}
		write = func(w io.Writer) error { return WritePCD(w, c, encoding) }
	case strings.HasSuffix(lower, ".ply"):
		if encoding == "" {
			encoding = "binary_little_endian"
		}
		write = func(w io.Writer) error { return WritePLY(w, c, encoding) }
	case strings.HasSuffix(lower, ".bin"):
		write = func(w io.Writer) error { return WriteBin(w, c) }
	default:
		return fmt.Errorf("lidar: cannot write %s: extension must be .pcd, .ply or .bin", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if err := write(bw); err != nil {
		f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
