package analytics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TestTrackMap runs random puts, gets and deletes on trackMap and on a Go
// map side by side: the same answers throughout, through growth and
// backward-shift deletions in long probe runs (ids from a small range).
func TestTrackMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m trackMap
	ref := map[int64]int32{}
	for i := range 200000 {
		id := rng.Int64N(300)
		switch rng.IntN(3) {
		case 0:
			m.put(id, int32(i))
			ref[id] = int32(i)
		case 1:
			m.del(id)
			delete(ref, id)
		}
		v, ok := m.get(id)
		w, wok := ref[id]
		if ok != wok || v != w {
			t.Fatalf("op %d: get(%d) = %d, %v; Go map: %d, %v", i, id, v, ok, w, wok)
		}
	}
	if m.n != len(ref) {
		t.Errorf("%d entries, Go map %d", m.n, len(ref))
	}
	for id, w := range ref {
		if v, ok := m.get(id); !ok || v != w {
			t.Errorf("get(%d) = %d, %v; want %d", id, v, ok, w)
		}
	}
}

// TestZoneGridConservative checks that every point a zone contains (its
// border included) finds the zone in its grid cell, for random points and
// for the polygons' own vertices, where rounding is closest.
func TestZoneGridConservative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var zones []*rule
	for i := range 12 {
		cx, cy, rad := rng.Float64()*1000-500, rng.Float64()*1000-500, 1+rng.Float64()*200
		var pts []Pt
		for k := range 5 {
			a := float64(k) * 2 * math.Pi / 5
			pts = append(pts, Pt{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
		}
		pg, err := NewPolygon(pts)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, &rule{AnalyticsRule: ds3d.AnalyticsRule{Kind: ds3d.RuleZone}, idx: i, poly: pg})
	}
	g := newZoneGrid(zones)
	check := func(p Pt) {
		for _, r := range zones {
			if r.poly.Contains(p) && g.mask(p)&(1<<r.idx) == 0 {
				t.Fatalf("zone %d contains %v, its cell's mask %b does not have it", r.idx, p, g.mask(p))
			}
		}
	}
	for range 200000 {
		check(Pt{rng.Float64()*1400 - 700, rng.Float64()*1400 - 700})
	}
	for _, r := range zones {
		for _, p := range r.poly.P {
			check(p)
		}
	}
	if g.mask(Pt{math.NaN(), 0}) != 0 || g.mask(Pt{1e9, 0}) != 0 {
		t.Error("a NaN or far point has zone candidates")
	}
}
