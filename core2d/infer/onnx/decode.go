package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// FormatError is a malformed protobuf or an inconsistent ONNX message: Offset
// is the byte offset in the file where the problem was found and Msg the
// message being read (e.g. "GraphProto.node[12]").
type FormatError struct {
	Offset int
	Msg    string
	Err    error
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("onnx: byte %d: %s: %v", e.Offset, e.Msg, e.Err)
}

func (e *FormatError) Unwrap() error { return e.Err }

// maxDims bounds a tensor's rank and maxElems its size so that corrupt
// inputs cannot ask for absurd allocations.
const (
	maxDims  = 64
	maxElems = 1 << 31
)

// Load reads and decodes the model file at path. External tensor data is
// read relative to the file's folder.
func Load(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := Decode(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode decodes a serialized ModelProto. dir is the folder that external
// data locations are relative to; with dir == "" a tensor stored externally
// is an error.
func Decode(data []byte, dir string) (*Model, error) {
	d := decoder{dir: dir}
	m := &Model{Opsets: map[string]int64{}}
	var graph []byte
	graphOff := -1
	err := d.walk(data, 0, "ModelProto", func(f field) error {
		var err error
		switch f.num {
		case 1:
			m.IRVersion, err = f.int()
		case 2:
			m.ProducerName, err = f.str()
		case 3:
			m.ProducerVersion, err = f.str()
		case 7:
			graph, err = f.bytes()
			graphOff = f.off
		case 8:
			var b []byte
			if b, err = f.bytes(); err != nil {
				return err
			}
			var dom string
			var ver int64
			err = d.walk(b, f.off, "ModelProto.opset_import", func(g field) error {
				var err error
				switch g.num {
				case 1:
					dom, err = g.str()
				case 2:
					ver, err = g.int()
				}
				return err
			})
			if dom == "ai.onnx" {
				dom = ""
			}
			m.Opsets[dom] = ver
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if graphOff < 0 {
		return nil, &FormatError{Offset: len(data), Msg: "ModelProto", Err: errors.New("no graph (field 7)")}
	}
	if err := d.graph(graph, graphOff, &m.Graph); err != nil {
		return nil, err
	}
	return m, nil
}

type decoder struct {
	dir string
}

// field is one decoded protobuf field; off is the absolute offset of its
// value (of the payload, for length-delimited fields).
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
	off int
	msg string
}

func (f field) errf(format string, args ...any) error {
	return &FormatError{Offset: f.off, Msg: f.msg, Err: fmt.Errorf(format, args...)}
}

func (f field) wrongType() error {
	return f.errf("field %d has wire type %d", f.num, f.typ)
}

func (f field) int() (int64, error) {
	if f.typ != protowire.VarintType {
		return 0, f.wrongType()
	}
	return int64(f.u), nil
}

func (f field) bytes() ([]byte, error) {
	if f.typ != protowire.BytesType {
		return nil, f.wrongType()
	}
	return f.b, nil
}

func (f field) str() (string, error) {
	b, err := f.bytes()
	return string(b), err
}

func (f field) float() (float32, error) {
	if f.typ != protowire.Fixed32Type {
		return 0, f.wrongType()
	}
	return math.Float32frombits(uint32(f.u)), nil
}

// walk calls fn for each field of the message b, which starts at absolute
// offset base.
func (d *decoder) walk(b []byte, base int, msg string, fn func(field) error) error {
	for i := 0; i < len(b); {
		num, typ, n := protowire.ConsumeTag(b[i:])
		if n < 0 {
			return &FormatError{Offset: base + i, Msg: msg, Err: fmt.Errorf("bad tag: %w", protowire.ParseError(n))}
		}
		i += n
		f := field{num: num, typ: typ, off: base + i, msg: msg}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b[i:])
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b[i:])
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b[i:])
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b[i:])
			if n > 0 {
				f.off = base + i + n - len(f.b)
			}
		case protowire.StartGroupType:
			_, n = protowire.ConsumeGroup(num, b[i:])
		default:
			return &FormatError{Offset: base + i, Msg: msg, Err: fmt.Errorf("field %d: unsupported wire type %d", num, typ)}
		}
		if n < 0 {
			return &FormatError{Offset: base + i, Msg: msg, Err: fmt.Errorf("field %d: %w", num, protowire.ParseError(n))}
		}
		i += n
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) graph(b []byte, base int, g *Graph) error {
	var nodes, inits, ins, outs, vis int
	return d.walk(b, base, "GraphProto", func(f field) error {
		switch f.num {
		case 1:
			p, err := f.bytes()
			if err != nil {
				return err
			}
			var n Node
			if err := d.node(p, f.off, "GraphProto.node["+strconv.Itoa(nodes)+"]", &n); err != nil {
				return err
			}
			nodes++
			g.Nodes = append(g.Nodes, n)
		case 2:
			s, err := f.str()
			g.Name = s
			return err
		case 5:
			p, err := f.bytes()
			if err != nil {
				return err
			}
			t, err := d.tensor(p, f.off, "GraphProto.initializer["+strconv.Itoa(inits)+"]")
			if err != nil {
				return err
			}
			inits++
			g.Initializers = append(g.Initializers, t)
		case 11, 12, 13:
			p, err := f.bytes()
			if err != nil {
				return err
			}
			var list *[]ValueInfo
			var name string
			switch f.num {
			case 11:
				list, name = &g.Inputs, "GraphProto.input["+strconv.Itoa(ins)+"]"
				ins++
			case 12:
				list, name = &g.Outputs, "GraphProto.output["+strconv.Itoa(outs)+"]"
				outs++
			default:
				list, name = &g.ValueInfo, "GraphProto.value_info["+strconv.Itoa(vis)+"]"
				vis++
			}
			v, err := d.valueInfo(p, f.off, name)
			if err != nil {
				return err
			}
			*list = append(*list, v)
		}
		return nil
	})
}

func (d *decoder) node(b []byte, base int, msg string, n *Node) error {
	return d.walk(b, base, msg, func(f field) error {
		var err error
		var s string
		switch f.num {
		case 1:
			s, err = f.str()
			n.Inputs = append(n.Inputs, s)
		case 2:
			s, err = f.str()
			n.Outputs = append(n.Outputs, s)
		case 3:
			n.Name, err = f.str()
		case 4:
			n.OpType, err = f.str()
		case 7:
			n.Domain, err = f.str()
		case 5:
			var p []byte
			if p, err = f.bytes(); err != nil {
				return err
			}
			var a Attribute
			if err = d.attribute(p, f.off, msg+".attribute["+strconv.Itoa(len(n.Attrs))+"]", &a); err != nil {
				return err
			}
			n.Attrs = append(n.Attrs, a)
		}
		return err
	})
}

func (d *decoder) attribute(b []byte, base int, msg string, a *Attribute) error {
	var has [21]bool
	err := d.walk(b, base, msg, func(f field) error {
		var err error
		if int(f.num) < len(has) {
			has[f.num] = true
		}
		switch f.num {
		case 1:
			a.Name, err = f.str()
		case 2:
			a.F, err = f.float()
		case 3:
			a.I, err = f.int()
		case 4:
			a.S, err = f.str()
		case 5:
			var p []byte
			if p, err = f.bytes(); err != nil {
				return err
			}
			a.T, err = d.tensor(p, f.off, msg+".t")
		case 6:
			a.HasG = true
		case 7:
			a.Floats, err = appendFixed32(a.Floats, f)
		case 8:
			a.Ints, err = appendVarints(a.Ints, f, 1)
		case 9:
			var s string
			s, err = f.str()
			a.Strings = append(a.Strings, s)
		case 20:
			var v int64
			v, err = f.int()
			a.Type = AttrType(v)
		}
		return err
	})
	if err != nil {
		return err
	}
	if a.Type == AttrUndefined { // pre-IR-2 files: infer from the fields present
		switch {
		case has[2]:
			a.Type = AttrFloat
		case has[3]:
			a.Type = AttrInt
		case has[4]:
			a.Type = AttrString
		case has[5]:
			a.Type = AttrTensor
		case has[6]:
			a.Type = AttrGraph
		case has[7]:
			a.Type = AttrFloats
		case has[8]:
			a.Type = AttrInts
		case has[9]:
			a.Type = AttrStrings
		}
	}
	return nil
}

func (d *decoder) valueInfo(b []byte, base int, msg string) (ValueInfo, error) {
	var v ValueInfo
	err := d.walk(b, base, msg, func(f field) error {
		switch f.num {
		case 1:
			s, err := f.str()
			v.Name = s
			return err
		case 2: // TypeProto
			p, err := f.bytes()
			if err != nil {
				return err
			}
			return d.walk(p, f.off, msg+".type", func(f field) error {
				if f.num != 1 { // only tensor_type
					return nil
				}
				p, err := f.bytes()
				if err != nil {
					return err
				}
				return d.walk(p, f.off, msg+".type.tensor_type", func(f field) error {
					switch f.num {
					case 1:
						t, err := f.int()
						v.ElemType = DataType(t)
						return err
					case 2:
						p, err := f.bytes()
						if err != nil {
							return err
						}
						v.HasShape = true
						return d.walk(p, f.off, msg+".shape", func(f field) error {
							if f.num != 1 {
								return nil
							}
							p, err := f.bytes()
							if err != nil {
								return err
							}
							dim := Dim{Value: -1}
							err = d.walk(p, f.off, msg+".shape.dim", func(f field) error {
								var err error
								switch f.num {
								case 1:
									dim.Value, err = f.int()
									if err == nil && dim.Value < 0 {
										err = f.errf("negative dim_value %d", dim.Value)
									}
								case 2:
									dim.Param, err = f.str()
								}
								return err
							})
							if len(v.Dims) >= maxDims {
								return f.errf("more than %d dims", maxDims)
							}
							v.Dims = append(v.Dims, dim)
							return err
						})
					}
					return nil
				})
			})
		}
		return nil
	})
	return v, err
}

// tensor decodes a TensorProto and converts its data to the typed slices.
func (d *decoder) tensor(b []byte, base int, msg string) (*Tensor, error) {
	t := &Tensor{}
	var raw []byte
	var hasRaw bool
	var floats []float32
	var doubles []float64
	var ints []int64
	var hasTyped bool
	var external bool
	ext := map[string]string{}
	err := d.walk(b, base, msg, func(f field) error {
		var err error
		switch f.num {
		case 1:
			t.Dims, err = appendVarints(t.Dims, f, 1)
			if err == nil && len(t.Dims) > maxDims {
				err = f.errf("more than %d dims", maxDims)
			}
		case 2:
			var v int64
			v, err = f.int()
			t.DataType = DataType(v)
		case 4:
			hasTyped = true
			floats, err = appendFixed32(floats, f)
		case 5, 7, 11:
			hasTyped = true
			ints, err = appendVarints(ints, f, 1)
		case 6:
			hasTyped = true // string_data: strings are not supported as values
		case 8:
			t.Name, err = f.str()
		case 9:
			raw, err = f.bytes()
			hasRaw = true
		case 10:
			hasTyped = true
			doubles, err = appendFixed64(doubles, f)
		case 13:
			var p []byte
			if p, err = f.bytes(); err != nil {
				return err
			}
			var k, v string
			err = d.walk(p, f.off, msg+".external_data", func(f field) error {
				var err error
				switch f.num {
				case 1:
					k, err = f.str()
				case 2:
					v, err = f.str()
				}
				return err
			})
			ext[k] = v
		case 14:
			var v int64
			v, err = f.int()
			external = v == 1
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if t.Name != "" {
		msg += " " + strconv.Quote(t.Name)
	}
	fail := func(format string, args ...any) error {
		return &FormatError{Offset: base, Msg: msg, Err: fmt.Errorf(format, args...)}
	}
	n := int64(1)
	for _, dim := range t.Dims {
		if dim < 0 {
			return nil, fail("negative dim in %v", t.Dims)
		}
		n *= dim
		if n > maxElems {
			return nil, fail("dims %v: too many elements", t.Dims)
		}
	}
	if external {
		if raw, err = d.external(ext); err != nil {
			return nil, fail("%v", err)
		}
		hasRaw = true
		t.External = true
	}
	width, ok := elemWidth[t.DataType]
	if !ok {
		return nil, fail("unsupported data type %s", t.DataType)
	}
	if hasRaw {
		if int64(len(raw)) != n*int64(width) {
			return nil, fail("dims %v need %d bytes of %s, raw_data holds %d", t.Dims, n*int64(width), t.DataType, len(raw))
		}
		switch t.DataType {
		case Float:
			t.Floats = make([]float32, n)
			for i := range t.Floats {
				t.Floats[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		case Float16:
			t.Floats = make([]float32, n)
			for i := range t.Floats {
				t.Floats[i] = halfToFloat(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case Double:
			t.Doubles = make([]float64, n)
			for i := range t.Doubles {
				t.Doubles[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		default:
			t.Ints = make([]int64, n)
			for i := range t.Ints {
				t.Ints[i] = rawInt(raw[i*width:], t.DataType)
			}
		}
		return t, nil
	}
	_ = hasTyped
	switch t.DataType {
	case Float:
		t.Floats = floats
		if t.Floats == nil {
			t.Floats = []float32{}
		}
		if int64(len(t.Floats)) != n {
			return nil, fail("dims %v need %d values, float_data holds %d", t.Dims, n, len(t.Floats))
		}
	case Float16: // float16 bits in int32_data
		t.Floats = make([]float32, len(ints))
		for i, v := range ints {
			t.Floats[i] = halfToFloat(uint16(v))
		}
		if int64(len(t.Floats)) != n {
			return nil, fail("dims %v need %d values, int32_data holds %d", t.Dims, n, len(t.Floats))
		}
	case Double:
		t.Doubles = doubles
		if t.Doubles == nil {
			t.Doubles = []float64{}
		}
		if int64(len(t.Doubles)) != n {
			return nil, fail("dims %v need %d values, double_data holds %d", t.Dims, n, len(t.Doubles))
		}
	default:
		t.Ints = ints
		if t.Ints == nil {
			t.Ints = []int64{}
		}
		if t.DataType == Int32 || t.DataType == Int16 || t.DataType == Int8 {
			for i, v := range t.Ints { // int32_data holds sign-extended varints
				t.Ints[i] = int64(int32(v))
			}
		}
		if int64(len(t.Ints)) != n {
			return nil, fail("dims %v need %d values, typed data holds %d", t.Dims, n, len(t.Ints))
		}
	}
	return t, nil
}

var elemWidth = map[DataType]int{
	Float: 4, Uint8: 1, Int8: 1, Uint16: 2, Int16: 2, Int32: 4, Int64: 8,
	Bool: 1, Float16: 2, Double: 8, Uint32: 4, Uint64: 8,
}

func rawInt(b []byte, dt DataType) int64 {
	switch dt {
	case Uint8, Bool:
		return int64(b[0])
	case Int8:
		return int64(int8(b[0]))
	case Uint16:
		return int64(binary.LittleEndian.Uint16(b))
	case Int16:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case Int32:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	case Uint32:
		return int64(binary.LittleEndian.Uint32(b))
	default:
		return int64(binary.LittleEndian.Uint64(b))
	}
}

// external reads the bytes of an externally stored tensor (keys location,
// offset, length of TensorProto.external_data).
func (d *decoder) external(kv map[string]string) ([]byte, error) {
	loc := kv["location"]
	if loc == "" {
		return nil, errors.New("external data without a location")
	}
	if d.dir == "" {
		return nil, fmt.Errorf("external data %q: model was decoded from memory, no folder to read it from", loc)
	}
	if filepath.IsAbs(loc) || strings.HasPrefix(filepath.Clean(loc), "..") {
		return nil, fmt.Errorf("external data location %q must be relative and inside the model's folder", loc)
	}
	var off, length int64 = 0, -1
	var err error
	if s, ok := kv["offset"]; ok {
		if off, err = strconv.ParseInt(s, 10, 64); err != nil || off < 0 {
			return nil, fmt.Errorf("external data %q: bad offset %q", loc, s)
		}
	}
	if s, ok := kv["length"]; ok {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			return nil, fmt.Errorf("external data %q: bad length %q", loc, s)
		}
	}
	path := filepath.Join(d.dir, loc)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("external data: %w", err)
	}
	if length < 0 {
		length = st.Size() - off
	}
	if off+length > st.Size() || length < 0 {
		return nil, fmt.Errorf("external data %s: offset %d + length %d beyond its size %d", path, off, length, st.Size())
	}
	buf := make([]byte, length)
	if _, err := f.ReadAt(buf, off); err != nil && !(errors.Is(err, io.EOF) && length == 0) {
		return nil, fmt.Errorf("external data %s: %w", path, err)
	}
	return buf, nil
}

// appendVarints appends a repeated varint field, packed or not.
func appendVarints(dst []int64, f field, _ int) ([]int64, error) {
	switch f.typ {
	case protowire.VarintType:
		return append(dst, int64(f.u)), nil
	case protowire.BytesType:
		for b, i := f.b, 0; i < len(b); {
			v, n := protowire.ConsumeVarint(b[i:])
			if n < 0 {
				return dst, &FormatError{Offset: f.off + i, Msg: f.msg, Err: fmt.Errorf("packed field %d: %w", f.num, protowire.ParseError(n))}
			}
			dst = append(dst, int64(v))
			i += n
		}
		return dst, nil
	}
	return dst, f.wrongType()
}

func appendFixed32(dst []float32, f field) ([]float32, error) {
	switch f.typ {
	case protowire.Fixed32Type:
		return append(dst, math.Float32frombits(uint32(f.u))), nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return dst, f.errf("packed field %d: %d bytes is not a multiple of 4", f.num, len(f.b))
		}
		for i := 0; i < len(f.b); i += 4 {
			dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(f.b[i:])))
		}
		return dst, nil
	}
	return dst, f.wrongType()
}

func appendFixed64(dst []float64, f field) ([]float64, error) {
	switch f.typ {
	case protowire.Fixed64Type:
		return append(dst, math.Float64frombits(f.u)), nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return dst, f.errf("packed field %d: %d bytes is not a multiple of 8", f.num, len(f.b))
		}
		for i := 0; i < len(f.b); i += 8 {
			dst = append(dst, math.Float64frombits(binary.LittleEndian.Uint64(f.b[i:])))
		}
		return dst, nil
	}
	return dst, f.wrongType()
}

// halfToFloat widens an IEEE 754 binary16 value.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
