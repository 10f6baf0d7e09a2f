package dstest

import (
	"math"
	"slices"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Cols6 are the columns of WithRingTime's frames.
var Cols6 = []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing, ds3d.ColTime}

// WithRingTime returns an [N,4] x y z intensity frame as an [N,6] frame
// with a ring and a time column derived from each point's own coordinates,
// as a 64-channel spinning lidar would give them: the ring from the
// elevation (HDL-64E: +2° … −24.9°), the time from the azimuth (10 Hz,
// stamped at the end of the sweep). The filters' column tests run on it.
func WithRingTime(src *ds3d.Frame) *ds3d.Frame {
	n := src.Points()
	s := ds3d.AsFloat32(src)
	f := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 6))
	f.SetColumns(Cols6...)
	d := ds3d.AsFloat32(f)
	for i := 0; i < n; i++ {
		x, y, z := float64(s[4*i]), float64(s[4*i+1]), float64(s[4*i+2])
		elev := math.Atan2(z, math.Hypot(x, y)) * 180 / math.Pi
		ring := math.Min(63, math.Max(0, math.Round((2-elev)/(26.9/63))))
		tm := (math.Atan2(y, x) - math.Pi) / (2 * math.Pi) * 0.1
		copy(d[6*i:], s[4*i:4*i+4])
		d[6*i+4], d[6*i+5] = float32(ring), float32(tm)
	}
	return f
}

// Row4 is the bits of a point's x, y, z, intensity.
type Row4 [4]uint32

// Key4 is the Row4 of the point starting at v.
func Key4(v []float32) Row4 {
	return Row4{math.Float32bits(v[0]), math.Float32bits(v[1]), math.Float32bits(v[2]), math.Float32bits(v[3])}
}

// ExtrasByRow maps each row's x y z intensity bits to the ring and time of
// the rows holding them (of a WithRingTime frame).
func ExtrasByRow(in *ds3d.Frame) map[Row4][][2]float32 {
	c := in.Stride()
	s := ds3d.AsFloat32(in)[:in.Points()*c]
	m := map[Row4][][2]float32{}
	for i := 0; i+c <= len(s); i += c {
		k := Key4(s[i:])
		m[k] = append(m[k], [2]float32{s[i+4], s[i+5]})
	}
	return m
}

// CheckKept fails t unless got6 (a filter's output for the WithRingTime
// frame in6) holds, in order, exactly the points of want4 (its output for
// the 4-column frame) with Cols6's names, and each kept point carries the
// ring and time of an input row with its x, y, z, intensity.
func CheckKept(t *testing.T, what string, in6, got6, want4 *ds3d.Frame) {
	t.Helper()
	if got6.Stride() != 6 || !slices.Equal(got6.Columns(), Cols6) {
		t.Fatalf("%s: output shape %s columns %v, want [N,6] %v", what, got6.Shape, got6.Columns(), Cols6)
	}
	if got6.Points() != want4.Points() {
		t.Fatalf("%s: %d points from the 6-column frame, %d from the 4-column one", what, got6.Points(), want4.Points())
	}
	if want4.Points() == 0 {
		t.Fatalf("%s: nothing kept: a vacuous test", what)
	}
	byRow := ExtrasByRow(in6)
	g, w := ds3d.AsFloat32(got6), ds3d.AsFloat32(want4)
	for i := 0; i < want4.Points(); i++ {
		if Key4(g[6*i:]) != Key4(w[4*i:]) {
			t.Fatalf("%s: point %d is %v, the 4-column run gives %v", what, i, g[6*i:6*i+4], w[4*i:4*i+4])
		}
		if ex := [2]float32{g[6*i+4], g[6*i+5]}; !slices.Contains(byRow[Key4(g[6*i:])], ex) {
			t.Fatalf("%s: point %d %v has ring/time %v, its input rows have %v", what, i, g[6*i:6*i+4], ex, byRow[Key4(g[6*i:])])
		}
	}
}
