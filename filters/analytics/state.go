package analytics

import (
	"math"
	"math/bits"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// trackMap maps track ids (≥ 0) to state indices: open addressing with
// linear probing and backward-shift deletion, so a look-up is a multiply
// and a compare or two, and forgetting a track leaves no tombstone. It
// allocates only when it grows.
type trackMap struct {
	keys  []int64 // −1: empty
	vals  []int32
	n     int
	shift uint8
}

func (m *trackMap) slot(id int64) int {
	return int((uint64(id) * 0x9E3779B97F4A7C15) >> m.shift)
}

func (m *trackMap) get(id int64) (int32, bool) {
	if m.n == 0 {
		return 0, false
	}
	mask := len(m.keys) - 1
	for i := m.slot(id); ; i = (i + 1) & mask {
		switch m.keys[i] {
		case id:
			return m.vals[i], true
		case -1:
			return 0, false
		}
	}
}

func (m *trackMap) put(id int64, v int32) {
	if 2*(m.n+1) > len(m.keys) {
		m.grow()
	}
	mask := len(m.keys) - 1
	i := m.slot(id)
	for m.keys[i] != -1 && m.keys[i] != id {
		i = (i + 1) & mask
	}
	if m.keys[i] == -1 {
		m.n++
	}
	m.keys[i], m.vals[i] = id, v
}

func (m *trackMap) del(id int64) {
	if m.n == 0 {
		return
	}
	mask := len(m.keys) - 1
	i := m.slot(id)
	for m.keys[i] != id {
		if m.keys[i] == -1 {
			return
		}
		i = (i + 1) & mask
	}
	m.n--
	// Backward shift: move up each later entry of the run whose home slot
	// is not between the hole and it, so every probe still finds its key.
	for j := (i + 1) & mask; m.keys[j] != -1; j = (j + 1) & mask {
		if h := m.slot(m.keys[j]); (j-h)&mask >= (j-i)&mask {
			m.keys[i], m.vals[i] = m.keys[j], m.vals[j]
			i = j
		}
	}
	m.keys[i] = -1
}

func (m *trackMap) grow() {
	size := max(64, 2*len(m.keys))
	old, oldV := m.keys, m.vals
	m.keys, m.vals, m.n = make([]int64, size), make([]int32, size), 0
	m.shift = uint8(64 - bits.TrailingZeros(uint(size)))
	for i := range m.keys {
		m.keys[i] = -1
	}
	for i, k := range old {
		if k != -1 {
			m.put(k, oldV[i])
		}
	}
}

// gridN is the zone grid's cells per axis.
const gridN = 32

// zoneGrid tells, for a point, which zones' bounding boxes meet its cell
// of a gridN × gridN grid over the zones: one look-up per object instead of
// a box test per object and zone. A point outside the grid meets no zone.
type zoneGrid struct {
	x0, y0, sx, sy float64 // origin and cells per unit
	cells          []uint64
}

func newZoneGrid(zones []*rule) zoneGrid {
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, r := range zones {
		if !r.Inverse {
			pg := &r.poly
			minX, minY, maxX, maxY = min(minX, pg.minX), min(minY, pg.minY), max(maxX, pg.maxX), max(maxY, pg.maxY)
		}
	}
	if minX > maxX {
		return zoneGrid{}
	}
	// A margin, so that points on the outer border (inside their zone)
	// fall in the grid whatever the rounding.
	px, py := 0.01*(maxX-minX), 0.01*(maxY-minY)
	g := zoneGrid{x0: minX - px, y0: minY - py, sx: gridN / (maxX - minX + 2*px), sy: gridN / (maxY - minY + 2*py),
		cells: make([]uint64, gridN*gridN)}
	for _, r := range zones {
		if r.Inverse {
			continue
		}
		// The same arithmetic as mask: rounding is monotonic, so a point
		// in the box lands in a cell between these.
		pg := &r.poly
		cx0, cx1 := g.cell(pg.minX, g.x0, g.sx), g.cell(pg.maxX, g.x0, g.sx)
		cy0, cy1 := g.cell(pg.minY, g.y0, g.sy), g.cell(pg.maxY, g.y0, g.sy)
		for cy := cy0; cy <= cy1; cy++ {
			for cx := cx0; cx <= cx1; cx++ {
				g.cells[cy*gridN+cx] |= 1 << r.idx
			}
		}
	}
	return g
}

func (g *zoneGrid) cell(v, o, s float64) int {
	return min(max(int((v-o)*s), 0), gridN-1)
}

// mask returns the zones whose boxes meet p's cell.
func (g *zoneGrid) mask(p Pt) uint64 {
	if g.cells == nil {
		return 0
	}
	u, v := (p[0]-g.x0)*g.sx, (p[1]-g.y0)*g.sy
	if !(u >= 0 && u < gridN && v >= 0 && v < gridN) { // NaN too
		return 0
	}
	return g.cells[int(v)*gridN+int(u)]
}

// lookup returns the index of track id's state, creating it (age 0) when the
// track is new. The object's index of the last frame is tried first:
// trackers list their tracks in a stable order, which spares most map
// look-ups.
func (s *source) lookup(id int64, oi int) int32 {
	if h := s.hint[oi]; h >= 0 && int(h) < len(s.states) && s.states[h].id == id && s.states[h].lastSeen > 0 {
		return h
	}
	if k, ok := s.tracks.get(id); ok {
		s.hint[oi] = k
		return k
	}
	var k int32
	if n := len(s.free); n > 0 {
		k = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		s.states = append(s.states, track{})
		k = int32(len(s.states) - 1)
	}
	s.states[k] = track{id: id}
	s.tracks.put(id, k)
	s.hint[oi] = k
	return k
}

// sweep runs after a frame: a track not seen this frame that is still in
// zones exits them once gone for ExitAfter (or when forgotten, if that is
// sooner); a track gone for more than MaxGap frames is forgotten.
func (s *source) sweep(e *Engine, out *ds3d.Analytics, ts int64) {
	for k := range s.states {
		t := &s.states[k]
		if t.lastSeen <= 0 || t.lastSeen == s.frame {
			continue
		}
		forget := s.frame-t.lastSeen > int64(e.opt.MaxGap)
		if t.zones != 0 && e.opt.ExitAfter > 0 && (forget || ts-t.ts >= e.opt.ExitAfter) {
			e.vanish(s, out, t, ts)
		}
		if forget {
			s.tracks.del(t.id)
			t.lastSeen = 0
			t.id = -1
			s.free = append(s.free, int32(k))
		}
	}
}

// vanish makes track t, gone, exit the zones it was in: one exit event per
// zone with the dwell up to when it was last seen, its last position and
// speed, and no object (there is none this frame).
func (e *Engine) vanish(s *source, out *ds3d.Analytics, t *track, ts int64) {
	speed := nan32
	if t.velOK {
		speed = float32(math.Sqrt(t.vel[0]*t.vel[0] + t.vel[1]*t.vel[1]))
	}
	for m := t.zones; m != 0; m &= m - 1 {
		r := e.rules[bits.TrailingZeros64(m)]
		if !t.counted {
			continue
		}
		ev := ds3d.AnalyticsEvent{Type: ds3d.EventZoneExit, Rule: int32(r.idx), RuleID: r.ID, SourceID: s.id,
			FrameNumber: out.FrameNumber, Timestamp: ts, TrackID: t.id, ClassID: t.classID, Pos: t.pos, Speed: speed,
			Dwell: float32(float64(t.ts-t.enter[r.idx]) / 1e9), Space: e.opt.Space}
		if t.ci >= 0 {
			ev.Label = e.opt.Labels[t.ci]
		}
		out.Events = append(out.Events, ev)
		s.bump(r, t.ci, fExit)
	}
	t.zones, t.overSpeed, t.wrongWay = 0, 0, 0
}
