package writer_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne" // pcap_file_loader's sensor
)

// TestPointCloudWriterKeepsColumns: the VLP-16 capture's scans (x y z
// intensity ring time return from the Velodyne driver) written by
// pointcloud_writer as PCD and PLY read back with every column under its
// name and the driver's values bit for bit; .bin keeps x y z intensity.
func TestPointCloudWriterKeepsColumns(t *testing.T) {
	path := sampledata.Shared(t, "lidar-raw/velodyne/vlp16_strongest_2018.pcap")
	type scan struct {
		cols []string
		vals []float32
	}
	scans := dstest.MustRecord(t, "", "pcap_file_loader", fmt.Sprintf("path = %q\nmem_pool_size = 4", path), func(m *ds3d.DataMap) (scan, error) {
		f, err := m.Frame(ds3d.KeyLidarXYZI)
		if err != nil {
			return scan{}, err
		}
		return scan{slices.Clone(f.Columns()), slices.Clone(ds3d.AsFloat32(f)[:f.Shape.Elements()])}, nil
	})
	want := scans[len(scans)-1]
	if len(want.cols) != 7 {
		t.Fatalf("driver columns %v", want.cols)
	}
	fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(len(want.vals)/7, 7))
	copy(ds3d.AsFloat32(fr), want.vals)
	fr.SetColumns(want.cols...)
	for _, tc := range []struct{ file, enc string }{{"%06d.pcd", "binary_compressed"}, {"%06d.pcd", "ascii"}, {"%06d.ply", ""}, {"%06d.bin", ""}} {
		out := t.TempDir()
		w := build(t, "pointcloud_writer", fmt.Sprintf("output_dir = %q\nfilename = %q\nencoding = %q", out, tc.file, tc.enc), nil)
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyLidarXYZI, fr)
		m.SetInt64(ds3d.KeyFrameNumber, 1)
		render(t, w, m)
		back, err := lidar.ReadFile(filepath.Join(out, fmt.Sprintf(tc.file, 1)), lidar.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := back.Len()
		if n != len(want.vals)/7 {
			t.Fatalf("%s: %d points, want %d", tc.file, n, len(want.vals)/7)
		}
		pts := ds3d.AsFloat32(back.Points)
		cols := 7
		if filepath.Ext(tc.file) == ".bin" {
			cols = 4
		}
		for k := 0; k < cols; k++ {
			var fd *lidar.Field
			if k >= 4 {
				if fd = back.Field(want.cols[k]); fd == nil {
					t.Fatalf("%s %s: no field %s", tc.file, tc.enc, want.cols[k])
				}
			}
			for i := 0; i < n; i++ {
				v := float64(0)
				if k < 4 {
					v = float64(pts[4*i+k])
				} else {
					v = fd.Value(i, 0)
				}
				if float32(v) != want.vals[7*i+k] {
					t.Fatalf("%s %s: point %d %s = %v, want %v", tc.file, tc.enc, i, want.cols[k], v, want.vals[7*i+k])
				}
			}
		}
	}
}
