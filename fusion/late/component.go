package late

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Config configures late_fusion.
type Config struct {
	BoxesKey         string `toml:"boxes_datamap_key" nonempty:"true" doc:"key of the []Box3D lidar-frame boxes"`
	Cameras          int    `toml:"cameras" min:"1" doc:"number of cameras N; camera n's keys carry the sensor suffix n"`
	ObjectsKey       string `toml:"objects_datamap_key" nonempty:"true" doc:"key of each camera's []Object2D detections, suffixed _n per camera"`
	IntrinsicsKey    string `toml:"intrinsics_datamap_key" doc:"key of each camera's ds3d.Intrinsics (ds3d's CamN spelling takes n inside)"`
	ExtrinsicsKey    string `toml:"extrinsics_datamap_key" doc:"key of each camera's lidar→camera ds3d.Mat4 (ds3d's LidarToCamN spelling takes n inside)"`
	ds3d.OutputGroup `doc:"key of the []FusedDetection output"`
	IoUThreshold     float64 `toml:"iou_threshold" min:">0" max:"1" runtime:"true" doc:"least IoU between a projected 3D box and a 2D detection to fuse them"`
	Near             float64 `toml:"near" min:">0" unit:"m" doc:"metres: box corners nearer the camera are not projected"`
	ScoreFusion      string  `toml:"score_fusion" enum:"mean|max|product" doc:"fused score: mean, max or product of the 3D and 2D scores"`
	KeepUnmatched    bool    `toml:"keep_unmatched" doc:"also output 3D boxes no camera confirmed (CamID −1, fused score = 3D score)"`
	Relabel          bool    `toml:"relabel_boxes" doc:"give the matched 3D boxes (under boxes_datamap_key) the 2D class and the fused score"`
}

// Filter is the late_fusion component.
type Filter struct {
	cfg     Config
	params  Params
	m       Matcher
	cams    []Camera
	dets    [][]ds3d.Object2D
	matches []Match
	keys    [][3]ds3d.Key
}

// New builds the filter.
func New(c *Config) *Filter {
	f := &Filter{cfg: *c, params: Params{IoUThreshold: c.IoUThreshold, Near: c.Near, ScoreFusion: c.ScoreFusion},
		cams: make([]Camera, c.Cameras), dets: make([][]ds3d.Object2D, c.Cameras)}
	for n := 0; n < c.Cameras; n++ {
		f.keys = append(f.keys, [3]ds3d.Key{ds3d.Key(c.ObjectsKey).Sensor(n), ds3d.Key(c.IntrinsicsKey).Sensor(n), ds3d.Key(c.ExtrinsicsKey).Sensor(n)})
	}
	return f
}

// Update applies a new iou_threshold between two datamaps.
func (f *Filter) Update(cfg any) error {
	f.cfg.IoUThreshold = cfg.(*Config).IoUThreshold
	f.params.IoUThreshold = f.cfg.IoUThreshold
	return nil
}

// Process fuses the datamap's boxes with its cameras' detections. The
// output slice is new per datamap: emitted values are read-only downstream.
func (f *Filter) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	boxes, err := ds3d.Get[[]ds3d.Box3D](in, ds3d.Key(f.cfg.BoxesKey))
	if err != nil {
		return err
	}
	for n, k := range f.keys {
		if f.dets[n], err = ds3d.Get[[]ds3d.Object2D](in, k[0]); err != nil {
			return fmt.Errorf("camera %d: %w", n, err)
		}
		if f.cams[n].Intrinsics, err = ds3d.Get[ds3d.Intrinsics](in, k[1]); err != nil {
			return fmt.Errorf("camera %d: %w", n, err)
		}
		if f.cams[n].LidarToCam, err = ds3d.Get[ds3d.Mat4](in, k[2]); err != nil {
			return fmt.Errorf("camera %d: %w", n, err)
		}
	}
	f.matches = append(f.matches[:0], make([]Match, len(boxes))...)
	f.m.Match(f.matches, boxes, f.cams, f.dets, &f.params)
	out := make([]ds3d.FusedDetection, 0, len(boxes))
	var relabelled []ds3d.Box3D
	if f.cfg.Relabel {
		relabelled = append([]ds3d.Box3D(nil), boxes...)
	}
	for i, mt := range f.matches {
		if mt.Cam < 0 {
			if f.cfg.KeepUnmatched {
				out = append(out, ds3d.FusedDetection{Box3D: boxes[i], CamID: -1, FusedScore: boxes[i].Score})
			}
			continue
		}
		d := f.dets[mt.Cam][mt.Det]
		fd := ds3d.FusedDetection{Box3D: boxes[i], Object2D: d, CamID: int32(mt.Cam), FusedScore: FusedScore(f.cfg.ScoreFusion, boxes[i].Score, d.Score)}
		fd.Box3D.ClassID, fd.Box3D.Label, fd.Box3D.Score = d.ClassID, d.Label, fd.FusedScore
		out = append(out, fd)
		if relabelled != nil {
			relabelled[i] = fd.Box3D
		}
	}
	in.Set(ds3d.Key(f.cfg.OutputKey), out)
	if relabelled != nil {
		in.Set(ds3d.Key(f.cfg.BoxesKey), relabelled)
	}
	return emit(in)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "late_fusion",
		`Late lidar–camera fusion: projects each 3D box into every camera and assigns it to the camera's 2D detections by IoU (Hungarian); matched boxes take the 2D class and a fused score (DS3D::FusedDetectionKey), as ds3d's FusedDetection and Autoware's roi fusion.`,
		func() *Config {
			return &Config{
				BoxesKey: string(ds3d.KeyLidar3DBboxRawData), Cameras: 1, ObjectsKey: string(ds3d.KeyObject2DBbox),
				IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix), ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic),
				OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyFusedDetection)}, IoUThreshold: 0.3, Near: 0.5, ScoreFusion: "mean",
			}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return New(c), nil })
}
