package detect

import (
	"context"
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/postprocess"
)

// Config configures model_free_detector.
type Config struct {
	ds3d.InputGroup  `doc:"key of the [N,C≥3] f32 lidar frame (x forward, y left, z up)"`
	ds3d.OutputGroup `doc:"key the []Box3D detections are stored under"`
	XRange           []float64 `toml:"x_range" nonempty:"true" len:"2" finite:"true" ordered:"<" doc:"[min, max] of x in metres of the region of interest"`
	YRange           []float64 `toml:"y_range" nonempty:"true" len:"2" finite:"true" ordered:"<" doc:"[min, max] of y in metres"`
	ZRange           []float64 `toml:"z_range" nonempty:"true" len:"2" finite:"true" ordered:"<" doc:"[min, max] of z in metres"`
	FOVDeg           float64   `toml:"fov_deg" min:"0" max:"360" unit:"°" doc:"keep points with x > 0 within ±fov_deg/2 of +x (a camera's view); 0: all around"`
	GroundThreshold  float64   `toml:"ground_threshold" min:">0" unit:"m" doc:"RANSAC ground plane inlier distance in metres"`
	GroundIters      int       `toml:"ground_iterations" min:"1" max:"100000" doc:"RANSAC hypotheses"`
	Seed             int64     `toml:"seed" doc:"RANSAC seed: the same cloud gives the same boxes"`
	GroundClearance  float64   `toml:"ground_clearance" min:"0" unit:"m" doc:"points less than this many metres above the local ground are ground"`
	MaxHeight        float64   `toml:"max_height" min:">0" unit:"m" doc:"points more than this many metres above the local ground are dropped (canopies, signs)"`
	CellSize         float64   `toml:"cell_size" min:">0" unit:"m" doc:"BEV clustering cell in metres (8-connected cells join)"`
	MinPoints        int       `toml:"min_points" min:"1" doc:"smallest cluster in points"`
	AngleStepDeg     float64   `toml:"angle_step_deg" min:">0" unit:"°" doc:"heading search step of the L-shape fit in degrees"`
	Criterion        string    `toml:"criterion" enum:"closeness|area" doc:"L-shape fit criterion: closeness or area (Zhang et al. 2017)"`
	ScoreThreshold   float64   `toml:"score_threshold" notnan:"true" runtime:"true" doc:"boxes with a lower score are dropped"`
	NMSThreshold     float64   `toml:"nms_iou_threshold" min:"0" max:"1" runtime:"true" doc:"BEV IoU above which the lower-scored of two boxes is dropped; 1: no NMS"`
}

// Validate checks the rules that tie keys together: ground clearance
// below max_height, and a cell count the clustering grid can hold.
func (c *Config) Validate() error {
	cells := (c.XRange[1] - c.XRange[0]) / c.CellSize * (c.YRange[1] - c.YRange[0]) / c.CellSize
	switch {
	case c.GroundClearance >= c.MaxHeight:
		return ds3d.ConfigErrorf("ground_clearance", "must be below max_height (%v), got %v", c.MaxHeight, c.GroundClearance)
	case cells > 64e6:
		return ds3d.ConfigErrorf("cell_size", "%v m makes %.0f cells over the range; at most 64 million", c.CellSize, cells)
	}
	return nil
}

// Params returns the detector parameters of the config.
func (c *Config) Params() Params {
	p := DefaultParams
	p.Range = [6]float32{float32(c.XRange[0]), float32(c.YRange[0]), float32(c.ZRange[0]),
		float32(c.XRange[1]), float32(c.YRange[1]), float32(c.ZRange[1])}
	p.FOVDeg = c.FOVDeg
	p.GroundThreshold, p.GroundIters, p.GroundSeed = c.GroundThreshold, c.GroundIters, uint64(c.Seed)
	p.GroundClearance, p.MaxHeight = float32(c.GroundClearance), float32(c.MaxHeight)
	p.Cell, p.MinPoints = float32(c.CellSize), c.MinPoints
	p.AngleStepDeg, p.Criterion = c.AngleStepDeg, c.Criterion
	p.MinScore = float32(math.Max(c.ScoreThreshold, -math.MaxFloat32))
	return p
}

// Filter is the model_free_detector component.
type Filter struct {
	in, out ds3d.Key
	det     *Detector
	nmsThr  float64
	nms     postprocess.NMS
	raw     []ds3d.Box3D
	idx     []int32
}

// NewFilter builds model_free_detector from a validated config.
func NewFilter(c *Config) *Filter {
	return &Filter{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), det: New(c.Params()), nmsThr: c.NMSThreshold}
}

// Update applies a new score_threshold and nms_iou_threshold between two
// datamaps.
func (f *Filter) Update(cfg any) error {
	c := cfg.(*Config)
	f.det, f.nmsThr = New(c.Params()), c.NMSThreshold
	return nil
}

// Process detects the objects of the input cloud and stores a new box
// slice (box slices are shared read-only downstream).
func (f *Filter) Process(_ context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	switch {
	case src.Mem == ds3d.MemGPU:
		return fmt.Errorf("%s: frame in GPU memory; model_free_detector runs on CPU frames", f.in)
	case src.DType != ds3d.DTypeF32 || src.Shape.NumDims != 2 || src.Shape.D[1] < 3 || len(src.Data) < src.Shape.Elements()*4:
		return fmt.Errorf("%s: frame %s %s, want an [N,C≥3] f32 point frame", f.in, src.DType, src.Shape)
	}
	f.raw = f.det.Detect(f.raw[:0], src)
	var out []ds3d.Box3D
	out, f.idx = f.nms.Suppress(make([]ds3d.Box3D, 0, len(f.raw)), f.raw, float32(math.Inf(-1)), f.nmsThr, false, -1, f.idx)
	m.Set(f.out, out)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "model_free_detector",
		`Model-free lidar 3D detector (no weights): ROI crop, RANSAC + local-grid ground removal, BEV grid clustering, L-shape box fitting (Zhang et al. 2017), size/shape rules → Car / Pedestrian / Cyclist boxes with a score, then rotated NMS.`,
		defaultConfig,
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c), nil })
}

// defaultConfig is model_free_detector's defaults: DefaultParams over the
// KITTI front ROI, all around (fov_deg 0), NMS at BEV IoU 0.1.
func defaultConfig() *Config {
	p := DefaultParams
	return &Config{
		InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidar3DBboxRawData)},
		XRange: []float64{0, 70.4}, YRange: []float64{-40, 40}, ZRange: []float64{-3, 1},
		GroundThreshold: p.GroundThreshold, GroundIters: p.GroundIters, Seed: int64(p.GroundSeed),
		GroundClearance: float64(p.GroundClearance), MaxHeight: float64(p.MaxHeight),
		CellSize: float64(p.Cell), MinPoints: p.MinPoints, AngleStepDeg: p.AngleStepDeg,
		Criterion: p.Criterion, ScoreThreshold: float64(p.MinScore), NMSThreshold: 0.1,
	}
}
