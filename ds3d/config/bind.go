package config

import (
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

var (
	pathType     = reflect.TypeOf(ds3d.Path(""))
	durationType = reflect.TypeOf(time.Duration(0))
)

// binder writes TOML values (as go-toml decodes them into `any`) into a
// typed config struct, strictly: unknown keys, wrong types, out-of-range
// integers and missing required keys are reported with their path; the
// caller turns paths into lines.
type binder struct {
	dir  string // folder relative paths resolve against
	errs []pathError
}

type pathError struct {
	path string
	msg  string
}

func (b *binder) fail(path, format string, args ...any) {
	b.errs = append(b.errs, pathError{path: path, msg: fmt.Sprintf(format, args...)})
}

func tomlTypeOf(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", x)
	case int64:
		return fmt.Sprintf("integer %d", x)
	case float64:
		return fmt.Sprintf("float %v", x)
	case bool:
		return fmt.Sprintf("boolean %v", x)
	case []any:
		return "array"
	case map[string]any:
		return "table"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%T", v)
}

// bindTable binds a TOML table into the struct v points at.
func (b *binder) bindTable(path string, tbl map[string]any, v reflect.Value) {
	known := map[string]ds3d.StructKey{}
	for _, k := range ds3d.StructKeys(v.Type()) {
		if k.Name != "" {
			known[k.Name] = k
		}
	}
	keys := make([]string, 0, len(tbl))
	for k := range tbl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := known[k]
		if !ok {
			b.fail(pathJoin(path, k), "unknown key %q (known: %s)", k, strings.Join(sortedKeys(known), ", "))
			continue
		}
		b.bindValue(pathJoin(path, k), tbl[k], v.FieldByIndex(f.Index))
	}
	for name, f := range known {
		if _, given := tbl[name]; !given && f.Field.Tag.Get("required") == "true" {
			b.fail(pathJoin(path, name), "missing required key %q", name)
		}
	}
}

func sortedKeys(m map[string]ds3d.StructKey) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (b *binder) bindValue(path string, val any, v reflect.Value) {
	t := v.Type()
	want := ds3d.TypeName(t)
	mismatch := func() { b.fail(path, "expected %s, got %s", want, tomlTypeOf(val)) }
	switch {
	case t == pathType:
		s, ok := val.(string)
		if !ok {
			mismatch()
			return
		}
		if s != "" && s != "-" && !filepath.IsAbs(s) && !strings.Contains(s, "://") && b.dir != "" {
			s = filepath.Join(b.dir, s)
		}
		v.SetString(s)
		return
	case t == durationType:
		s, ok := val.(string)
		if !ok {
			mismatch()
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			b.fail(path, "expected a duration such as \"150ms\", got %q", s)
			return
		}
		v.SetInt(int64(d))
		return
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			mismatch()
			return
		}
		v.SetString(s)
	case reflect.Bool:
		x, ok := val.(bool)
		if !ok {
			mismatch()
			return
		}
		v.SetBool(x)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, ok := val.(int64)
		if !ok {
			mismatch()
			return
		}
		if v.OverflowInt(x) {
			b.fail(path, "integer %d out of range for %s", x, t.Kind())
			return
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, ok := val.(int64)
		if !ok {
			mismatch()
			return
		}
		if x < 0 || v.OverflowUint(uint64(x)) {
			b.fail(path, "integer %d out of range for %s", x, t.Kind())
			return
		}
		v.SetUint(uint64(x))
	case reflect.Float32, reflect.Float64:
		switch x := val.(type) {
		case float64:
			if t.Kind() == reflect.Float32 && !math.IsInf(x, 0) && !math.IsNaN(x) && math.Abs(x) > math.MaxFloat32 {
				b.fail(path, "float %v out of range for float32", x)
				return
			}
			v.SetFloat(x)
		case int64:
			v.SetFloat(float64(x)) // 1 for 1.0 is what people type
		default:
			mismatch()
		}
	case reflect.Slice:
		arr, ok := val.([]any)
		if !ok {
			// A single value where a list is expected is a list of one, as
			// ds3d accepts `data_config_file: x.yaml` and `[x.yaml]` alike.
			if _, isTable := val.(map[string]any); isTable && t.Elem().Kind() != reflect.Struct {
				mismatch()
				return
			}
			arr = []any{val}
		}
		s := reflect.MakeSlice(t, len(arr), len(arr))
		for i, e := range arr {
			b.bindValue(pathIndex(path, i), e, s.Index(i))
		}
		v.Set(s)
	case reflect.Array:
		arr, ok := val.([]any)
		if !ok {
			mismatch()
			return
		}
		if len(arr) != t.Len() {
			b.fail(path, "expected %d values, got %d", t.Len(), len(arr))
			return
		}
		for i, e := range arr {
			b.bindValue(pathIndex(path, i), e, v.Index(i))
		}
	case reflect.Struct:
		tbl, ok := val.(map[string]any)
		if !ok {
			mismatch()
			return
		}
		b.bindTable(path, tbl, v)
	case reflect.Map:
		tbl, ok := val.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			mismatch()
			return
		}
		m := reflect.MakeMapWithSize(t, len(tbl))
		for k, e := range tbl {
			ev := reflect.New(t.Elem()).Elem()
			b.bindValue(pathJoin(path, k), e, ev)
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		v.Set(m)
	case reflect.Pointer:
		nv := reflect.New(t.Elem())
		b.bindValue(path, val, nv.Elem())
		v.Set(nv)
	case reflect.Interface:
		if val != nil {
			v.Set(reflect.ValueOf(val))
		}
	default:
		b.fail(path, "config field of Go type %s cannot be set from TOML", t)
	}
}
