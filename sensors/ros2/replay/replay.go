// Package replay holds mcap_file_loader, the component that replays a
// rosbag2 bag (a folder with metadata.yaml, a bare .mcap or a .db3 file)
// into a pipeline: each message of a mapped topic becomes one datamap,
// stamped with its header time, its payload converted to the ds3d type of
// its ROS 2 type (PointCloud2 to a point frame with named columns, Image
// and CompressedImage to image frames, CameraInfo to Intrinsics,
// Detection3DArray to boxes, Odometry to a pose). Points can be brought into
// one target frame through the bag's /tf and /tf_static. Several topics are
// synchronised the way every other source is: one loader per topic, each
// linked to its own port of a mixer (docs/ARCHITECTURE.md, "ROS 2 bags").
package replay

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// Config configures mcap_file_loader.
type Config struct {
	Path           ds3d.Path         `toml:"path" required:"true" nonempty:"true" path:"exists" doc:"the bag: a rosbag2 folder (metadata.yaml and its .mcap or .db3 files), a bare .mcap or a .db3 file"`
	Topics         map[string]string `toml:"topics" nonempty:"true" doc:"topic → datamap key, e.g. \"/kitti/velo\" = \"DS3D::LidarXYZI\"; types: PointCloud2 (point frame), Image and CompressedImage (colour or depth frame), CameraInfo (ds3d.Intrinsics), Detection3DArray ([]Box3D), Odometry (world-from-child Mat4, e.g. DS3D::EgoPose)"`
	FrameID        string            `toml:"frame_id" doc:"bring points, boxes and poses into this frame through the bag's /tf and /tf_static at each message's time; empty: as recorded"`
	Start          time.Duration     `toml:"start" min:"0s" doc:"skip what was logged in the first start of the bag"`
	End            time.Duration     `toml:"end" min:"0s" doc:"stop at this offset from the bag's start; 0: at its end"`
	Loop           bool              `toml:"loop" doc:"start again after the last message; timestamps keep increasing"`
	LoopPeriod     time.Duration     `toml:"loop_period" min:"0s" doc:"with loop: time from one pass's first message to the next pass's; 0: the pass's span plus its mean message interval (100 ms for a pass of one message)"`
	MaxFrames      int               `toml:"max_frames" min:"0" doc:"end the stream after this many datamaps (with loop: a fixed-length replay); 0: no limit"`
	Columns        []string          `toml:"point_columns" nonempty:"each" doc:"columns of point frames, by PointCloud2 field name (x, y, z first); empty: x y z intensity and then every other field (ring, time, return …)"`
	SourceID       int               `toml:"source_id" doc:"DS3D::SourceId of the datamaps"`
	ds3d.PoolGroup `doc:"frames per topic in flight before the loader waits for one to come back"`
}

// Validate checks what ties keys together: the time window.
func (c *Config) Validate() error {
	if c.End != 0 && c.End <= c.Start {
		return ds3d.ConfigErrorf("end", "%v must be after start %v (or 0: the bag's end)", c.End, c.Start)
	}
	for t, k := range c.Topics {
		if !strings.HasPrefix(t, "/") || k == "" {
			return ds3d.ConfigErrorf("topics", "%q = %q: want \"/topic\" = \"datamap key\"", t, k)
		}
	}
	return nil
}

// kind is what a topic's messages become.
type kind uint8

const (
	kindPoints kind = iota
	kindImage
	kindCompressed
	kindCameraInfo
	kindBoxes
	kindOdometry
)

// kinds maps the ROS 2 types the loader converts.
var kinds = map[string]kind{
	"sensor_msgs/msg/PointCloud2":      kindPoints,
	"sensor_msgs/msg/Image":            kindImage,
	"sensor_msgs/msg/CompressedImage":  kindCompressed,
	"sensor_msgs/msg/CameraInfo":       kindCameraInfo,
	"vision_msgs/msg/Detection3DArray": kindBoxes,
	"nav_msgs/msg/Odometry":            kindOdometry,
}

func typeList() string {
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// topic is one mapped topic.
type topic struct {
	name string
	key  ds3d.Key
	kind kind
	pool *ds3d.FramePool
}

// Loader is the mcap_file_loader component. A reader goroutine, started by
// the first Next and stopped by Close, walks the bag and hands converted
// datamaps over a channel of one, so the walk (a callback over the bag's
// files) and the pull of Next meet without buffering more than a frame.
type Loader struct {
	cfg    Config
	b      *bag.Bag
	topics map[string]*topic
	tf     *ros2.TFTree
	start  uint64 // bag start + cfg.Start, ns
	end    uint64 // 0: none

	once   sync.Once
	out    chan result
	cancel context.CancelFunc
	done   chan struct{}
	n      int
}

type result struct {
	m   *ds3d.DataMap
	err error
}

// New opens the bag and checks that every mapped topic is in it with a
// type the loader converts.
func New(cfg *Config) (*Loader, error) {
	b, err := bag.Open(string(cfg.Path))
	if err != nil {
		return nil, err
	}
	l := &Loader{cfg: *cfg, b: b, topics: map[string]*topic{}}
	types, first, err := topicTypes(b)
	if err != nil {
		return nil, err
	}
	for name, key := range cfg.Topics {
		typ, ok := types[name]
		if !ok {
			have := make([]string, 0, len(types))
			for n := range types {
				have = append(have, n)
			}
			sort.Strings(have)
			return nil, ds3d.ConfigErrorf("topics", "%s has no topic %q (topics: %s)", cfg.Path, name, strings.Join(have, ", "))
		}
		k, ok := kinds[typ]
		if !ok {
			return nil, ds3d.ConfigErrorf("topics", "topic %q is %s, which the loader does not convert (it converts %s)", name, typ, typeList())
		}
		t := &topic{name: name, key: ds3d.Key(key), kind: k}
		switch k {
		case kindPoints:
			t.pool, err = ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
		case kindImage, kindCompressed:
			t.pool, err = ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return &ds3d.Frame{} })
		}
		if err != nil {
			return nil, err
		}
		l.topics[name] = t
	}
	if cfg.FrameID != "" {
		l.tf = ros2.NewTFTree(0)
	}
	l.start = first + uint64(cfg.Start)
	if cfg.End > 0 {
		l.end = first + uint64(cfg.End)
	}
	return l, nil
}

// topicTypes returns the bag's topics with their types and its first log
// time: from metadata.yaml when the bag has one (rosbag2 writes both
// there), so that opening a large bag does not read it; a bare .mcap or
// .db3 is read through once (bag.Inspect).
func topicTypes(b *bag.Bag) (map[string]string, uint64, error) {
	types := map[string]string{}
	if md := b.Metadata; md != nil && len(md.Info.Topics) > 0 {
		for _, t := range md.Info.Topics {
			types[t.Topic.Name] = t.Topic.Type
		}
		return types, uint64(max(md.Info.StartingTime.Nanos, 0)), nil
	}
	info, err := bag.Inspect(b.Path, false)
	if err != nil {
		return nil, 0, err
	}
	for _, t := range info.Topics {
		types[t.Name] = t.Type
	}
	return types, info.Start, nil
}

// Next returns the next converted message as a datamap, or io.EOF.
func (l *Loader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if l.cfg.MaxFrames > 0 && l.n >= l.cfg.MaxFrames {
		return nil, io.EOF
	}
	l.once.Do(l.run)
	select {
	case r, ok := <-l.out:
		if !ok {
			return nil, io.EOF
		}
		if r.err != nil {
			return nil, r.err
		}
		r.m.SetInt64(ds3d.KeyFrameNumber, int64(l.n))
		if l.n == 0 {
			r.m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
		}
		l.n++
		return r.m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run starts the reader goroutine.
func (l *Loader) run() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.out, l.done = cancel, make(chan result, 1), make(chan struct{})
	go func() {
		defer close(l.done)
		defer close(l.out)
		if err := l.read(ctx); err != nil && !errors.Is(err, context.Canceled) {
			select {
			case l.out <- result{err: err}:
			case <-ctx.Done():
			}
		}
	}()
}

// Close stops the reader and releases what it had converted but not handed
// over.
func (l *Loader) Close() error {
	if l.cancel == nil {
		return nil
	}
	l.cancel()
	for r := range l.out {
		if r.m != nil {
			r.m.Release()
		}
	}
	<-l.done
	return nil
}

// read walks the bag (again and again with loop), converting messages.
func (l *Loader) read(ctx context.Context) error {
	names := make([]string, 0, len(l.topics)+2)
	for n := range l.topics {
		names = append(names, n)
	}
	if l.tf != nil {
		names = append(names, "/tf", "/tf_static")
	}
	slices.Sort(names)
	opts := bag.Options{Topics: names, StartNanos: l.start, EndNanos: l.end}
	var offset, last, first int64
	var tfs []ros2.TransformStamped
	var pc ros2.PointCloud2
	var im ros2.Image
	var ci ros2.CompressedImage
	for pass := 0; ; pass++ {
		sent := 0
		err := l.b.Messages(opts, func(msg *bag.Message) error {
			if l.tf != nil && (msg.Topic == "/tf" || msg.Topic == "/tf_static") {
				var err error
				if tfs, err = ros2.UnmarshalTFMessage(msg.Data, tfs[:0]); err != nil {
					return msg.Errorf("%w", err)
				}
				for _, ts := range tfs {
					l.tf.Add(ts, msg.Topic == "/tf_static")
				}
				return nil
			}
			t := l.topics[msg.Topic]
			if t == nil {
				return nil
			}
			m, stamp, err := l.convert(ctx, t, msg, &pc, &im, &ci)
			if err != nil {
				return err
			}
			if pass == 0 && sent == 0 {
				first = stamp
			}
			last = max(last, stamp+offset)
			m.SetTimestamp(stamp + offset)
			m.SetInt64(ds3d.KeySourceID, int64(l.cfg.SourceID))
			sent++
			select {
			case l.out <- result{m: m}:
				return nil
			case <-ctx.Done():
				m.Release()
				return ctx.Err()
			}
		})
		if err != nil {
			return err
		}
		if !l.cfg.Loop || sent == 0 {
			return nil
		}
		// the next pass starts one mean message interval after this one's last
		gap := int64(100 * time.Millisecond)
		if sent > 1 {
			gap = max((last-offset-first)/int64(sent-1), int64(time.Millisecond))
		}
		if l.cfg.LoopPeriod > 0 {
			offset += int64(l.cfg.LoopPeriod)
		} else {
			offset = last + gap - first
		}
	}
}

// convert turns one message into a datamap holding its value under the
// topic's key; stamp is the message's header time (its log time when the
// type has no header).
func (l *Loader) convert(ctx context.Context, t *topic, msg *bag.Message, pc *ros2.PointCloud2, im *ros2.Image, ci *ros2.CompressedImage) (*ds3d.DataMap, int64, error) {
	m := ds3d.NewDataMap()
	fail := func(err error) (*ds3d.DataMap, int64, error) {
		m.Release()
		return nil, 0, msg.Errorf("%w", err)
	}
	var h ros2.Header
	switch t.kind {
	case kindPoints, kindImage, kindCompressed:
		f, err := t.pool.Get(ctx)
		if err != nil {
			m.Release()
			return nil, 0, err
		}
		switch t.kind {
		case kindPoints:
			if err = pc.Unmarshal(msg.Data); err == nil {
				h = pc.Header
				_, err = l.points(pc, f)
			}
		case kindImage:
			if err = im.Unmarshal(msg.Data); err == nil {
				h = im.Header
				_, err = im.ToFrame(f)
			}
		default:
			if err = ci.Unmarshal(msg.Data); err == nil {
				h = ci.Header
				_, err = ci.ToFrame(f)
			}
		}
		if err == nil && t.kind == kindPoints && l.tf != nil {
			err = l.transformPoints(f, h)
		}
		if err != nil {
			f.Release()
			return fail(err)
		}
		m.SetFrame(t.key, f)
	case kindCameraInfo:
		c, err := ros2.DecodeCameraInfo(msg.Data)
		if err != nil {
			return fail(err)
		}
		in, err := c.Intrinsics()
		if err != nil {
			return fail(err)
		}
		h = c.Header
		m.Set(t.key, in)
	case kindBoxes:
		hh, boxes, err := ros2.DecodeDetection3DArray(msg.Data)
		if err != nil {
			return fail(err)
		}
		h = hh
		if l.tf != nil {
			if err := l.transformBoxes(boxes, h); err != nil {
				return fail(err)
			}
		}
		m.Set(t.key, boxes)
	case kindOdometry:
		o, err := ros2.DecodeOdometry(msg.Data)
		if err != nil {
			return fail(err)
		}
		h = o.Header
		pose := ros2.Transform{Translation: o.Pose.Pose.Position, Rotation: o.Pose.Pose.Orientation}.Mat4()
		if l.tf != nil && h.FrameID != l.cfg.FrameID {
			to, err := l.tf.Lookup(l.cfg.FrameID, h.FrameID, h.Nanos())
			if err != nil {
				return fail(err)
			}
			pose = to.Mul(pose)
		}
		m.Set(t.key, pose)
	}
	stamp := h.Nanos()
	if stamp == 0 {
		stamp = int64(msg.LogTime)
	}
	return m, stamp, nil
}

// points converts a cloud into f with the configured columns.
func (l *Loader) points(pc *ros2.PointCloud2, f *ds3d.Frame) (*ds3d.Frame, error) {
	if len(l.cfg.Columns) > 0 {
		return pc.ToFrameColumns(f, l.cfg.Columns)
	}
	return pc.ToFrame(f)
}

// transformPoints brings x, y, z of a point frame into cfg.FrameID.
func (l *Loader) transformPoints(f *ds3d.Frame, h ros2.Header) error {
	if h.FrameID == l.cfg.FrameID {
		return nil
	}
	mt, err := l.tf.Lookup(l.cfg.FrameID, h.FrameID, h.Nanos())
	if err != nil {
		return err
	}
	c := f.Stride()
	p := ds3d.AsFloat32(f)
	for i := 0; i+2 < len(p); i += c {
		p[i], p[i+1], p[i+2] = apply(&mt, p[i], p[i+1], p[i+2])
	}
	return nil
}

// apply maps a point through a rigid transform, in float64.
func apply(mt *ds3d.Mat4, x32, y32, z32 float32) (float32, float32, float32) {
	x, y, z := float64(x32), float64(y32), float64(z32)
	return float32(mt[0]*x + mt[1]*y + mt[2]*z + mt[3]),
		float32(mt[4]*x + mt[5]*y + mt[6]*z + mt[7]),
		float32(mt[8]*x + mt[9]*y + mt[10]*z + mt[11])
}

// transformBoxes brings box centres and headings into cfg.FrameID (the
// transform's yaw is added; pitch and roll of a box stay as recorded).
func (l *Loader) transformBoxes(boxes []ds3d.Box3D, h ros2.Header) error {
	if h.FrameID == l.cfg.FrameID || len(boxes) == 0 {
		return nil
	}
	tr, err := l.tf.LookupTransform(l.cfg.FrameID, h.FrameID, h.Nanos())
	if err != nil {
		return err
	}
	mt := tr.Mat4()
	yaw, _, _ := ros2.EulerFromQuat(tr.Rotation)
	for i := range boxes {
		b := &boxes[i]
		b.CX, b.CY, b.CZ = apply(&mt, b.CX, b.CY, b.CZ)
		b.Yaw += float32(yaw)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, "mcap_file_loader",
		`Replays a rosbag2 bag (MCAP or SQLite3 storage, or a bare .mcap) without a ROS installation: each message of a mapped topic becomes a datamap stamped with its header time (PointCloud2 → point frame with named columns, Image/CompressedImage → image frame, CameraInfo → intrinsics, Detection3DArray → boxes, Odometry → pose), optionally brought into one frame through /tf and /tf_static.`,
		func() *Config { return &Config{PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}} },
		func(c *Config, env *ds3d.Env) (any, error) { return New(c) })
}

// PoolStats reports each mapped topic's frame pool under its topic name,
// in name order.
func (l *Loader) PoolStats() []ds3d.PoolStat {
	out := make([]ds3d.PoolStat, 0, len(l.topics))
	for _, t := range l.topics {
		if t.pool != nil {
			out = append(out, t.pool.Stat(t.name))
		}
	}
	slices.SortFunc(out, func(a, b ds3d.PoolStat) int { return strings.Compare(a.Name, b.Name) })
	return out
}
