// Package bagrecord holds mcap_writer, the sink that records a pipeline's
// datamaps as a rosbag2 bag in MCAP storage (a folder with metadata.yaml,
// playable with `ros2 bag play` and openable in Foxglove or Lichtblick).
// Each mapped datamap key becomes a topic whose ROS 2 type follows from the
// value it carries: point frames → sensor_msgs/PointCloud2 (every named
// column a float32 field), colour frames → CompressedImage (jpeg or png),
// depth frames → Image, Intrinsics → CameraInfo, []Box3D →
// vision_msgs/Detection3DArray (plus a MarkerArray), []Object2D →
// Detection2DArray, a lidar→camera extrinsic → /tf_static and the ego pose
// → /tf. Points, colour frames and transforms may instead (or also) go out
// in Foxglove's own schemas: foxglove_msgs PointCloud, CompressedImage and
// FrameTransforms. Topics are created when their key is first seen, so one
// config records whatever the pipeline produces.
package bagrecord

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// Config configures mcap_writer.
type Config struct {
	Path            ds3d.Path         `toml:"path" required:"true" nonempty:"true" doc:"bag folder to create (rosbag2 layout: metadata.yaml and <name>_0.mcap …)"`
	Overwrite       bool              `toml:"overwrite" doc:"replace an existing bag folder (only one holding metadata.yaml and .mcap files); false: refuse to start"`
	Topics          map[string]string `toml:"topics" nonempty:"true" doc:"datamap key → topic, e.g. \"DS3D::LidarXYZI\" = \"/ds3d/points\"; a key absent from a datamap is skipped for it. A Mat4 goes to \"/tf_static\" (a lidar→camera extrinsic: parent frame_id, child the camera's frame) or \"/tf\" (the ego pose: parent world_frame_id, child frame_id)"`
	FrameIDs        map[string]string `toml:"frame_ids" doc:"datamap key → frame_id of its messages (and the camera frame of an extrinsic on /tf_static), overriding frame_id and camera_frame_id"`
	Compression     string            `toml:"compression" enum:"none|lz4|zstd" doc:"MCAP chunk compression (rosbag2 writes none; lz4 is fast, zstd small)"`
	MaxFileSize     int64             `toml:"max_file_size" min:"0" unit:"bytes" doc:"split the bag into files of about this size (metadata.yaml lists them); 0: one file"`
	FrameID         string            `toml:"frame_id" nonempty:"true" doc:"frame_id of points, boxes and the lidar end of extrinsics"`
	CameraFrameID   string            `toml:"camera_frame_id" nonempty:"true" doc:"frame_id of images and camera info; a key's sensor suffix _N is appended (camera_2)"`
	WorldFrameID    string            `toml:"world_frame_id" nonempty:"true" doc:"parent frame of the ego pose on /tf"`
	ImageFormat     string            `toml:"image_format" enum:"jpeg|png" doc:"CompressedImage codec of colour frames"`
	JPEGQuality     int               `toml:"jpeg_quality" min:"1" max:"100" doc:"JPEG quality of colour frames"`
	Markers         bool              `toml:"markers" doc:"also write each []Box3D topic as visualization_msgs/MarkerArray on <topic>/markers (RViz, Foxglove 3D panel)"`
	Scene           bool              `toml:"scene" doc:"also write each []Box3D topic as foxglove_msgs/msg/SceneUpdate (Foxglove's own scene schema: one cube entity per box) on <topic>/scene"`
	MarkerLifetime  time.Duration     `toml:"marker_lifetime" min:"0s" doc:"lifetime of box markers and scene entities; 0: until the next message replaces them"`
	PointSchema     string            `toml:"point_schema" enum:"ros|foxglove|both" doc:"schema of point frames: ros is sensor_msgs/msg/PointCloud2, foxglove is Foxglove's own foxglove_msgs/msg/PointCloud (pose, point_stride, packed FLOAT32 fields), both writes PointCloud2 on the topic and PointCloud on <topic>/foxglove"`
	ImageSchema     string            `toml:"image_schema" enum:"ros|foxglove|both" doc:"schema of colour frames: ros is sensor_msgs/msg/CompressedImage, foxglove is foxglove_msgs/msg/CompressedImage, both writes the first on the topic and the second on <topic>/foxglove"`
	TransformSchema string            `toml:"transform_schema" enum:"ros|foxglove|both" doc:"schema of /tf and /tf_static: ros is tf2_msgs/msg/TFMessage (what ros2 bag play and RViz read), foxglove is foxglove_msgs/msg/FrameTransforms, both writes the first on /tf and /tf_static and the second on /tf/foxglove and /tf_static/foxglove"`
}

// foxgloveTwin is Foxglove's schema for a ROS type that has one.
var foxgloveTwin = map[string]string{
	ros2.PointCloud2Type:     ros2.FoxglovePointCloudType,
	ros2.CompressedImageType: ros2.FoxgloveCompressedImageType,
	ros2.TFMessageType:       ros2.FrameTransformsType,
}

// schemaOf is the configured schema of a ROS type.
func (c *Config) schemaOf(typ string) string {
	switch typ {
	case ros2.PointCloud2Type:
		return c.PointSchema
	case ros2.CompressedImageType:
		return c.ImageSchema
	case ros2.TFMessageType:
		return c.TransformSchema
	}
	return ros2.SchemaROS
}

// Validate checks the topic names.
func (c *Config) Validate() error {
	seen := map[string]string{}
	for k, t := range c.Topics {
		if k == "" || !strings.HasPrefix(t, "/") {
			return ds3d.ConfigErrorf("topics", "%q = %q: want \"datamap key\" = \"/topic\"", k, t)
		}
		if o, dup := seen[t]; dup && t != "/tf_static" {
			return ds3d.ConfigErrorf("topics", "keys %q and %q both write %s", o, k, t)
		}
		seen[t] = k
	}
	if c.PointSchema == ros2.SchemaBoth || c.ImageSchema == ros2.SchemaBoth || c.TransformSchema == ros2.SchemaBoth {
		for k, t := range c.Topics {
			if o, dup := seen[t+ros2.FoxgloveSuffix]; dup {
				return ds3d.ConfigErrorf("topics", "%q = %q: a schema is \"both\", so %q's Foxglove twin may go on %s, which key %q writes", k, t, k, t+ros2.FoxgloveSuffix, o)
			}
		}
	}
	return nil
}

// topic is one recorded key: its ROS 2 type is fixed by the first value.
type topic struct {
	key     ds3d.Key
	name    string
	typ     string
	id      bag.TopicID
	markers bag.TopicID // of a boxes topic with markers
	scene   bag.TopicID // of a boxes topic with a scene
	frameID string
	// Whether the value goes out in the ROS schema (on id) and in
	// Foxglove's (on fox).
	rosOn, foxOn bool
	fox          bag.TopicID
}

// Writer is the mcap_writer component.
type Writer struct {
	cfg      Config
	w        *bag.Writer
	topics   []*topic
	tfTopics map[string]bag.TopicID   // /tf, /tf_static and their twins, once used
	static   map[ds3d.Key]ds3d.Mat4   // extrinsics already on /tf_static
	tfOne    [1]ros2.TransformStamped // the transform being written
	buf      []byte
	mbuf     []byte
	enc      bytes.Buffer
	rgba     *image.RGBA
	pngEnc   png.Encoder
}

// New creates the bag folder.
func New(cfg *Config) (*Writer, error) {
	dir := string(cfg.Path)
	if _, err := os.Stat(dir); err == nil {
		if !cfg.Overwrite {
			return nil, fmt.Errorf("%s exists (set overwrite = true to replace it)", dir)
		}
		if err := removeBag(dir); err != nil {
			return nil, err
		}
	}
	w, err := bag.Create(dir, bag.WriterOptions{Compression: cfg.Compression, MaxFileBytes: cfg.MaxFileSize})
	if err != nil {
		return nil, err
	}
	r := &Writer{cfg: *cfg, w: w, static: map[ds3d.Key]ds3d.Mat4{}, tfTopics: map[string]bag.TopicID{}}
	keys := make([]string, 0, len(cfg.Topics))
	for k := range cfg.Topics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r.topics = append(r.topics, &topic{key: ds3d.Key(k), name: cfg.Topics[k]})
	}
	return r, nil
}

// removeBag deletes a bag folder written before, refusing a folder that
// holds anything else, so a typo in path cannot empty a user's folder.
func removeBag(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if n := e.Name(); e.IsDir() || n != "metadata.yaml" && !strings.HasSuffix(n, ".mcap") {
			return fmt.Errorf("%s: overwrite refused: %s is not part of a bag", dir, n)
		}
	}
	return os.RemoveAll(dir)
}

// Render writes the mapped keys of one datamap.
func (r *Writer) Render(_ context.Context, m *ds3d.DataMap) error {
	ts, _ := m.Timestamp()
	for _, t := range r.topics {
		v, ok := m.Value(t.key)
		if !ok {
			continue
		}
		if err := r.write(t, v, ts); err != nil {
			return fmt.Errorf("%s → %s: %w", t.key, t.name, err)
		}
	}
	return nil
}

// typeOf is the ROS 2 type a value is recorded as.
func typeOf(k ds3d.Key, v any) (string, error) {
	switch x := v.(type) {
	case *ds3d.Frame:
		switch {
		case x.Columns() != nil:
			return "sensor_msgs/msg/PointCloud2", nil
		case x.Type == ds3d.FrameColorRGB || x.Type == ds3d.FrameColorRGBA:
			return "sensor_msgs/msg/CompressedImage", nil
		case x.Type == ds3d.FrameDepth:
			return "sensor_msgs/msg/Image", nil
		}
		return "", fmt.Errorf("a %s frame %v has no ROS 2 message (points, colour or depth frames do)", x.Type, x.Shape)
	case ds3d.Intrinsics:
		return "sensor_msgs/msg/CameraInfo", nil
	case []ds3d.Box3D:
		return "vision_msgs/msg/Detection3DArray", nil
	case []ds3d.Object2D:
		return "vision_msgs/msg/Detection2DArray", nil
	case ds3d.Mat4:
		return ros2.TFMessageType, nil
	}
	return "", fmt.Errorf("a %T value has no ROS 2 message", v)
}

func (r *Writer) addTopic(name, typ string) (bag.TopicID, error) {
	def, ok := ros2.Definition(typ)
	if !ok {
		return 0, fmt.Errorf("no built-in definition of %s", typ)
	}
	return r.w.AddTopic(name, typ, def)
}

func (r *Writer) write(t *topic, v any, ts int64) error {
	typ, err := typeOf(t.key, v)
	if err != nil {
		return err
	}
	if t.typ == "" {
		t.typ = typ
		t.frameID = r.cfg.FrameID
		if typ == "sensor_msgs/msg/CompressedImage" || typ == "sensor_msgs/msg/Image" || typ == "sensor_msgs/msg/CameraInfo" {
			t.frameID = cameraFrame(r.cfg.CameraFrameID, t.key)
		}
		if typ == ros2.TFMessageType {
			if t.name == "/tf_static" {
				t.frameID = cameraFrame(r.cfg.CameraFrameID, t.key)
			}
			if t.name != "/tf" && t.name != "/tf_static" {
				return fmt.Errorf("a Mat4 is recorded on /tf (the ego pose) or /tf_static (an extrinsic), not on %s", t.name)
			}
		}
		if id, ok := r.cfg.FrameIDs[string(t.key)]; ok {
			t.frameID = id
		}
		if typ != ros2.TFMessageType {
			rosName, foxName := ros2.SchemaTopics(r.cfg.schemaOf(typ), t.name)
			if rosName != "" {
				if t.id, err = r.addTopic(rosName, typ); err != nil {
					return err
				}
				t.rosOn = true
			}
			if foxName != "" {
				if t.fox, err = r.addTopic(foxName, foxgloveTwin[typ]); err != nil {
					return err
				}
				t.foxOn = true
			}
		}
		if typ == "vision_msgs/msg/Detection3DArray" && r.cfg.Markers {
			if t.markers, err = r.addTopic(t.name+"/markers", "visualization_msgs/msg/MarkerArray"); err != nil {
				return err
			}
		}
		if typ == "vision_msgs/msg/Detection3DArray" && r.cfg.Scene {
			if t.scene, err = r.addTopic(t.name+"/scene", ros2.SceneUpdateType); err != nil {
				return err
			}
		}
	} else if typ != t.typ {
		return fmt.Errorf("the key held a value recorded as %s, now one recorded as %s", t.typ, typ)
	}
	h := ros2.HeaderAt(ts, t.frameID)
	b := r.buf[:0]
	switch x := v.(type) {
	case *ds3d.Frame:
		switch typ {
		case "sensor_msgs/msg/PointCloud2":
			if t.foxOn {
				if r.mbuf, err = ros2.AppendFoxglovePointCloud(r.mbuf[:0], h, x); err != nil {
					return err
				}
				if err := r.w.Write(t.fox, ts, ts, r.mbuf); err != nil {
					return err
				}
			}
			if !t.rosOn {
				return nil
			}
			b, err = ros2.AppendPointCloud2(b, h, x)
		case "sensor_msgs/msg/Image":
			var im *ros2.Image
			if im, err = ros2.ImageFromFrame(h, x); err == nil {
				b = ros2.AppendImage(b, im)
			}
		default:
			var data []byte
			if data, err = r.compress(x); err != nil {
				return err
			}
			if t.foxOn {
				r.mbuf = ros2.AppendFoxgloveCompressedImage(r.mbuf[:0], h, r.cfg.ImageFormat, data)
				if err := r.w.Write(t.fox, ts, ts, r.mbuf); err != nil {
					return err
				}
			}
			if !t.rosOn {
				return nil
			}
			b = ros2.AppendCompressedImage(b, &ros2.CompressedImage{Header: h, Format: r.cfg.ImageFormat, Data: data})
		}
	case ds3d.Intrinsics:
		b = ros2.AppendCameraInfo(b, ros2.CameraInfoFromIntrinsics(h, x, ""))
	case []ds3d.Box3D:
		b = ros2.AppendDetection3DArray(b, h, x)
		if err == nil && r.cfg.Markers {
			r.mbuf = ros2.AppendMarkerArray(r.mbuf[:0], h, x, int64(r.cfg.MarkerLifetime))
			if err := r.w.Write(t.markers, ts, ts, r.mbuf); err != nil {
				return err
			}
		}
		if r.cfg.Scene {
			r.mbuf = ros2.AppendSceneUpdate(r.mbuf[:0], h, x, int64(r.cfg.MarkerLifetime))
			if err := r.w.Write(t.scene, ts, ts, r.mbuf); err != nil {
				return err
			}
		}
	case []ds3d.Object2D:
		b = ros2.AppendDetection2DArray(b, h, x)
	case ds3d.Mat4:
		return r.writeTF(t, x, ts)
	}
	if err != nil {
		return err
	}
	r.buf = b
	return r.w.Write(t.id, ts, ts, b)
}

// writeTF records a Mat4: on /tf the ego pose (world-from-ego), on
// /tf_static a lidar→camera extrinsic, once per change; each in the
// configured transform schemas.
func (r *Writer) writeTF(t *topic, m ds3d.Mat4, ts int64) error {
	if t.name == "/tf" {
		r.tfOne[0] = ros2.TransformStamped{Header: ros2.HeaderAt(ts, r.cfg.WorldFrameID), ChildFrameID: t.frameID, Transform: ros2.TransformFromMat4(m)}
		return r.writeTransforms("/tf", ts)
	}
	if old, ok := r.static[t.key]; ok && old == m {
		return nil
	}
	inv, err := m.Inverse()
	if err != nil {
		return fmt.Errorf("extrinsic is not invertible: %w", err)
	}
	r.static[t.key] = m
	// The extrinsic maps lidar points into the camera; tf's transform from
	// the camera (child) to the lidar (parent) is its inverse.
	r.tfOne[0] = ros2.TransformStamped{Header: ros2.HeaderAt(ts, r.cfg.FrameID), ChildFrameID: t.frameID, Transform: ros2.TransformFromMat4(inv)}
	return r.writeTransforms("/tf_static", ts)
}

// writeTransforms writes r.tfOne on name as TFMessage, FrameTransforms on
// its twin, or both, adding the topics on first use.
func (r *Writer) writeTransforms(name string, ts int64) error {
	rosName, foxName := ros2.SchemaTopics(r.cfg.TransformSchema, name)
	for _, x := range [2]struct{ name, typ string }{{rosName, ros2.TFMessageType}, {foxName, ros2.FrameTransformsType}} {
		if x.name == "" {
			continue
		}
		id, ok := r.tfTopics[x.name]
		if !ok {
			var err error
			if id, err = r.addTopic(x.name, x.typ); err != nil {
				return err
			}
			r.tfTopics[x.name] = id
		}
		if x.typ == ros2.TFMessageType {
			r.buf = ros2.AppendTFMessage(r.buf[:0], r.tfOne[:])
		} else {
			r.buf = ros2.AppendFrameTransforms(r.buf[:0], r.tfOne[:])
		}
		if err := r.w.Write(id, ts, ts, r.buf); err != nil {
			return err
		}
	}
	return nil
}

// cameraFrame is the camera frame of a key: base plus the key's sensor
// number (DS3D::ColorFrame_2 → camera_2, DS3D::Cam2_IntrinsicMatrix →
// camera_2).
func cameraFrame(base string, k ds3d.Key) string {
	if _, n := k.SplitSensor(); n >= 0 {
		return fmt.Sprintf("%s_%d", base, n)
	}
	s := string(k)
	if i := strings.Index(s, "Cam"); i >= 0 {
		j := i + 3
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j > i+3 {
			return base + "_" + s[i+3:j]
		}
	}
	return base
}

// compress encodes a colour frame with the configured codec.
func (r *Writer) compress(f *ds3d.Frame) ([]byte, error) {
	var err error
	if r.rgba, err = imageconv.ToRGBA(r.rgba, f); err != nil {
		return nil, err
	}
	r.enc.Reset()
	if r.cfg.ImageFormat == "png" {
		err = r.pngEnc.Encode(&r.enc, r.rgba)
	} else {
		err = jpeg.Encode(&r.enc, r.rgba, &jpeg.Options{Quality: r.cfg.JPEGQuality})
	}
	return r.enc.Bytes(), err
}

// Close finishes the bag: chunk indexes, the summary and metadata.yaml.
func (r *Writer) Close() error {
	return r.w.Close()
}

func init() {
	ds3d.Register(ds3d.KindRender, "mcap_writer",
		`Records datamaps as a rosbag2 bag in MCAP storage (metadata.yaml as rosbag2 writes it): points as PointCloud2 with every named column, colour frames as CompressedImage, depth as Image, intrinsics as CameraInfo, extrinsics on /tf_static, the ego pose on /tf, 3D boxes as Detection3DArray plus MarkerArray and optionally foxglove_msgs SceneUpdate, 2D detections as Detection2DArray; points, colour frames and transforms optionally (also) in Foxglove's own schemas (foxglove_msgs PointCloud, CompressedImage, FrameTransforms).`,
		func() *Config {
			return &Config{Compression: "lz4", FrameID: "lidar", CameraFrameID: "camera", WorldFrameID: "map",
				ImageFormat: "jpeg", JPEGQuality: 90, Markers: true,
				PointSchema: ros2.SchemaROS, ImageSchema: ros2.SchemaROS, TransformSchema: ros2.SchemaROS}
		},
		func(c *Config, env *ds3d.Env) (any, error) { return New(c) })
}
