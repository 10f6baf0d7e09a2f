package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleConfigsRun validates and runs every TOML pipeline under apps/
// (the sample apps and apps/examples), so a config that ships is a config
// that works.
func TestExampleConfigsRun(t *testing.T) {
	var configs []string
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".toml") && !strings.Contains(p, "/testdata/") {
			configs = append(configs, p)
		}
		return nil
	})
	if len(configs) < 2 {
		t.Fatalf("found only %v", configs)
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			if code, out, errs := runCmd(t, "validate", c); code != 0 {
				t.Fatalf("validate %s: exit %d\n%s%s", c, code, out, errs)
			}
			if code, out, errs := runCmd(t, "run", "--quiet", c); code != 0 {
				t.Fatalf("run %s: exit %d\n%s%s", c, code, out, errs)
			}
		})
	}
}
