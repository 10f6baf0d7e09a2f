package lidar_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// FuzzReadList feeds arbitrary bytes to both list parsers (TOML and ds3d
// YAML): any error is fine, a panic is not. Seeds: the bundled list and
// the YAML form.
func FuzzReadList(f *testing.F) {
	if b, err := os.ReadFile(sampledata.Sample(f, "kitti/lidar_list.toml")); err == nil {
		f.Add(b, false)
	}
	f.Add([]byte("source-id: 3\nlidar_data_list:\n  - 0: a.bin\n  - 50: b.bin\n"), true)
	f.Add([]byte("- timestamp: 10\n  path: a.bin\n"), true)
	f.Add([]byte("[[frame]]\ntimestamp_ns = 5\npath = \"a.bin\"\n"), false)
	dir := f.TempDir()
	// Files the lists may name, so parsing reaches the existence checks.
	for _, n := range []string{"a.bin", "b.bin"} {
		os.WriteFile(filepath.Join(dir, n), make([]byte, 16), 0o644)
	}
	f.Fuzz(func(t *testing.T, data []byte, yaml bool) {
		name := "list.toml"
		if yaml {
			name = "list.yaml"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Skip()
		}
		l, err := lidar.ReadList(p)
		if err == nil && len(l.Entries) == 0 {
			t.Fatal("a list without frames was accepted")
		}
	})
}
