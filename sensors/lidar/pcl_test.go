package lidar

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestPCLConvert has PCL's own reader and writer (pcl-tools'
// pcl_convert_pcd_ascii_binary) check our binary_compressed both ways: PCL
// decompresses what our LZF compressor wrote, and we read what PCL's
// compressor wrote.
func TestPCLConvert(t *testing.T) {
	tool := testenv.Tool(t, "pcl_convert_pcd_ascii_binary", "apt-get install pcl-tools")
	dir := t.TempDir()
	for _, rel := range []string{"pcd-ply/pcl/five_people.pcd", "pcd-ply/pcl/cturtle.pcd",
		"lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd"} {
		orig, err := ReadFile(sampledata.Shared(t, rel), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ours := filepath.Join(dir, "ours.pcd")
		if err := WriteFile(ours, orig, "binary_compressed"); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []string{"1", "2"} { // PCL binary, PCL binary_compressed
			theirs := filepath.Join(dir, "pcl"+mode+".pcd")
			testenv.Output(t, exec.Command(tool, ours, theirs, mode))
			back, err := ReadFile(theirs, ReadOptions{})
			if err != nil {
				t.Fatalf("%s via PCL mode %s: %v", rel, mode, err)
			}
			sameCloud(t, rel+" via PCL mode "+mode, back, orig, true)
			os.Remove(theirs)
		}
	}
}
