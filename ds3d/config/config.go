package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/pelletier/go-toml/v2"
)

// Pipeline is a validated pipeline description.
type Pipeline struct {
	File       string // the config file as given ("" when parsed from memory)
	Dir        string // the folder relative paths resolved against
	Name       string
	Realtime   bool
	QueueSize  int
	Components []*Component // in file order
	Edges      []Edge
}

// Component is one validated `[[component]]`.
type Component struct {
	Name      string
	Kind      ds3d.Kind
	Impl      string
	Spec      *ds3d.Spec
	Config    any // *struct of the impl, defaults + TOML applied, validated
	WithQueue string
	QueueSize int
	Leaky     string
	Line      int
	Inputs    int // number of input pads linked
}

// Edge links an output of From to input Port of To (port 0 for
// single-input components, the N of sink_N for mixers).
type Edge struct {
	From, To *Component
	Port     int
}

// Leaky queue modes, named as GStreamer's queue element names them.
const (
	LeakyNo         = "no"         // block the producer (backpressure)
	LeakyUpstream   = "upstream"   // drop the new datamap when the queue is full
	LeakyDownstream = "downstream" // drop the oldest queued datamap
)

// DefaultQueueSize is the capacity of a link's queue unless
// pipeline.queue_size or a component's queue_size says otherwise.
const DefaultQueueSize = 4

// Error is one problem in a config, located at a file line.
type Error struct {
	File      string
	Line      int
	Component string // empty for pipeline-level problems
	Key       string // dotted key path inside the component, or the top-level key
	Msg       string
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Component != "" {
		fmt.Fprintf(&b, "component %q: ", e.Component)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, "key %q: ", e.Key)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one config, in file order.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Load reads and validates a pipeline config file.
func Load(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(path, filepath.Dir(abs), data)
}

// Parse validates a pipeline config held in memory. name is used in error
// messages; dir is the folder relative paths resolve against.
func Parse(name, dir string, data []byte) (*Pipeline, error) {
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		e := &Error{File: name, Msg: err.Error()}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			e.Line, _ = de.Position()
			e.Key = strings.Join(de.Key(), ".")
		}
		return nil, Errors{e}
	}
	l := &loader{file: name, dir: dir, pos: indexPositions(data)}
	p := l.pipeline(raw)
	if len(l.errs) > 0 {
		sort.SliceStable(l.errs, func(i, j int) bool { return l.errs[i].Line < l.errs[j].Line })
		return nil, l.errs
	}
	p.File, p.Dir = name, dir
	return p, nil
}

type loader struct {
	file string
	dir  string
	pos  positions
	errs Errors
}

func (l *loader) fail(path, comp, key, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.file, Line: l.pos.line(path), Component: comp, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// pipelineHeader is the `[pipeline]` table.
type pipelineHeader struct {
	Name        string `toml:"name" doc:"pipeline name, shown in logs and metrics"`
	Description string `toml:"description" doc:"free text"`
	Realtime    bool   `toml:"realtime" doc:"replay sources at their sensor timestamps instead of as fast as possible"`
	QueueSize   int    `toml:"queue_size" doc:"default capacity of every link's queue"`
}

// componentHeader is a `[[component]]` table minus its config.
type componentHeader struct {
	Name      string         `toml:"name" required:"true" doc:"unique component name"`
	Type      string         `toml:"type" required:"true" doc:"component kind: ds3d::dataloader, ds3d::datafilter, ds3d::datamixer, ds3d::datarender or ds3d::databridge"`
	Impl      string         `toml:"impl" required:"true" doc:"registered implementation (see ds3d components)"`
	LinkTo    []string       `toml:"link_to" doc:"downstream component(s), as name or name.sink_N"`
	LinkFrom  []string       `toml:"link_from" doc:"upstream component(s), as name"`
	WithQueue string         `toml:"with_queue" doc:"where this component's queue settings apply: sink (its inputs, the default) or src (its outgoing links)"`
	QueueSize int            `toml:"queue_size" doc:"queue capacity in datamaps"`
	Leaky     string         `toml:"leaky" doc:"full-queue policy: no (backpressure), upstream (drop new), downstream (drop oldest); drops are counted"`
	Config    map[string]any `toml:"config" doc:"the implementation's own keys"`
}

// ComponentKeys documents the keys of a [[component]] table.
func ComponentKeys() []ds3d.Field { return headerFields(reflect.TypeOf(componentHeader{})) }

// PipelineKeys documents the keys of the [pipeline] table.
func PipelineKeys() []ds3d.Field { return headerFields(reflect.TypeOf(pipelineHeader{})) }

func headerFields(t reflect.Type) []ds3d.Field {
	var out []ds3d.Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, _ := ds3d.TOMLKey(sf)
		out = append(out, ds3d.Field{Name: name, Type: ds3d.TypeName(sf.Type), Doc: sf.Tag.Get("doc"), Required: sf.Tag.Get("required") == "true"})
	}
	return out
}

func (l *loader) bindErrs(b *binder, comp string, keyBase string) {
	for _, e := range b.errs {
		key := strings.TrimPrefix(strings.TrimPrefix(e.path, keyBase), ".")
		l.fail(e.path, comp, key, "%s", e.msg)
	}
}

func (l *loader) pipeline(raw map[string]any) *Pipeline {
	p := &Pipeline{QueueSize: DefaultQueueSize}
	for k := range raw {
		if k != "pipeline" && k != "component" {
			l.fail(k, "", k, "unknown top-level key %q (want [pipeline] and [[component]] tables)", k)
		}
	}
	if v, ok := raw["pipeline"]; ok {
		tbl, ok := v.(map[string]any)
		if !ok {
			l.fail("pipeline", "", "pipeline", "expected a table, got %s", tomlTypeOf(v))
		} else {
			h := pipelineHeader{QueueSize: DefaultQueueSize}
			b := &binder{}
			b.bindTable("pipeline", tbl, reflect.ValueOf(&h).Elem())
			l.bindErrs(b, "", "")
			if h.QueueSize < 1 {
				l.fail("pipeline.queue_size", "", "pipeline.queue_size", "must be at least 1, got %d", h.QueueSize)
			}
			p.Name, p.Realtime, p.QueueSize = h.Name, h.Realtime, h.QueueSize
		}
	}
	list, ok := raw["component"].([]any)
	if !ok {
		if _, present := raw["component"]; present {
			l.fail("component", "", "component", "expected [[component]] tables, got %s", tomlTypeOf(raw["component"]))
		} else {
			l.fail("", "", "", "no [[component]] tables: a pipeline needs at least a loader and a sink")
		}
		return p
	}
	byName := map[string]*Component{}
	var links []link
	for i, v := range list {
		base := pathIndex("component", i)
		tbl, ok := v.(map[string]any)
		if !ok {
			l.fail(base, "", "component", "expected a table, got %s", tomlTypeOf(v))
			continue
		}
		c, ls := l.component(base, tbl, p.QueueSize)
		if c == nil {
			continue
		}
		if prev, dup := byName[c.Name]; dup {
			l.fail(pathJoin(base, "name"), c.Name, "name", "duplicate component name (first defined at line %d)", prev.Line)
			continue
		}
		byName[c.Name] = c
		p.Components = append(p.Components, c)
		links = append(links, ls...)
	}
	// Links are checked even when some component's config is bad, so one
	// validate run reports every problem; the graph checks need sound links.
	p.Edges = l.resolveLinks(byName, links)
	if len(l.errs) == 0 {
		l.checkGraph(p)
	}
	return p
}

// link is one link_to / link_from entry before resolution.
type link struct {
	owner   *Component
	path    string // key path of the entry, for its line
	key     string // link_to[i] or link_from[i]
	to      bool   // link_to (owner → other) or link_from (other → owner)
	other   string
	pad     string
	explict bool // a pad was written
}

// dsCompatKeys are ds3d YAML keys that have a TOML counterpart here.
var dsCompatKeys = map[string]string{
	"custom_lib_path":        "impl",
	"custom_create_function": "impl",
	"config_body":            "[component.config]",
	"in_caps":                "(nothing: kinds are checked from the registry)",
	"out_caps":               "(nothing: kinds are checked from the registry)",
}

func (l *loader) component(base string, tbl map[string]any, defQueue int) (*Component, []link) {
	for k, hint := range dsCompatKeys {
		if _, ok := tbl[k]; ok {
			l.fail(pathJoin(base, k), fmt.Sprint(tbl["name"]), k, "ds3d YAML key %q has no place here; use %s (ds3d import-yaml converts whole files)", k, hint)
			delete(tbl, k)
		}
	}
	h := componentHeader{QueueSize: defQueue, Leaky: LeakyNo}
	b := &binder{dir: l.dir}
	b.bindTable(base, tbl, reflect.ValueOf(&h).Elem())
	name := h.Name
	if name == "" {
		name = "(unnamed " + strings.TrimPrefix(base, "component") + ")"
	}
	l.bindErrs(b, name, base)
	c := &Component{Name: h.Name, Kind: ds3d.Kind(h.Type), Impl: h.Impl, WithQueue: h.WithQueue,
		QueueSize: h.QueueSize, Leaky: h.Leaky, Line: l.pos.line(base)}
	if len(b.errs) > 0 {
		if h.Name == "" {
			return nil, nil
		}
		return c, l.links(c, base, h) // reported; kept so links to it resolve
	}
	ok := true
	if !c.Kind.Valid() {
		l.fail(pathJoin(base, "type"), c.Name, "type", "unknown component type %q (want one of %s)", h.Type, kindList())
		ok = false
	}
	switch h.WithQueue {
	case "", "sink", "src":
	default:
		l.fail(pathJoin(base, "with_queue"), c.Name, "with_queue", "expected \"sink\" or \"src\", got %q", h.WithQueue)
		ok = false
	}
	switch h.Leaky {
	case LeakyNo, LeakyUpstream, LeakyDownstream:
	default:
		l.fail(pathJoin(base, "leaky"), c.Name, "leaky", "expected \"no\", \"upstream\" or \"downstream\", got %q", h.Leaky)
		ok = false
	}
	if h.QueueSize < 1 {
		l.fail(pathJoin(base, "queue_size"), c.Name, "queue_size", "must be at least 1, got %d", h.QueueSize)
		ok = false
	}
	spec, found := ds3d.Lookup(h.Impl)
	if hint, other := ds3d.Elsewhere(h.Impl); !found && other {
		l.fail(pathJoin(base, "impl"), c.Name, "impl", "component implementation %q is not in this build: %s", h.Impl, hint)
		ok = false
	} else if !found {
		l.fail(pathJoin(base, "impl"), c.Name, "impl", "no component implementation %q is registered (ds3d components lists them)", h.Impl)
		ok = false
	} else if c.Kind.Valid() && spec.Kind != c.Kind {
		l.fail(pathJoin(base, "type"), c.Name, "type", "type %q does not match impl %q, which is a %s", h.Type, h.Impl, spec.Kind)
		ok = false
	}
	if found {
		c.Spec = spec
		cfg := spec.NewConfig()
		cb := &binder{dir: l.dir}
		cfgPath := pathJoin(base, "config")
		tblCfg := h.Config
		if tblCfg == nil {
			tblCfg = map[string]any{}
		}
		cb.bindTable(cfgPath, tblCfg, reflect.ValueOf(cfg).Elem())
		for _, e := range cb.errs {
			l.fail(e.path, c.Name, "config"+strings.TrimPrefix(e.path, cfgPath), "%s", e.msg)
		}
		if len(cb.errs) == 0 {
			for _, err := range checkConfig(cfg, true) {
				l.configFail(cfgPath, c.Name, err)
				ok = false
			}
		} else {
			ok = false
		}
		c.Config = cfg
	}
	_ = ok // a bad component is reported; it stays for link checks
	return c, l.links(c, base, h)
}

// checkConfig checks a bound config: its tag rules (with paths, also the
// files it names), then, when they hold, its own Validate.
func checkConfig(cfg any, paths bool) []error {
	var errs []error
	for _, e := range ds3d.CheckRules(cfg, paths) {
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		return errs
	}
	if v, ok := cfg.(ds3d.Validator); ok {
		if err := v.Validate(); err != nil {
			return []error{err}
		}
	}
	return nil
}

// configFail reports an error of a component's config at its key's line.
func (l *loader) configFail(cfgPath, comp string, err error) {
	var ce *ds3d.ConfigError
	if errors.As(err, &ce) {
		l.fail(pathJoin(cfgPath, ce.Key), comp, "config."+ce.Key, "%s", ce.Msg)
	} else {
		l.fail(cfgPath, comp, "config", "%v", err)
	}
}

func (l *loader) links(c *Component, base string, h componentHeader) []link {
	var links []link
	add := func(to bool, key string, list []string) {
		for i, s := range list {
			other, pad, hasPad := strings.Cut(s, ".")
			links = append(links, link{owner: c, path: pathIndex(pathJoin(base, key), i), key: fmt.Sprintf("%s[%d]", key, i),
				to: to, other: other, pad: pad, explict: hasPad})
		}
	}
	add(true, "link_to", h.LinkTo)
	add(false, "link_from", h.LinkFrom)
	return links
}

func kindList() string {
	s := make([]string, len(ds3d.Kinds))
	for i, k := range ds3d.Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// sinkPort parses an input pad: "sink" or "sink_N".
func sinkPort(pad string) (int, bool) {
	if pad == "sink" {
		return 0, true
	}
	n, ok := strings.CutPrefix(pad, "sink_")
	if !ok {
		return 0, false
	}
	p, err := strconv.Atoi(n)
	if err != nil || p < 0 || strconv.Itoa(p) != n {
		return 0, false
	}
	return p, true
}

func (l *loader) resolveLinks(byName map[string]*Component, links []link) []Edge {
	type pending struct {
		from, to *Component
		port     int // -1: auto
		lk       link
	}
	var ps []pending
	seen := map[[2]*Component]int{} // from,to → index in ps
	for _, lk := range links {
		other, ok := byName[lk.other]
		if !ok {
			l.fail(lk.path, lk.owner.Name, lk.key, "links to %q, which is not a component of this pipeline", lk.other)
			continue
		}
		from, to := lk.owner, other
		if !lk.to {
			from, to = other, lk.owner
		}
		port := -1
		if lk.explict {
			if lk.to {
				p, ok := sinkPort(lk.pad)
				if !ok {
					l.fail(lk.path, lk.owner.Name, lk.key, "bad pad %q on %q: input pads are named sink or sink_N", lk.pad, to.Name)
					continue
				}
				if to.Kind != ds3d.KindMixer && p != 0 {
					l.fail(lk.path, lk.owner.Name, lk.key, "bad pad %q: %s %q has one input pad (sink); only mixers have sink_N", lk.pad, to.Kind, to.Name)
					continue
				}
				port = p
			} else if lk.pad != "src" {
				l.fail(lk.path, lk.owner.Name, lk.key, "bad pad %q on %q: the output pad is named src", lk.pad, from.Name)
				continue
			}
		}
		if !from.Kind.Valid() || !to.Kind.Valid() {
			continue // reported already; nothing more to say about its links
		}
		if !from.Kind.HasOutput() {
			l.fail(lk.path, lk.owner.Name, lk.key, "%q is a %s, which has no output to link from", from.Name, from.Kind)
			continue
		}
		if !to.Kind.HasInput() {
			l.fail(lk.path, lk.owner.Name, lk.key, "%q is a %s, which has no input to link to", to.Name, to.Kind)
			continue
		}
		if from == to {
			l.fail(lk.path, lk.owner.Name, lk.key, "a component cannot link to itself")
			continue
		}
		k := [2]*Component{from, to}
		if i, dup := seen[k]; dup {
			// The same link written on both ends (link_to here, link_from
			// there), as ds3d configs often do: one link, the explicit port wins.
			if port >= 0 {
				if ps[i].port >= 0 && ps[i].port != port {
					l.fail(lk.path, lk.owner.Name, lk.key, "link %s → %s given twice with different pads", from.Name, to.Name)
				}
				ps[i].port = port
			}
			continue
		}
		seen[k] = len(ps)
		ps = append(ps, pending{from: from, to: to, port: port, lk: lk})
	}
	// Assign ports: explicit ones first, then the lowest free port in link order.
	used := map[*Component]map[int]pending{}
	for _, p := range ps {
		if p.port < 0 {
			continue
		}
		if used[p.to] == nil {
			used[p.to] = map[int]pending{}
		}
		if prev, dup := used[p.to][p.port]; dup {
			l.fail(p.lk.path, p.lk.owner.Name, p.lk.key, "pad sink_%d of %q is already linked from %q", p.port, p.to.Name, prev.from.Name)
			continue
		}
		used[p.to][p.port] = p
	}
	var edges []Edge
	for i := range ps {
		p := &ps[i]
		if p.port < 0 {
			if used[p.to] == nil {
				used[p.to] = map[int]pending{}
			}
			n := 0
			for {
				if _, taken := used[p.to][n]; !taken {
					break
				}
				n++
			}
			p.port = n
			used[p.to][n] = *p
		}
		edges = append(edges, Edge{From: p.from, To: p.to, Port: p.port})
	}
	for to, ports := range used {
		to.Inputs = len(ports)
		for n := 0; n < len(ports); n++ {
			if _, ok := ports[n]; !ok {
				l.errs = append(l.errs, &Error{File: l.file, Line: to.Line, Component: to.Name, Msg: fmt.Sprintf("%d inputs are linked but pad sink_%d is not: mixer pads are numbered from sink_0 without gaps", len(ports), n)})
				break
			}
		}
		if to.Kind != ds3d.KindMixer && len(ports) > 1 {
			var from []string
			for _, p := range ports {
				from = append(from, p.from.Name)
			}
			sort.Strings(from)
			l.errs = append(l.errs, &Error{File: l.file, Line: to.Line, Component: to.Name, Msg: fmt.Sprintf("%s has %d upstream links (%s) but one input; merge them with a ds3d::datamixer", to.Kind, len(ports), strings.Join(from, ", "))})
		}
	}
	sort.SliceStable(edges, func(i, j int) bool {
		if edges[i].To != edges[j].To {
			return false
		}
		return edges[i].Port < edges[j].Port
	})
	return edges
}

func (l *loader) checkGraph(p *Pipeline) {
	out := map[*Component][]*Component{}
	for _, e := range p.Edges {
		out[e.From] = append(out[e.From], e.To)
	}
	for _, c := range p.Components {
		if c.Kind.HasInput() && c.Inputs == 0 {
			l.errs = append(l.errs, &Error{File: l.file, Line: c.Line, Component: c.Name, Msg: fmt.Sprintf("%s has no input: link a component to it (link_to on the upstream, or link_from here)", c.Kind)})
		}
		if c.Kind.HasOutput() && len(out[c]) == 0 {
			l.errs = append(l.errs, &Error{File: l.file, Line: c.Line, Component: c.Name, Key: "link_to", Msg: fmt.Sprintf("%s has no downstream link: its output would go nowhere", c.Kind)})
		}
	}
	// Cycle detection by depth-first search with colours; report each cycle once.
	const (
		white = iota
		grey
		black
	)
	colour := map[*Component]int{}
	var stack []*Component
	var visit func(c *Component) bool
	visit = func(c *Component) bool {
		colour[c] = grey
		stack = append(stack, c)
		for _, n := range out[c] {
			switch colour[n] {
			case grey:
				i := len(stack) - 1
				for stack[i] != n {
					i--
				}
				names := []string{}
				for _, s := range stack[i:] {
					names = append(names, s.Name)
				}
				names = append(names, n.Name)
				l.errs = append(l.errs, &Error{File: l.file, Line: n.Line, Component: n.Name, Key: "link_to", Msg: "links form a cycle: " + strings.Join(names, " → ")})
				return true
			case white:
				if visit(n) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		colour[c] = black
		return false
	}
	for _, c := range p.Components {
		if colour[c] == white && visit(c) {
			return
		}
	}
}

// Component returns the component named name, or nil.
func (p *Pipeline) Component(name string) *Component {
	for _, c := range p.Components {
		if c.Name == name {
			return c
		}
	}
	return nil
}
