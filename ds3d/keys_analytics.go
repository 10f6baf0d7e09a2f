package ds3d

// KeyAnalytics holds what the analytics filters (analytics for 2D tracks,
// analytics_3d for 3D tracks, filters/analytics) concluded from one
// frame's tracks: a *Analytics value. The 2D filter on a stream_mux batch
// writes one per batch slot N under DS3D::Analytics_N, next to the slot's
// DS3D::Object2DBboxKey_N; without a batch, and in 3D, it is the plain
// key. The value is read-only downstream and shared by reference like
// every non-frame datamap value; its Rules slice is the same for every
// frame of a component, so renderers may cache what they derive from it.
const KeyAnalytics Key = "DS3D::Analytics"

// KeyAnalyticsEvents holds the datamap's analytics events as a
// *AnalyticsEvents (all slots of a batch together, in slot order), for the
// sinks that send them (docs/ANALYTICS.md, "Events"). It is set on every
// datamap the filter handles, with no events when nothing happened. A
// pointer, so storing it allocates nothing.
const KeyAnalyticsEvents Key = "DS3D::AnalyticsEvents"

// AnalyticsEvents are the analytics events of one datamap.
type AnalyticsEvents struct {
	Events []AnalyticsEvent
}

// AnalyticsSpace says in which plane a rule's points and the objects'
// positions are given.
type AnalyticsSpace uint8

const (
	// SpacePixels: image pixels of the source frame, x right, y down.
	SpacePixels AnalyticsSpace = iota
	// SpaceGround: metres on the ground plane — the sensor frame's (x, y)
	// for a lidar (x forward, y left), or the plane a camera's image-to-
	// ground homography maps to.
	SpaceGround
	// SpaceWorld: metres, the world frame's (x, y) reached through
	// DS3D::EgoPose.
	SpaceWorld
)

func (s AnalyticsSpace) String() string {
	switch s {
	case SpacePixels:
		return "pixels"
	case SpaceGround:
		return "ground"
	case SpaceWorld:
		return "world"
	}
	return "unknown"
}

// AnalyticsRuleKind is what a rule's geometry is.
type AnalyticsRuleKind uint8

const (
	// RuleZone is a closed polygon (DeepStream's ROI and overcrowding
	// regions): entry, exit, dwell, occupancy, over-speed and wrong-way.
	RuleZone AnalyticsRuleKind = iota
	// RuleLine is a segment from Points[0] to Points[1]: crossings with
	// their direction.
	RuleLine
	// RuleDirection is a named direction of travel from Points[0] to
	// Points[1] (DeepStream's direction detection): an object moving within
	// its angle of it is flagged with it.
	RuleDirection
)

func (k AnalyticsRuleKind) String() string {
	switch k {
	case RuleZone:
		return "zone"
	case RuleLine:
		return "line"
	case RuleDirection:
		return "direction"
	}
	return "unknown"
}

// MaxAnalyticsRules is the most rules one analytics component holds: an
// object's zones and directions are bit sets of rule indices.
const MaxAnalyticsRules = 64

// AnalyticsRule is one configured zone, line or direction, as renderers
// draw it without reading the component's config.
//
// A line's positive side is where cross(B − A, P − A) > 0 with A =
// Points[0], B = Points[1]: the left of the walk from A to B as the plane is
// drawn with x right and y up (in a lidar's ground frame, x forward and y
// left, the line (0,0)→(10,0) has +y on its positive side); in image pixels,
// y down, it is the right of the walk as seen on screen. A crossing's
// direction is the side the object ends on: +1 positive, −1 negative
// (docs/ANALYTICS.md).
type AnalyticsRule struct {
	ID       string // the rule's name in the config
	Kind     AnalyticsRuleKind
	Space    AnalyticsSpace
	SourceID int32        // the stream it applies to; −1: every stream
	Points   [][2]float64 // zone: polygon vertices in order (closed implicitly); line and direction: from, to
	// Inverse marks a zone whose outside is the region (DeepStream's
	// inverse-roi): objects count as in it when they are outside the polygon.
	Inverse bool
	// Classes are the labels the rule counts; empty: every class.
	Classes []string
	// Overcrowding is the zone's overcrowding threshold (objects inside at
	// once); 0: none.
	Overcrowding int
	// MaxSpeed is the zone's speed limit in m/s (pixels/s in SpacePixels
	// without a homography); 0: none.
	MaxSpeed float64
	// Expected is the zone's expected direction of travel, a unit vector
	// in Space; zero: no wrong-way rule.
	Expected [2]float64
}

// AnalyticsCount is what one rule counted for one class: ClassID −1 and
// Label "" are every class together, and come first for each rule.
// Zones fill the zone fields, lines the line fields; the others stay 0.
type AnalyticsCount struct {
	Rule    int32 // index in Analytics.Rules
	ClassID int32 // −1: every class of the rule
	Label   string

	// Zone: objects inside now, entries and exits this frame and since the
	// start, over-speed and wrong-way objects inside now, object-seconds
	// spent inside since the start (occupancy over time: its rate is the
	// mean occupancy), and whether Inside exceeds the overcrowding
	// threshold.
	Inside             int32
	Entries, Exits     int32
	TotalEntries       uint64
	TotalExits         uint64
	OverSpeed          int32
	WrongWay           int32
	OccupancySeconds   float64
	Overcrowded        bool
	TotalOvercrowdings uint64 // times the zone went over its threshold

	// Line: crossings this frame and since the start, per direction
	// (Positive: ending on the positive side).
	Positive, Negative           int32
	TotalPositive, TotalNegative uint64
}

// AnalyticsObject is what the filter found about one tracked object. Index
// is its position in the object list it came from (DS3D::Object2DBboxKey[_N]
// or the 3D boxes), so renderers can colour that box.
type AnalyticsObject struct {
	Index    int32
	TrackID  int64
	ClassID  int32
	SourceID int32
	// Pos is the anchor in the rules' space (2D: bottom centre of the box,
	// or its ground point through the homography; 3D: the box centre on
	// the ground).
	Pos [2]float64
	// Zones and Directions are bit sets of rule indices: the zones the
	// object is in, the direction rules it moves along.
	Zones, Directions uint64
	// Crossed is the line the object crossed this frame (index in Rules),
	// −1 for none; CrossDir its direction, +1 or −1. An object crossing
	// several lines in one step reports the first rule; each crossing has
	// its own event.
	Crossed  int32
	CrossDir int8
	// Speed is the smoothed speed (m/s; pixels/s in SpacePixels), NaN while
	// the track is too young to tell.
	Speed float32
	// Vel is the smoothed velocity in the rules' space, per second.
	Vel [2]float32
	// Dwell is the longest time in seconds the object has been in any of
	// its zones.
	Dwell     float32
	Age       int32 // frames the track has been seen, this one included
	OverSpeed bool  // in a zone with max_speed, faster than it
	WrongWay  bool  // in a zone with an expected direction, moving against it
	Counted   bool  // old enough to count (min_track_age) and of a counted class
}

// Analytics is the result of one frame (one batch slot in 2D).
type Analytics struct {
	SourceID    int32
	FrameNumber int64
	Timestamp   int64 // ns, the datamap's DS3D::Timestamp (or the batch slot's PTS)
	Space       AnalyticsSpace
	Rules       []AnalyticsRule // the component's rules, the same slice every frame
	Counts      []AnalyticsCount
	Objects     []AnalyticsObject
	Events      []AnalyticsEvent // this frame's events of this slot
}

// AnalyticsEventType is what happened.
type AnalyticsEventType string

const (
	EventZoneEntry    AnalyticsEventType = "entry"
	EventZoneExit     AnalyticsEventType = "exit"
	EventLineCrossing AnalyticsEventType = "line_crossing"
	EventOvercrowding AnalyticsEventType = "overcrowding" // a zone went over its threshold
	EventOverSpeed    AnalyticsEventType = "over_speed"   // an object started exceeding a zone's max_speed
	EventWrongWay     AnalyticsEventType = "wrong_way"    // an object started moving against a zone's direction
)

// AnalyticsEvent is one entry, exit, crossing or violation: one message
// of the analytics payload (sensors/msgconv, docs/PAYLOADS.md). An
// overcrowding event has TrackID −1 and Count set.
type AnalyticsEvent struct {
	Type        AnalyticsEventType
	Rule        int32  // index in Analytics.Rules
	RuleID      string // the rule's ID
	Direction   int8   // line crossings: +1 positive side, −1 negative
	SourceID    int32
	FrameNumber int64
	Timestamp   int64 // ns
	TrackID     int64
	ClassID     int32
	Label       string
	Pos         [2]float64 // anchor in the rules' space
	Speed       float32    // m/s (pixels/s in SpacePixels), NaN when unknown
	Dwell       float32    // exit: seconds spent in the zone
	Count       int32      // overcrowding: objects inside
	Space       AnalyticsSpace
	// Object is the 2D object (2D filter) and Box the 3D box (3D filter)
	// the event is about; the other is zero.
	Object Object2D
	Box    Box3D
}
