package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d validate CONFIG...\n\nChecks each config and prints every problem as file:line: component: key: message.")
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, path := range fs.Args() {
		if err := yamlPipeline(path); err != nil {
			fmt.Fprintln(stderr, err)
			code = 1
			continue
		}
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

// yamlPipeline returns an error telling how to convert path when it is a
// DeepStream-3D YAML pipeline rather than a TOML one: by its extension, or
// by a ds3d component type written the YAML way ("type: ds3d::…"), which
// the TOML parser would report only as a syntax error on line 1.
func yamlPipeline(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	yaml := ext == ".yaml" || ext == ".yml"
	if !yaml {
		f, err := os.Open(path)
		if err != nil {
			return nil // config.Load reports it
		}
		defer f.Close()
		head := make([]byte, 64<<10)
		n, _ := io.ReadFull(f, head)
		yaml = yamlTypeLine.Match(head[:n])
	}
	if !yaml {
		return nil
	}
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return fmt.Errorf("%s: a DeepStream-3D YAML pipeline, not a ds3d-go TOML config: convert it with\n  ds3d import-yaml %s > %s.toml", path, path, base)
}

var yamlTypeLine = regexp.MustCompile(`(?m)^\s*type:\s*"?ds3d::`)
