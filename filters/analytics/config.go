package analytics

import (
	"fmt"
	"slices"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ZoneConfig is one [[component.config.zone]] table.
type ZoneConfig struct {
	ID           string       `toml:"id" nonempty:"true" doc:"the zone's name, in results, events and metrics"`
	SourceID     int          `toml:"source_id" min:"-1" doc:"the stream (DS3D::SourceId) it applies to; -1: every stream (DeepStream's per-stream groups)"`
	Polygon      [][2]float64 `toml:"polygon" doc:"vertices in order, [[x, y], ...]: at least 3, not self-crossing, non-zero area; pixels, or metres on the ground"`
	Inverse      bool         `toml:"inverse_roi" doc:"the region is the polygon's outside (DeepStream's inverse-roi)"`
	Classes      []string     `toml:"classes" doc:"labels the zone counts (each one of labels); empty: every class"`
	Overcrowding int          `toml:"overcrowding_threshold" min:"0" doc:"objects inside at once that make the zone overcrowded (an event when it becomes so); 0: no rule"`
	MaxSpeed     float64      `toml:"max_speed" min:"0" finite:"true" unit:"m/s" doc:"speed limit inside the zone (pixels/s without a homography in 2D); 0: no rule"`
	Expected     []float64    `toml:"expected_direction" len:"<=2" finite:"true" doc:"the direction of travel inside the zone, [dx, dy]; moving more than wrong_way_angle off it is wrong-way; empty: no rule"`
}

// LineConfig is one [[component.config.line]] table.
type LineConfig struct {
	ID       string       `toml:"id" nonempty:"true" doc:"the line's name, in results, events and metrics"`
	SourceID int          `toml:"source_id" min:"-1" doc:"the stream it applies to; -1: every stream"`
	Points   [][2]float64 `toml:"points" doc:"[[x0, y0], [x1, y1]]: the segment, of non-zero length; crossings that end on the left of x0→x1 (cross product > 0) are positive"`
	Classes  []string     `toml:"classes" doc:"labels the line counts; empty: every class"`
}

// DirectionConfig is one [[component.config.direction]] table.
type DirectionConfig struct {
	ID       string       `toml:"id" nonempty:"true" doc:"the direction's name (DeepStream's direction-detection names: North, East...)"`
	SourceID int          `toml:"source_id" min:"-1" doc:"the stream it applies to; -1: every stream"`
	Points   [][2]float64 `toml:"points" doc:"[[x0, y0], [x1, y1]]: the direction from the first point to the second"`
	Classes  []string     `toml:"classes" doc:"labels it applies to; empty: every class"`
}

// RulesConfig are the keys both components share.
type RulesConfig struct {
	Zones          []ZoneConfig      `toml:"zone" doc:"zones ([[component.config.zone]] tables): entry, exit, dwell, occupancy, overcrowding, over-speed, wrong-way"`
	Lines          []LineConfig      `toml:"line" doc:"lines ([[component.config.line]] tables): crossings with their direction"`
	Directions     []DirectionConfig `toml:"direction" doc:"named directions of travel ([[component.config.direction]] tables)"`
	MinTrackAge    int               `toml:"min_track_age" min:"1" max:"100000" doc:"frames a track must have been seen before it counts, enters, exits, crosses or violates (1: at once)"`
	SpeedTau       float64           `toml:"speed_smoothing" min:"0" max:"60" unit:"s" doc:"time constant of the exponential smoothing of velocities; 0: none"`
	MinSpeed       float64           `toml:"min_speed" min:"0" finite:"true" doc:"slowest speed (m/s, or pixels/s) at which direction and wrong-way are decided"`
	DirectionAngle float64           `toml:"direction_angle" min:"0" max:"180" unit:"°" doc:"an object moves along a direction rule within this angle of it"`
	WrongWayAngle  float64           `toml:"wrong_way_angle" min:"0" max:"180" unit:"°" doc:"an object in a zone with expected_direction moving more than this angle off it is wrong-way"`
	MaxGap         int               `toml:"max_track_gap" min:"0" max:"100000" doc:"frames a lost track is remembered, so one that comes back under the same id goes on where it was"`
	FrameRate      float64           `toml:"frame_rate" min:">0" max:"10000" unit:"Hz" doc:"frames per second, used only when datamaps carry no increasing timestamp"`
	Labels         []string          `toml:"labels" nonempty:"true" doc:"class labels, index = class id: objects are matched by label, or by class id when they have none; classes must be among them"`
	CountClasses   []string          `toml:"count_classes" doc:"labels that get count rows of their own per zone and line, besides the all-class row"`
	LineMargin     float64           `toml:"line_margin" min:"0" finite:"true" doc:"a point this close to a line (pixels, or metres) is on it: a track crosses only once it is this far past the line, which keeps a box jittering on the line from counting again and again"`
	ZoneMargin     float64           `toml:"zone_margin" min:"0" finite:"true" doc:"a track enters (leaves) a zone only once it is this far inside (outside) its border (pixels, or metres)"`
	ResultRing     int               `toml:"result_buffers" min:"2" max:"4096" doc:"results per stream in flight: a result's memory is reused this many frames later, so no sink may hold one longer"`
	ExitAfter      time.Duration     `toml:"exit_after" min:"0" doc:"a track that vanishes inside a zone exits it once it has been gone this long, or when it is forgotten after max_track_gap frames if that comes first (the exit carries its last position and the dwell until it was last seen); 0: a vanished track never exits"`
}

// Validate checks the geometry and the classes; errors name the table and
// key (zone[2].polygon).
func (c *RulesConfig) Validate() error {
	if len(c.Zones)+len(c.Lines)+len(c.Directions) > ds3d.MaxAnalyticsRules {
		return ds3d.ConfigErrorf("zone", "%d zones, lines and directions, at most %d", len(c.Zones)+len(c.Lines)+len(c.Directions), ds3d.MaxAnalyticsRules)
	}
	classes := func(key string, cs []string) error {
		for _, cl := range cs {
			if !slices.Contains(c.Labels, cl) {
				return ds3d.ConfigErrorf(key, "unknown class %q: not one of labels", cl)
			}
		}
		return nil
	}
	ids := map[string]string{}
	id := func(key, v string) error {
		if prev, dup := ids[v]; dup {
			return ds3d.ConfigErrorf(key, "id %q is also %s's", v, prev)
		}
		ids[v] = key
		return nil
	}
	for i, z := range c.Zones {
		k := fmt.Sprintf("zone[%d].", i)
		if err := id(k+"id", z.ID); err != nil {
			return err
		}
		if _, err := NewPolygon(z.Polygon); err != nil {
			return ds3d.ConfigErrorf(k+"polygon", "%v", err)
		}
		if err := classes(k+"classes", z.Classes); err != nil {
			return err
		}
		if len(z.Expected) == 1 || (len(z.Expected) == 2 && z.Expected[0] == 0 && z.Expected[1] == 0) {
			return ds3d.ConfigErrorf(k+"expected_direction", "want [dx, dy], not zero")
		}
	}
	for i, l := range c.Lines {
		k := fmt.Sprintf("line[%d].", i)
		if err := id(k+"id", l.ID); err != nil {
			return err
		}
		if _, err := NewLine(l.Points); err != nil {
			return ds3d.ConfigErrorf(k+"points", "%v", err)
		}
		if err := classes(k+"classes", l.Classes); err != nil {
			return err
		}
	}
	for i, d := range c.Directions {
		k := fmt.Sprintf("direction[%d].", i)
		if err := id(k+"id", d.ID); err != nil {
			return err
		}
		if _, err := NewLine(d.Points); err != nil {
			return ds3d.ConfigErrorf(k+"points", "%v", err)
		}
		if err := classes(k+"classes", d.Classes); err != nil {
			return err
		}
	}
	return classes("count_classes", c.CountClasses)
}

// Rules returns the configured rules in order: zones, lines, directions.
func (c *RulesConfig) Rules() []ds3d.AnalyticsRule {
	var out []ds3d.AnalyticsRule
	for _, z := range c.Zones {
		r := ds3d.AnalyticsRule{ID: z.ID, Kind: ds3d.RuleZone, SourceID: int32(z.SourceID), Points: slices.Clone(z.Polygon),
			Inverse: z.Inverse, Classes: slices.Clone(z.Classes), Overcrowding: z.Overcrowding, MaxSpeed: z.MaxSpeed}
		if len(z.Expected) == 2 {
			r.Expected = [2]float64{z.Expected[0], z.Expected[1]}
		}
		out = append(out, r)
	}
	for _, l := range c.Lines {
		out = append(out, ds3d.AnalyticsRule{ID: l.ID, Kind: ds3d.RuleLine, SourceID: int32(l.SourceID), Points: slices.Clone(l.Points), Classes: slices.Clone(l.Classes)})
	}
	for _, d := range c.Directions {
		out = append(out, ds3d.AnalyticsRule{ID: d.ID, Kind: ds3d.RuleDirection, SourceID: int32(d.SourceID), Points: slices.Clone(d.Points), Classes: slices.Clone(d.Classes)})
	}
	return out
}

// Options returns the engine options of the config in space.
func (c *RulesConfig) Options(space ds3d.AnalyticsSpace) Options {
	return Options{Space: space, MinTrackAge: c.MinTrackAge, SpeedTau: c.SpeedTau, MinSpeed: c.MinSpeed,
		DirectionAngle: c.DirectionAngle, WrongWayAngle: c.WrongWayAngle, MaxGap: c.MaxGap, FrameRate: c.FrameRate,
		Labels: slices.Clone(c.Labels), CountClasses: slices.Clone(c.CountClasses), ResultRing: c.ResultRing,
		LineMargin: c.LineMargin, ZoneMargin: c.ZoneMargin, ExitAfter: int64(c.ExitAfter)}
}

func defaultRules(labels []string) RulesConfig {
	return RulesConfig{MinTrackAge: 1, SpeedTau: 0.5, MinSpeed: 0.5, DirectionAngle: 45, WrongWayAngle: 120,
		MaxGap: 30, FrameRate: 30, Labels: labels, ResultRing: 64, ExitAfter: time.Second}
}

// COCOLabels are the 80 COCO class names in YOLOX's order: the 2D
// default labels.
var COCOLabels = []string{
	"person", "bicycle", "car", "motorbike", "aeroplane", "bus", "train", "truck", "boat",
	"traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
	"horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag",
	"tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
	"baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork",
	"knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog",
	"pizza", "donut", "cake", "chair", "sofa", "pottedplant", "bed", "diningtable", "toilet",
	"tvmonitor", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster",
	"sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
	"toothbrush",
}

// Labels3D are the 3D default labels: KITTI's and DAIR-V2X's classes.
var Labels3D = []string{"Car", "Pedestrian", "Cyclist", "Truck", "Van", "Bus", "Tricyclist", "Motorcyclist",
	"Barrowlist", "Trafficcone"}
