package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestExampleConfigsRun validates and runs every TOML pipeline under apps/
// (the sample apps and apps/examples), so a config that ships is a config
// that works.
func TestExampleConfigsRun(t *testing.T) {
	var configs []string
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".toml") && !strings.Contains(p, "/testdata/") &&
			// apps/v2x-cloud's configs need a NATS cluster and an MQTT broker:
			// TestE2EV2XCloudDemo runs them.
			!strings.Contains(p, "/v2x-cloud/") {
			configs = append(configs, p)
		}
		return nil
	})
	if len(configs) < 2 {
		t.Fatalf("found only %v", configs)
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			// GPU pipelines (config_cuda.toml) need the cuda build tag and
			// a GPU; CI's cuda-check builds them, the GPU machine runs them.
			if _, ok := ds3d.Lookup("to_gpu"); strings.HasSuffix(c, "_cuda.toml") && !ok {
				t.Skipf("%s needs a -tags cuda build", c)
			}
			if code, out, errs := runCmd(t, "validate", c); code != 0 {
				t.Fatalf("validate %s: exit %d\n%s%s", c, code, out, errs)
			}
			if code, out, errs := runCmd(t, "run", "--quiet", c); code != 0 {
				t.Fatalf("run %s: exit %d\n%s%s", c, code, out, errs)
			}
		})
	}
}
