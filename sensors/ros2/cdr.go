package ros2

import (
	"encoding/binary"
	"fmt"
	"math"
)

// maxDepth bounds message nesting (real messages nest a handful of levels).
const maxDepth = 64

// cdrReader reads XCDR1 primitives; offsets align relative to the end of
// the 4-byte encapsulation header.
type cdrReader struct {
	b   []byte // the whole message, header included
	off int    // absolute offset into b
	bo  binary.ByteOrder
}

// newCDR checks the encapsulation header.
func newCDR(b []byte) (cdrReader, error) {
	if len(b) < 4 {
		return cdrReader{}, fmt.Errorf("cdr: %d bytes, shorter than the 4-byte encapsulation header", len(b))
	}
	r := cdrReader{b: b, off: 4}
	switch {
	case b[0] == 0 && (b[1] == 1 || b[1] == 3): // CDR_LE, PL_CDR_LE
		r.bo = binary.LittleEndian
	case b[0] == 0 && (b[1] == 0 || b[1] == 2): // CDR_BE, PL_CDR_BE
		r.bo = binary.BigEndian
	default:
		return cdrReader{}, fmt.Errorf("cdr: unknown encapsulation 0x%02x%02x (want XCDR1 0x0000 or 0x0001)", b[0], b[1])
	}
	if b[1] >= 2 {
		return cdrReader{}, fmt.Errorf("cdr: parameter-list encapsulation 0x%02x%02x is not supported", b[0], b[1])
	}
	return r, nil
}

func (r *cdrReader) align(n int) {
	if m := (r.off - 4) % n; m != 0 {
		r.off += n - m
	}
}

func (r *cdrReader) need(n int, what string) error {
	if n < 0 || r.off > len(r.b) || len(r.b)-r.off < n {
		return fmt.Errorf("cdr: offset %d: %s needs %d bytes, %d left", r.off, what, n, max(len(r.b)-r.off, 0))
	}
	return nil
}

func (r *cdrReader) u8(what string) (uint8, error) {
	if err := r.need(1, what); err != nil {
		return 0, err
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *cdrReader) u16(what string) (uint16, error) {
	r.align(2)
	if err := r.need(2, what); err != nil {
		return 0, err
	}
	v := r.bo.Uint16(r.b[r.off:])
	r.off += 2
	return v, nil
}

func (r *cdrReader) u32(what string) (uint32, error) {
	r.align(4)
	if err := r.need(4, what); err != nil {
		return 0, err
	}
	v := r.bo.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

func (r *cdrReader) u64(what string) (uint64, error) {
	r.align(8)
	if err := r.need(8, what); err != nil {
		return 0, err
	}
	v := r.bo.Uint64(r.b[r.off:])
	r.off += 8
	return v, nil
}

// count reads a sequence length and checks that at least n×minSize bytes
// remain, so that a corrupt count never allocates more than the message holds.
func (r *cdrReader) count(what string, minSize int) (int, error) {
	n, err := r.u32(what)
	if err != nil {
		return 0, err
	}
	if minSize < 1 {
		minSize = 1
	}
	if uint64(n)*uint64(minSize) > uint64(len(r.b)-r.off) {
		return 0, fmt.Errorf("cdr: offset %d: %s has %d elements, more than the %d bytes left hold", r.off-4, what, n, len(r.b)-r.off)
	}
	return int(n), nil
}

// str reads a CDR string: uint32 length with the NUL, then the bytes.
func (r *cdrReader) str(what string) (string, error) {
	b, err := r.strBytes(what)
	return string(b), err
}

// strBytes is str without the copy: the bytes alias the message.
func (r *cdrReader) strBytes(what string) ([]byte, error) {
	n, err := r.count(what, 1)
	if err != nil {
		return nil, err
	}
	if n == 0 { // some writers emit 0 for an empty string
		return nil, nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	if s[n-1] == 0 {
		s = s[:n-1]
	}
	return s, nil
}

// Value is a decoded field value: bool, int64 (signed integers), uint64
// (unsigned integers, byte, char), float64, string, []byte (uint8/byte/char
// arrays), []any (other arrays) or *Message.
type Value = any

// NamedValue is one decoded field.
type NamedValue struct {
	Name  string
	Value Value
}

// Message is a decoded message: its type and fields in wire order.
type Message struct {
	Type   string
	Fields []NamedValue
}

// Get returns a field's value by name (nil when absent).
func (m *Message) Get(name string) Value {
	for _, f := range m.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return nil
}

// Decode decodes a CDR message (encapsulation header included) of the
// schema's root type.
func (s *Schema) Decode(data []byte) (*Message, error) {
	rv, err := newCDR(data)
	if err != nil {
		return nil, err
	}
	r := &rv
	v, err := s.walk(r, s.Root, true, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Root, err)
	}
	return v.(*Message), nil
}

// Skip walks a CDR message without building values and returns the
// offset where the message's last field ends (the 4-byte header included),
// so len(data) minus it is trailing padding; it fails where Decode would.
func (s *Schema) Skip(data []byte) (int, error) {
	rv, err := newCDR(data)
	if err != nil {
		return 0, err
	}
	r := &rv
	if _, err := s.walk(r, s.Root, false, 0); err != nil {
		return 0, fmt.Errorf("%s: %w", s.Root, err)
	}
	return r.off, nil
}

func (s *Schema) walk(r *cdrReader, typ string, build bool, depth int) (Value, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("cdr: messages nested deeper than %d", maxDepth)
	}
	d := s.Defs[typ]
	if d == nil {
		return nil, fmt.Errorf("cdr: type %s is not defined in the schema", typ)
	}
	var m *Message
	if build {
		m = &Message{Type: typ, Fields: make([]NamedValue, 0, len(d.Fields))}
	}
	if len(d.Fields) == 0 { // rosidl's structure_needs_at_least_one_member
		if _, err := r.u8(typ + " placeholder"); err != nil {
			return nil, err
		}
		return m, nil
	}
	for i := range d.Fields {
		f := &d.Fields[i]
		v, err := s.field(r, f, build, depth)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		if build {
			m.Fields = append(m.Fields, NamedValue{f.Name, v})
		}
	}
	return m, nil
}

func (s *Schema) field(r *cdrReader, f *FieldDef, build bool, depth int) (Value, error) {
	if f.Array == Single {
		return s.one(r, f, build, depth)
	}
	n := f.Len
	if f.Array != Fixed {
		var err error
		n, err = r.count(f.Name, minSize(f))
		if err != nil {
			return nil, err
		}
		if f.Array == Bounded && n > f.Len {
			return nil, fmt.Errorf("cdr: offset %d: %d elements exceed the bound %d", r.off-4, n, f.Len)
		}
	} else if n > len(r.b) {
		return nil, fmt.Errorf("cdr: offset %d: fixed array of %d elements is longer than the message", r.off-4, n)
	}
	// Byte arrays: one slice.
	if f.Primitive && primitiveSize[f.Type] == 1 && f.Type != "bool" {
		if err := r.need(n, f.Name); err != nil {
			return nil, err
		}
		b := r.b[r.off : r.off+n]
		r.off += n
		if build {
			return append([]byte(nil), b...), nil
		}
		return nil, nil
	}
	var out []any
	if build {
		out = make([]any, 0, n)
	}
	for range n {
		v, err := s.one(r, f, build, depth)
		if err != nil {
			return nil, err
		}
		if build {
			out = append(out, v)
		}
	}
	return out, nil
}

func minSize(f *FieldDef) int {
	if f.Primitive {
		if sz := primitiveSize[f.Type]; sz > 0 {
			return sz
		}
		return 4 // string length
	}
	return 1
}

func (s *Schema) one(r *cdrReader, f *FieldDef, build bool, depth int) (Value, error) {
	if !f.Primitive {
		return s.walk(r, f.Type, build, depth+1)
	}
	switch f.Type {
	case "bool":
		v, err := r.u8(f.Name)
		return v != 0, err
	case "byte", "char", "uint8":
		v, err := r.u8(f.Name)
		return uint64(v), err
	case "int8":
		v, err := r.u8(f.Name)
		return int64(int8(v)), err
	case "uint16":
		v, err := r.u16(f.Name)
		return uint64(v), err
	case "int16":
		v, err := r.u16(f.Name)
		return int64(int16(v)), err
	case "uint32":
		v, err := r.u32(f.Name)
		return uint64(v), err
	case "int32":
		v, err := r.u32(f.Name)
		return int64(int32(v)), err
	case "uint64":
		return r.u64(f.Name)
	case "int64":
		v, err := r.u64(f.Name)
		return int64(v), err
	case "float32":
		v, err := r.u32(f.Name)
		return float64(math.Float32frombits(v)), err
	case "float64":
		v, err := r.u64(f.Name)
		return math.Float64frombits(v), err
	case "string":
		v, err := r.str(f.Name)
		if err == nil && f.StrBound > 0 && len(v) > f.StrBound {
			return nil, fmt.Errorf("cdr: offset %d: string of %d bytes exceeds the bound %d", r.off-4, len(v), f.StrBound)
		}
		return v, err
	case "wstring":
		// rmw_fastrtps: uint32 count of characters, then 4 bytes each.
		n, err := r.count(f.Name, 4)
		if err != nil {
			return nil, err
		}
		rs := make([]rune, 0, n)
		for range n {
			c, err := r.u32(f.Name)
			if err != nil {
				return nil, err
			}
			if c != 0 {
				rs = append(rs, rune(c))
			}
		}
		return string(rs), nil
	}
	return nil, fmt.Errorf("cdr: unknown primitive %s", f.Type)
}
