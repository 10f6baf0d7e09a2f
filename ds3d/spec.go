package ds3d

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Field documents one config key of a component, derived by reflection from
// the config struct — the same walk the TOML binder uses, so the docs can
// never drift from what the parser accepts.
type Field struct {
	Name     string  // TOML key
	Index    []int   // reflect field index path inside the config struct
	Type     string  // TOML-facing type: "string", "integer", "float", "boolean", "path", "duration", "array of …", "table", "map of …"
	Doc      string  // one line
	Required bool    // no default; the key must be given
	Default  string  // the default in TOML syntax; empty when required or zero
	Fields   []Field // keys of a nested table (or of each table of an array of tables)

	// Rules from the field's tags, enforced by the config loader and by
	// CheckConfig (see rules.go for the tags and their meaning).
	Enum         []string // `enum:"a|b|c"`: one of these (each element of a list); integers on an integer field
	EnumReg      string   // `enum:"@NAME"`: one of the values registered under NAME (RegisterEnum)
	EnumFold     bool     // `enumfold:"true"`: the enum matches ignoring case
	Finite       bool     // `finite:"true"`: a float (each float of a list) must not be NaN or ±Inf
	Float32      bool     // `finite:"float32"`: also within float32's range (the value is used as a float32)
	NotNaN       bool     // `notnan:"true"`: a float may be ±Inf but not NaN
	NonZero      bool     // `nonzero:"true"`: a number (each number of a list) must not be 0
	Len          []int    // `len:"6"` or `len:"12|16"` (one of these lengths, when not empty), `len:"<=3"` (at most)
	LenMax       bool     // Len[0] is an upper bound (written `len:"<=3"`)
	Ordered      string   // `ordered:"<="` or `ordered:"<"`: each value of a list's first half against its counterpart in the second half ([min, max], [x0, y0, z0, x1, y1, z1])
	Min, Max     string   // `min:"1"`, `max:"<360"`: bounds as written, "" for none
	MinExcl      bool     // Min is strict (written `min:">0"`)
	MaxExcl      bool     // Max is strict (written `max:"<360"`)
	Unit         string   // `unit:"m"`: the unit of the value, for docs
	NonEmpty     bool     // `nonempty:"true"`: a string or list must not be empty
	EachNonEmpty bool     // `nonempty:"each"`: no string of a list may be empty (`nonempty:"true,each"` for both)
	PathExists   bool     // `path:"exists"`: the file (or every glob) must exist when loaded
	Runtime      bool     // `runtime:"true"`: may change while the pipeline runs (Updater)

	minV, maxV float64 // parsed Min and Max (nanoseconds for durations)
	enumInts   []int64 // parsed Enum of an integer field
}

var (
	pathType     = reflect.TypeOf(Path(""))
	durationType = reflect.TypeOf(time.Duration(0))
)

// TypeName is the TOML-facing name of a Go config type.
func TypeName(t reflect.Type) string {
	switch {
	case t == pathType:
		return "path"
	case t == durationType:
		return "duration"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "float"
	case reflect.Slice:
		return "array of " + TypeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("array of %d %s", t.Len(), TypeName(t.Elem()))
	case reflect.Struct:
		return "table"
	case reflect.Map:
		return "map of " + TypeName(t.Elem())
	case reflect.Pointer:
		return TypeName(t.Elem())
	case reflect.Interface:
		return "any"
	}
	return t.String()
}

// TOMLKey returns the TOML key of a struct field and whether it is a config
// key at all (unexported fields and `toml:"-"` are not).
func TOMLKey(sf reflect.StructField) (string, bool) {
	if !sf.IsExported() {
		return "", false
	}
	tag, ok := sf.Tag.Lookup("toml")
	if !ok {
		return "", true // a key without a name: an error for the caller
	}
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return "", false
	}
	return name, true
}

// StructKey is one config key of a struct: its TOML name and the index path
// of its field, through the groups squashed into the struct.
type StructKey struct {
	Name  string
	Index []int
	Field reflect.StructField
	Doc   string // the doc tag, or the one of the squashed field for a one-key group
}

// Squashed reports whether a struct field is a group whose keys are the
// parent's own: an embedded struct without a toml name, or a field tagged
// `toml:",squash"`.
func Squashed(sf reflect.StructField) bool {
	if sf.Type.Kind() != reflect.Struct || sf.Type == durationType {
		return false
	}
	tag, has := sf.Tag.Lookup("toml")
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" && strings.Contains(","+opts+",", ",squash,") {
		return true
	}
	return sf.Anonymous && !has
}

// StructKeys lists the config keys of struct type t in field order, with
// the keys of squashed groups in place of the group. A field without a toml
// tag is returned with an empty Name (an error for the caller).
func StructKeys(t reflect.Type) []StructKey {
	var out []StructKey
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if Squashed(sf) {
			sub := StructKeys(sf.Type)
			if d := sf.Tag.Get("doc"); d != "" && len(sub) == 1 {
				sub[0].Doc = d // the component says what its one key of the group holds
			}
			for _, k := range sub {
				k.Index = append([]int{i}, k.Index...)
				out = append(out, k)
			}
			continue
		}
		name, ok := TOMLKey(sf)
		if !ok {
			continue
		}
		out = append(out, StructKey{Name: name, Index: []int{i}, Field: sf, Doc: sf.Tag.Get("doc")})
	}
	return out
}

func fieldsOf(t reflect.Type, def reflect.Value, prefix string) ([]Field, error) {
	var out []Field
	seen := map[string]bool{}
	for _, k := range StructKeys(t) {
		sf, name := k.Field, k.Name
		if name == "" {
			return nil, fmt.Errorf("config field %s%s has no toml tag", prefix, sf.Name)
		}
		if seen[name] {
			return nil, fmt.Errorf("config key %s%s is declared twice (a squashed group repeats it?)", prefix, name)
		}
		seen[name] = true
		doc := k.Doc
		if strings.TrimSpace(doc) == "" {
			return nil, fmt.Errorf("config key %s%s has no doc tag", prefix, name)
		}
		f := Field{Name: name, Index: k.Index, Type: TypeName(sf.Type), Doc: doc, Required: sf.Tag.Get("required") == "true"}
		if err := parseRules(&f, sf); err != nil {
			return nil, fmt.Errorf("config key %s%s: %v", prefix, name, err)
		}
		var dv reflect.Value
		if def.IsValid() {
			dv = def.FieldByIndex(k.Index)
		}
		ft := sf.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
			dv = reflect.Value{}
		}
		if ft.Kind() == reflect.Struct && ft != durationType {
			sub, err := fieldsOf(ft, dv, prefix+name+".")
			if err != nil {
				return nil, err
			}
			f.Fields = sub
		} else if !f.Required && dv.IsValid() && !dv.IsZero() {
			f.Default = FormatValue(dv)
		}
		out = append(out, f)
	}
	return out, nil
}

// FormatValue writes a config value in TOML syntax for docs.
func FormatValue(v reflect.Value) string {
	switch {
	case v.Type() == durationType:
		return fmt.Sprintf("%q", v.Interface().(time.Duration).String())
	}
	switch v.Kind() {
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = FormatValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.Float32, reflect.Float64:
		bits := 64
		if v.Kind() == reflect.Float32 {
			bits = 32 // print 2.6, not the float64 widening 2.5999999046325684
		}
		s := strconv.FormatFloat(v.Float(), 'g', -1, bits)
		if !strings.ContainsAny(s, ".eEnN") {
			s += ".0"
		}
		return s
	case reflect.Pointer:
		if v.IsNil() {
			return ""
		}
		return FormatValue(v.Elem())
	}
	return fmt.Sprintf("%v", v.Interface())
}
