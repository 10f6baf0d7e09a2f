// Package ros2 holds the ROS 2 codecs: the `ros2msg` message-definition
// parser (the text rosbag2 stores as each MCAP schema), a schema-driven
// CDR (XCDR1) decoder that can decode, list or skip any message, a CDR
// writer, the built-in definitions of the messages ds3d-go reads and writes
// (Definition), and typed paths without allocation for them: PointCloud2
// (a float32 point frame with named columns), Image, CompressedImage,
// CameraInfo, TFMessage with a tf2-style transform tree, Odometry, the
// vision_msgs detection arrays and box MarkerArrays. It knows no component;
// the bag reader and writer are sensors/ros2/bag.
//
// CDR follows the OMG CDR rules as ROS 2's rmw implementations write them:
// a 4-byte encapsulation header (0x00 0x01 little endian, 0x00 0x00 big
// endian; bytes 2–3 are options), then every primitive aligned to its own
// size (8 for 64-bit values) counted from the end of that header; strings
// are a uint32 length including the terminating NUL, then the bytes;
// sequences (unbounded or bounded) a uint32 count, then the elements; fixed
// arrays just the elements. A message with no fields holds one uint8.
package ros2

import (
	"fmt"
	"strconv"
	"strings"
)

// Primitive names the built-in field types of ros2msg.
var primitiveSize = map[string]int{
	"bool": 1, "byte": 1, "char": 1, "int8": 1, "uint8": 1,
	"int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
	"int64": 8, "uint64": 8, "float32": 4, "float64": 8,
	"string": 0, "wstring": 0,
}

// ArrayKind says how a field repeats.
type ArrayKind uint8

const (
	Single    ArrayKind = iota // one value
	Fixed                      // T[N]: exactly N values, no count on the wire
	Unbounded                  // T[]: a uint32 count, then the values
	Bounded                    // T[<=N]: a uint32 count (≤ N), then the values
)

// FieldDef is one field of a message definition.
type FieldDef struct {
	Name string
	// Type is a primitive ("float32", "string", …) or the full name of a
	// nested message, "pkg/Type" (the "/msg/" infix removed).
	Type      string
	Array     ArrayKind
	Len       int // N of T[N] or T[<=N]
	StrBound  int // N of string<=N (0: unbounded)
	Primitive bool
}

// MsgDef is one message type: its fields in wire order (constants dropped).
type MsgDef struct {
	Name   string // "pkg/Type"
	Fields []FieldDef
}

// Schema is a parsed ros2msg text: the root message and every nested one.
type Schema struct {
	Root string // "pkg/Type"
	Defs map[string]*MsgDef
}

// NormalizeType turns "pkg/msg/Type" into "pkg/Type"; other names are kept.
func NormalizeType(name string) string {
	if p := strings.Split(name, "/"); len(p) == 3 && p[1] == "msg" {
		return p[0] + "/" + p[2]
	}
	return name
}

// ParseSchema parses a ros2msg schema: the root type's definition, then
// each dependency after a line of '=' and a "MSG: pkg/Type" line. name is
// the root type ("sensor_msgs/msg/PointCloud2"). Every referenced nested
// type must be defined, and no type may contain itself.
func ParseSchema(name, text string) (*Schema, error) {
	if strings.Contains(name, "/srv/") && strings.HasSuffix(name, "_Event") {
		text = serviceEventText(name, text)
	}
	s := &Schema{Root: NormalizeType(name), Defs: map[string]*MsgDef{}}
	cur := &MsgDef{Name: s.Root}
	s.Defs[cur.Name] = cur
	for i, line := range strings.Split(text, "\n") {
		ln := i + 1
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Trim(line, "=") == "" { // separator
			cur = nil
			continue
		}
		if rest, ok := strings.CutPrefix(line, "MSG:"); ok {
			n := NormalizeType(strings.TrimSpace(rest))
			if n == "" {
				return nil, fmt.Errorf("ros2msg %s: line %d: MSG: without a type", name, ln)
			}
			if _, dup := s.Defs[n]; dup {
				// The root type may be repeated; a duplicate nested definition is kept once.
				cur = &MsgDef{Name: n}
				continue
			}
			cur = &MsgDef{Name: n}
			s.Defs[n] = cur
			continue
		}
		if cur == nil {
			return nil, fmt.Errorf("ros2msg %s: line %d: definition after a separator without a MSG: line", name, ln)
		}
		f, isConst, err := parseField(line, pkgOf(cur.Name))
		if err != nil {
			return nil, fmt.Errorf("ros2msg %s: line %d: %v", name, ln, err)
		}
		if !isConst {
			cur.Fields = append(cur.Fields, f)
		}
	}
	// Resolve: every nested type defined, no cycles.
	state := map[string]uint8{}
	var visit func(n string, depth int) error
	visit = func(n string, depth int) error {
		d, ok := s.Defs[n]
		if !ok {
			return fmt.Errorf("ros2msg %s: type %s is used but not defined", name, n)
		}
		switch state[n] {
		case 1:
			return fmt.Errorf("ros2msg %s: type %s contains itself", name, n)
		case 2:
			return nil
		}
		state[n] = 1
		for _, f := range d.Fields {
			if !f.Primitive {
				if err := visit(f.Type, depth+1); err != nil {
					return err
				}
			}
		}
		state[n] = 2
		return nil
	}
	if err := visit(s.Root, 0); err != nil {
		return nil, err
	}
	return s, nil
}

func pkgOf(full string) string {
	if k := strings.IndexByte(full, '/'); k >= 0 {
		return full[:k]
	}
	return ""
}

// parseField parses "type name [default]" or "type NAME=value".
func parseField(line, pkg string) (FieldDef, bool, error) {
	var f FieldDef
	typ, rest, ok := strings.Cut(line, " ")
	if !ok {
		if strings.Contains(line, "=") { // "int32 X=1" always has a space; be lenient
			return f, true, nil
		}
		return f, false, fmt.Errorf("%q: want \"type name\"", line)
	}
	rest = strings.TrimSpace(rest)
	nameEnd := strings.IndexAny(rest, " \t=")
	fname := rest
	if nameEnd >= 0 {
		fname = rest[:nameEnd]
		if strings.HasPrefix(strings.TrimSpace(rest[nameEnd:]), "=") {
			return f, true, nil // constant
		}
	}
	if fname == "" {
		return f, false, fmt.Errorf("%q: missing field name", line)
	}
	f.Name = fname
	// Array suffix.
	if k := strings.IndexByte(typ, '['); k >= 0 {
		if !strings.HasSuffix(typ, "]") {
			return f, false, fmt.Errorf("%q: unclosed array bracket", line)
		}
		in := typ[k+1 : len(typ)-1]
		typ = typ[:k]
		switch {
		case in == "":
			f.Array = Unbounded
		case strings.HasPrefix(in, "<="):
			n, err := strconv.Atoi(in[2:])
			if err != nil || n < 0 {
				return f, false, fmt.Errorf("%q: bad array bound %q", line, in)
			}
			f.Array, f.Len = Bounded, n
		default:
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return f, false, fmt.Errorf("%q: bad array length %q", line, in)
			}
			f.Array, f.Len = Fixed, n
		}
	}
	// Bounded string.
	if b, ok := strings.CutPrefix(typ, "string<="); ok {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 {
			return f, false, fmt.Errorf("%q: bad string bound", line)
		}
		typ, f.StrBound = "string", n
	} else if b, ok := strings.CutPrefix(typ, "wstring<="); ok {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 {
			return f, false, fmt.Errorf("%q: bad wstring bound", line)
		}
		typ, f.StrBound = "wstring", n
	}
	if _, ok := primitiveSize[typ]; ok {
		f.Type, f.Primitive = typ, true
		return f, false, nil
	}
	switch {
	case typ == "Header":
		typ = "std_msgs/Header"
	case !strings.Contains(typ, "/"):
		typ = pkg + "/" + typ
	}
	f.Type = NormalizeType(typ)
	if strings.Count(f.Type, "/") != 1 {
		return f, false, fmt.Errorf("%q: bad type name %q", line, typ)
	}
	return f, false, nil
}

// serviceEventText rewrites the schema rosbag2 stores for a service's
// event topic ("pkg/srv/X_Event"), which is the .srv text (request "---"
// response), into the definition of the message on the wire:
// service_msgs/msg/ServiceEventInfo info, X_Request[<=1] request,
// X_Response[<=1] response.
func serviceEventText(name, text string) string {
	lines := strings.Split(text, "\n")
	main, rest := lines, []string(nil)
	for i, l := range lines {
		if t := strings.TrimSpace(l); t != "" && strings.Trim(t, "=") == "" {
			main, rest = lines[:i], lines[i:]
			break
		}
	}
	var req, resp []string
	split := -1
	for i, l := range main {
		if strings.TrimSpace(l) == "---" {
			split = i
			break
		}
	}
	if split < 0 {
		return text // already the event message itself
	}
	req, resp = main[:split], main[split+1:]
	p := strings.Split(name, "/")
	base := strings.TrimSuffix(p[len(p)-1], "_Event")
	pkg := p[0]
	var b strings.Builder
	sep := "================================================================================\n"
	fmt.Fprintf(&b, "service_msgs/ServiceEventInfo info\n%s/%s_Request[<=1] request\n%s/%s_Response[<=1] response\n", pkg, base, pkg, base)
	fmt.Fprintf(&b, "%sMSG: %s/%s_Request\n%s\n", sep, pkg, base, strings.Join(req, "\n"))
	fmt.Fprintf(&b, "%sMSG: %s/%s_Response\n%s\n", sep, pkg, base, strings.Join(resp, "\n"))
	fmt.Fprintf(&b, "%sMSG: service_msgs/ServiceEventInfo\nuint8 event_type\nbuiltin_interfaces/Time stamp\nchar[16] client_gid\nint64 sequence_number\n", sep)
	fmt.Fprintf(&b, "%sMSG: builtin_interfaces/Time\nint32 sec\nuint32 nanosec\n", sep)
	b.WriteString(strings.Join(rest, "\n"))
	return b.String()
}
