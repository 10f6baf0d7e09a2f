// Package worldtrack merges the world-frame track lists of several roadside
// units into one: the world_track_fusion filter keeps each unit's latest
// tracked boxes (tracker_3d's output, one tracker per source id), and on
// every datamap associates the boxes of different units that are one
// object — bird's-eye centre distance within gate_m after moving each box
// by its velocity to the datamap's time, the same class id — and outputs
// one box per object with a fused track id that stays with the object
// while any unit keeps tracking it. Association is greedy on distance (the
// closest pairs first) and a fused object holds at most one box of each
// unit, so two objects side by side seen by one unit are never merged.
package worldtrack

import (
	"cmp"
	"math"
	"slices"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Params are the fusion rules.
type Params struct {
	GateM      float64 // largest BEV centre distance between two units' boxes of one object, metres
	ClassAware bool    // only boxes of the same class id are one object
	MaxAgeNS   int64   // a unit's list older than this (by datamap time) takes no part
}

// unitKey names one unit's track.
type unitKey struct {
	unit  int64
	track int64
}

// unitList is a unit's latest tracked boxes.
type unitList struct {
	ts    int64
	boxes []ds3d.Box3D
}

// member is one box taking part in a fusion: its unit, its index in that
// unit's list, and its centre moved to the fusion time.
type member struct {
	unit   int64
	box    *ds3d.Box3D
	x, y   float64
	parent int // union-find
	root   int
	units  []int64
}

type pair struct {
	d    float64
	a, b int
}

// Fuser holds the units' latest lists and the fused ids. It is not safe
// for concurrent use (the component's goroutine owns it).
type Fuser struct {
	p      Params
	units  map[int64]*unitList
	order  []int64 // unit ids, sorted, for a deterministic result
	ids    map[unitKey]int64
	nextID int64

	// Reused per call.
	members []member
	pairs   []pair
	seen    map[unitKey]int64
	byRoot  []int // member indices ordered by their object's root
}

// New returns a Fuser.
func New(p Params) *Fuser {
	return &Fuser{p: p, units: map[int64]*unitList{}, ids: map[unitKey]int64{}, seen: map[unitKey]int64{}}
}

// Update stores unit's boxes of time ts (nanoseconds) as its latest list
// and returns the fused world list at ts, appended to dst: one box per
// object, TrackID the fused id (−1 for an object whose every box is
// untracked), centre the score-weighted mean of its boxes' centres (moved
// to ts), size, heading, class and label of its highest-scored box, score
// the highest, velocity the mean.
func (f *Fuser) Update(dst []ds3d.Box3D, unit, ts int64, boxes []ds3d.Box3D) []ds3d.Box3D {
	u := f.units[unit]
	if u == nil {
		u = &unitList{}
		f.units[unit] = u
		f.order = append(f.order, unit)
		slices.Sort(f.order)
	}
	u.ts, u.boxes = ts, append(u.boxes[:0], boxes...)

	f.members = f.members[:0]
	for _, id := range f.order {
		l := f.units[id]
		age := ts - l.ts
		if age < 0 {
			age = -age
		}
		if f.p.MaxAgeNS > 0 && age > f.p.MaxAgeNS {
			continue
		}
		dt := float64(ts-l.ts) / 1e9
		for i := range l.boxes {
			b := &l.boxes[i]
			// Reuse the slot's units slice: it keeps its capacity.
			n := len(f.members)
			if n < cap(f.members) {
				f.members = f.members[:n+1]
			} else {
				f.members = append(f.members, member{})
			}
			m := &f.members[n]
			m.unit, m.box, m.parent = id, b, n
			m.x, m.y = float64(b.CX)+float64(b.VX)*dt, float64(b.CY)+float64(b.VY)*dt
		}
	}
	ms := f.members
	for i := range ms {
		ms[i].units = append(ms[i].units[:0], ms[i].unit)
	}
	f.pairs = f.pairs[:0]
	for i := range ms {
		for j := i + 1; j < len(ms); j++ {
			if ms[i].unit == ms[j].unit || (f.p.ClassAware && ms[i].box.ClassID != ms[j].box.ClassID) {
				continue
			}
			if d := math.Hypot(ms[i].x-ms[j].x, ms[i].y-ms[j].y); d <= f.p.GateM {
				f.pairs = append(f.pairs, pair{d, i, j})
			}
		}
	}
	slices.SortFunc(f.pairs, func(x, y pair) int {
		return cmp.Or(cmp.Compare(x.d, y.d), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
	})
	for _, pr := range f.pairs {
		ra, rb := f.find(pr.a), f.find(pr.b)
		if ra == rb || overlap(ms[ra].units, ms[rb].units) {
			continue // one box per unit in an object
		}
		if rb < ra {
			ra, rb = rb, ra
		}
		ms[rb].parent = ra
		ms[ra].units = append(ms[ra].units, ms[rb].units...)
	}
	// An object's root is its smallest member index: ordering the members
	// by root lists each object's members together, objects in the order
	// of their first member.
	f.byRoot = f.byRoot[:0]
	for i := range ms {
		ms[i].root = f.find(i)
		f.byRoot = append(f.byRoot, i)
	}
	slices.SortFunc(f.byRoot, func(x, y int) int { return cmp.Or(cmp.Compare(ms[x].root, ms[y].root), cmp.Compare(x, y)) })

	// Fused ids: an object keeps the oldest (smallest) id any of its tracks
	// had; one whose tracks had none gets a new one. Ids of tracks that are
	// gone are forgotten.
	clear(f.seen)
	for start := 0; start < len(f.byRoot); {
		end := start + 1
		for end < len(f.byRoot) && ms[f.byRoot[end]].root == ms[f.byRoot[start]].root {
			end++
		}
		g := f.byRoot[start:end]
		start = end
		id := int64(-1)
		tracked := false
		for _, i := range g {
			if ms[i].box.TrackID < 0 {
				continue
			}
			tracked = true
			if old, ok := f.ids[unitKey{ms[i].unit, ms[i].box.TrackID}]; ok && (id < 0 || old < id) {
				id = old
			}
		}
		if tracked && id < 0 {
			id = f.nextID
			f.nextID++
		}
		for _, i := range g {
			if ms[i].box.TrackID >= 0 {
				f.seen[unitKey{ms[i].unit, ms[i].box.TrackID}] = id
			}
		}
		dst = append(dst, fuse(ms, g, id))
	}
	f.ids, f.seen = f.seen, f.ids
	return dst
}

// fuse makes the object's box from its members.
func fuse(ms []member, g []int, id int64) ds3d.Box3D {
	best := g[0]
	var wx, wy, ws, vx, vy float64
	for _, i := range g {
		b := ms[i].box
		if b.Score > ms[best].box.Score {
			best = i
		}
		w := math.Max(float64(b.Score), 1e-3)
		wx += w * ms[i].x
		wy += w * ms[i].y
		ws += w
		vx += float64(b.VX)
		vy += float64(b.VY)
	}
	out := *ms[best].box
	out.CX, out.CY = float32(wx/ws), float32(wy/ws)
	out.VX, out.VY = float32(vx/float64(len(g))), float32(vy/float64(len(g)))
	out.TrackID = id
	return out
}

func (f *Fuser) find(i int) int {
	for f.members[i].parent != i {
		f.members[i].parent = f.members[f.members[i].parent].parent
		i = f.members[i].parent
	}
	return i
}

func overlap(a, b []int64) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// Forget drops a unit's list (its stream ended).
func (f *Fuser) Forget(unit int64) {
	if _, ok := f.units[unit]; !ok {
		return
	}
	delete(f.units, unit)
	for i, id := range f.order {
		if id == unit {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
}
