package velodyne_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
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

// match pairs every point of a (stride 4) with its nearest point of b
// within tol metres (−1 when none), through a grid of tol-sized cells.
func match(a, b []float32, tol float32) []int {
	type cell [3]int32
	key := func(x, y, z float32) cell {
		return cell{int32(math.Floor(float64(x / tol))), int32(math.Floor(float64(y / tol))), int32(math.Floor(float64(z / tol)))}
	}
	grid := map[cell][]int{}
	for j := 0; j < len(b)/4; j++ {
		k := key(b[4*j], b[4*j+1], b[4*j+2])
		grid[k] = append(grid[k], j)
	}
	out := make([]int, len(a)/4)
	for i := range out {
		x, y, z := a[4*i], a[4*i+1], a[4*i+2]
		k := key(x, y, z)
		best, bd := -1, tol*tol
		for dx := int32(-1); dx <= 1; dx++ {
			for dy := int32(-1); dy <= 1; dy++ {
				for dz := int32(-1); dz <= 1; dz++ {
					for _, j := range grid[cell{k[0] + dx, k[1] + dy, k[2] + dz}] {
						ex, ey, ez := b[4*j]-x, b[4*j+1]-y, b[4*j+2]-z
						if d := ex*ex + ey*ey + ez*ez; d <= bd {
							best, bd = j, d
						}
					}
				}
			}
		}
		out[i] = best
	}
	return out
}

// TestColumnsAgainstNebula checks ring, time and return against the
// channel, time_stamp and return_type fields of nebula's VLP-16 dual
// reference cloud (an independent decoder; PROVENANCE.md). Each reference
// point is paired with our nearest point within 1 cm (decoded with nebula's
// interpolation and range limits), then:
//   - ring == channel for every pair (both rank the lasers by elevation);
//   - return agrees for ≥ 99 % of the pairs: nebula's IDENTICAL (6) is our
//     2; nebula names a dual pair's echoes by block position, the even
//     block FIRST_WEAK / FIRST_STRONG (4, 9), the odd one LAST_WEAK /
//     LAST_STRONG (5, 10), but the even block holds the farther echo (in
//     this cloud 2.25 m against 0.73 m, …), the last one as the VLP-16
//     manual's dual-return layout says, so 4, 9 are our 1 and 5, 10 our 0.
//     The rest (under 1 %) are echoes whose ranges differ by a few mm,
//     which nebula merges as IDENTICAL and we keep as two;
//   - time: nebula's time_stamp holds only the firing's offset in its
//     packet (it spans 0–1.3 ms, not the rotation), counting each block of
//     a dual packet as its own 110.592 µs firing cycle where the manual
//     (and ros-drivers velodyne_pointcloud) give both blocks of a pair the
//     same firing; so the check is on firings of one block: between
//     consecutive reference points of the same nebula block the time step
//     must be ours within 0.25 µs (nebula's values jitter by ~80 ns) for
//     ≥ 99.9 % of them (steps that cross to the next packet with the same
//     block index, ours a packet period longer, are counted apart; nebula's
//     last block pair, 10 and 11, is left out: nebula does not interpolate
//     its azimuth, so its two firing sequences coincide where the ranges
//     do and a reference point pairs with either). The rotation scale is checked on our own: every
//     complete scan's times increase with the points (but for a dual
//     pair's second block, which repeats the first's firings) and span
//     98.5–100.5 ms (the capture's ~601 rpm).
func TestColumnsAgainstNebula(t *testing.T) {
	c, err := lidar.ReadFile(sampledata.Shared(t, "lidar-raw/velodyne/golden/nebula_vlp16_dual_1673400472138016708.pcd"), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	gold := ds3d.AsFloat32(c.Points)[:4*c.Len()]
	field := map[string]*lidar.Field{}
	for i := range c.Fields {
		field[c.Fields[i].Name] = &c.Fields[i]
	}
	for _, name := range []string{"channel", "time_stamp", "return_type"} {
		if field[name] == nil || field[name].Data == nil {
			t.Fatalf("reference lacks field %s", name)
		}
	}
	ps, ts := packets(t, "vlp16_dual_nebula.DERIVED.pcap")
	scans, _ := decodeAll(t, velodyne.Config{MinRange: 0.3, MaxRange: 300, Interpolation: velodyne.InterpNebula}, ps, ts)
	best, bestF := -1, -1.0
	for i, s := range scans {
		if f := dstest.WithinFraction(gold, s.pts, 0.01); f > bestF {
			best, bestF = i, f
		}
		if !s.complete {
			continue
		}
		for k := 1; k < len(s.time); k++ {
			// A dual pair's second block repeats the first's firing times.
			if s.time[k] < s.time[k-1]-111e-6 || s.time[0] < 0 {
				t.Fatalf("scan %d: time %v at point %d after %v", i, s.time[k], k, s.time[k-1])
			}
		}
		if span := s.time[len(s.time)-1] - s.time[0]; span < 0.0985 || span > 0.1005 {
			t.Errorf("complete scan %d spans %.4f s, want one rotation (~0.0998 s)", i, span)
		}
	}
	s := scans[best]
	m := match(gold, s.pts, 0.01)
	matched, ringBad, retBad := 0, 0, 0
	conf := map[[2]float64]int{}
	wantRet := map[float64]float32{6: 2, 4: 1, 9: 1, 5: 0, 10: 0}
	for i, j := range m {
		if j < 0 {
			continue
		}
		matched++
		if float64(s.ring[j]) != field["channel"].Value(i, 0) {
			ringBad++
		}
		if nr := field["return_type"].Value(i, 0); wantRet[nr] != s.ret[j] {
			retBad++
			conf[[2]float64{nr, float64(s.ret[j])}]++
		}
	}
	if matched < c.Len()*99/100 {
		t.Fatalf("only %d of %d reference points paired within 1 cm", matched, c.Len())
	}
	if ringBad > 0 {
		t.Errorf("of %d pairs: %d ring ≠ channel", matched, ringBad)
	}
	if retBad > matched/100 {
		t.Errorf("of %d pairs: %d return ≠ return_type (nebula, ours: count %v)", matched, retBad, conf)
	}
	steps, off, crossed := 0, 0, 0
	worst := 0.0
	for i := 1; i < len(m); i++ {
		a, b := m[i-1], m[i]
		na, nb := field["time_stamp"].Value(i-1, 0), field["time_stamp"].Value(i, 0)
		blk := math.Floor(na / 110592)
		if a < 0 || b < 0 || blk != math.Floor(nb/110592) || blk >= 10 {
			continue
		}
		e := math.Abs(float64(s.time[b]-s.time[a])*1e9 - (nb - na))
		if k := math.Round(e / 663552); k > 0 && math.Abs(e-k*663552) < 2000 {
			crossed++ // consecutive in the cloud but a packet apart (~663.552 µs each)
			continue
		}
		steps++
		worst = max(worst, e)
		if e > 250 {
			off++
		}
	}
	t.Logf("scan %d: %d pairs, %d return mismatches %v; %d in-block time steps (%d more a packet apart), worst %.0f ns off nebula's, %d beyond 250 ns",
		best, matched, retBad, conf, steps, crossed, worst, off)
	if steps < matched/2 || crossed > steps/20 || off > steps/1000 {
		t.Errorf("%d of %d in-block time steps differ from nebula's by > 250 ns", off, steps)
	}
}
