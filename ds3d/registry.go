package ds3d

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Validator is implemented by a component config with rules that tie
// several keys together: Validate checks the values after defaults, TOML
// and the tag rules (rules.go) are applied, and returns a *ConfigError
// naming the offending key (its toml name). A config whose rules are all
// tags needs no Validate.
type Validator interface {
	Validate() error
}

// Updater is implemented by a component with runtime-updatable keys (tagged
// `runtime:"true"`). The pipeline calls Update on the component's own
// goroutine, between two datamaps, with a fresh config of the component's
// type: the running config with the changed keys applied, validated like a
// config at load. Update must take what it needs from cfg and keep no
// reference to its slices or maps beyond that; an error refuses the change.
type Updater interface {
	Update(cfg any) error
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
	if err := CheckConfig(cfg); err != nil {
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
// without a default, and the rule tags of rules.go (enum, min, max, unit,
// nonempty, path, runtime) state the checks the loader makes. Embedded
// structs (and fields tagged `toml:",squash"`) are groups whose keys are the
// config's own. Register panics on a programming error (a duplicate impl, a
// config that is not a struct pointer, an undocumented field, a malformed
// rule tag), so such mistakes in a built-in package fail every test at once;
// code that registers at run time (tests, plugins) calls TryRegister.
func Register[C any](kind Kind, impl, doc string, newC func() C, build func(C, *Env) (any, error)) {
	if err := TryRegister(kind, impl, doc, newC, build); err != nil {
		panic(err.Error())
	}
}

// ErrDuplicate is what TryRegister returns (wrapped) for an impl name that is
// already registered.
var ErrDuplicate = errors.New("registered twice")

// TryRegister is Register returning its error instead of panicking: a
// second registration of the same impl wraps ErrDuplicate and leaves the
// first in place.
func TryRegister[C any](kind Kind, impl, doc string, newC func() C, build func(C, *Env) (any, error)) error {
	if !kind.Valid() {
		return fmt.Errorf("ds3d.Register(%q): unknown kind %q", impl, kind)
	}
	if impl == "" {
		return errors.New("ds3d.Register: empty impl name")
	}
	if newC == nil || build == nil {
		return fmt.Errorf("ds3d.Register(%q): nil config or build function", impl)
	}
	sample := newC()
	t := reflect.TypeOf(sample)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("ds3d.Register(%q): config must be a pointer to a struct, got %T", impl, sample)
	}
	fields, err := fieldsOf(t.Elem(), reflect.ValueOf(sample).Elem(), "")
	if err != nil {
		return fmt.Errorf("ds3d.Register(%q): %w", impl, err)
	}
	s := &Spec{
		Kind: kind, Impl: impl, Doc: strings.TrimSpace(doc), Fields: fields,
		configType: t.Elem(),
		newConfig:  func() any { return newC() },
		build:      func(c any, env *Env) (any, error) { return build(c.(C), env) },
	}
	registry.Lock()
	defer registry.Unlock()
	if prev, dup := registry.specs[impl]; dup {
		return fmt.Errorf("ds3d.Register: impl %q (%s) %w (first as a %s with config %s)", impl, kind, ErrDuplicate, prev.Kind, prev.configType)
	}
	registry.specs[impl] = s
	return nil
}

// Unregister removes impl from the registry and reports whether it was
// there. It is for tests that register a component for their own run;
// a pipeline built before keeps the components it built.
func Unregister(impl string) bool {
	registry.Lock()
	defer registry.Unlock()
	_, ok := registry.specs[impl]
	delete(registry.specs, impl)
	return ok
}

var elsewhere sync.Map // impl → hint

// RegisterElsewhere names impls that exist only in another build of the
// program (the cuda build's GPU components), with what to do to get them
// ("rebuild with -tags cuda (make build-cuda)"): the config loader says so
// instead of "not registered". Call it from init() in the build that lacks
// them; a registered impl of the same name wins.
func RegisterElsewhere(hint string, impls ...string) {
	for _, impl := range impls {
		elsewhere.Store(impl, hint)
	}
}

// Elsewhere returns the hint RegisterElsewhere gave for impl.
func Elsewhere(impl string) (string, bool) {
	h, ok := elsewhere.Load(impl)
	if !ok {
		return "", false
	}
	return h.(string), true
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

// ConfigError is what a config's Validate (or a broken tag rule) returns to
// point at one key; the config loader turns Key into a file line.
type ConfigError struct {
	Key string // toml key, dotted for nested tables ("roi.x_range")
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

// ConfigErrorf returns a *ConfigError for key.
func ConfigErrorf(key, format string, args ...any) error {
	return &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
}
