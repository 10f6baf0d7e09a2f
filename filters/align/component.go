package align

import (
	"context"
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
)

// CameraConfig is one camera given by matrices.
type CameraConfig struct {
	Index     int       `toml:"index" min:"-1" doc:"N of the camera's keys (DS3D::CamN_IntrinsicMatrix, DS3D::DepthFrame_N); -1: its position in the list"`
	Intrinsic []float64 `toml:"intrinsic" nonempty:"true" len:"9|12" finite:"true" doc:"row-major 3×3 K, or 3×4 K·[I|p] (a rectified projection such as KITTI P2: its last column becomes the translation K⁻¹·p after the extrinsic)"`
	Extrinsic []float64 `toml:"extrinsic" nonempty:"true" len:"12|16" finite:"true" doc:"lidar→camera transform, row-major 3×4 [R|t] or 4×4"`
	Width     int       `toml:"width" min:"1" max:"32768" doc:"image width in pixels"`
	Height    int       `toml:"height" min:"1" max:"32768" doc:"image height in pixels"`
}

// Config configures lidar_alignment_filter.
type Config struct {
	ds3d.InputGroup `doc:"key of the [N,C≥3] f32 lidar frame"`
	KITTICalib      ds3d.Path      `toml:"kitti_calib_file" path:"exists" doc:"KITTI calib file; its cameras are kitti_cameras (P_i·R0_rect·Tr_velo_to_cam); empty: use cameras"`
	KITTICameras    []int          `toml:"kitti_cameras" min:"0" max:"3" doc:"KITTI cameras to align (2: image_2, the left colour camera)"`
	KITTIWidth      int            `toml:"kitti_image_width" max:"32768" doc:"image width of the KITTI cameras"`
	KITTIHeight     int            `toml:"kitti_image_height" max:"32768" doc:"image height of the KITTI cameras"`
	Cameras         []CameraConfig `toml:"cameras" doc:"cameras given by matrices (used when kitti_calib_file is empty)"`
	DepthMap        string         `toml:"depth_map" enum:"none|f32|u16" doc:"render a sparse z-buffered depth map per camera under DS3D::DepthFrame_N: none, f32 (metres) or u16 (1/depth_scale metres)"`
	DepthScale      float64        `toml:"depth_scale" min:">0" max:"1e6" doc:"u16 depth units per metre (KITTI depth maps: 256)"`
	ProjectPoints   bool           `toml:"project_points" doc:"store (u, v, depth) per point, [N,3] f32 (NaN when not in the image), under DS3D::PointColorCoord_N"`
	ds3d.PoolGroup  `doc:"output frames in flight per camera before the filter waits for one to come back"`
}

// Validate checks that the cameras come one way: KITTI cameras from a
// calib file, or cameras given by their matrices.
func (c *Config) Validate() error {
	if c.KITTICalib != "" {
		if len(c.KITTICameras) == 0 {
			return ds3d.ConfigErrorf("kitti_cameras", "must list at least one camera")
		}
		if c.KITTIWidth < 1 || c.KITTIHeight < 1 {
			return ds3d.ConfigErrorf("kitti_image_width", "image %d×%d: a KITTI camera needs its size", c.KITTIWidth, c.KITTIHeight)
		}
	} else if len(c.Cameras) == 0 {
		return ds3d.ConfigErrorf("cameras", "give cameras or kitti_calib_file")
	}
	return nil
}

// Cameras returns the configured cameras.
func (c *Config) cameras() ([]Camera, error) {
	var out []Camera
	if c.KITTICalib != "" {
		k, err := calib.ReadKITTI(string(c.KITTICalib))
		if err != nil {
			return nil, err
		}
		for _, i := range c.KITTICameras {
			cam, err := KITTICamera(k, i, c.KITTIWidth, c.KITTIHeight)
			if err != nil {
				return nil, err
			}
			out = append(out, cam)
		}
		return out, nil
	}
	for i, cc := range c.Cameras {
		in, err := ds3d.IntrinsicsFromK(cc.Intrinsic, cc.Width, cc.Height)
		if err != nil {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("cameras[%d].intrinsic", i), "%v", err)
		}
		ext, err := ds3d.Mat4From(cc.Extrinsic)
		if err != nil {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("cameras[%d].extrinsic", i), "%v", err)
		}
		if len(cc.Intrinsic) == 12 && (cc.Intrinsic[3] != 0 || cc.Intrinsic[7] != 0 || cc.Intrinsic[11] != 0) {
			// P = K·[I|p]: fold p into the extrinsic, as calib.Rig does for KITTI
			var t ds3d.Mat4 = ds3d.Identity4
			p := [3]float64{cc.Intrinsic[3], cc.Intrinsic[7], cc.Intrinsic[11]}
			// K⁻¹·p with K upper triangular
			tz := p[2]
			ty := (p[1] - in.Cy*tz) / in.Fy
			tx := (p[0] - in.Skew*ty - in.Cx*tz) / in.Fx
			t[3], t[7], t[11] = tx, ty, tz
			ext = t.Mul(ext)
		}
		idx := cc.Index
		if idx < 0 {
			idx = i
		}
		out = append(out, NewCamera(idx, in, ext))
	}
	return out, nil
}

// camOut holds one camera's keys, pre-boxed values and pools.
type camOut struct {
	cam               Camera
	kIntr, kExt       ds3d.Key
	kDepth, kUV       ds3d.Key
	intr, ext         any // boxed once: publishing allocates nothing
	depthPool, uvPool *ds3d.FramePool
	scratch           []float32
}

// Filter is the lidar_alignment_filter component.
type Filter struct {
	in     ds3d.Key
	depth  string
	scale  float32
	cams   []camOut
	points bool
}

// NewFilter builds lidar_alignment_filter from a validated config.
func NewFilter(c *Config) (*Filter, error) {
	cams, err := c.cameras()
	if err != nil {
		return nil, err
	}
	f := &Filter{in: ds3d.Key(c.InputKey), depth: c.DepthMap, scale: float32(c.DepthScale), points: c.ProjectPoints}
	for _, cam := range cams {
		o := camOut{
			cam:   cam,
			kIntr: ds3d.KeyCamIntrinsicMatrix.Sensor(cam.Index), kExt: ds3d.KeyLidarToCamExtrinsic.Sensor(cam.Index),
			kDepth: ds3d.KeyDepthFrame.Sensor(cam.Index), kUV: ds3d.KeyPointColorCoord.Sensor(cam.Index),
			intr: cam.Intrinsics, ext: cam.Extrinsic,
		}
		W, H := cam.Intrinsics.Width, cam.Intrinsics.Height
		if c.DepthMap != "none" {
			dt := ds3d.DTypeF32
			if c.DepthMap == "u16" {
				dt = ds3d.DTypeU16
				o.scratch = make([]float32, W*H)
			}
			if o.depthPool, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame {
				fr, _ := ds3d.NewImageFrame(ds3d.FrameDepth, dt, W, H, 0)
				return fr
			}); err != nil {
				return nil, err
			}
		}
		if c.ProjectPoints {
			if o.uvPool, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame {
				return ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameCustom, ds3d.NewShape(0, 3))
			}); err != nil {
				return nil, err
			}
		}
		f.cams = append(f.cams, o)
	}
	return f, nil
}

// Cameras returns the filter's cameras.
func (f *Filter) Cameras() []Camera {
	out := make([]Camera, len(f.cams))
	for i := range f.cams {
		out[i] = f.cams[i].cam
	}
	return out
}

// Process publishes each camera's calibration and renders its outputs.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	var pts []float32
	stride := 0
	if f.depth != "none" || f.points {
		src, err := m.Frame(f.in)
		if err != nil {
			return err
		}
		switch {
		case src.Mem == ds3d.MemGPU:
			return fmt.Errorf("%s: frame in GPU memory; lidar_alignment_filter projects CPU frames", f.in)
		case src.DType != ds3d.DTypeF32 || src.Shape.NumDims != 2 || src.Shape.D[1] < 3 || len(src.Data) < src.Shape.Elements()*4:
			return fmt.Errorf("%s: frame %s %s, want an [N,C≥3] f32 point frame", f.in, src.DType, src.Shape)
		}
		stride = src.Shape.D[1]
		pts = ds3d.AsFloat32(src)[:src.Shape.D[0]*stride]
	}
	for i := range f.cams {
		o := &f.cams[i]
		m.Set(o.kIntr, o.intr)
		m.Set(o.kExt, o.ext)
		W, H := o.cam.Intrinsics.Width, o.cam.Intrinsics.Height
		if f.depth != "none" {
			d, err := o.depthPool.Get(ctx)
			if err != nil {
				return err
			}
			if f.depth == "f32" {
				o.cam.DepthMap(ds3d.AsFloat32(d), d.Plane.Pitch/4, pts, stride)
			} else {
				o.cam.DepthMap(o.scratch, W, pts, stride)
				DepthToU16(ds3d.AsUint16(d), d.Plane.Pitch/2, o.scratch, W, W, H, f.scale)
			}
			m.SetFrame(o.kDepth, d)
		}
		if f.points {
			uv, err := o.uvPool.Get(ctx)
			if err != nil {
				return err
			}
			uv.Resize(len(pts)/stride, 3)
			o.cam.Project(ds3d.AsFloat32(uv), pts, stride)
			m.SetFrame(o.kUV, uv)
		}
	}
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "lidar_alignment_filter",
		`ds3d's lidar_alignment_filter: publishes DS3D::CamN_IntrinsicMatrix (ds3d.Intrinsics) and DS3D::LidarToCamN_ExtrinsicMatrix (ds3d.Mat4) per camera from matrices or a KITTI calib file, and optionally renders a z-buffered sparse depth map (DS3D::DepthFrame_N, f32 or u16) and per-point (u, v, depth) (DS3D::PointColorCoord_N).`,
		func() *Config {
			return &Config{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, KITTICameras: []int{2}, KITTIWidth: 1242, KITTIHeight: 375,
				DepthMap: "f32", DepthScale: 256, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *Config, _ *ds3d.Env) (any, error) { return NewFilter(c) })
}

// PoolStats reports each camera's depth and UV pools under their keys (for
// the metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat {
	var out []ds3d.PoolStat
	for i := range f.cams {
		c := &f.cams[i]
		if c.depthPool != nil {
			out = append(out, c.depthPool.Stat(string(c.kDepth)))
		}
		if c.uvPool != nil {
			out = append(out, c.uvPool.Stat(string(c.kUV)))
		}
	}
	return out
}
