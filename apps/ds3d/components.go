package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

func cmdComponents(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("components", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d components [IMPL...]\n\nLists every registered component, or the named ones, with their config keys, types, defaults and docs.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	specs := ds3d.Specs()
	if fs.NArg() > 0 {
		specs = specs[:0:0]
		for _, name := range fs.Args() {
			s, ok := ds3d.Lookup(name)
			if !ok {
				fmt.Fprintf(stderr, "ds3d components: no component %q is registered\n", name)
				return 1
			}
			specs = append(specs, s)
		}
	} else {
		fmt.Fprintln(stdout, "Every [[component]] table takes these keys:")
		writeFields(stdout, config.ComponentKeys(), "  ")
		fmt.Fprintln(stdout)
	}
	for i, s := range specs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		WriteSpec(stdout, s)
	}
	return 0
}

// WriteSpec documents one component: impl, kind, doc and its config keys.
func WriteSpec(w io.Writer, s *ds3d.Spec) {
	fmt.Fprintf(w, "%s (%s)\n", s.Impl, s.Kind)
	fmt.Fprintf(w, "  %s\n", s.Doc)
	if len(s.Fields) == 0 {
		fmt.Fprintln(w, "  [component.config]: no keys")
		return
	}
	fmt.Fprintln(w, "  [component.config]:")
	writeFields(w, s.Fields, "    ")
}

func writeFields(w io.Writer, fields []ds3d.Field, indent string) {
	for _, f := range fields {
		var extra []string
		if f.Required {
			extra = append(extra, "required")
		} else if f.Default != "" {
			extra = append(extra, "default "+f.Default)
		}
		e := ""
		if len(extra) > 0 {
			e = ", " + strings.Join(extra, ", ")
		}
		fmt.Fprintf(w, "%s%s (%s%s): %s\n", indent, f.Name, f.Type, e, f.Doc)
		if len(f.Fields) > 0 {
			writeFields(w, f.Fields, indent+"  ")
		}
	}
}
