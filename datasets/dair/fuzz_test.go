package dair

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// FuzzReadLabels feeds arbitrary bytes as a label file, seeded with the
// bundled DAIR-V2X-C label file: ReadLabels returns labels or an error
// naming the file, never panics, and every label it returns is finite.
func FuzzReadLabels(f *testing.F) {
	b, err := os.ReadFile(sampledata.Sample(f, "v2x/dair-v2x-c/infrastructure-side/label/virtuallidar/001366.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`[{"type":"Car","3d_dimensions":{"h":"1","w":1,"l":1},"3d_location":{"x":1,"y":2,"z":3},"rotation":0}]`))
	f.Add([]byte(`[]`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, in []byte) {
		p := filepath.Join(dir, "l.json")
		if err := os.WriteFile(p, in, 0o644); err != nil {
			t.Fatal(err)
		}
		ls, err := ReadLabels(p)
		if err != nil {
			return
		}
		for _, l := range ls {
			b := l.Box()
			if b.CX != b.CX || b.DX != b.DX || b.Yaw != b.Yaw {
				t.Fatalf("non-finite label accepted: %+v", l)
			}
		}
	})
}

// TestSampleMatchesShared: the bundled sample is a byte-identical copy of
// the shared set (checked when the shared data is present).
func TestSampleMatchesShared(t *testing.T) {
	for _, rel := range []string{"infrastructure-side/velodyne/001366.pcd", "infrastructure-side/label/virtuallidar/001366.json",
		"cooperative/calib/lidar_i2v/017314.json", "cooperative/selected_data_info.json"} {
		a, err := os.ReadFile(sampledata.Sample(t, "v2x/dair-v2x-c/"+rel))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(sampledata.Shared(t, root+"/"+rel))
		if err != nil {
			t.Fatal(err)
		}
		if string(a) != string(b) {
			t.Errorf("%s differs from the shared copy", rel)
		}
	}
}
