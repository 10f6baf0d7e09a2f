package ouster_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
)

// interleave builds the [N,7] frame a loader makes from a scan: x y z
// intensity from pts, then one value of each further column per point.
func interleave(pts []float32, cols ...[]float32) []float32 {
	n, c := len(pts)/4, 4+len(cols)
	out := make([]float32, 0, n*c)
	for i := 0; i < n; i++ {
		out = append(out, pts[4*i:4*i+4]...)
		for _, col := range cols {
			out = append(out, col[i])
		}
	}
	return out
}

var wantColumns = []string{"x", "y", "z", "intensity", "ring", "time", "return"}

// wideScanOf is dstest.ScanOf keeping every column of the loader's frame,
// which must be named x y z intensity ring time return.
func wideScanOf(m *ds3d.DataMap) (dstest.Scan, error) {
	f, err := ds3d.Get[*ds3d.Frame](m, ds3d.KeyLidarXYZI)
	if err != nil {
		return dstest.Scan{}, err
	}
	if !slices.Equal(f.Columns(), wantColumns) {
		return dstest.Scan{}, fmt.Errorf("columns %v, want %v", f.Columns(), wantColumns)
	}
	return dstest.Scan{Meta: dstest.MetaOf(m), Points: slices.Clone(ds3d.AsFloat32(f)[:f.Shape.Elements()])}, nil
}

// TestColumns checks ring, time and return of every capture against the
// packets and the metadata:
//   - time: the frame's times span exactly its first to last column
//     timestamps (for OS-1-32-G, PROVENANCE.md's 99,910,300 ns) within
//     float32 rounding, every column's points share one time, and times
//     grow with the measurement id;
//   - ring: a point farther than 10 m lies closest in elevation (seen from
//     the beams' origin) to the metadata's beam_altitude_angles entry of
//     its ring, for 99.5 % of them;
//   - return: the dual profile's RANGE2 echoes are marked 3 and their
//     count equals the non-zero RANGE2 pixels of ouster-sdk's image layout
//     (Config.Images), the RANGE ones 0.
func TestColumns(t *testing.T) {
	for ci, c := range captures {
		t.Run(c.name, func(t *testing.T) {
			m := meta(t, c.name)
			ps, ts, _ := packets(t, c.name, ouster.Port)
			d, err := ouster.NewDecoder(ouster.Config{Meta: m, Images: true})
			if err != nil {
				t.Fatal(err)
			}
			emit := func(s *ouster.Scan) error {
				n := s.Len()
				if len(s.Ring) != n || len(s.Time) != n || len(s.Return) != n {
					t.Fatalf("columns of %d/%d/%d values for %d points", len(s.Ring), len(s.Time), len(s.Return), n)
				}
				tmax := slices.Max(s.Time)
				span := float64(s.ColumnTimeLast-s.ColumnTimeFirst) * 1e-9
				if math.Abs(float64(tmax)-span) > 1e-8 || slices.Min(s.Time) != 0 {
					t.Errorf("frame %d: times %v..%v s, column timestamps span %v s", s.FrameID, slices.Min(s.Time), tmax, span)
				}
				if ci == 0 && math.Abs(float64(tmax)-99910300e-9) > 1e-8 {
					t.Errorf("frame time span %v s, PROVENANCE.md says 0.0999103 s", tmax)
				}
				near, far, r2, r2px := 0, 0, 0, 0
				for i := 0; i < n; i++ {
					x, y, z := float64(s.Points[4*i]), float64(s.Points[4*i+1]), float64(s.Points[4*i+2])
					if i > 0 && s.Time[i] < s.Time[i-1] && s.FirstMeasurementID == 0 {
						t.Fatalf("point %d: time %v after %v", i, s.Time[i], s.Time[i-1])
					}
					if s.Return[i] == 3 {
						r2++
					} else if s.Return[i] != 0 {
						t.Fatalf("point %d: return %v", i, s.Return[i])
					}
					if math.Hypot(x, y) < 10 {
						continue
					}
					far++
					// Elevation seen from the beams' origin (lidar_to_sensor's
					// and beam_to_lidar's z offsets, mm).
					el := math.Atan2(z-(m.LidarToSensor[11]+m.BeamToLidar[11])/1000, math.Hypot(x, y)) * 180 / math.Pi
					best := 0
					for b, a := range m.BeamAltitude {
						if math.Abs(a-el) < math.Abs(m.BeamAltitude[best]-el) {
							best = b
						}
					}
					if float32(best) == s.Ring[i] {
						near++
					}
				}
				for _, v := range s.Range2 {
					if v != 0 {
						r2px++
					}
				}
				t.Logf("frame %d: %d points, time 0..%.6f s; %d of %d far points nearest their ring's beam; %d second echoes (%d non-zero RANGE2 pixels)",
					s.FrameID, n, tmax, near, far, r2, r2px)
				if far == 0 || float64(near) < 0.995*float64(far) {
					t.Errorf("frame %d: only %d of %d far points lie nearest their ring's beam", s.FrameID, near, far)
				}
				if r2 != r2px {
					t.Errorf("frame %d: %d points marked second strongest, %d non-zero RANGE2 pixels", s.FrameID, r2, r2px)
				}
				return nil
			}
			for i, p := range ps {
				if err := d.Decode(p, ts[i], emit); err != nil {
					t.Fatal(err)
				}
			}
			d.Flush(emit)
		})
	}
}
