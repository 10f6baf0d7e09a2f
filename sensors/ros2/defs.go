package ros2

import (
	"embed"
	"path"
	"sort"
	"strings"
	"sync"
)

// The built-in message definitions, one ros2msg file per type under
// defs/PKG/NAME.msg, written from the public ROS 2 interface definitions
// (common_interfaces, rcl_interfaces, geometry2, vision_msgs 4.x) of the
// Humble and Jazzy releases, and Foxglove's foxglove_msgs 2.1 (the scene,
// transform, point-cloud and compressed-image schemas): fields, constants
// and defaults, no comments.
//
//go:embed defs/*/*.msg
var defsFS embed.FS

// defSeparator is the line rosbag2 writes between a schema's definitions.
const defSeparator = "================================================================================"

var defs struct {
	once  sync.Once
	own   map[string]string // "pkg/Name" -> its own .msg text
	full  map[string]string // "pkg/Name" -> schema text with dependencies
	names []string          // "pkg/msg/Name", sorted
}

func loadDefs() {
	defs.own = map[string]string{}
	dirs, _ := defsFS.ReadDir("defs")
	for _, d := range dirs {
		files, _ := defsFS.ReadDir("defs/" + d.Name())
		for _, f := range files {
			b, err := defsFS.ReadFile("defs/" + d.Name() + "/" + f.Name())
			if err != nil {
				panic(err) // embedded: cannot fail
			}
			defs.own[d.Name()+"/"+strings.TrimSuffix(f.Name(), ".msg")] = string(b)
		}
	}
	defs.full = map[string]string{}
	for name := range defs.own {
		var b strings.Builder
		b.WriteString(defs.own[name])
		seen := map[string]bool{name: true}
		var add func(n string)
		add = func(n string) {
			for _, dep := range ownDeps(n) {
				if seen[dep] {
					continue
				}
				seen[dep] = true
				b.WriteString(defSeparator + "\nMSG: " + dep + "\n" + defs.own[dep])
				add(dep)
			}
		}
		add(name)
		defs.full[name] = b.String()
		p := strings.SplitN(name, "/", 2)
		defs.names = append(defs.names, p[0]+"/msg/"+p[1])
	}
	sort.Strings(defs.names)
}

// ownDeps lists the message types n's own fields use, in field order.
func ownDeps(n string) []string {
	var out []string
	for _, line := range strings.Split(defs.own[n], "\n") {
		if k := strings.IndexByte(line, '#'); k >= 0 {
			line = line[:k]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f, isConst, err := parseField(line, pkgOf(n))
		if err != nil {
			panic("ros2: built-in definition " + n + ": " + err.Error())
		}
		if !isConst && !f.Primitive {
			if _, ok := defs.own[f.Type]; !ok {
				panic("ros2: built-in definition " + n + " uses undefined " + f.Type)
			}
			out = append(out, f.Type)
		}
	}
	return out
}

// Definition returns the built-in message definition of typ ("pkg/msg/Name"
// or "pkg/Name") in the MCAP ros2msg schema encoding, as rosbag2 stores it:
// the type's own fields, then each type it depends on (depth first, each
// once) after a line of 80 '=' and "MSG: pkg/Name". ok is false for a type
// that is not built in.
func Definition(typ string) (text string, ok bool) {
	defs.once.Do(loadDefs)
	text, ok = defs.full[NormalizeType(typ)]
	return text, ok
}

// Definitions lists the built-in types as "pkg/msg/Name", sorted.
func Definitions() []string {
	defs.once.Do(loadDefs)
	return append([]string(nil), defs.names...)
}

// BuiltinSchema parses the built-in definition of typ.
func BuiltinSchema(typ string) (*Schema, error) {
	text, ok := Definition(typ)
	if !ok {
		return nil, &unknownTypeError{typ}
	}
	return ParseSchema(fullType(typ), text)
}

// fullType turns "pkg/Name" into "pkg/msg/Name".
func fullType(typ string) string {
	if strings.Count(typ, "/") == 1 {
		return path.Dir(typ) + "/msg/" + path.Base(typ)
	}
	return typ
}

type unknownTypeError struct{ typ string }

func (e *unknownTypeError) Error() string {
	return "ros2: no built-in definition of " + e.typ + " (see ros2.Definitions)"
}
