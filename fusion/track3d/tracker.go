package track3d

import (
	"math"

	"github.com/ds3d-go/ds3d-go/core2d/track/assign"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Params tune the tracker (see Config for their meaning).
type Params struct {
	ProbationAge    int
	MaxShadowAge    int
	OutputShadows   bool
	OutputTentative bool
	GateMeters      float64
	ClassAware      bool
	AccelNoise      float64 // q of the constant-velocity model, (m/s²)²·s
	PosNoise        float64 // measurement variance of the centre, m²
	YawNoise        float64 // measurement variance of the heading, rad²
	SizeNoise       float64 // measurement variance of the sizes, m²
	InitVelVar      float64 // initial velocity variance, (m/s)²

	Motion       Model            // model of tracks whose class has no entry below
	LabelMotion  map[string]Model // model by detection label
	ClassMotion  map[int32]Model  // model by class id (labels take precedence)
	CTRV         ctrvNoise        // process noise of the CTRV model
	CTRVYawNoise float64          // heading measurement variance of CTRV tracks, rad²
	InitYawRate  float64          // initial yaw-rate variance of CTRV tracks, (rad/s)²
}

// modelOf is the motion model of a new track started from d.
func (p *Params) modelOf(d *ds3d.Box3D) Model {
	if m, ok := p.LabelMotion[d.Label]; ok {
		return m
	}
	if m, ok := p.ClassMotion[d.ClassID]; ok {
		return m
	}
	return p.Motion
}

type track struct {
	matched    bool // updated in the current frame
	id         int64
	confirmed  bool
	hits, miss int
	model      Model
	x, y, z    cv   // x, y: ModelCV only
	yaw        con  // ModelCV only
	m          ctrv // ModelCTRV only
	l, w, h    con
	box        ds3d.Box3D // last detection's class, label, score, colour
}

// Tracker tracks the boxes of one stream.
type Tracker struct {
	p        Params
	tracks   []*track
	free     []*track
	nextID   int64
	lastTs   int64
	cost     []float64
	rowToCol []int
	asg      assign.Solver
	dets     []int // detection index per row, for the current class group
	rows     []int // track index per column
	used     []bool
	classes  []int32
	out      []ds3d.Box3D
	g        gated
	dense    bool // associate with solveDense (the reference, for tests)
}

// New returns a tracker.
func New(p Params) *Tracker { return &Tracker{p: p, lastTs: math.MinInt64} }

// wrap maps an angle to (−π, π].
func wrap(a float64) float64 {
	a = math.Mod(a+math.Pi, 2*math.Pi)
	if a <= 0 {
		a += 2 * math.Pi
	}
	return a - math.Pi
}

// Update advances every track to ts (nanoseconds), associates the
// detections, and returns the tracks to output (confirmed ones, plus
// shadows and tentative ones when configured), each with its TrackID and
// velocity. The returned slice is reused by the next call.
func (t *Tracker) Update(ts int64, dets []ds3d.Box3D) []ds3d.Box3D {
	dt := 0.1
	if t.lastTs != math.MinInt64 && ts > t.lastTs {
		dt = float64(ts-t.lastTs) / 1e9
	}
	t.lastTs = ts
	for _, tr := range t.tracks {
		q := t.p.AccelNoise
		if tr.model == ModelCTRV {
			tr.m.predict(dt, &t.p.CTRV)
		} else {
			tr.x.predict(dt, q)
			tr.y.predict(dt, q)
			tr.yaw.predict(0.01 * dt)
		}
		tr.z.predict(dt, q/10)
		tr.l.predict(1e-4)
		tr.w.predict(1e-4)
		tr.h.predict(1e-4)
	}
	if cap(t.used) < len(dets) {
		t.used = make([]bool, len(dets))
	}
	used := t.used[:len(dets)]
	for i := range used {
		used[i] = false
	}
	for _, tr := range t.tracks {
		tr.matched = false
	}
	t.associate(dets, used)
	// Age the unmatched, drop the lost.
	kept := t.tracks[:0]
	for _, tr := range t.tracks {
		if !tr.matched {
			tr.miss++
			tr.hits = 0
			if !tr.confirmed || tr.miss > t.p.MaxShadowAge {
				t.free = append(t.free, tr)
				continue
			}
		}
		kept = append(kept, tr)
	}
	t.tracks = kept
	// New tentative tracks from unmatched detections.
	for i := range dets {
		if used[i] || !finiteBox(&dets[i]) {
			continue
		}
		t.tracks = append(t.tracks, t.start(&dets[i]))
	}
	t.out = t.out[:0]
	for _, tr := range t.tracks {
		switch {
		case tr.confirmed && tr.miss == 0:
		case tr.confirmed && t.p.OutputShadows:
		case !tr.confirmed && t.p.OutputTentative:
		default:
			continue
		}
		t.out = append(t.out, tr.state())
	}
	return t.out
}

func finiteBox(b *ds3d.Box3D) bool {
	for _, v := range [...]float32{b.CX, b.CY, b.CZ, b.DX, b.DY, b.DZ, b.Yaw} {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

func (t *Tracker) start(d *ds3d.Box3D) *track {
	var tr *track
	if n := len(t.free); n > 0 {
		tr, t.free = t.free[n-1], t.free[:n-1]
		*tr = track{}
	} else {
		tr = &track{}
	}
	r, v := t.p.PosNoise, t.p.InitVelVar
	tr.model = t.p.modelOf(d)
	if tr.model == ModelCTRV {
		// Speed and yaw rate unknown: zero with their prior variances. The
		// speed is signed, so a box whose heading points backwards along its
		// motion is tracked with v < 0 rather than turned around.
		tr.m.s = [nCTRV]float64{float64(d.CX), float64(d.CY), wrap(float64(d.Yaw)), 0, 0}
		tr.m.p[iX][iX], tr.m.p[iY][iY] = r, r
		tr.m.p[iYaw][iYaw] = t.p.CTRVYawNoise
		tr.m.p[iV][iV] = v
		tr.m.p[iW][iW] = t.p.InitYawRate
	} else {
		tr.x = cv{p: float64(d.CX), ppp: r, pvv: v}
		tr.y = cv{p: float64(d.CY), ppp: r, pvv: v}
		tr.yaw = con{x: float64(d.Yaw), p: t.p.YawNoise}
	}
	tr.z = cv{p: float64(d.CZ), ppp: r, pvv: v / 10}
	tr.l = con{x: float64(d.DX), p: t.p.SizeNoise}
	tr.w = con{x: float64(d.DY), p: t.p.SizeNoise}
	tr.h = con{x: float64(d.DZ), p: t.p.SizeNoise}
	tr.box = *d
	tr.hits = 1
	tr.id = -1
	if t.p.ProbationAge <= 1 {
		t.confirm(tr)
	}
	return tr
}

func (t *Tracker) confirm(tr *track) {
	tr.confirmed = true
	tr.id = t.nextID
	t.nextID++
}

// associate assigns detections to tracks per class (or all together) by
// minimum total BEV centre distance within the gate, marking the matched.
func (t *Tracker) associate(dets []ds3d.Box3D, used []bool) {
	t.classes = t.classes[:0]
	if !t.p.ClassAware {
		t.classes = append(t.classes, 0)
	} else {
		for i := range dets {
			if !finiteBox(&dets[i]) {
				continue
			}
			seen := false
			for _, c := range t.classes {
				seen = seen || c == dets[i].ClassID
			}
			if !seen {
				t.classes = append(t.classes, dets[i].ClassID)
			}
		}
	}
	for _, cls := range t.classes {
		t.dets = t.dets[:0]
		for i := range dets {
			if finiteBox(&dets[i]) && (!t.p.ClassAware || dets[i].ClassID == cls) {
				t.dets = append(t.dets, i)
			}
		}
		t.rows = t.rows[:0]
		for k, tr := range t.tracks {
			if !t.p.ClassAware || tr.box.ClassID == cls {
				t.rows = append(t.rows, k)
			}
		}
		nd, nt := len(t.dets), len(t.rows)
		if nd == 0 || nt == 0 {
			continue
		}
		if cap(t.rowToCol) < nt {
			t.rowToCol = make([]int, nt)
		}
		rowToCol := t.rowToCol[:nt]
		if t.dense {
			t.solveDense(dets, rowToCol)
		} else {
			t.g.solve(t, dets, rowToCol)
		}
		for a, k := range t.rows {
			b := rowToCol[a]
			if b < 0 {
				continue
			}
			di := t.dets[b]
			t.update(t.tracks[k], &dets[di])
			t.tracks[k].matched = true
			used[di] = true
		}
	}
}

// solveDense is the reference association: one assignment over the full
// tracks × detections matrix (forbidden pairs NaN), O(n·m) to fill and
// O(n²·m) to solve. The gated solver must give the same pairs.
func (t *Tracker) solveDense(dets []ds3d.Box3D, rowToCol []int) {
	gate := t.p.GateMeters
	nd, nt := len(t.dets), len(t.rows)
	if cap(t.cost) < nt*nd {
		t.cost = make([]float64, nt*nd)
	}
	cost := t.cost[:nt*nd]
	for a, k := range t.rows {
		px, py := t.tracks[k].pos()
		for b, di := range t.dets {
			cost[a*nd+b] = math.NaN() // outside the gate: forbidden
			dx, dy := float64(dets[di].CX)-px, float64(dets[di].CY)-py
			if d2 := dx*dx + dy*dy; d2 <= gate*gate {
				cost[a*nd+b] = d2
			}
		}
	}
	if _, err := t.asg.Solve(cost, nt, nd, rowToCol); err != nil {
		for i := range rowToCol {
			rowToCol[i] = -1 // cannot happen: the sizes are ours
		}
	}
}

// update folds a detection into a track.
func (t *Tracker) update(tr *track, d *ds3d.Box3D) {
	tr.z.update(float64(d.CZ), t.p.PosNoise)
	if tr.model == ModelCTRV {
		tr.m.update(iX, float64(d.CX)-tr.m.s[iX], t.p.PosNoise)
		tr.m.update(iY, float64(d.CY)-tr.m.s[iY], t.p.PosNoise)
		tr.m.update(iYaw, yawInnovation(float64(d.Yaw), tr.m.s[iYaw]), t.p.CTRVYawNoise)
	} else {
		tr.x.update(float64(d.CX), t.p.PosNoise)
		tr.y.update(float64(d.CY), t.p.PosNoise)
		tr.yaw.update(tr.yaw.x+yawInnovation(float64(d.Yaw), tr.yaw.x), t.p.YawNoise)
		tr.yaw.x = wrap(tr.yaw.x)
	}
	tr.l.update(float64(d.DX), t.p.SizeNoise)
	tr.w.update(float64(d.DY), t.p.SizeNoise)
	tr.h.update(float64(d.DZ), t.p.SizeNoise)
	tr.box = *d
	tr.miss = 0
	tr.hits++
	if !tr.confirmed && tr.hits >= t.p.ProbationAge {
		t.confirm(tr)
	}
}

// yawInnovation is measured − predicted heading, taking the measurement
// modulo π nearest the prediction: detectors without a direction
// classifier report boxes backwards at times.
func yawInnovation(z, pred float64) float64 {
	diff := wrap(z - pred)
	if math.Abs(diff) > math.Pi/2 {
		diff = wrap(diff + math.Pi)
	}
	return diff
}

// pos is the track's predicted BEV centre.
func (tr *track) pos() (x, y float64) {
	if tr.model == ModelCTRV {
		return tr.m.s[iX], tr.m.s[iY]
	}
	return tr.x.p, tr.y.p
}

// state is the track's box as output.
func (tr *track) state() ds3d.Box3D {
	b := tr.box
	b.CZ = float32(tr.z.p)
	b.DX, b.DY, b.DZ = float32(tr.l.x), float32(tr.w.x), float32(tr.h.x)
	if tr.model == ModelCTRV {
		sy, cy := math.Sincos(tr.m.s[iYaw])
		b.CX, b.CY = float32(tr.m.s[iX]), float32(tr.m.s[iY])
		b.Yaw = float32(tr.m.s[iYaw])
		b.VX, b.VY = float32(tr.m.s[iV]*cy), float32(tr.m.s[iV]*sy)
	} else {
		b.CX, b.CY = float32(tr.x.p), float32(tr.y.p)
		b.Yaw = float32(tr.yaw.x)
		b.VX, b.VY = float32(tr.x.v), float32(tr.y.v)
	}
	b.TrackID = tr.id
	return b
}
