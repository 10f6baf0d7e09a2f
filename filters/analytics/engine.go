package analytics

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Options are the rules' common settings (the keys shared by both
// components).
type Options struct {
	Space          ds3d.AnalyticsSpace
	MinTrackAge    int      // frames a track must have been seen before it counts (1: from its first frame)
	SpeedTau       float64  // seconds: time constant of the velocity's exponential smoothing; 0: none
	MinSpeed       float64  // below this speed no direction and no wrong-way is decided
	DirectionAngle float64  // degrees: a direction rule holds within this angle of its vector
	WrongWayAngle  float64  // degrees: moving more than this angle off a zone's expected direction is wrong-way
	MaxGap         int      // frames a lost track's state is kept, so a track that comes back goes on
	FrameRate      float64  // frames per second, for datamaps without increasing timestamps
	Labels         []string // every known class label; class id i is Labels[i]
	CountClasses   []string // labels counted in their own rows besides the all-class row
	ResultRing     int      // results (per source) in flight before their buffers are reused
	LineMargin     float64  // a point this close to a line counts as on it (no side)
	ZoneMargin     float64  // a track changes in/out of a zone only once this far past its border
	// ExitAfter (ns) > 0: a track that vanished inside zones exits them
	// once it has been gone this long, or when its state is forgotten
	// (MaxGap) if that comes first. 0: a vanished track never exits.
	ExitAfter int64
}

// Input is one object of a frame as the engine sees it.
type Input struct {
	Index   int32
	TrackID int64 // < 0: untracked (counted in zones, never in events)
	ClassID int32
	Label   string
	Pos     Pt
	// Vel is the tracker's velocity in the rules' space, per second, when
	// HasVel; otherwise the engine differentiates positions.
	Vel    [2]float64
	HasVel bool
	// Obj and Box, when set, are copied into the object's events.
	Obj *ds3d.Object2D
	Box *ds3d.Box3D
}

// rule is a configured rule compiled for evaluation.
type rule struct {
	ds3d.AnalyticsRule
	idx      int
	poly     Polygon
	line     Line
	dir      Pt      // unit vector: direction rules and a zone's expected direction
	all      bool    // no class filter
	accept   []bool  // by class index
	rowAll   int32   // the all-class count row
	rowClass []int32 // by class index: its own count row, or −1
}

// track is what the engine keeps of one track between frames.
type track struct {
	id        int64
	lastSeen  int64 // the source's frame counter when last seen
	age       int32
	counted   bool
	pos       Pt
	ts        int64
	vel       [2]float64
	velOK     bool
	zones     uint64 // zones it is in (as of its last counted frame)
	overSpeed uint64
	wrongWay  uint64
	// Its state for each line (bit j: line j of its stream's lineSet; see
	// LineState): last
	// strictly on the positive side, on the negative side, path met the
	// segment since. Bit sets, so a frame's common case (every line on the
	// same side as before) is a compare per line, with no per-line array.
	linePos, lineNeg, lineMet uint64
	// While its anchor stays within lineSafe of lineAt, it is still
	// strictly on the same side of every line, beyond the margin, as when
	// it was last tested there: a distance, not a pass over the lines.
	lineAt   Pt
	lineSafe float64
	label    string // the label and class id ci was looked up for
	classID  int32
	ci       int32
	enter    [ds3d.MaxAnalyticsRules]int64 // ns it entered each zone
}

// source is the engine's state for one stream.
type source struct {
	id       int32
	rules    []*rule // the rules that apply to this stream
	zones    []*rule // the zones among them
	counts   []ds3d.AnalyticsCount
	crowded  []bool // by rule index
	tracks   trackMap
	states   []track
	lines    lineSet  // the line rules, flat for the per-object test
	grid     zoneGrid // which zones' boxes each cell meets
	inverse  uint64   // inverse zones: every object is their candidate
	free     []int32
	hint     []int32 // by object index: the state it had last frame
	work     []work1
	cand     [][]int32 // by rule index: the objects it looks at closely this frame
	frame    int64
	lastTS   int64
	ring     []ds3d.Analytics
	ringPos  int
	hasFrame bool
}

var nan32 = float32(math.NaN())

// Engine evaluates rules on tracks, one stream at a time. It is not safe
// for concurrent use; a component owns one.
type Engine struct {
	opt               Options
	rules             []*rule
	public            []ds3d.AnalyticsRule
	classIdx          map[string]int32
	sources           map[int32]*source
	cosDir            float64
	cosWrong          float64
	lastDt, lastAlpha float64 // the smoothing factor of the last dt
}

// NewEngine compiles the rules. Errors name the rule by its index in
// rules and the problem.
func NewEngine(opt Options, rules []ds3d.AnalyticsRule) (*Engine, error) {
	if len(rules) > ds3d.MaxAnalyticsRules {
		return nil, fmt.Errorf("%d rules, at most %d", len(rules), ds3d.MaxAnalyticsRules)
	}
	if opt.MinTrackAge < 1 {
		opt.MinTrackAge = 1
	}
	if opt.FrameRate <= 0 {
		opt.FrameRate = 30
	}
	if opt.ResultRing < 2 {
		opt.ResultRing = 2
	}
	e := &Engine{opt: opt, classIdx: map[string]int32{}, sources: map[int32]*source{},
		cosDir: math.Cos(opt.DirectionAngle * math.Pi / 180), cosWrong: math.Cos(opt.WrongWayAngle * math.Pi / 180)}
	for i, l := range opt.Labels {
		if _, dup := e.classIdx[l]; !dup {
			e.classIdx[l] = int32(i)
		}
	}
	countIdx := make([]int32, 0, len(opt.CountClasses))
	for _, c := range opt.CountClasses {
		ci, ok := e.classIdx[c]
		if !ok {
			return nil, fmt.Errorf("count class %q is not one of the labels", c)
		}
		countIdx = append(countIdx, ci)
	}
	row := int32(0)
	for i, pr := range rules {
		r := &rule{AnalyticsRule: pr, idx: i, accept: make([]bool, len(opt.Labels)), rowClass: make([]int32, len(opt.Labels))}
		r.Space = opt.Space
		var err error
		switch pr.Kind {
		case ds3d.RuleZone:
			r.poly, err = NewPolygon(pr.Points)
			if n := math.Hypot(pr.Expected[0], pr.Expected[1]); n > 0 {
				r.dir = Pt{pr.Expected[0] / n, pr.Expected[1] / n}
				r.Expected = r.dir
			}
		case ds3d.RuleLine, ds3d.RuleDirection:
			r.line, err = NewLine(pr.Points)
			if err == nil {
				d := sub(r.line.B, r.line.A)
				n := math.Hypot(d[0], d[1])
				r.dir = Pt{d[0] / n, d[1] / n}
			}
		default:
			err = fmt.Errorf("unknown rule kind %d", pr.Kind)
		}
		if err != nil {
			return nil, fmt.Errorf("rule %d (%s %q): %w", i, pr.Kind, pr.ID, err)
		}
		r.all = len(pr.Classes) == 0
		for _, c := range pr.Classes {
			ci, ok := e.classIdx[c]
			if !ok {
				return nil, fmt.Errorf("rule %d (%s %q): unknown class %q", i, pr.Kind, pr.ID, c)
			}
			r.accept[ci] = true
		}
		for k := range r.rowClass {
			r.rowClass[k] = -1
		}
		r.rowAll = -1
		if pr.Kind != ds3d.RuleDirection {
			r.rowAll = row
			row++
			for _, ci := range countIdx {
				if r.all || r.accept[ci] {
					r.rowClass[ci] = row
					row++
				}
			}
		}
		e.rules = append(e.rules, r)
		e.public = append(e.public, r.AnalyticsRule)
	}
	return e, nil
}

// Rules returns the compiled rules as results carry them.
func (e *Engine) Rules() []ds3d.AnalyticsRule { return e.public }

func (e *Engine) source(id int32) *source {
	if s := e.sources[id]; s != nil {
		return s
	}
	s := &source{id: id, crowded: make([]bool, len(e.rules)), cand: make([][]int32, len(e.rules))}
	for _, r := range e.rules {
		if r.SourceID < 0 || r.SourceID == id {
			s.rules = append(s.rules, r)
			switch r.Kind {
			case ds3d.RuleZone:
				s.zones = append(s.zones, r)
				if r.Inverse {
					s.inverse |= 1 << r.idx
				}
			case ds3d.RuleLine:
				s.lines.add(&r.line, e.opt.LineMargin, r.idx)
			}
		}
		if r.rowAll < 0 {
			continue
		}
		s.counts = append(s.counts, ds3d.AnalyticsCount{Rule: int32(r.idx), ClassID: -1})
		for ci, row := range r.rowClass {
			if row >= 0 {
				s.counts = append(s.counts, ds3d.AnalyticsCount{Rule: int32(r.idx), ClassID: int32(ci), Label: e.opt.Labels[ci]})
			}
		}
	}
	s.grid = newZoneGrid(s.zones)
	s.ring = make([]ds3d.Analytics, e.opt.ResultRing)
	for i := range s.ring {
		s.ring[i] = ds3d.Analytics{SourceID: id, Space: e.opt.Space, Rules: e.public,
			Counts: make([]ds3d.AnalyticsCount, len(s.counts))}
	}
	e.sources[id] = s
	return s
}

// classOf returns the class index of an object: its label's, else its
// class id when that is a valid index, else −1.
func (e *Engine) classOf(in *Input) int32 {
	if in.Label != "" {
		if ci, ok := e.classIdx[in.Label]; ok {
			return ci
		}
		return -1
	}
	if in.ClassID >= 0 && int(in.ClassID) < len(e.opt.Labels) {
		return in.ClassID
	}
	return -1
}

func (r *rule) accepts(ci int32) bool { return r.all || (ci >= 0 && r.accept[ci]) }

// Step evaluates one frame of stream src at ts (ns; a timestamp that does
// not increase is replaced by the last one plus a frame period) and
// returns the result, valid until ResultRing more results of this stream
// have been made. Events are appended to the result's Events.
func (e *Engine) Step(src int32, ts, frameNum int64, objs []Input) *ds3d.Analytics {
	s := e.source(src)
	period := int64(1e9 / e.opt.FrameRate)
	if !s.hasFrame {
		if ts <= 0 {
			ts = period
		}
	} else if ts <= s.lastTS {
		ts = s.lastTS + period
	}
	dtFrame := 0.0
	if s.hasFrame {
		dtFrame = float64(ts-s.lastTS) / 1e9
	}
	s.hasFrame = true
	s.lastTS = ts
	s.frame++

	out := &s.ring[s.ringPos]
	s.ringPos = (s.ringPos + 1) % len(s.ring)
	out.FrameNumber, out.Timestamp = frameNum, ts
	out.Objects = out.Objects[:0]
	clear(out.Events)
	out.Events = out.Events[:0]
	for i := range s.counts {
		c := &s.counts[i]
		c.Inside, c.Entries, c.Exits, c.OverSpeed, c.WrongWay, c.Positive, c.Negative = 0, 0, 0, 0, 0, 0, 0
	}
	if cap(s.hint) < len(objs) {
		s.hint = append(s.hint[:cap(s.hint)], make([]int32, len(objs)-cap(s.hint))...)
	}
	s.hint = s.hint[:len(objs)]

	// Per object: its track, class, age and velocity, and the rules it is
	// a candidate of. The slices get their room first: work keeps pointers
	// into out.Objects and s.states (where each object adds at most one
	// track).
	out.Objects = slices.Grow(out.Objects, len(objs))
	s.states = slices.Grow(s.states, len(objs))
	work := slices.Grow(s.work[:0], len(objs))
	for _, r := range s.rules {
		s.cand[r.idx] = slices.Grow(s.cand[r.idx][:0], len(objs))
	}
	cand, lines := s.cand, &s.lines
	for oi := range objs {
		in := &objs[oi]
		var t *track
		k := int32(-1)
		if in.TrackID >= 0 {
			k = s.lookup(in.TrackID, oi)
			t = &s.states[k]
		}
		out.Objects = append(out.Objects, ds3d.AnalyticsObject{Index: in.Index, TrackID: in.TrackID, ClassID: in.ClassID,
			SourceID: src, Pos: in.Pos, Crossed: -1, Speed: nan32, Age: 1})
		ao := &out.Objects[len(out.Objects)-1]
		work = append(work, work1{t: t, in: in, ao: ao, speed: math.NaN()})
		w := &work[len(work)-1]
		// Zone candidates: the zones whose box the grid cell meets, the
		// zones it was in, the inverse zones.
		zm := s.grid.mask(in.Pos) | s.inverse
		if t == nil {
			w.ci = e.classOf(in)
			w.counted = e.opt.MinTrackAge <= 1
			ao.Counted = w.counted
			for m := zm; m != 0; m &= m - 1 {
				r := bits.TrailingZeros64(m)
				cand[r] = append(cand[r], int32(oi))
			}
			continue
		}
		// The class, looked up once per track while its label stays.
		if t.age == 0 || t.label != in.Label || t.classID != in.ClassID {
			t.ci, t.label, t.classID = e.classOf(in), in.Label, in.ClassID
		}
		w.ci = t.ci
		w.first = t.age == 0
		if w.first {
			// A new track: its line sides from where it stands, and a
			// step of zero length this frame.
			for _, r := range s.rules {
				if r.Kind == ds3d.RuleLine {
					bit := lines.lane(r.idx)
					switch r.line.Start(in.Pos, e.opt.LineMargin).Last {
					case 1:
						t.linePos |= bit
					case -1:
						t.lineNeg |= bit
					}
				}
			}
			t.pos = in.Pos
		}
		zm |= t.zones
		for m := zm; m != 0; m &= m - 1 {
			r := bits.TrailingZeros64(m)
			cand[r] = append(cand[r], int32(oi))
		}
		// Line candidates: the lines it is not strictly on its last side
		// of. Those it is forget whether its path met them.
		if dx, dy := in.Pos[0]-t.lineAt[0], in.Pos[1]-t.lineAt[1]; !(dx*dx+dy*dy < t.lineSafe) {
			sp, sn, slack := lines.sides(in.Pos)
			stable := sp&t.linePos | sn&t.lineNeg
			t.lineMet &^= stable
			t.lineAt, t.lineSafe = in.Pos, 0
			if stable == lines.all {
				// A thousandth off, for the rounding of the cross products.
				t.lineSafe = 0.999 * slack * slack
			}
			for m := lines.all &^ stable; m != 0; m &= m - 1 {
				r := lines.rule[bits.TrailingZeros64(m)]
				cand[r] = append(cand[r], int32(oi))
			}
		}
		t.age++
		t.lastSeen = s.frame
		ao.Age = t.age
		// Velocity: the tracker's or the anchor's, smoothed.
		if !w.first {
			dt := float64(ts-t.ts) / 1e9
			var v [2]float64
			ok := dt > 0
			if in.HasVel {
				v, ok = in.Vel, true
			} else if ok {
				v = [2]float64{(in.Pos[0] - t.pos[0]) / dt, (in.Pos[1] - t.pos[1]) / dt}
			}
			if ok {
				if !t.velOK || e.opt.SpeedTau <= 0 {
					t.vel, t.velOK = v, true
				} else {
					if dt != e.lastDt {
						// One exp per frame rate, not per object: dt is the frame
						// period for every track seen in consecutive frames.
						e.lastDt, e.lastAlpha = dt, 1-math.Exp(-dt/e.opt.SpeedTau)
					}
					a := e.lastAlpha
					t.vel[0] += a * (v[0] - t.vel[0])
					t.vel[1] += a * (v[1] - t.vel[1])
				}
			}
		} else if in.HasVel {
			t.vel, t.velOK = in.Vel, true
		}
		if t.velOK {
			w.speed = math.Sqrt(t.vel[0]*t.vel[0] + t.vel[1]*t.vel[1])
			ao.Speed, ao.Vel = float32(w.speed), [2]float32{float32(t.vel[0]), float32(t.vel[1])}
		}
		w.counted = t.age >= int32(e.opt.MinTrackAge)
		w.becomes = w.counted && !t.counted
		t.counted = w.counted
		ao.Counted = w.counted
	}
	s.work = work
	// Per rule, over its candidates only, in rule order (so are the events).
	for _, r := range s.rules {
		switch r.Kind {
		case ds3d.RuleZone:
			e.zone(s, r, out, work, cand[r.idx], ts)
		case ds3d.RuleLine:
			e.line(s, r, out, work, cand[r.idx])
		case ds3d.RuleDirection:
			bit := uint64(1) << r.idx
			for i := range work {
				w := &work[i]
				if t := w.t; t != nil && t.velOK && w.speed >= e.opt.MinSpeed && w.speed > 0 && r.accepts(w.ci) &&
					(t.vel[0]*r.dir[0]+t.vel[1]*r.dir[1])/w.speed >= e.cosDir {
					w.ao.Directions |= bit
				}
			}
		}
	}
	for i := range work {
		w := &work[i]
		w.ao.Zones = w.zones
		if t := w.t; t != nil {
			t.zones = w.zones
			t.pos, t.ts = w.in.Pos, ts
		}
	}
	// Tracks gone inside zones exit them once gone for ExitAfter, or when
	// forgotten; tracks gone longer than MaxGap frames are forgotten.
	s.sweep(e, out, ts)
	// Per-class rows hold their class's share; the all-class row was
	// counted through count() too. Occupancy and overcrowding per zone.
	for _, r := range s.zones {
		c := &s.counts[r.rowAll]
		for k := r.rowAll; k < int32(len(s.counts)) && s.counts[k].Rule == int32(r.idx); k++ {
			s.counts[k].OccupancySeconds += float64(s.counts[k].Inside) * dtFrame
		}
		over := r.Overcrowding > 0 && int(c.Inside) >= r.Overcrowding
		c.Overcrowded = over
		if over && !s.crowded[r.idx] {
			c.TotalOvercrowdings++
			out.Events = append(out.Events, ds3d.AnalyticsEvent{Type: ds3d.EventOvercrowding, Rule: int32(r.idx), RuleID: r.ID,
				SourceID: src, FrameNumber: frameNum, Timestamp: ts, TrackID: -1, ClassID: -1, Count: c.Inside,
				Speed: nan32, Space: e.opt.Space})
		}
		s.crowded[r.idx] = over
	}
	copy(out.Counts, s.counts)
	return out
}

// work1 is one object of the frame being evaluated.
type work1 struct {
	t                       *track // nil: untracked
	in                      *Input
	ao                      *ds3d.AnalyticsObject
	ci                      int32
	first, counted, becomes bool
	speed                   float64 // NaN: unknown
	zones                   uint64  // the zones it is in now
}

// zone evaluates zone r on its candidates: the objects in a grid cell its
// box meets, in it last frame, or all for an inverse zone.
func (e *Engine) zone(s *source, r *rule, out *ds3d.Analytics, work []work1, cand []int32, ts int64) {
	bit := uint64(1) << r.idx
	pg := &r.poly
	for _, i := range cand {
		w := &work[i]
		p := w.in.Pos
		if !r.accepts(w.ci) {
			continue
		}
		inside := pg.Contains(p) != r.Inverse
		t := w.t
		if t == nil {
			if inside {
				w.zones |= bit
				if w.counted {
					s.bump(r, w.ci, fInside)
				}
			}
			continue
		}
		if m := e.opt.ZoneMargin; m > 0 && !w.first && inside != (t.zones&bit != 0) && pg.Distance(p) <= m {
			inside = !inside // within the margin of the border: no change yet
		}
		if !inside {
			if t.zones&bit != 0 && w.counted && !w.becomes {
				e.event(out, s, r, ds3d.EventZoneExit, t, w, float32(float64(ts-t.enter[r.idx])/1e9), 0)
				s.bump(r, w.ci, fExit)
			}
			t.overSpeed &^= bit
			t.wrongWay &^= bit
			continue
		}
		w.zones |= bit
		if t.zones&bit == 0 || w.becomes {
			t.enter[r.idx] = ts
			if w.counted && !w.becomes && !w.first {
				e.event(out, s, r, ds3d.EventZoneEntry, t, w, 0, 0)
				s.bump(r, w.ci, fEntry)
			}
		}
		if !w.counted {
			continue
		}
		s.bump(r, w.ci, fInside)
		if d := float32(float64(ts-t.enter[r.idx]) / 1e9); d > w.ao.Dwell {
			w.ao.Dwell = d
		}
		if r.MaxSpeed > 0 && t.velOK && w.speed > r.MaxSpeed {
			w.ao.OverSpeed = true
			s.bump(r, w.ci, fOverSpeed)
			if t.overSpeed&bit == 0 {
				t.overSpeed |= bit
				e.event(out, s, r, ds3d.EventOverSpeed, t, w, 0, 0)
			}
		} else {
			t.overSpeed &^= bit
		}
		if r.dir != (Pt{}) && t.velOK && w.speed >= e.opt.MinSpeed && w.speed > 0 &&
			(t.vel[0]*r.dir[0]+t.vel[1]*r.dir[1])/w.speed < e.cosWrong {
			w.ao.WrongWay = true
			s.bump(r, w.ci, fWrongWay)
			if t.wrongWay&bit == 0 {
				t.wrongWay |= bit
				e.event(out, s, r, ds3d.EventWrongWay, t, w, 0, 0)
			}
		} else {
			t.wrongWay &^= bit
		}
	}
}

// line evaluates line r on its candidates: the tracked objects not
// strictly on their last side of it.
func (e *Engine) line(s *source, r *rule, out *ds3d.Analytics, work []work1, cand []int32) {
	l := &r.line
	bit := s.lines.lane(r.idx)
	margin := e.opt.LineMargin
	for _, i := range cand {
		w := &work[i]
		t := w.t
		st := LineState{Met: t.lineMet&bit != 0}
		if t.linePos&bit != 0 {
			st.Last = 1
		} else if t.lineNeg&bit != 0 {
			st.Last = -1
		}
		// t.pos is still the last state's anchor: it moves on after the rules.
		dir := l.Crossing(&st, t.pos, w.in.Pos, margin)
		t.linePos, t.lineNeg, t.lineMet = t.linePos&^bit, t.lineNeg&^bit, t.lineMet&^bit
		switch st.Last {
		case 1:
			t.linePos |= bit
		case -1:
			t.lineNeg |= bit
		}
		if st.Met {
			t.lineMet |= bit
		}
		if dir == 0 || !w.counted || !r.accepts(w.ci) {
			continue
		}
		if w.ao.Crossed < 0 {
			w.ao.Crossed, w.ao.CrossDir = int32(r.idx), dir
		}
		if dir > 0 {
			s.bump(r, w.ci, fPositive)
		} else {
			s.bump(r, w.ci, fNegative)
		}
		e.event(out, s, r, ds3d.EventLineCrossing, t, w, 0, dir)
	}
}

// Count fields bump updates.
const (
	fInside = iota
	fEntry
	fExit
	fOverSpeed
	fWrongWay
	fPositive
	fNegative
)

// bump counts one occurrence in r's all-class row and in the row of class
// ci when it has one; entries, exits and crossings also go to the totals.
func (s *source) bump(r *rule, ci int32, f int) {
	bumpRow(&s.counts[r.rowAll], f)
	if ci >= 0 {
		if row := r.rowClass[ci]; row >= 0 {
			bumpRow(&s.counts[row], f)
		}
	}
}

func bumpRow(c *ds3d.AnalyticsCount, f int) {
	switch f {
	case fInside:
		c.Inside++
	case fEntry:
		c.Entries++
		c.TotalEntries++
	case fExit:
		c.Exits++
		c.TotalExits++
	case fOverSpeed:
		c.OverSpeed++
	case fWrongWay:
		c.WrongWay++
	case fPositive:
		c.Positive++
		c.TotalPositive++
	case fNegative:
		c.Negative++
		c.TotalNegative++
	}
}

// event appends one event about track t to the result.
func (e *Engine) event(out *ds3d.Analytics, s *source, r *rule, typ ds3d.AnalyticsEventType, t *track,
	w *work1, dwell float32, dir int8) {
	ao := w.ao
	ev := ds3d.AnalyticsEvent{Type: typ, Rule: int32(r.idx), RuleID: r.ID, Direction: dir, SourceID: s.id,
		FrameNumber: out.FrameNumber, Timestamp: out.Timestamp, TrackID: t.id, ClassID: ao.ClassID,
		Pos: ao.Pos, Speed: ao.Speed, Dwell: dwell, Space: e.opt.Space}
	if w.ci >= 0 {
		ev.Label = e.opt.Labels[w.ci]
	}
	if w.in.Obj != nil {
		ev.Object = *w.in.Obj
	}
	if w.in.Box != nil {
		ev.Box = *w.in.Box
	}
	out.Events = append(out.Events, ev)
}
