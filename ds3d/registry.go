package ds3d

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Validator is implemented by every component config: Validate checks the
// values after defaults and TOML are applied, and returns an error naming
// the offending key (its toml name).
type Validator interface {
	Validate() error
}

// Spec describes a registered component implementation: its kind, its name
// (the `impl` of a config), a one-paragraph doc, and the typed config that
// drives TOML decoding, defaults, validation and the `ds3d components` docs.
type Spec struct {
	Kind   Kind
	Impl   string
	Doc    string
	Fields []Field

	configType reflect.Type
	newConfig  func() any
	build      func(any, *Env) (any, error)
}

// NewConfig returns a fresh config (a pointer to the component's struct)
// holding the defaults.
func (s *Spec) NewConfig() any { return s.newConfig() }

// ConfigType is the struct type of the config.
func (s *Spec) ConfigType() reflect.Type { return s.configType }

// Build validates cfg and constructs the component, checking that it
// implements the interface of its kind.
func (s *Spec) Build(cfg any, env *Env) (any, error) {
	if reflect.TypeOf(cfg) != reflect.PointerTo(s.configType) {
		return nil, fmt.Errorf("%s: config is %T, want *%s", s.Impl, cfg, s.configType)
	}
	if err := cfg.(Validator).Validate(); err != nil {
		return nil, err
	}
	c, err := s.build(cfg, env)
	if err != nil {
		return nil, err
	}
	if err := CheckKind(s.Kind, c); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Impl, err)
	}
	return c, nil
}

// CheckKind reports whether component c implements the interface of kind k.
func CheckKind(k Kind, c any) error {
	var ok bool
	switch k {
	case KindLoader:
		_, ok = c.(Loader)
	case KindFilter, KindBridge:
		_, ok = c.(Filter)
	case KindMixer:
		_, ok = c.(Mixer)
	case KindRender:
		_, ok = c.(Render)
	}
	if !ok {
		return fmt.Errorf("component %T does not implement %s", c, k)
	}
	return nil
}

var registry = struct {
	sync.RWMutex
	specs map[string]*Spec
}{specs: map[string]*Spec{}}

// Register announces a component implementation; call it from init(). newC
// returns a pointer to a config struct holding the defaults; build makes the
// component from a validated config. Every exported field of the config
// struct needs a `toml` tag and a `doc` tag; `required:"true"` marks keys
// without a default. Register panics on a programming error (a duplicate
// impl, a config that is not a struct pointer, an undocumented field), so
// such mistakes fail every test at once.
func Register[C Validator](kind Kind, impl, doc string, newC func() C, build func(C, *Env) (any, error)) {
	if !kind.Valid() {
		panic(fmt.Sprintf("ds3d.Register(%q): unknown kind %q", impl, kind))
	}
	sample := newC()
	t := reflect.TypeOf(sample)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("ds3d.Register(%q): config must be a pointer to a struct, got %T", impl, sample))
	}
	fields, err := fieldsOf(t.Elem(), reflect.ValueOf(sample).Elem(), "")
	if err != nil {
		panic(fmt.Sprintf("ds3d.Register(%q): %v", impl, err))
	}
	s := &Spec{
		Kind: kind, Impl: impl, Doc: strings.TrimSpace(doc), Fields: fields,
		configType: t.Elem(),
		newConfig:  func() any { return newC() },
		build:      func(c any, env *Env) (any, error) { return build(c.(C), env) },
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.specs[impl]; dup {
		panic(fmt.Sprintf("ds3d.Register: impl %q registered twice", impl))
	}
	registry.specs[impl] = s
}

// Lookup returns the spec registered under impl.
func Lookup(impl string) (*Spec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	s, ok := registry.specs[impl]
	return s, ok
}

// Specs returns every registered spec, sorted by kind order then impl.
func Specs() []*Spec {
	registry.RLock()
	out := make([]*Spec, 0, len(registry.specs))
	for _, s := range registry.specs {
		out = append(out, s)
	}
	registry.RUnlock()
	order := map[Kind]int{}
	for i, k := range Kinds {
		order[k] = i
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return order[out[i].Kind] < order[out[j].Kind]
		}
		return out[i].Impl < out[j].Impl
	})
	return out
}

// ConfigError is what a config's Validate returns to point at one key; the
// config loader turns Key into a file line.
type ConfigError struct {
	Key string // toml key, dotted for nested tables ("roi.x_range")
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

// ConfigErrorf returns a *ConfigError for key.
func ConfigErrorf(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
