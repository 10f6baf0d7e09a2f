package config

import (
	"errors"
	"reflect"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// DecodeConfig builds the config of one component from tbl, the keys of
// its [component.config] table with values as TOML decodes them (JSON
// bodies go through the same types: integers as int64, other numbers as
// float64), exactly as the loader does for a file: defaults, strict
// binding (relative ds3d.Path values resolve against dir), the tag rules,
// then the config's own Validate. With files false the rules that look at
// the file system (path:"exists" and the like) are skipped, so a caller can
// vet the paths first (a loader added over the control API is confined to
// allowed folders before any file is touched). Errors are Errors naming
// comp and the key ("config.<key>").
func DecodeConfig(spec *ds3d.Spec, comp, dir string, tbl map[string]any, files bool) (any, error) {
	cfg := spec.NewConfig()
	if tbl == nil {
		tbl = map[string]any{}
	}
	b := &binder{dir: dir}
	b.bindTable("", tbl, reflect.ValueOf(cfg).Elem())
	var errs Errors
	for _, e := range b.errs {
		errs = append(errs, &Error{Component: comp, Key: "config." + e.path, Msg: e.msg})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, err := range checkConfig(cfg, files) {
		var ce *ds3d.ConfigError
		if errors.As(err, &ce) {
			errs = append(errs, &Error{Component: comp, Key: "config." + ce.Key, Msg: ce.Msg})
		} else {
			errs = append(errs, &Error{Component: comp, Key: "config", Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}
