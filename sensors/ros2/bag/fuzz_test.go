package bag_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// FuzzMCAP reads mutated MCAP files (seeded with rosbag2's own bags):
// errors name the file, nothing panics. Each input is read twice: as
// Inspect does, chunk CRCs checked first, and with SkipCRC, so that
// mutations inside chunks reach the MCAP library and the decoder too.
func FuzzMCAP(f *testing.F) {
	for _, rel := range []string{"ros2-bags/talker/talker.mcap", "ros2-bags/cdr_test/cdr_test_0.mcap", "ros2-bags/test_bag_for_seek/test_bag_for_seek_0.mcap"} {
		data, err := os.ReadFile(sampledata.Shared(f, rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "f.mcap")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := bag.Inspect(p, true)
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error does not name the file: %v", err)
		}
		b, err := bag.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = b.Messages(bag.Options{SkipCRC: true}, func(m *bag.Message) error {
			_, err := m.Decode()
			return err
		})
		if err != nil && !strings.Contains(err.Error(), p) {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
