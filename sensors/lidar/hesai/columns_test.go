package hesai_test

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/hesai"
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

// TestColumns checks the ring, time and return columns of the XT32 dual
// capture against what the packets and the angle table say independently
// of the decoder's bookkeeping:
//   - ring: each point's elevation atan2(z, √(x²+y²)) is the angle table's
//     (../shared/.../PandarXT32.csv) elevation of its ring within 0.01°;
//   - time: within a scan the points' azimuth (unwrapped, per channel
//     0) grows with their time at the motor speed the packet tail reports
//     (599 rpm: 3594°/s) within 0.5 %, and successive firings of a
//     channel are a whole number of 50 µs firing periods apart within
//     1 µs (the packet timestamps' resolution);
//   - return: in dual mode 0x39 where a firing kept both echoes of a
//     channel, the one marked last (1, the second block) is the farther in
//     every pair (the last echo is the farthest by definition), and the
//     other is marked strongest (0) where it is at least as bright and
//     second strongest (3) where not; echoes kept once are marked 2.
func TestColumns(t *testing.T) {
	tab, err := hesai.LoadAngles(sampledata.Shared(t, "lidar-raw/hesai/PandarXT32.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ps, ts := packets(t)
	h, err := hesai.ParseHeader(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	if h.MotorRPM < 590 || h.MotorRPM > 610 || h.ReturnMode != hesai.ModeLastStrongest {
		t.Fatalf("capture: %d rpm, mode %#x", h.MotorRPM, h.ReturnMode)
	}
	scans, _ := decodeAll(t, hesai.Config{Angles: &tab}, ps, ts)
	pairs, farther, brighter, both := 0, 0, 0, 0
	for si, s := range scans {
		w := s.wide
		n := len(w) / 7
		var ts0, az0 []float64
		type key struct {
			t    float32
			ring float32
		}
		byFiring := map[key][]int{}
		for i := 0; i < n; i++ {
			p := w[7*i : 7*i+7]
			x, y, z := float64(p[0]), float64(p[1]), float64(p[2])
			ring := int(p[4])
			if ring < 0 || ring >= len(tab.Elevation) || float32(ring) != p[4] {
				t.Fatalf("scan %d point %d: ring %v", si, i, p[4])
			}
			if el := math.Atan2(z, math.Hypot(x, y)) * 180 / math.Pi; math.Abs(el-tab.Elevation[ring]) > 0.01 {
				t.Fatalf("scan %d point %d: elevation %.3f°, ring %d's is %.3f°", si, i, el, ring, tab.Elevation[ring])
			}
			if ring == 0 && (p[6] == 1 || p[6] == 2) { // the second block: one echo per firing
				ts0 = append(ts0, float64(p[5]))
				az0 = append(az0, -math.Atan2(y, x)*180/math.Pi) // clockwise from forward
			}
			if p[6] == 2 {
				both++
			}
			k := key{p[5], p[4]}
			byFiring[k] = append(byFiring[k], i)
		}
		for _, idx := range byFiring {
			if len(idx) != 2 {
				continue
			}
			// The decoder appends a firing's first block before its second.
			b, a := w[7*idx[0]:7*idx[0]+7], w[7*idx[1]:7*idx[1]+7]
			want := float32(0)
			if b[3] < a[3] {
				want = 3
			}
			if a[6] != 1 || b[6] != want {
				t.Fatalf("scan %d: a firing's echoes (intensity %v then %v) are marked %v and %v, want %v and 1", si, b[3], a[3], b[6], a[6], want)
			}
			pairs++
			ra := math.Sqrt(float64(a[0]*a[0] + a[1]*a[1] + a[2]*a[2]))
			rb := math.Sqrt(float64(b[0]*b[0] + b[1]*b[1] + b[2]*b[2]))
			if ra > rb {
				farther++
			}
			if b[3] >= a[3] {
				brighter++
			}
		}
		if len(ts0) < 100 {
			continue
		}
		// Unwrap the azimuth and fit its slope against time.
		for i := 1; i < len(az0); i++ {
			for az0[i]-az0[i-1] < -180 {
				az0[i] += 360
			}
			for az0[i]-az0[i-1] > 180 {
				az0[i] -= 360
			}
		}
		var st, sa, stt, sta float64
		for i := range ts0 {
			st, sa, stt, sta = st+ts0[i], sa+az0[i], stt+ts0[i]*ts0[i], sta+ts0[i]*az0[i]
		}
		m := float64(len(ts0))
		slope := (m*sta - st*sa) / (m*stt - st*st)
		gaps := 0
		for i := 1; i < len(ts0); i++ {
			d := (ts0[i] - ts0[i-1]) * 1e6
			if k := math.Round(d / 50); k >= 1 && math.Abs(d-50*k) > 1.05 {
				gaps++
			}
		}
		t.Logf("scan %d: %d points, channel 0 sweeps %.1f °/s over %.2f ms; %d firing steps off the 50 µs grid", si, n, slope, (ts0[len(ts0)-1]-ts0[0])*1e3, gaps)
		if want := 6 * float64(h.MotorRPM); math.Abs(slope-want) > 0.005*want || gaps > 0 {
			t.Errorf("scan %d: azimuth rate %.1f °/s from the time column (want %.0f ± 0.5 %%), %d steps off the 50 µs grid", si, slope, want, gaps)
		}
	}
	t.Logf("%d firings kept both echoes of a channel; the last is the farther in %d; the other is the strongest (at least as bright) in %d", pairs, farther, brighter)
	if pairs == 0 || farther != pairs {
		t.Errorf("of %d two-echo firings the last-marked echo is the farther in %d", pairs, farther)
	}
	if both == 0 {
		t.Error("no echo marked 2 (last and strongest the same echo)")
	}
}
