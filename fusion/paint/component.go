package paint

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/align"
)

// Config configures point_painting.
type Config struct {
	ds3d.InputGroup  `doc:"key of the [N,D≥3] f32 lidar points (x, y, z, …)"`
	ds3d.OutputGroup `doc:"key of the painted points, [N, D+C(+1)] f32: the input's D columns, then one score per class, then the background channel if asked"`
	Cameras          int      `toml:"cameras" min:"1" max:"64" doc:"number of cameras N; camera n's keys carry the sensor suffix n (as late_fusion)"`
	ObjectsKey       string   `toml:"objects_datamap_key" nonempty:"true" doc:"key of each camera's []Object2D detections, suffixed _n per camera"`
	IntrinsicsKey    string   `toml:"intrinsics_datamap_key" nonempty:"true" doc:"key of each camera's ds3d.Intrinsics, with the image size (ds3d's CamN spelling takes n inside)"`
	ExtrinsicsKey    string   `toml:"extrinsics_datamap_key" nonempty:"true" doc:"key of each camera's lidar→camera ds3d.Mat4 (ds3d's LidarToCamN spelling takes n inside)"`
	Classes          []string `toml:"classes" nonempty:"true" len:"<=256" doc:"class channels in order: detection label names (as in infer_2d's labelfile); several labels joined by | paint one channel (\"car|truck|bus\"); other labels do not paint"`
	Background       bool     `toml:"background" doc:"append a background channel: 1 − the largest class score of the point"`
	Near             float64  `toml:"near" min:"0" unit:"m" doc:"metres along the camera axis: points at this depth or nearer are not painted by that camera"`
	MinScore         float64  `toml:"min_score" finite:"true" doc:"detections scoring this or lower do not paint"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// Validate parses the class list: every entry names a label, and no label
// paints two channels.
func (c *Config) Validate() error {
	seen := map[string]int{}
	for i, names := range ParseClasses(c.Classes) {
		if len(names) == 0 {
			return ds3d.ConfigErrorf(fmt.Sprintf("classes[%d]", i), "no label in %q", c.Classes[i])
		}
		for _, n := range names {
			if j, dup := seen[n]; dup {
				return ds3d.ConfigErrorf(fmt.Sprintf("classes[%d]", i), "label %q is already class %d", n, j)
			}
			seen[n] = i
		}
	}
	return nil
}

// camState is one camera's keys and the projection built from the last
// calibration seen (rebuilt only when the calibration changes).
type camState struct {
	kObj, kIntr, kExt ds3d.Key
	intr              ds3d.Intrinsics
	ext               ds3d.Mat4
	cam               align.Camera
	valid             bool
	boxes             []Box
}

// Filter is the point_painting component.
type Filter struct {
	in, out  ds3d.Key
	classes  Classes
	bg       bool
	near     float32
	minScore float32
	cams     []camState
	pool     *ds3d.FramePool
	uvd      []float32
}

// New builds point_painting from a validated config.
func New(c *Config) (*Filter, error) {
	f := &Filter{in: ds3d.Key(c.InputKey), out: ds3d.Key(c.OutputKey), classes: ParseClasses(c.Classes), bg: c.Background,
		near: float32(max(c.Near, align.MinDepth)), minScore: float32(c.MinScore)}
	for n := 0; n < c.Cameras; n++ {
		f.cams = append(f.cams, camState{kObj: ds3d.Key(c.ObjectsKey).Sensor(n),
			kIntr: ds3d.Key(c.IntrinsicsKey).Sensor(n), kExt: ds3d.Key(c.ExtrinsicsKey).Sensor(n)})
	}
	var err error
	f.pool, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame {
		return ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameCustom, ds3d.NewShape(0, 4+f.Channels()))
	})
	return f, err
}

// Channels is the number of channels appended to each point: the classes
// and, if configured, the background.
func (f *Filter) Channels() int {
	if f.bg {
		return len(f.classes) + 1
	}
	return len(f.classes)
}

// same reports whether a calibration equals the one the camera was built
// from (distortion is not used by the projection, so it is not compared).
func (s *camState) same(in *ds3d.Intrinsics, ext *ds3d.Mat4) bool {
	a := &s.intr
	return s.valid && a.Fx == in.Fx && a.Fy == in.Fy && a.Cx == in.Cx && a.Cy == in.Cy && a.Skew == in.Skew &&
		a.Width == in.Width && a.Height == in.Height && s.ext == *ext
}

// Process appends the class scores to the datamap's points.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, err := m.Frame(f.in)
	if err != nil {
		return err
	}
	switch {
	case src.Mem == ds3d.MemGPU:
		return fmt.Errorf("%s: frame in GPU memory; point_painting paints CPU frames", f.in)
	case src.DType != ds3d.DTypeF32 || src.Shape.NumDims != 2 || src.Shape.D[1] < 3 || len(src.Data) < src.Shape.Elements()*4:
		return fmt.Errorf("%s: frame %s %s, want an [N,C≥3] f32 point frame", f.in, src.DType, src.Shape)
	}
	n, stride := src.Shape.D[0], src.Shape.D[1]
	var pts []float32
	if n > 0 {
		pts = ds3d.AsFloat32(src)[:n*stride]
	}
	// Read every camera's inputs first: a missing key fails the frame
	// before a pooled frame is taken.
	for ci := range f.cams {
		s := &f.cams[ci]
		dets, err := ds3d.Get[[]ds3d.Object2D](m, s.kObj)
		if err != nil {
			return fmt.Errorf("point_painting camera %d: %w", ci, err)
		}
		intr, err := ds3d.Get[ds3d.Intrinsics](m, s.kIntr)
		if err != nil {
			return fmt.Errorf("point_painting camera %d: %w", ci, err)
		}
		ext, err := ds3d.Get[ds3d.Mat4](m, s.kExt)
		if err != nil {
			return fmt.Errorf("point_painting camera %d: %w", ci, err)
		}
		if intr.Width < 1 || intr.Height < 1 {
			return fmt.Errorf("point_painting camera %d: %s has no image size (%d×%d)", ci, s.kIntr, intr.Width, intr.Height)
		}
		if !s.same(&intr, &ext) {
			s.intr, s.ext, s.valid = intr, ext, true
			s.intr.Distortion = nil // not used; not kept alive
			s.cam = align.NewCamera(ci, s.intr, ext)
		}
		s.boxes = AppendBoxes(s.boxes[:0], dets, f.classes, f.minScore)
	}
	k := f.Channels()
	ostride := stride + k
	dst, err := f.pool.Get(ctx)
	if err != nil {
		return err
	}
	dst.Resize(n, ostride)
	out := ds3d.AsFloat32(dst)
	if n > 0 {
		out = out[:n*ostride]
		for i := 0; i < n; i++ {
			copy(out[i*ostride:i*ostride+stride], pts[i*stride:(i+1)*stride])
			clear(out[i*ostride+stride : (i+1)*ostride])
		}
		if cap(f.uvd) < 3*n {
			f.uvd = make([]float32, 3*n)
		}
		for ci := range f.cams {
			s := &f.cams[ci]
			if len(s.boxes) > 0 {
				PaintCamera(out, ostride, stride, pts, stride, &s.cam, f.near, s.boxes, f.uvd)
			}
		}
		if f.bg {
			Background(out, ostride, stride, len(f.classes), n)
		}
	}
	m.SetFrame(f.out, dst)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "point_painting",
		`PointPainting (Vora et al., CVPR 2020) with 2D detection boxes: projects each lidar point into every camera (lidar_alignment_filter's keys and projection) and appends one channel per class — the best score of the class's boxes containing the point, max over the cameras — plus an optional background channel; [N,D] → [N,D+C(+1)] f32 under DS3D::LidarPaintedXYZI.`,
		func() *Config {
			return &Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(KeyLidarPainted)}, Cameras: 1,
				ObjectsKey: string(ds3d.KeyObject2DBbox), IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix),
				ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic), Classes: []string{"car", "person", "bicycle"},
				Near: 0.5, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return New(c) })
}

// PoolStats reports the painted-points pool under its key (for the
// metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat { return []ds3d.PoolStat{f.pool.Stat(string(f.out))} }
