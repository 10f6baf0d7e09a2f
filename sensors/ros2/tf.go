package ros2

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// TFMessageType is the ROS 2 name of the /tf and /tf_static message.
const TFMessageType = "tf2_msgs/msg/TFMessage"

// Transform is geometry_msgs/msg/Transform: a translation and a unit
// quaternion (x y z w). It maps points of the child frame into the parent
// frame: p_parent = R·p_child + t.
type Transform struct {
	Translation [3]float64
	Rotation    [4]float64 // x y z w
}

// IdentityTransform is the transform that changes nothing.
var IdentityTransform = Transform{Rotation: [4]float64{0, 0, 0, 1}}

// TransformStamped is geometry_msgs/msg/TransformStamped: Header.FrameID is
// the parent frame, ChildFrameID the child.
type TransformStamped struct {
	Header       Header
	ChildFrameID string
	Transform    Transform
}

// DecodeTFMessage decodes a CDR tf2_msgs/msg/TFMessage.
func DecodeTFMessage(b []byte) ([]TransformStamped, error) {
	return UnmarshalTFMessage(b, nil)
}

// UnmarshalTFMessage is DecodeTFMessage into dst's array (and strings),
// so that a stream of messages of one shape allocates nothing.
func UnmarshalTFMessage(b []byte, dst []TransformStamped) ([]TransformStamped, error) {
	d, err := newDec(b)
	if err != nil {
		return dst[:0], fmt.Errorf("TFMessage: %w", err)
	}
	// A TransformStamped takes at least 4+4+4+4+7×8 bytes.
	n := d.count("transforms", 72)
	dst = resize(dst, n)
	for i := range dst {
		t := &dst[i]
		d.header(&t.Header)
		d.str(&t.ChildFrameID, "child_frame_id")
		d.f64s(t.Transform.Translation[:], "transform.translation")
		d.f64s(t.Transform.Rotation[:], "transform.rotation")
		if d.err != nil {
			return dst[:0], fmt.Errorf("TFMessage: transforms[%d]: %w", i, d.err)
		}
	}
	return dst, d.done("TFMessage")
}

// AppendTFMessage appends a tf2_msgs/msg/TFMessage holding ts to dst.
func AppendTFMessage(dst []byte, ts []TransformStamped) []byte {
	w := NewWriter(dst)
	w.Count(len(ts))
	for i := range ts {
		appendTransformStamped(&w, &ts[i])
	}
	return w.Bytes()
}

func appendTransformStamped(w *Writer, t *TransformStamped) {
	w.Header(&t.Header)
	w.String(t.ChildFrameID)
	w.Float64s(t.Transform.Translation[:])
	w.Float64s(t.Transform.Rotation[:])
}

// Mat4 is the transform as a row-major 4×4 matrix (the quaternion
// normalised first).
func (t Transform) Mat4() ds3d.Mat4 {
	x, y, z, w := normQ(t.Rotation)
	return ds3d.Mat4{
		1 - 2*(y*y+z*z), 2 * (x*y - z*w), 2 * (x*z + y*w), t.Translation[0],
		2 * (x*y + z*w), 1 - 2*(x*x+z*z), 2 * (y*z - x*w), t.Translation[1],
		2 * (x*z - y*w), 2 * (y*z + x*w), 1 - 2*(x*x+y*y), t.Translation[2],
		0, 0, 0, 1,
	}
}

// TransformFromMat4 is the rigid transform of a 4×4 matrix whose upper-left
// 3×3 is a rotation (Shepperd's method picks the best-conditioned pivot).
func TransformFromMat4(m ds3d.Mat4) Transform {
	return Transform{Translation: [3]float64{m[3], m[7], m[11]}, Rotation: quatFromRot(m[0], m[1], m[2], m[4], m[5], m[6], m[8], m[9], m[10])}
}

func quatFromRot(m00, m01, m02, m10, m11, m12, m20, m21, m22 float64) [4]float64 {
	var x, y, z, w float64
	switch tr := m00 + m11 + m22; {
	case tr > 0:
		s := 2 * math.Sqrt(tr+1)
		w, x, y, z = s/4, (m21-m12)/s, (m02-m20)/s, (m10-m01)/s
	case m00 > m11 && m00 > m22:
		s := 2 * math.Sqrt(1+m00-m11-m22)
		w, x, y, z = (m21-m12)/s, s/4, (m01+m10)/s, (m02+m20)/s
	case m11 > m22:
		s := 2 * math.Sqrt(1+m11-m00-m22)
		w, x, y, z = (m02-m20)/s, (m01+m10)/s, s/4, (m12+m21)/s
	default:
		s := 2 * math.Sqrt(1+m22-m00-m11)
		w, x, y, z = (m10-m01)/s, (m02+m20)/s, (m12+m21)/s, s/4
	}
	x, y, z, w = normQ([4]float64{x, y, z, w})
	return [4]float64{x, y, z, w}
}

func normQ(q [4]float64) (x, y, z, w float64) {
	n := math.Sqrt(q[0]*q[0] + q[1]*q[1] + q[2]*q[2] + q[3]*q[3])
	if n == 0 || math.IsNaN(n) {
		return 0, 0, 0, 1
	}
	return q[0] / n, q[1] / n, q[2] / n, q[3] / n
}

// QuatFromEuler is the quaternion (x y z w) of R = Rz(yaw)·Ry(pitch)·Rx(roll),
// the rotation of ds3d.Box3D.
func QuatFromEuler(yaw, pitch, roll float64) [4]float64 {
	cy, sy := math.Cos(yaw/2), math.Sin(yaw/2)
	cp, sp := math.Cos(pitch/2), math.Sin(pitch/2)
	cr, sr := math.Cos(roll/2), math.Sin(roll/2)
	return [4]float64{
		sr*cp*cy - cr*sp*sy,
		cr*sp*cy + sr*cp*sy,
		cr*cp*sy - sr*sp*cy,
		cr*cp*cy + sr*sp*sy,
	}
}

// EulerFromQuat inverts QuatFromEuler (pitch in [-π/2, π/2]).
func EulerFromQuat(q [4]float64) (yaw, pitch, roll float64) {
	x, y, z, w := normQ(q)
	sp := 2 * (w*y - z*x)
	sp = math.Max(-1, math.Min(1, sp))
	pitch = math.Asin(sp)
	roll = math.Atan2(2*(w*x+y*z), 1-2*(x*x+y*y))
	yaw = math.Atan2(2*(w*z+x*y), 1-2*(y*y+z*z))
	return yaw, pitch, roll
}

// compose returns a·b (apply b, then a).
func compose(a, b Transform) Transform {
	ax, ay, az, aw := normQ(a.Rotation)
	bx, by, bz, bw := normQ(b.Rotation)
	q := [4]float64{
		aw*bx + ax*bw + ay*bz - az*by,
		aw*by - ax*bz + ay*bw + az*bx,
		aw*bz + ax*by - ay*bx + az*bw,
		aw*bw - ax*bx - ay*by - az*bz,
	}
	t := rotate(ax, ay, az, aw, b.Translation)
	return Transform{Translation: [3]float64{t[0] + a.Translation[0], t[1] + a.Translation[1], t[2] + a.Translation[2]}, Rotation: q}
}

// inverse returns a⁻¹.
func inverse(a Transform) Transform {
	x, y, z, w := normQ(a.Rotation)
	t := rotate(-x, -y, -z, w, a.Translation)
	return Transform{Translation: [3]float64{-t[0], -t[1], -t[2]}, Rotation: [4]float64{-x, -y, -z, w}}
}

// rotate applies the unit quaternion (x y z w) to v.
func rotate(x, y, z, w float64, v [3]float64) [3]float64 {
	// v' = v + 2w(q×v) + 2q×(q×v)
	cx, cy, cz := y*v[2]-z*v[1], z*v[0]-x*v[2], x*v[1]-y*v[0]
	ccx, ccy, ccz := y*cz-z*cy, z*cx-x*cz, x*cy-y*cx
	return [3]float64{v[0] + 2*(w*cx+ccx), v[1] + 2*(w*cy+ccy), v[2] + 2*(w*cz+ccz)}
}

// Interpolate returns the transform a fraction f of the way from a to b:
// translation linearly, rotation by spherical linear interpolation along
// the shorter arc.
func Interpolate(a, b Transform, f float64) Transform {
	var out Transform
	for i := range 3 {
		out.Translation[i] = a.Translation[i] + f*(b.Translation[i]-a.Translation[i])
	}
	ax, ay, az, aw := normQ(a.Rotation)
	bx, by, bz, bw := normQ(b.Rotation)
	dot := ax*bx + ay*by + az*bz + aw*bw
	if dot < 0 {
		bx, by, bz, bw, dot = -bx, -by, -bz, -bw, -dot
	}
	var s0, s1 float64
	if dot > 0.9995 { // nearly parallel: lerp, then normalise
		s0, s1 = 1-f, f
	} else {
		th := math.Acos(dot)
		sin := math.Sin(th)
		s0, s1 = math.Sin((1-f)*th)/sin, math.Sin(f*th)/sin
	}
	x, y, z, w := normQ([4]float64{s0*ax + s1*bx, s0*ay + s1*by, s0*az + s1*bz, s0*aw + s1*bw})
	out.Rotation = [4]float64{x, y, z, w}
	return out
}

// DefaultTFCache is how long a TFTree keeps a dynamic transform's history.
const DefaultTFCache = 10 * time.Second

// maxTFSamples bounds one edge's history whatever its rate.
const maxTFSamples = 1 << 16

// ErrTFExtrapolation is wrapped by Lookup's error for a time outside the
// history of a dynamic transform on the chain.
var ErrTFExtrapolation = errors.New("extrapolation")

type tfSample struct {
	ns int64
	tf Transform
}

type tfEdge struct {
	parent string
	static bool
	fixed  Transform  // static
	hist   []tfSample // dynamic, by time
}

// TFTree is a tf2-style buffer of the transforms of /tf and /tf_static: a
// tree of frames, each child holding the transform from its frame into its
// parent's. Static transforms hold at every time; a dynamic one keeps a
// history of Cache (DefaultTFCache when zero) and is interpolated between
// its samples. A child that gets a new parent drops its history. It is safe
// for concurrent use.
type TFTree struct {
	// Cache is how far behind its newest sample a dynamic transform's
	// history reaches.
	Cache time.Duration

	mu    sync.RWMutex
	edges map[string]*tfEdge // by child frame
}

// NewTFTree returns an empty tree keeping cache of dynamic history
// (DefaultTFCache when cache ≤ 0).
func NewTFTree(cache time.Duration) *TFTree {
	return &TFTree{Cache: cache}
}

// Add records a transform (from /tf_static when static). A transform
// without parent or child frame, from a frame to itself, or with a zero
// quaternion is ignored, as tf2 refuses it.
func (t *TFTree) Add(ts TransformStamped, static bool) {
	parent, child := strings.TrimPrefix(ts.Header.FrameID, "/"), strings.TrimPrefix(ts.ChildFrameID, "/")
	q := ts.Transform.Rotation
	if parent == "" || child == "" || parent == child || q == [4]float64{} {
		return
	}
	for _, v := range ts.Transform.Translation {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
	}
	for _, v := range q {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.edges == nil {
		t.edges = map[string]*tfEdge{}
	}
	e := t.edges[child]
	if e == nil || e.parent != parent || e.static != static {
		e = &tfEdge{parent: parent, static: static}
		t.edges[child] = e
	}
	if static {
		e.fixed = ts.Transform
		return
	}
	ns := ts.Header.Nanos()
	i := sort.Search(len(e.hist), func(i int) bool { return e.hist[i].ns >= ns })
	switch {
	case i < len(e.hist) && e.hist[i].ns == ns:
		e.hist[i].tf = ts.Transform
	case i == len(e.hist):
		e.hist = append(e.hist, tfSample{ns, ts.Transform})
	default:
		e.hist = append(e.hist, tfSample{})
		copy(e.hist[i+1:], e.hist[i:])
		e.hist[i] = tfSample{ns, ts.Transform}
	}
	cache := t.Cache
	if cache <= 0 {
		cache = DefaultTFCache
	}
	oldest := e.hist[len(e.hist)-1].ns - int64(cache)
	drop := 0
	for drop < len(e.hist)-1 && (e.hist[drop].ns < oldest || len(e.hist)-drop > maxTFSamples) {
		drop++
	}
	if drop > 0 {
		e.hist = append(e.hist[:0], e.hist[drop:]...)
	}
}

// Frames lists the known frames, sorted.
func (t *TFTree) Frames() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.frames()
}

// frames is Frames with the lock held.
func (t *TFTree) frames() []string {
	set := map[string]bool{}
	for c, e := range t.edges {
		set[c], set[e.parent] = true, true
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the transform that maps points of frame source into frame
// target at time ns (nanoseconds since the epoch; 0 means the latest time
// every dynamic transform on the chain has), as tf2's
// lookupTransform(target, source, time): the chain runs from source up to
// the frames' common ancestor and down to target. Dynamic transforms are
// interpolated (translation linearly, rotation by slerp); a time outside a
// dynamic transform's history is an error wrapping ErrTFExtrapolation.
func (t *TFTree) Lookup(target, source string, ns int64) (ds3d.Mat4, error) {
	tf, err := t.LookupTransform(target, source, ns)
	if err != nil {
		return ds3d.Mat4{}, err
	}
	return tf.Mat4(), nil
}

// LookupTransform is Lookup returning the transform as translation and
// quaternion.
func (t *TFTree) LookupTransform(target, source string, ns int64) (Transform, error) {
	target, source = strings.TrimPrefix(target, "/"), strings.TrimPrefix(source, "/")
	t.mu.RLock()
	defer t.mu.RUnlock()
	if !t.known(target) {
		return Transform{}, fmt.Errorf("tf: frame %q does not exist (frames: %s)", target, t.frameList())
	}
	if !t.known(source) {
		return Transform{}, fmt.Errorf("tf: frame %q does not exist (frames: %s)", source, t.frameList())
	}
	if target == source {
		return IdentityTransform, nil
	}
	srcChain, err := t.chain(source)
	if err != nil {
		return Transform{}, err
	}
	tgtChain, err := t.chain(target)
	if err != nil {
		return Transform{}, err
	}
	// The common ancestor: the first frame of source's chain on target's.
	onTarget := make(map[string]int, len(tgtChain))
	for i, f := range tgtChain {
		onTarget[f] = i
	}
	si, ti := -1, -1
	for i, f := range srcChain {
		if j, ok := onTarget[f]; ok {
			si, ti = i, j
			break
		}
	}
	if si < 0 {
		return Transform{}, fmt.Errorf("tf: frames %q and %q are not connected (roots %q and %q)", source, target, srcChain[len(srcChain)-1], tgtChain[len(tgtChain)-1])
	}
	edges := append(append([]string(nil), srcChain[:si]...), tgtChain[:ti]...)
	if ns == 0 {
		if ns, err = t.latestCommon(edges); err != nil {
			return Transform{}, fmt.Errorf("tf: %s → %s: %w", source, target, err)
		}
	}
	// ancestor ← source, and ancestor ← target.
	up := func(chain []string) (Transform, error) {
		acc := IdentityTransform
		for _, child := range chain {
			tf, err := t.at(child, ns)
			if err != nil {
				return Transform{}, fmt.Errorf("tf: %s → %s: %w", source, target, err)
			}
			acc = compose(tf, acc)
		}
		return acc, nil
	}
	a, err := up(srcChain[:si])
	if err != nil {
		return Transform{}, err
	}
	b, err := up(tgtChain[:ti])
	if err != nil {
		return Transform{}, err
	}
	return compose(inverse(b), a), nil
}

func (t *TFTree) known(f string) bool {
	if _, ok := t.edges[f]; ok {
		return true
	}
	for _, e := range t.edges {
		if e.parent == f {
			return true
		}
	}
	return false
}

func (t *TFTree) frameList() string {
	out := t.frames()
	if len(out) > 20 {
		out = append(out[:20], "…")
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, " ")
}

// chain lists f and its ancestors up to the root.
func (t *TFTree) chain(f string) ([]string, error) {
	out := []string{f}
	for {
		e, ok := t.edges[f]
		if !ok {
			return out, nil
		}
		f = e.parent
		for _, g := range out {
			if g == f {
				return nil, fmt.Errorf("tf: frames form a loop through %q", f)
			}
		}
		out = append(out, f)
	}
}

// at is child's transform into its parent at ns.
func (t *TFTree) at(child string, ns int64) (Transform, error) {
	e := t.edges[child]
	if e.static {
		return e.fixed, nil
	}
	h := e.hist
	first, last := h[0].ns, h[len(h)-1].ns
	if ns < first || ns > last {
		return Transform{}, fmt.Errorf("%w: %s → %s requested at %s, history holds %s … %s", ErrTFExtrapolation, child, e.parent, fmtNs(ns), fmtNs(first), fmtNs(last))
	}
	i := sort.Search(len(h), func(i int) bool { return h[i].ns >= ns })
	if h[i].ns == ns {
		return h[i].tf, nil
	}
	a, b := h[i-1], h[i]
	return Interpolate(a.tf, b.tf, float64(ns-a.ns)/float64(b.ns-a.ns)), nil
}

// latestCommon is the newest time every dynamic edge of the chain holds.
func (t *TFTree) latestCommon(edges []string) (int64, error) {
	var lo, hi int64 = math.MinInt64, math.MaxInt64
	dynamic := false
	for _, c := range edges {
		e := t.edges[c]
		if e.static {
			continue
		}
		dynamic = true
		lo = max(lo, e.hist[0].ns)
		hi = min(hi, e.hist[len(e.hist)-1].ns)
	}
	if !dynamic {
		return 1, nil // any time: every transform is static
	}
	if lo > hi {
		return 0, fmt.Errorf("%w: the chain's dynamic transforms share no time (newest common %s, oldest %s)", ErrTFExtrapolation, fmtNs(hi), fmtNs(lo))
	}
	return hi, nil
}

func fmtNs(ns int64) string {
	return fmt.Sprintf("%d.%09d s", ns/1e9, abs64(ns%1e9))
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
