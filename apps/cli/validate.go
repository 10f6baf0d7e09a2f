package cli

import (
	"flag"
	"fmt"
	"io"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d validate CONFIG...\n\nChecks each config and prints every problem as file:line: component: key: message.")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		p, err := config.Load(path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok (%d components, %d links)\n", path, len(p.Components), len(p.Edges))
	}
	return code
}
