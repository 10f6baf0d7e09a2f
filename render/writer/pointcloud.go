package writer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// PointCloudConfig configures pointcloud_writer.
type PointCloudConfig struct {
	OutputDir ds3d.Path `toml:"output_dir" nonempty:"true" required:"true" doc:"folder of the point-cloud files (created when missing)"`
	Filename  string    `toml:"filename" doc:"file name pattern with one integer verb for DS3D::FrameNumber; the extension (.pcd, .ply, .bin) picks the format"`
	Encoding  string    `toml:"encoding" enum:"|ascii|binary|binary_compressed|binary_little_endian" doc:"PCD: ascii, binary or binary_compressed; PLY: ascii or binary_little_endian; empty: binary"`
	LidarKey  string    `toml:"lidar_data_key" nonempty:"true" doc:"key of the [N,C] f32 lidar frame: PCD and PLY keep every named column (x y z intensity, then ring, time, … as float32 fields), .bin the first four"`
}

// Validate checks the pattern and that the encoding suits the format.
func (c *PointCloudConfig) Validate() error {
	if err := checkFilename("filename", c.Filename, ".pcd", ".ply", ".bin"); err != nil {
		return err
	}
	ext := strings.ToLower(filepath.Ext(fmt.Sprintf(c.Filename, 0)))
	ok := c.Encoding == ""
	switch ext {
	case ".pcd":
		ok = ok || c.Encoding == "ascii" || c.Encoding == "binary" || c.Encoding == "binary_compressed"
	case ".ply":
		ok = ok || c.Encoding == "ascii" || c.Encoding == "binary_little_endian"
	}
	if !ok {
		return ds3d.ConfigErrorf("encoding", "%q does not apply to %s files (pcd: ascii, binary, binary_compressed; ply: ascii, binary_little_endian; bin: none)", c.Encoding, ext)
	}
	return nil
}

// PointCloudWriter is pointcloud_writer: each datamap's lidar frame goes to
// one file, written by sensors/lidar.WriteFile (every named column as a
// float32 field: x, y, z, intensity and, from the lidar drivers, ring, time
// and return).
type PointCloudWriter struct {
	cfg   PointCloudConfig
	warn  warnOnce
	cloud lidar.Cloud
	count int64
	wide  *ds3d.Frame // [N,3] clouds widened to [N,4] (intensity 0), reused
}

// Start creates the output folder.
func (p *PointCloudWriter) Start(context.Context) error {
	return os.MkdirAll(string(p.cfg.OutputDir), 0o755)
}

// Render writes in's lidar frame.
func (p *PointCloudWriter) Render(_ context.Context, in *ds3d.DataMap) error {
	k := ds3d.Key(p.cfg.LidarKey)
	if !in.Has(k) {
		p.warn.warn(k, "no lidar frame in the datamap")
		return nil
	}
	f, err := in.Frame(k)
	if err != nil {
		return err
	}
	if f.Mem == ds3d.MemGPU || f.DType != ds3d.DTypeF32 || f.Shape.NumDims != 2 || f.Shape.D[1] < 3 {
		return fmt.Errorf("%s: want a CPU [N,C≥3] f32 frame, got %s %s (%s)", k, f.DType, f.Shape, f.Mem)
	}
	if f.Shape.D[1] == 3 { // x, y, z only (DS3D::PointXYZ): written with intensity 0
		if p.wide == nil {
			p.wide = ds3d.NewLidarFrame(0)
		}
		n := f.Points()
		p.wide.Resize(n, 4)
		src, dst := ds3d.AsFloat32(f), ds3d.AsFloat32(p.wide)
		for i := 0; i < n; i++ {
			dst[4*i], dst[4*i+1], dst[4*i+2], dst[4*i+3] = src[3*i], src[3*i+1], src[3*i+2], 0
		}
		f = p.wide
	}
	name := filepath.Join(string(p.cfg.OutputDir), fmt.Sprintf(p.cfg.Filename, frameNumber(in, p.count)))
	p.count++
	p.cloud = lidar.Cloud{Points: f, Width: f.Points(), Height: 1}
	err = lidar.WriteFile(name, &p.cloud, p.cfg.Encoding)
	p.cloud.Points = nil
	if err != nil {
		return fmt.Errorf("pointcloud_writer %s: %w", name, err)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindRender, "kitti_label_writer",
		`Writes each datamap's lidar-frame 3D boxes as a KITTI label_2 text file (rectified-camera bottom centre, rotation_y, projected 2D box, optional score), converted with a KITTI calibration file.`,
		NewKITTIConfig,
		func(c *KITTIConfig, env *ds3d.Env) (any, error) { return NewKITTIWriter(c, env) })
	ds3d.Register(ds3d.KindRender, "json_box_writer",
		`Writes one ds3d detection3d 1.0 JSON document per datamap and line — the bytes msgbroker sends with schema ds3d_json — with its sensor, frame number, frame_id, time and 3D boxes (centre, size, yaw, class, label, score, track id, velocity); DeepStream-3D's lidarfilewrite.`,
		DefaultJSONConfig,
		func(c *JSONConfig, env *ds3d.Env) (any, error) { return NewJSONWriter(c, env.Logger()) })
	ds3d.Register(ds3d.KindRender, "pointcloud_writer",
		`Writes each datamap's lidar frame as a PCD (ascii, binary, binary_compressed), PLY or KITTI .bin file through sensors/lidar; PCD and PLY keep every named column (ring, time, return, …) as a float32 field.`,
		func() *PointCloudConfig {
			return &PointCloudConfig{Filename: "%06d.pcd", LidarKey: string(ds3d.KeyLidarXYZI)}
		},
		func(c *PointCloudConfig, env *ds3d.Env) (any, error) {
			return &PointCloudWriter{cfg: *c, warn: warnOnce{log: env.Logger()}}, nil
		})
}

// Close says where the point-cloud files went.
func (p *PointCloudWriter) Close() error {
	if p.warn.log != nil {
		p.warn.log.Info("wrote point-cloud files", "files", p.count, "dir", string(p.cfg.OutputDir))
	}
	return nil
}
