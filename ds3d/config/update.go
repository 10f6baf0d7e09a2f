package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/pelletier/go-toml/v2"
)

// ParseUpdate reads a change of a running component's config written as
// TOML keys of its [component.config] table (`score_threshold = 0.4`).
func ParseUpdate(text string) (map[string]any, error) {
	var m map[string]any
	if err := toml.Unmarshal([]byte(text), &m); err != nil {
		return nil, fmt.Errorf("config update: %w", err)
	}
	return m, nil
}

// Update applies changes (keys of the component's config table, values as
// TOML decodes them) to a copy of cur, the component's running config, and
// validates the result like a config at load (binding, tag rules, the
// config's own Validate). Only keys tagged `runtime:"true"` may change; any
// other key is refused. cur is not modified; the copy shares the slices and
// maps of keys that did not change. dir is the folder relative paths
// resolve against (the pipeline's).
func Update(c *Component, cur any, dir string, changes map[string]any) (any, error) {
	if c.Spec == nil {
		return nil, fmt.Errorf("component %q has no spec", c.Name)
	}
	fail := func(key, format string, args ...any) error {
		return Errors{{Component: c.Name, Key: key, Msg: fmt.Sprintf(format, args...)}}
	}
	if len(changes) == 0 {
		return nil, fail("", "the update changes no key")
	}
	byName := map[string]*ds3d.Field{}
	var runtime []string
	for i := range c.Spec.Fields {
		f := &c.Spec.Fields[i]
		byName[f.Name] = f
		if f.Runtime {
			runtime = append(runtime, f.Name)
		}
	}
	keys := make([]string, 0, len(changes))
	for k := range changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs Errors
	for _, k := range keys {
		f, ok := byName[k]
		switch {
		case !ok:
			errs = append(errs, &Error{Component: c.Name, Key: "config." + k, Msg: fmt.Sprintf("%s has no key %q", c.Impl, k)})
		case !f.Runtime:
			msg := "cannot change while the pipeline runs"
			if len(runtime) > 0 {
				msg += fmt.Sprintf(" (%s may: %v)", c.Impl, runtime)
			} else {
				msg += fmt.Sprintf(" (%s has no runtime-updatable keys)", c.Impl)
			}
			errs = append(errs, &Error{Component: c.Name, Key: "config." + k, Msg: msg})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	cv := reflect.ValueOf(cur)
	if cv.Type() != reflect.PointerTo(c.Spec.ConfigType()) {
		return nil, fail("", "running config is %T, want *%s", cur, c.Spec.ConfigType())
	}
	next := reflect.New(cv.Type().Elem())
	next.Elem().Set(cv.Elem())
	b := &binder{dir: dir}
	b.bindTable("", changes, next.Elem())
	for _, e := range b.errs {
		errs = append(errs, &Error{Component: c.Name, Key: "config." + e.path, Msg: e.msg})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	for _, err := range checkConfig(next.Interface(), true) {
		var ce *ds3d.ConfigError
		if errors.As(err, &ce) {
			errs = append(errs, &Error{Component: c.Name, Key: "config." + ce.Key, Msg: ce.Msg})
		} else {
			errs = append(errs, &Error{Component: c.Name, Key: "config", Msg: err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return next.Interface(), nil
}
