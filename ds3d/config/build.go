package config

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Def is one component of a pipeline built from Go values (NewPipeline):
// the fields of a `[[component]]` table, with the config given as Go.
type Def struct {
	Name string
	Impl string
	// Kind is the component's type; empty takes the kind impl registered.
	Kind ds3d.Kind
	// Config is nil (the impl's defaults), a map of TOML keys to values as
	// go-toml decodes them (int64, float64, string, []any, map[string]any),
	// applied over the defaults exactly as a [component.config] table is,
	// or a pointer to the impl's config struct, used as it is: start one
	// from Defaults, since a struct literal's zero values are not the
	// defaults. Either way the config is validated as a file's is.
	Config           any
	LinkTo, LinkFrom []string // as in TOML: "name" or "name.sink_N"
	WithQueue, Leaky string
	QueueSize        int // 0: the pipeline's queue size
}

// Builder assembles a pipeline from Go values; Build validates it.
type Builder struct {
	name      string
	dir       string
	realtime  bool
	queueSize int
	defs      []Def
}

// NewPipeline starts a pipeline built from Go values instead of TOML:
//
//	p, err := config.NewPipeline("demo").
//		Add(config.Def{Name: "src", Impl: "app_source", LinkTo: []string{"sink"}}).
//		Add(config.Def{Name: "sink", Impl: "app_sink"}).
//		Build()
//
// Build checks it exactly as Parse checks a file (the same binding, rules,
// links and graph checks), with errors that name the component and key.
func NewPipeline(name string) *Builder { return &Builder{name: name} }

// Dir sets the folder relative paths resolve against; without it they stay
// relative (to the working directory).
func (b *Builder) Dir(dir string) *Builder { b.dir = dir; return b }

// Realtime sets pipeline.realtime.
func (b *Builder) Realtime(on bool) *Builder { b.realtime = on; return b }

// QueueSize sets pipeline.queue_size.
func (b *Builder) QueueSize(n int) *Builder { b.queueSize = n; return b }

// Add appends components, in pipeline order.
func (b *Builder) Add(defs ...Def) *Builder { b.defs = append(b.defs, defs...); return b }

// Build validates the pipeline. Its errors are Errors, as Parse returns.
func (b *Builder) Build() (*Pipeline, error) {
	head := map[string]any{"name": b.name, "realtime": b.realtime}
	if b.queueSize != 0 {
		head["queue_size"] = int64(b.queueSize)
	}
	comps := make([]any, len(b.defs))
	typed := map[string]any{} // component name → its Go config struct
	for i, d := range b.defs {
		tbl := map[string]any{"name": d.Name, "impl": d.Impl}
		kind := d.Kind
		if kind == "" {
			if s, ok := ds3d.Lookup(d.Impl); ok {
				kind = s.Kind
			} else {
				// Any valid kind lets the loader go on to say that the
				// impl is not registered, which is the error to report.
				kind = ds3d.KindFilter
			}
		}
		tbl["type"] = string(kind)
		if len(d.LinkTo) > 0 {
			tbl["link_to"] = strings2any(d.LinkTo)
		}
		if len(d.LinkFrom) > 0 {
			tbl["link_from"] = strings2any(d.LinkFrom)
		}
		if d.WithQueue != "" {
			tbl["with_queue"] = d.WithQueue
		}
		if d.Leaky != "" {
			tbl["leaky"] = d.Leaky
		}
		if d.QueueSize != 0 {
			tbl["queue_size"] = int64(d.QueueSize)
		}
		switch c := d.Config.(type) {
		case nil:
		case map[string]any:
			tbl["config"] = c
		default:
			typed[d.Name] = c
		}
		comps[i] = tbl
	}
	raw := map[string]any{"pipeline": head, "component": comps}
	// Each component's ordinal stands in for its line, so errors come in
	// pipeline order as a file's come in line order.
	pos := positions{}
	for i := range comps {
		pos[pathIndex("component", i)] = i + 1
	}
	l := &loader{file: "", dir: b.dir, pos: pos}
	p := l.pipeline(raw)
	// A Go config struct replaces what the loader bound from an empty
	// table (its required keys look missing there): drop those errors and
	// check the struct itself with the same rules.
	errs := l.errs[:0]
	for _, e := range l.errs {
		if _, ok := typed[e.Component]; ok && (e.Key == "config" || strings.HasPrefix(e.Key, "config.")) {
			continue
		}
		errs = append(errs, e)
	}
	l.errs = errs
	for _, c := range p.Components {
		cfg, ok := typed[c.Name]
		if !ok || c.Spec == nil {
			continue
		}
		want := reflect.PointerTo(c.Spec.ConfigType())
		v := reflect.ValueOf(cfg)
		if v.Type() != want || v.IsNil() {
			l.errs = append(l.errs, &Error{Component: c.Name, Key: "config", Line: c.Line,
				Msg: fmt.Sprintf("%s takes a config of type %s, got %T", c.Impl, want, cfg)})
			continue
		}
		// A copy, so the caller may reuse its struct for another component.
		cp := reflect.New(want.Elem())
		cp.Elem().Set(v.Elem())
		if b.dir != "" {
			resolvePaths(cp.Elem(), b.dir)
		}
		for _, err := range checkConfig(cp.Interface(), true) {
			l.configFail(pathJoin(pathIndex("component", c.Line-1), "config"), c.Name, err)
		}
		c.Config = cp.Interface()
	}
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
		for _, e := range l.errs {
			e.Msg = strings.Replace(e.Msg, "(first defined at line ", "(first added as component ", 1)
			e.Line = 0
		}
		return nil, l.errs
	}
	for _, c := range p.Components {
		c.Line = 0
	}
	p.Dir = b.dir
	return p, nil
}

func strings2any(s []string) []any {
	out := make([]any, len(s))
	for i, x := range s {
		out[i] = x
	}
	return out
}

// resolvePaths joins dir to the relative ds3d.Path values of v (a config
// struct), as binding a file's values does; slices are copied, not changed.
func resolvePaths(v reflect.Value, dir string) {
	switch {
	case v.Type() == pathType:
		if s := v.String(); s != "" && s != "-" && !filepath.IsAbs(s) && !strings.Contains(s, "://") {
			v.SetString(filepath.Join(dir, s))
		}
	case v.Kind() == reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				resolvePaths(v.Field(i), dir)
			}
		}
	case v.Kind() == reflect.Slice && !v.IsNil() && hasPath(v.Type().Elem()):
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := 0; i < cp.Len(); i++ {
			resolvePaths(cp.Index(i), dir)
		}
		v.Set(cp)
	case v.Kind() == reflect.Array:
		for i := 0; i < v.Len(); i++ {
			resolvePaths(v.Index(i), dir)
		}
	}
}

func hasPath(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String:
		return t == pathType
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			if t.Field(i).IsExported() && hasPath(t.Field(i).Type) {
				return true
			}
		}
	case reflect.Slice, reflect.Array:
		return hasPath(t.Elem())
	}
	return false
}

// Defaults returns a fresh config of impl holding its defaults, as the
// config struct type C (a pointer), for Def.Config.
func Defaults[C any](impl string) (C, error) {
	var zero C
	s, ok := ds3d.Lookup(impl)
	if !ok {
		return zero, fmt.Errorf("config: no component implementation %q is registered", impl)
	}
	c, ok := s.NewConfig().(C)
	if !ok {
		return zero, fmt.Errorf("config: %s takes a config of type *%s, not %T", impl, s.ConfigType(), zero)
	}
	return c, nil
}

// Set changes one key of a component's config in a loaded pipeline, as if
// the file had said so: key is a path inside its [component.config] table
// ("max_frames", "roi.x_range"), val a value as go-toml decodes it, bound
// and checked like the file's values (relative paths resolve against the
// pipeline's folder). origin names where the change came from in errors
// ("--set"). The component keeps its config unchanged on error.
func (p *Pipeline) Set(origin, component, key string, val any) error {
	c := p.Component(component)
	if c == nil {
		names := make([]string, len(p.Components))
		for i, x := range p.Components {
			names[i] = x.Name
		}
		return Errors{{File: origin, Component: component, Msg: fmt.Sprintf("no such component (the pipeline has %s)", strings.Join(names, ", "))}}
	}
	fail := func(k, format string, args ...any) error {
		return Errors{{File: origin, Component: c.Name, Key: "config." + k, Msg: fmt.Sprintf(format, args...)}}
	}
	if c.Spec == nil || c.Config == nil {
		return fail(key, "%s has no config", c.Impl)
	}
	cur := reflect.ValueOf(c.Config)
	next := reflect.New(cur.Type().Elem())
	next.Elem().Set(cur.Elem())
	// Walk the key's parts down nested tables (struct fields), then bind
	// the value into the field itself: binding a table would also ask
	// for the required keys the change does not mention.
	parts := strings.Split(key, ".")
	v := next.Elem()
	for i, part := range parts {
		var f *ds3d.StructKey
		var known []string
		for _, k := range ds3d.StructKeys(v.Type()) {
			if k.Name == "" {
				continue
			}
			known = append(known, k.Name)
			if k.Name == part {
				f = &k
			}
		}
		at := strings.Join(parts[:i+1], ".")
		if f == nil {
			sort.Strings(known)
			return fail(at, "unknown key %q (known: %s)", part, strings.Join(known, ", "))
		}
		v = v.FieldByIndex(f.Index)
		if i < len(parts)-1 {
			if v.Kind() != reflect.Struct || v.Type() == pathType {
				return fail(at, "is a %s, not a table of keys", ds3d.TypeName(v.Type()))
			}
		}
	}
	b := &binder{dir: p.Dir}
	b.bindValue(key, val, v)
	if len(b.errs) > 0 {
		var es Errors
		for _, e := range b.errs {
			es = append(es, &Error{File: origin, Component: c.Name, Key: "config." + e.path, Msg: e.msg})
		}
		return es
	}
	var es Errors
	for _, err := range checkConfig(next.Interface(), true) {
		var ce *ds3d.ConfigError
		if errors.As(err, &ce) {
			es = append(es, &Error{File: origin, Component: c.Name, Key: "config." + ce.Key, Msg: ce.Msg})
		} else {
			es = append(es, &Error{File: origin, Component: c.Name, Key: "config", Msg: err.Error()})
		}
	}
	if len(es) > 0 {
		return es
	}
	c.Config = next.Interface()
	return nil
}
