package ros2_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// seedDir holds CDR messages written by the npm reference (ref.js), the
// seeds of the fuzz targets: TYPE__NAME.cdr with TYPE's slashes as '.'.
const seedDir = "testdata/cdr"

// TestWriteSeeds rewrites testdata/cdr from the reference when
// DS3D_WRITE_SEEDS is set (messages over 64 KiB are left out).
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("DS3D_WRITE_SEEDS") == "" {
		t.Skip("set DS3D_WRITE_SEEDS=1 to rewrite " + seedDir)
	}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range npmSamples(t) {
		if len(s.bytes) > 64<<10 {
			continue
		}
		name := strings.ReplaceAll(s.Type, "/", ".") + "__" + s.Name + ".cdr"
		if err := os.WriteFile(filepath.Join(seedDir, name), s.bytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// seeds returns the saved reference messages of a type ("" for all).
func seeds(tb testing.TB, typ string) [][]byte {
	files, err := filepath.Glob(filepath.Join(seedDir, "*.cdr"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no fuzz seeds in %s (%v)", seedDir, err)
	}
	var out [][]byte
	for _, f := range files {
		if typ != "" && !strings.HasPrefix(filepath.Base(f), strings.ReplaceAll(typ, "/", ".")+"__") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}
