package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
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
			// apps/scale-bench's configs pace their streams in real time
			// for tens of seconds: validated here, run by
			// TestE2EScaleBenchConfigs.
			if isPacedBench(c) {
				return
			}
			if code, out, errs := runCmd(t, "run", "--quiet", c); code != 0 {
				t.Fatalf("run %s: exit %d\n%s%s", c, code, out, errs)
			}
		})
	}
}

func isPacedBench(path string) bool { return strings.Contains(filepath.ToSlash(path), "/scale-bench/") }

// TestE2EScaleBenchConfigs runs the real-time benchmark configs of
// apps/scale-bench (1 and 16 paced lidar streams, 8 video streams) to
// their end, as TestExampleConfigsRun does for every other shipped config.
func TestE2EScaleBenchConfigs(t *testing.T) {
	testenv.E2E(t)
	configs, err := filepath.Glob("../scale-bench/*.toml")
	if err != nil || len(configs) < 3 {
		t.Fatalf("scale-bench configs: %v %v", configs, err)
	}
	for _, c := range configs {
		t.Run(filepath.Base(c), func(t *testing.T) {
			if code, out, errs := runCmd(t, "run", "--quiet", c); code != 0 {
				t.Fatalf("run %s: exit %d\n%s%s", c, code, out, errs)
			}
		})
	}
}
