package config

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps a key path ("component[2].config.element_size") to the line
// where the key (or table header) is written. go-toml's decoder gives typed
// values but forgets where they came from; its parser keeps byte ranges, so
// one walk over the parse tree recovers lines for every error we report.
type positions map[string]int

func pathJoin(base, key string) string {
	if base == "" {
		return key
	}
	return base + "." + key
}

func pathIndex(base string, i int) string { return base + "[" + strconv.Itoa(i) + "]" }

func indexPositions(doc []byte) positions {
	pos := positions{}
	arrays := map[string]int{} // path of an array of tables → element count
	var p unstable.Parser
	p.Reset(doc)
	current := ""
	lineOf := func(n *unstable.Node) int {
		if n == nil || n.Raw.Length == 0 && n.Raw.Offset == 0 {
			return 0
		}
		return p.Shape(n.Raw).Start.Line
	}
	// resolve turns dotted key parts into a path, stepping into the last
	// element of any array of tables on the way (TOML's rule for [a.b]).
	resolve := func(base string, it unstable.Iterator) (string, int) {
		path, line := base, 0
		for it.Next() {
			n := it.Node()
			if line == 0 {
				line = lineOf(n)
			}
			path = pathJoin(path, string(n.Data))
			if c, ok := arrays[path]; ok {
				path = pathIndex(path, c-1)
			}
		}
		return path, line
	}
	var walkValue func(path string, v *unstable.Node, line int)
	walkValue = func(path string, v *unstable.Node, line int) {
		switch v.Kind {
		case unstable.InlineTable:
			it := v.Children()
			for it.Next() {
				kv := it.Node()
				if kv.Kind != unstable.KeyValue {
					continue
				}
				kp, kl := resolve(path, kv.Key())
				if kl == 0 {
					kl = line
				}
				pos[kp] = kl
				walkValue(kp, kv.Value(), kl)
			}
		case unstable.Array:
			it := v.Children()
			i := 0
			for it.Next() {
				e := it.Node()
				if e.Kind == unstable.Comment {
					continue
				}
				ep := pathIndex(path, i)
				el := lineOf(e)
				if el == 0 {
					el = line
				}
				pos[ep] = el
				walkValue(ep, e, el)
				i++
			}
		}
	}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table:
			path, line := resolve("", e.Key())
			current = path
			if _, seen := pos[path]; !seen {
				pos[path] = line
			}
		case unstable.ArrayTable:
			// All parts but the last resolve as usual; the last appends.
			var parts []*unstable.Node
			it := e.Key()
			for it.Next() {
				parts = append(parts, it.Node())
			}
			base := ""
			for _, n := range parts[:len(parts)-1] {
				base = pathJoin(base, string(n.Data))
				if c, ok := arrays[base]; ok {
					base = pathIndex(base, c-1)
				}
			}
			arr := pathJoin(base, string(parts[len(parts)-1].Data))
			arrays[arr]++
			current = pathIndex(arr, arrays[arr]-1)
			pos[current] = lineOf(parts[0])
			if _, seen := pos[arr]; !seen {
				pos[arr] = lineOf(parts[0])
			}
		case unstable.KeyValue:
			kp, kl := resolve(current, e.Key())
			pos[kp] = kl
			walkValue(kp, e.Value(), kl)
		}
	}
	return pos
}

// line returns the line of path, or of its nearest enclosing key or table.
func (ps positions) line(path string) int {
	for path != "" {
		if l, ok := ps[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}
