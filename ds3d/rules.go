package ds3d

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The rule tags of a config field, beside toml, doc, required:
//
//	enum:"strongest|last|dual"  one of these (a string, or each string of a list)
//	enum:"0|1|3|100"            on an integer field (or list): one of these integers
//	enum:"@parser"              one of the values registered under that name with
//	                            RegisterEnum, read when the config is checked
//	enumfold:"true"             the enum matches ignoring case
//	finite:"true"               a float (each float of a list or array) is not NaN/±Inf
//	finite:"float32"            … and fits a float32 (a float64 key used as float32)
//	notnan:"true"               a float is not NaN (±Inf allowed: "no threshold")
//	nonzero:"true"              a number (each number of a list) is not 0
//	len:"6"                     a list has exactly 6 elements; an empty list passes
//	                            (an optional key left out), nonempty:"true" forbids it
//	len:"12|16"                 a list has one of these lengths (or is empty)
//	len:"<=3"                   a list has at most 3 elements
//	ordered:"<="                each value of a list's first half is ≤ its counterpart
//	ordered:"<"                 in the second half (strictly with "<"): [min, max],
//	                            [x0, y0, z0, x1, y1, z1]
//	min:"1"  max:"1000"         inclusive bounds of a number (each number of a list or array)
//	min:">0" max:"<360"         strict bounds (a bounded float must also be finite)
//	unit:"m"                    the unit, for docs ("0 < voxel_size (m)")
//	nonempty:"true"             a string, list or map must not be empty
//	nonempty:"each"             no string of a list is empty ("true,each": both)
//	path:"exists"               a path (or each path of a list) must name an existing
//	                            file or folder when the config is loaded; a glob must
//	                            match at least one file; "", "-" and URLs are not checked
//	runtime:"true"              the key may change while the pipeline runs (Updater)
//
// Bounds of a duration are durations ("10ms"). Register panics on a
// malformed tag. The config loader and CheckConfig enforce the rules, so a
// config's Validate keeps only the rules that tie several keys together.

func parseRules(f *Field, sf reflect.StructField) error {
	t := sf.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	elem := t
	if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
		elem = t.Elem()
	}
	if v, ok := sf.Tag.Lookup("enum"); ok {
		isInt := elem.Kind() >= reflect.Int && elem.Kind() <= reflect.Int64 && elem != durationType
		if elem.Kind() != reflect.String && !isInt {
			return fmt.Errorf("enum tag on a %s", TypeName(sf.Type))
		}
		if name, ok := strings.CutPrefix(v, "@"); ok {
			if name == "" || !isName(name) {
				return fmt.Errorf("enum tag %q: bad registry name", v)
			}
			if isInt {
				return fmt.Errorf("enum tag %q on a %s (registered enums are strings)", v, TypeName(sf.Type))
			}
			f.EnumReg = name
		} else {
			f.Enum = strings.Split(v, "|")
			for _, e := range f.Enum {
				if e == "" && len(f.Enum) == 1 {
					return errors.New("empty enum tag")
				}
				if isInt {
					n, err := strconv.ParseInt(e, 10, 64)
					if err != nil {
						return fmt.Errorf("enum tag %q: %q is not an integer", v, e)
					}
					f.enumInts = append(f.enumInts, n)
				}
			}
		}
	}
	switch v := sf.Tag.Get("enumfold"); v {
	case "", "false":
	case "true":
		if len(f.Enum) == 0 && f.EnumReg == "" || len(f.enumInts) > 0 {
			return errors.New("enumfold tag without a string enum tag")
		}
		f.EnumFold = true
	default:
		return fmt.Errorf("enumfold tag %q (want \"true\")", v)
	}
	isFloat := elem.Kind() == reflect.Float32 || elem.Kind() == reflect.Float64
	isNumber := isFloat || elem.Kind() >= reflect.Int && elem.Kind() <= reflect.Uint64 && elem != durationType
	switch v := sf.Tag.Get("finite"); v {
	case "", "false":
	case "true", "float32":
		if !isFloat {
			return fmt.Errorf("finite tag on a %s", TypeName(sf.Type))
		}
		f.Finite, f.Float32 = true, v == "float32"
	default:
		return fmt.Errorf("finite tag %q (want \"true\" or \"float32\")", v)
	}
	for _, b := range []struct {
		tag string
		ok  bool
		dst *bool
	}{{"notnan", isFloat, &f.NotNaN}, {"nonzero", isNumber, &f.NonZero}} {
		switch v := sf.Tag.Get(b.tag); v {
		case "", "false":
		case "true":
			if !b.ok {
				return fmt.Errorf("%s tag on a %s", b.tag, TypeName(sf.Type))
			}
			*b.dst = true
		default:
			return fmt.Errorf("%s tag %q (want \"true\")", b.tag, v)
		}
	}
	if v, ok := sf.Tag.Lookup("len"); ok {
		if t.Kind() != reflect.Slice {
			return fmt.Errorf("len tag on a %s", TypeName(sf.Type))
		}
		n, atMost := strings.CutPrefix(v, "<=")
		for _, a := range strings.Split(n, "|") {
			x, err := strconv.Atoi(a)
			if err != nil || x < 1 || atMost && strings.Contains(n, "|") {
				return fmt.Errorf("len tag %q (want \"6\", \"12|16\" or \"<=3\")", v)
			}
			f.Len = append(f.Len, x)
		}
		f.LenMax = atMost
	}
	switch v := sf.Tag.Get("ordered"); v {
	case "":
	case "<=", "<":
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array || !isNumber {
			return fmt.Errorf("ordered tag on a %s", TypeName(sf.Type))
		}
		f.Ordered = v
	default:
		return fmt.Errorf("ordered tag %q (want \"<=\" or \"<\")", v)
	}
	bound := func(tag string) (string, bool, float64, error) {
		v, ok := sf.Tag.Lookup(tag)
		if !ok {
			return "", false, 0, nil
		}
		excl := false
		if tag == "min" {
			v, excl = strings.CutPrefix(v, ">")
		} else {
			v, excl = strings.CutPrefix(v, "<")
		}
		if elem == durationType {
			d, err := time.ParseDuration(v)
			if err != nil {
				return "", false, 0, fmt.Errorf("%s tag %q is not a duration", tag, v)
			}
			return v, excl, float64(d), nil
		}
		switch elem.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		default:
			return "", false, 0, fmt.Errorf("%s tag on a %s", tag, TypeName(sf.Type))
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) {
			return "", false, 0, fmt.Errorf("%s tag %q is not a number", tag, v)
		}
		return v, excl, x, nil
	}
	var err error
	if f.Min, f.MinExcl, f.minV, err = bound("min"); err != nil {
		return err
	}
	if f.Max, f.MaxExcl, f.maxV, err = bound("max"); err != nil {
		return err
	}
	if f.Min != "" && f.Max != "" && f.minV > f.maxV {
		return fmt.Errorf("min %s > max %s", f.Min, f.Max)
	}
	f.Unit = sf.Tag.Get("unit")
	if v := sf.Tag.Get("nonempty"); v != "" && v != "false" {
		for _, w := range strings.Split(v, ",") {
			switch w {
			case "true":
				switch t.Kind() {
				case reflect.String, reflect.Slice, reflect.Map:
				default:
					return fmt.Errorf("nonempty tag on a %s", TypeName(sf.Type))
				}
				f.NonEmpty = true
			case "each":
				if t.Kind() != reflect.Slice || elem.Kind() != reflect.String {
					return fmt.Errorf("nonempty:\"each\" tag on a %s (want a list of strings)", TypeName(sf.Type))
				}
				f.EachNonEmpty = true
			default:
				return fmt.Errorf("nonempty tag %q (want \"true\", \"each\" or \"true,each\")", v)
			}
		}
	}
	switch v := sf.Tag.Get("path"); v {
	case "":
	case "exists":
		if elem != pathType {
			return fmt.Errorf("path tag on a %s (want a ds3d.Path or a list of them)", TypeName(sf.Type))
		}
		f.PathExists = true
	default:
		return fmt.Errorf("path tag %q (want \"exists\")", v)
	}
	switch v := sf.Tag.Get("runtime"); v {
	case "", "false":
	case "true":
		f.Runtime = true
	default:
		return fmt.Errorf("runtime tag %q (want \"true\")", v)
	}
	return nil
}

// Rules describes the field's rules in words, for `ds3d components` and
// docs/COMPONENTS.md: "one of strongest|last|dual", "one of the registered
// lidar.format (""|bin|pcd)", "any case", "finite", "6 values", "at most 3
// values", "1 ≤ max_sweeps ≤ 1000", "rate_hz > 0 (Hz)", "not empty",
// "must exist", "runtime-updatable".
func (f *Field) Rules() []string {
	var out []string
	alts := func(vals []string) string {
		names := make([]string, len(vals))
		for i, e := range vals {
			names[i] = e
			if e == "" {
				names[i] = `""`
			}
		}
		return strings.Join(names, "|")
	}
	if len(f.Enum) > 0 {
		out = append(out, "one of "+alts(f.Enum))
	}
	if f.EnumReg != "" {
		out = append(out, fmt.Sprintf("one of the registered %s (%s)", f.EnumReg, alts(EnumValues(f.EnumReg))))
	}
	if f.EnumFold {
		out = append(out, "any case")
	}
	switch {
	case f.Float32:
		out = append(out, "finite float32")
	case f.Finite:
		out = append(out, "finite")
	case f.NotNaN:
		out = append(out, "not NaN")
	}
	if f.NonZero {
		out = append(out, "not 0")
	}
	if len(f.Len) > 0 {
		if f.LenMax {
			out = append(out, fmt.Sprintf("at most %d values", f.Len[0]))
		} else {
			out = append(out, fmt.Sprintf("%s values", joinInts(f.Len, " or ")))
		}
	}
	switch f.Ordered {
	case "<=":
		out = append(out, "min ≤ max")
	case "<":
		out = append(out, "min < max")
	}
	if f.Min != "" || f.Max != "" {
		var b strings.Builder
		if f.Min != "" && f.Max != "" {
			b.WriteString(f.Min)
			b.WriteString(map[bool]string{false: " ≤ ", true: " < "}[f.MinExcl])
		}
		b.WriteString(f.Name)
		if f.Min != "" && f.Max == "" {
			b.WriteString(map[bool]string{false: " ≥ ", true: " > "}[f.MinExcl])
			b.WriteString(f.Min)
		}
		if f.Max != "" {
			b.WriteString(map[bool]string{false: " ≤ ", true: " < "}[f.MaxExcl])
			b.WriteString(f.Max)
		}
		if f.Unit != "" {
			fmt.Fprintf(&b, " (%s)", f.Unit)
		}
		out = append(out, b.String())
	} else if f.Unit != "" {
		out = append(out, "in "+f.Unit)
	}
	if f.NonEmpty {
		out = append(out, "not empty")
	}
	if f.EachNonEmpty {
		out = append(out, "no empty element")
	}
	if f.PathExists {
		out = append(out, "must exist")
	}
	if f.Runtime {
		out = append(out, "runtime-updatable")
	}
	return out
}

// boundsMsg is the message of a value outside [Min, Max].
func (f *Field) boundsMsg(got string) string {
	lo, hi := "[", "]"
	if f.MinExcl {
		lo = "("
	}
	if f.MaxExcl {
		hi = ")"
	}
	switch {
	case f.Min != "" && f.Max != "":
		return fmt.Sprintf("must be in %s%s, %s%s, got %s", lo, f.Min, f.Max, hi, got)
	case f.Min != "":
		return fmt.Sprintf("must be %s %s, got %s", map[bool]string{false: "≥", true: ">"}[f.MinExcl], f.Min, got)
	}
	return fmt.Sprintf("must be %s %s, got %s", map[bool]string{false: "≤", true: "<"}[f.MaxExcl], f.Max, got)
}

var fieldCache sync.Map // reflect.Type → []Field

// FieldsOf returns the documented keys of config struct type t (the same
// walk Register does; the defaults are left out). It panics on a config
// Register would refuse.
func FieldsOf(t reflect.Type) []Field {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.([]Field)
	}
	fs, err := fieldsOf(t, reflect.Value{}, "")
	if err != nil {
		panic(fmt.Sprintf("ds3d: config %s: %v", t, err))
	}
	fieldCache.Store(t, fs)
	return fs
}

// CheckRules checks the tag rules of the config cfg points at (enum,
// finite, len, min/max, nonempty; with paths, also path:"exists") and returns every
// broken one, keyed by the dotted TOML key.
func CheckRules(cfg any, paths bool) []*ConfigError {
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var errs []*ConfigError
	checkStruct(FieldsOf(v.Type()), v, "", paths, &errs)
	return errs
}

func checkStruct(fields []Field, v reflect.Value, prefix string, paths bool, errs *[]*ConfigError) {
	for i := range fields {
		f := &fields[i]
		fv := v.FieldByIndex(f.Index)
		key := prefix + f.Name
		fail := func(k, format string, args ...any) {
			*errs = append(*errs, &ConfigError{Key: k, Msg: fmt.Sprintf(format, args...)})
		}
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				break
			}
			fv = fv.Elem()
		}
		if fv.Kind() == reflect.Pointer {
			continue // an optional key not given
		}
		if f.NonEmpty && fv.Len() == 0 {
			fail(key, "must not be empty")
			continue
		}
		if len(f.Fields) > 0 {
			if fv.Kind() == reflect.Slice {
				for j := 0; j < fv.Len(); j++ {
					checkStruct(f.Fields, fv.Index(j), fmt.Sprintf("%s[%d].", key, j), paths, errs)
				}
			} else if fv.Kind() == reflect.Struct {
				checkStruct(f.Fields, fv, key+".", paths, errs)
			}
			continue
		}
		// each runs check on the value, or on each element of a list; an
		// element's error names the list's key and the element's index.
		each := func(check func(k string, e reflect.Value)) {
			if fv.Kind() == reflect.Slice || fv.Kind() == reflect.Array {
				for j := 0; j < fv.Len(); j++ {
					n := len(*errs)
					check(key, fv.Index(j))
					if len(*errs) > n {
						e := (*errs)[n]
						e.Msg = fmt.Sprintf("element %d: %s", j, e.Msg)
						return
					}
				}
				return
			}
			check(key, fv)
		}
		if len(f.Len) > 0 && fv.Kind() == reflect.Slice {
			if n := fv.Len(); f.LenMax && n > f.Len[0] {
				fail(key, "at most %d values, got %d", f.Len[0], n)
			} else if !f.LenMax && n != 0 && !slices.Contains(f.Len, n) {
				fail(key, "must have %s values, got %d", joinInts(f.Len, " or "), n)
				continue
			}
		}
		if f.EachNonEmpty {
			each(func(k string, e reflect.Value) {
				if e.Len() == 0 {
					fail(k, "is empty")
				}
			})
		}
		if len(f.enumInts) > 0 {
			each(func(k string, e reflect.Value) {
				if !slices.Contains(f.enumInts, e.Int()) {
					fail(k, "must be one of %s, got %d", strings.Join(f.Enum, ", "), e.Int())
				}
			})
		} else if len(f.Enum) > 0 || f.EnumReg != "" {
			vals := f.Enum
			if f.EnumReg != "" {
				vals = EnumValues(f.EnumReg)
			}
			each(func(k string, e reflect.Value) {
				for _, x := range vals {
					if e.String() == x || f.EnumFold && strings.EqualFold(e.String(), x) {
						return
					}
				}
				fail(k, "must be one of %s, got %q", strings.Join(quoteAll(vals), ", "), e.String())
			})
		}
		if f.Finite || f.NotNaN {
			each(func(k string, e reflect.Value) {
				x := e.Float()
				switch {
				case math.IsNaN(x) && !f.Finite:
					fail(k, "must be a number, got NaN")
				case f.Float32 && (math.IsNaN(x) || math.Abs(x) > math.MaxFloat32):
					fail(k, "must be a finite float32 (|x| ≤ %g), got %s", math.MaxFloat32, FormatValue(e))
				case f.Finite && (math.IsNaN(x) || math.IsInf(x, 0)):
					fail(k, "must be finite, got %s", FormatValue(e))
				}
			})
		}
		if f.NonZero {
			each(func(k string, e reflect.Value) {
				if e.IsZero() || f.Float32 && float32(e.Float()) == 0 {
					fail(k, "must not be 0%s", map[bool]string{true: " (as a float32)"}[f.Float32 && !e.IsZero()])
				}
			})
		}
		if f.Ordered != "" && fv.Len()%2 == 0 {
			h := fv.Len() / 2
			for j := 0; j < h; j++ {
				lo, hi := number(fv.Index(j)), number(fv.Index(j+h))
				if lo > hi || f.Ordered == "<" && lo == hi || math.IsNaN(lo) || math.IsNaN(hi) {
					what := fmt.Sprintf("min %s", FormatValue(fv.Index(j)))
					if h > 1 {
						what = fmt.Sprintf("value %d (%s)", j, FormatValue(fv.Index(j)))
					}
					fail(key, "%s must be %s %s", what, map[string]string{"<=": "≤", "<": "below"}[f.Ordered], FormatValue(fv.Index(j+h)))
					break
				}
			}
		}
		if f.Min != "" || f.Max != "" {
			each(func(k string, e reflect.Value) {
				var x float64
				var got string
				switch {
				case e.Type() == durationType:
					x, got = float64(e.Int()), time.Duration(e.Int()).String()
				case e.CanInt():
					x, got = float64(e.Int()), strconv.FormatInt(e.Int(), 10)
				case e.CanUint():
					x, got = float64(e.Uint()), strconv.FormatUint(e.Uint(), 10)
				default:
					x, got = e.Float(), FormatValue(e)
					if math.IsNaN(x) || math.IsInf(x, 0) {
						fail(k, "%s", f.boundsMsg(got)) // a bounded float is finite
						return
					}
				}
				if f.Min != "" && (x < f.minV || f.MinExcl && x == f.minV) ||
					f.Max != "" && (x > f.maxV || f.MaxExcl && x == f.maxV) {
					fail(k, "%s", f.boundsMsg(got))
				}
			})
		}
		if f.PathExists && paths {
			each(func(k string, e reflect.Value) {
				if err := PathExists(e.String()); err != nil {
					fail(k, "%v", err)
				}
			})
		}
	}
}

var enumRegistry sync.Map // name → func() []string

// RegisterEnum names a list of values for `enum:"@name"` tags, typically
// a registry's names (parsers, backends, formats). values is called each
// time a config is checked, so entries registered later count. It panics
// on a bad or duplicate name.
func RegisterEnum(name string, values func() []string) {
	if !isName(name) || values == nil {
		panic(fmt.Sprintf("ds3d: RegisterEnum(%q): bad name or nil values", name))
	}
	if _, dup := enumRegistry.LoadOrStore(name, values); dup {
		panic(fmt.Sprintf("ds3d: RegisterEnum(%q): registered twice", name))
	}
}

// EnumValues returns the values registered under name (nil for none).
func EnumValues(name string) []string {
	v, ok := enumRegistry.Load(name)
	if !ok {
		return nil
	}
	return v.(func() []string)()
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// PathExists checks what a path:"exists" key names: a file or folder, or a
// glob matching at least one file. "", "-" (stdin/stdout) and URLs pass.
func PathExists(p string) error {
	if p == "" || p == "-" || strings.Contains(p, "://") {
		return nil
	}
	if strings.ContainsAny(p, "*?[") {
		m, err := filepath.Glob(p)
		if err != nil {
			return fmt.Errorf("bad glob %q: %v", p, err)
		}
		if len(m) == 0 {
			return fmt.Errorf("glob %q matches no file", p)
		}
		return nil
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s does not exist", p)
		}
		return err
	}
	return nil
}

// CheckConfig validates a config as the loader does, minus the file
// checks: the tag rules first, then the config's own Validate (the rules
// that tie several keys together) when it has one. Constructors that take
// a config directly call it.
func CheckConfig(cfg any) error {
	if errs := CheckRules(cfg, false); len(errs) > 0 {
		return errs[0]
	}
	if v, ok := cfg.(Validator); ok {
		return v.Validate()
	}
	return nil
}

func joinInts(v []int, sep string) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, sep)
}

// number is an integer or float value as a float64.
func number(e reflect.Value) float64 {
	switch {
	case e.CanInt():
		return float64(e.Int())
	case e.CanUint():
		return float64(e.Uint())
	}
	return e.Float()
}
