package lidar

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// PLY (Stanford polygon format, Greg Turk 1994; paulbourke.net/dataformats/ply):
// "ply", a format line (ascii / binary_little_endian / binary_big_endian
// 1.0), then elements, each "element NAME COUNT" followed by its
// properties — "property TYPE NAME" or "property list COUNTTYPE ITEMTYPE
// NAME" — and "end_header". The body holds each element's instances in
// header order. The points are the "vertex" element; every other element
// (faces, edges) is skipped, list properties included. A vertex property
// becomes a Field of Count 1.
func init() {
	RegisterFormat("ply", []string{".ply"}, sniffPLY, decodePLY)
}

func sniffPLY(head []byte) bool {
	return bytes.HasPrefix(head, []byte("ply\n")) || bytes.HasPrefix(head, []byte("ply\r\n"))
}

var plyTypes = map[string]ScalarType{
	"char": Int8, "uchar": Uint8, "short": Int16, "ushort": Uint16, "int": Int32, "uint": Uint32,
	"float": Float32, "double": Float64,
	"int8": Int8, "uint8": Uint8, "int16": Int16, "uint16": Uint16, "int32": Int32, "uint32": Uint32,
	"float32": Float32, "float64": Float64,
}

var plyTypeNames = [...]string{Int8: "char", Uint8: "uchar", Int16: "short", Uint16: "ushort", Int32: "int",
	Uint32: "uint", Float32: "float", Float64: "double", Int64: "", Uint64: ""}

type plyProp struct {
	name     string
	typ      ScalarType // item type for lists
	list     bool
	countTyp ScalarType
	off      int // byte offset in a binary vertex record
	role     int // 0..3: x, y, z, intensity column; -1: kept
}

type plyElem struct {
	name  string
	count int
	props []plyProp
	line  int
	fixed int // bytes per instance when it has no list
	lists bool
}

type plyHeader struct {
	encoding string
	elems    []plyElem
	vertex   int // index of the vertex element
	dataOff  int
	endLine  int
}

func parsePLYHeader(name string, data []byte, intensity string) (*plyHeader, error) {
	h := &plyHeader{vertex: -1}
	pos, line := 0, 0
	perr := func(msg string, args ...any) error { return lineErr("ply", name, line, msg, args...) }
	for {
		if pos >= len(data) {
			return nil, perr("header ends without end_header")
		}
		line++
		end := bytes.IndexByte(data[pos:], '\n')
		if end < 0 {
			return nil, perr("header ends without end_header")
		}
		text := strings.TrimSpace(string(data[pos : pos+end]))
		pos += end + 1
		words := strings.Fields(text)
		if line == 1 {
			if text != "ply" {
				return nil, perr("first line is %q: expected \"ply\"", text)
			}
			continue
		}
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "comment", "obj_info":
		case "format":
			if len(words) != 3 || (words[1] != "ascii" && words[1] != "binary_little_endian" && words[1] != "binary_big_endian") {
				return nil, perr("format line %q: expected \"format ascii|binary_little_endian|binary_big_endian 1.0\"", text)
			}
			h.encoding = words[1]
		case "element":
			if len(words) != 3 {
				return nil, perr("element line %q: expected \"element NAME COUNT\"", text)
			}
			n, err := strconv.Atoi(words[2])
			if err != nil || n < 0 || n > maxDimension {
				return nil, perr("element %s count %q: expected an integer in [0, %d]", words[1], words[2], maxDimension)
			}
			if words[1] == "vertex" && h.vertex < 0 {
				h.vertex = len(h.elems)
			}
			h.elems = append(h.elems, plyElem{name: words[1], count: n, line: line})
		case "property":
			if len(h.elems) == 0 {
				return nil, perr("property before any element")
			}
			e := &h.elems[len(h.elems)-1]
			var p plyProp
			if len(words) == 5 && words[1] == "list" {
				ct, ok1 := plyTypes[words[2]]
				it, ok2 := plyTypes[words[3]]
				if !ok1 || !ok2 {
					return nil, perr("list property %s has unknown type %q or %q: expected char, uchar, short, ushort, int, uint, float, double or int8…float64",
						words[4], words[2], words[3])
				}
				if ct.isFloat() {
					return nil, perr("list property %s: count type %s must be an integer type", words[4], words[2])
				}
				p = plyProp{name: words[4], typ: it, list: true, countTyp: ct, role: -1}
				e.lists = true
			} else if len(words) == 3 {
				t, ok := plyTypes[words[1]]
				if !ok {
					return nil, perr("property %s has unknown type %q: expected char, uchar, short, ushort, int, uint, float, double or int8…float64",
						words[2], words[1])
				}
				p = plyProp{name: words[2], typ: t, off: e.fixed, role: -1}
				e.fixed += t.Size()
			} else {
				return nil, perr("property line %q: expected \"property TYPE NAME\" or \"property list COUNTTYPE ITEMTYPE NAME\"", text)
			}
			if len(e.props) >= maxFields {
				return nil, perr("element %s has more than %d properties", e.name, maxFields)
			}
			e.props = append(e.props, p)
		case "end_header":
			h.dataOff, h.endLine = pos, line
			if h.encoding == "" {
				return nil, perr("no format line before end_header")
			}
			if h.vertex < 0 {
				return nil, perr("no vertex element")
			}
			v := &h.elems[h.vertex]
			var seen [4]bool
			for i := range v.props {
				p := &v.props[i]
				if p.list {
					line = v.line
					return nil, perr("vertex property %s is a list: vertex lists are not supported", p.name)
				}
				for r, rn := range [...]string{"x", "y", "z", intensity} {
					if !seen[r] && p.name == rn {
						p.role, seen[r] = r, true
						break
					}
				}
			}
			if !seen[0] || !seen[1] || !seen[2] {
				line = v.line
				return nil, perr("vertex element lacks x, y or z")
			}
			return h, nil
		default:
			return nil, perr("unknown header line %q: expected format, comment, element, property or end_header", text)
		}
	}
}

func decodePLY(c *Cloud, name string, data []byte, opts ReadOptions) error {
	inten := opts.intensityName()
	h, err := parsePLYHeader(name, data, inten)
	if err != nil {
		return err
	}
	v := &h.elems[h.vertex]
	hasI := false
	for i := range v.props {
		p := &v.props[i]
		hasI = hasI || p.role == 3
		c.addField(p.name, p.typ, 1, 0)
	}
	if !hasI && opts.IntensityField != "" {
		return lineErr("ply", name, v.line, "no vertex property %q to read as intensity", opts.IntensityField)
	}
	if hasI {
		c.Intensity = inten
	}
	c.Encoding = h.encoding
	if h.encoding == "ascii" {
		return decodePLYASCII(c, name, data, h, hasI, opts.SkipFields)
	}
	be := h.encoding == "binary_big_endian"
	pos := h.dataOff
	for ei := 0; ei < h.vertex; ei++ {
		if pos, err = skipPLYBinary(name, data, pos, &h.elems[ei], be); err != nil {
			return err
		}
	}
	n := v.count
	if v.fixed > 0 && n > (len(data)-pos)/v.fixed {
		return &FormatError{Format: "ply", File: name, Line: v.line, Offset: int64(len(data)),
			Msg: fmt.Sprintf("vertex data ends after %d of %d vertices: %d vertices of %d bytes need %d bytes from byte %d",
				(len(data)-pos)/v.fixed, n, n, v.fixed, n*v.fixed, pos)}
	}
	pts := c.Resize(n)
	for i := range v.props {
		if v.props[i].role < 0 && !opts.SkipFields {
			c.Fields[i].setLen(n * v.props[i].typ.Size())
		}
	}
	if n == 0 {
		return nil
	}
	body := data[pos:]
	for i := range v.props {
		p := &v.props[i]
		if p.role >= 0 {
			gather(pts, p.role, body[p.off:], v.fixed, n, p.typ, be)
		} else if !opts.SkipFields {
			gatherRaw(c.Fields[i].Data, body[p.off:], v.fixed, p.typ.Size(), n, p.typ.Size(), be)
		}
	}
	if !hasI {
		for i := 3; i < len(pts); i += 4 {
			pts[i] = 0
		}
	}
	return nil
}

// skipPLYBinary steps over every instance of an element that is not the
// vertex one and returns the offset after it.
func skipPLYBinary(name string, data []byte, pos int, e *plyElem, be bool) (int, error) {
	if !e.lists {
		if e.fixed > 0 && e.count > (len(data)-pos)/e.fixed {
			return 0, &FormatError{Format: "ply", File: name, Line: e.line, Offset: int64(len(data)),
				Msg: fmt.Sprintf("element %s: %d instances of %d bytes pass the end of the file", e.name, e.count, e.fixed)}
		}
		return pos + e.count*e.fixed, nil
	}
	for i := 0; i < e.count; i++ {
		for _, p := range e.props {
			if !p.list {
				pos += p.typ.Size()
				continue
			}
			cs := p.countTyp.Size()
			if pos+cs > len(data) {
				return 0, &FormatError{Format: "ply", File: name, Line: e.line, Offset: int64(len(data)),
					Msg: fmt.Sprintf("element %s: data ends in instance %d of %d", e.name, i, e.count)}
			}
			cnt := scalarAt(data[pos:], p.countTyp, be)
			if cnt < 0 || cnt > float64(len(data)) {
				return 0, byteErr("ply", name, int64(pos), "element %s instance %d: list %s has %v items", e.name, i, p.name, cnt)
			}
			pos += cs + int(cnt)*p.typ.Size()
		}
		if pos > len(data) {
			return 0, &FormatError{Format: "ply", File: name, Line: e.line, Offset: int64(len(data)),
				Msg: fmt.Sprintf("element %s: data ends in instance %d of %d", e.name, i, e.count)}
		}
	}
	return pos, nil
}

// plyScanner yields the whitespace-separated tokens of an ascii body and
// the line each is on.
type plyScanner struct {
	data []byte
	pos  int
	line int
}

func (s *plyScanner) next() []byte {
	for s.pos < len(s.data) && isSpace(s.data[s.pos]) {
		if s.data[s.pos] == '\n' {
			s.line++
		}
		s.pos++
	}
	if s.pos == len(s.data) {
		return nil
	}
	j := s.pos
	for j < len(s.data) && !isSpace(s.data[j]) {
		j++
	}
	tok := s.data[s.pos:j]
	s.pos = j
	return tok
}

func decodePLYASCII(c *Cloud, name string, data []byte, h *plyHeader, hasI, skip bool) error {
	s := &plyScanner{data: data, pos: h.dataOff, line: h.endLine + 1}
	ends := func(what string) error {
		return &FormatError{Format: "ply", File: name, Line: s.line, Offset: int64(len(data)), Msg: "data ends in " + what}
	}
	for ei := range h.elems {
		e := &h.elems[ei]
		if ei == h.vertex {
			n := e.count
			if n > 0 && len(e.props) > 0 && (len(data)-s.pos+1)/(2*len(e.props)) < n {
				return &FormatError{Format: "ply", File: name, Line: e.line, Offset: int64(len(data)),
					Msg: fmt.Sprintf("%d bytes of text cannot hold %d vertices of %d values", len(data)-s.pos, n, len(e.props))}
			}
			pts := c.Resize(n)
			if !skip {
				for i := range e.props {
					if e.props[i].role < 0 {
						c.Fields[i].setLen(n * e.props[i].typ.Size())
					}
				}
			}
			for i := 0; i < n; i++ {
				for pi := range e.props {
					p := &e.props[pi]
					tok := s.next()
					if tok == nil {
						return ends(fmt.Sprintf("vertex %d of %d", i, n))
					}
					if p.role >= 0 {
						v, err := parseCoord(tok, p.typ)
						if err != nil {
							return lineErr("ply", name, s.line, "vertex %d property %s: %q is not a number", i, p.name, tok)
						}
						pts[i*4+p.role] = float32(v)
					} else if !skip {
						sz := p.typ.Size()
						if err := parseScalar(c.Fields[pi].Data[i*sz:], tok, p.typ); err != nil {
							return lineErr("ply", name, s.line, "vertex %d property %s: %q is not a %s", i, p.name, tok, p.typ)
						}
					}
				}
				if !hasI {
					pts[i*4+3] = 0
				}
			}
			// The points are all read; what follows does not matter.
			return nil
		}
		if len(e.props) == 0 {
			continue
		}
		for i := 0; i < e.count; i++ {
			for _, p := range e.props {
				tok := s.next()
				if tok == nil {
					return ends(fmt.Sprintf("element %s instance %d of %d", e.name, i, e.count))
				}
				if !p.list {
					continue
				}
				cnt, err := strconv.Atoi(string(tok))
				if err != nil || cnt < 0 {
					return lineErr("ply", name, s.line, "element %s list %s: count %q is not a non-negative integer", e.name, p.name, tok)
				}
				for k := 0; k < cnt; k++ {
					if s.next() == nil {
						return ends(fmt.Sprintf("element %s instance %d list %s", e.name, i, p.name))
					}
				}
			}
		}
	}
	return nil
}

// WritePLY writes c's points as a PLY vertex element, encoding "ascii" or
// "binary_little_endian". Fields become properties with their own types;
// PLY has no 64-bit integers nor multi-value properties, so such fields are
// an error, and it has no place for the organised shape or the viewpoint.
func WritePLY(w io.Writer, c *Cloud, encoding string) error {
	if encoding != "ascii" && encoding != "binary_little_endian" {
		return fmt.Errorf("ply: encoding %q: expected ascii or binary_little_endian", encoding)
	}
	fields, n, err := writePlan(c, "ply")
	if err != nil {
		return err
	}
	var hb strings.Builder
	fmt.Fprintf(&hb, "ply\nformat %s 1.0\ncomment ds3d-go sensors/lidar\nelement vertex %d\n", encoding, n)
	for _, f := range fields {
		tn := plyTypeNames[f.typ]
		if tn == "" || f.count != 1 {
			return fmt.Errorf("ply: field %s (%s × %d) has no PLY property type", f.name, f.typ, f.count)
		}
		fmt.Fprintf(&hb, "property %s %s\n", tn, f.name)
	}
	hb.WriteString("end_header\n")
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(hb.String()); err != nil {
		return err
	}
	var pts []float32
	if c.Points != nil {
		pts = ds3d.AsFloat32(c.Points)
	}
	var rec []byte
	for i := 0; i < n; i++ {
		rec = rec[:0]
		for fi := range fields {
			if encoding == "ascii" {
				if fi > 0 {
					rec = append(rec, ' ')
				}
				rec = fields[fi].appendText(rec, pts, i, 0)
			} else {
				rec = fields[fi].appendValue(rec, pts, i, 0)
			}
		}
		if encoding == "ascii" {
			rec = append(rec, '\n')
		}
		if _, err := bw.Write(rec); err != nil {
			return err
		}
	}
	return bw.Flush()
}
