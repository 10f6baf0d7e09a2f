package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d/importyaml"
)

func cmdImportYAML(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import-yaml", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d import-yaml FILE.yaml > config.toml\n\nConverts a DeepStream-3D YAML pipeline to TOML on standard output; what has no counterpart is reported\non standard error with its YAML line, and the exit status is 3 when anything was left out.")
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d import-yaml:", err)
		return 1
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	res, err := importyaml.Convert(path, data, name)
	if err != nil {
		fmt.Fprintln(stderr, "ds3d", err)
		return 1
	}
	stdout.Write(res.TOML)
	for _, i := range res.Issues {
		fmt.Fprintf(stderr, "%s:%s\n", path, strings.TrimPrefix(i.String(), "line "))
	}
	if len(res.Unmapped) > 0 {
		fmt.Fprintf(stderr, "ds3d import-yaml: %d component(s) without a counterpart: %s\n", len(res.Unmapped), strings.Join(res.Unmapped, ", "))
		return 3
	}
	return 0
}
