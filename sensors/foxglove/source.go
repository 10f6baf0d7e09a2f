package foxglove

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// SourceConfig configures foxglove_ws_source.
type SourceConfig struct {
	ds3d.OutputGroup `doc:"key the [N,4] point frame (x y z intensity) is stored under"`
	ds3d.PoolGroup
	URL             string        `toml:"url" nonempty:"true" doc:"ws:// or wss:// address of a Foxglove WebSocket server (foxglove_bridge, foxglove_ws, a recorder)"`
	PointsTopic     string        `toml:"points_topic" nonempty:"true" doc:"topic of sensor_msgs/msg/PointCloud2 messages in cdr encoding"`
	QueueLength     int           `toml:"queue_length" min:"1" doc:"messages held between the socket and the pipeline; when the pipeline falls behind, the oldest is dropped and counted as missed"`
	ReadLimit       int64         `toml:"read_limit" min:"1024" unit:"B" doc:"largest message accepted from the server; a larger one ends the connection (and a reconnect follows)"`
	ReconnectMin    time.Duration `toml:"reconnect_min" min:">0" doc:"wait before the first reconnect; it doubles after each failed attempt"`
	ReconnectMax    time.Duration `toml:"reconnect_max" min:">0" doc:"longest wait between reconnects"`
	ImageTopic      string        `toml:"image_topic" doc:"topic of sensor_msgs/msg/CompressedImage (jpeg or png); the latest image goes into every points datamap under image_datamap_key; empty: none"`
	ImageKey        string        `toml:"image_datamap_key" nonempty:"true" doc:"key of the decoded u8 RGB (or RGBA) image frame"`
	CameraInfoTopic string        `toml:"camera_info_topic" doc:"topic of sensor_msgs/msg/CameraInfo; the latest intrinsics go into every points datamap under intrinsics_datamap_key; empty: none"`
	IntrinsicsKey   string        `toml:"intrinsics_datamap_key" nonempty:"true" doc:"key of the ds3d.Intrinsics"`
	TFTopics        []string      `toml:"tf_topics" doc:"tf2_msgs/msg/TFMessage topics (\"/tf_static\" latched, others dynamic); with camera_frame_id, the lidar→camera transform at each cloud's stamp goes under extrinsics_datamap_key"`
	CameraFrameID   string        `toml:"camera_frame_id" doc:"camera frame for the extrinsics; empty takes the image's (or camera info's) header.frame_id"`
	ExtrinsicsKey   string        `toml:"extrinsics_datamap_key" nonempty:"true" doc:"key of the lidar→camera ds3d.Mat4 (p_camera = M·p_lidar)"`
	MaxFrames       int           `toml:"max_frames" min:"0" doc:"end the stream after this many datamaps; 0 runs until the pipeline stops"`
	SourceID        int           `toml:"source_id" doc:"value of DS3D::SourceId"`
}

// NewSourceConfig returns the defaults.
func NewSourceConfig() *SourceConfig {
	return &SourceConfig{
		OutputGroup:   ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)},
		PoolGroup:     ds3d.PoolGroup{MemPoolSize: 4},
		URL:           "ws://127.0.0.1:8765",
		PointsTopic:   "/points",
		QueueLength:   4,
		ReadLimit:     256 << 20,
		ReconnectMin:  250 * time.Millisecond,
		ReconnectMax:  10 * time.Second,
		ImageKey:      string(ds3d.KeyColorFrame),
		IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix),
		ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic),
	}
}

// Validate checks what the tags cannot.
func (c *SourceConfig) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return ds3d.ConfigErrorf("url", "want ws://host:port or wss://…, got %q", c.URL)
	}
	if c.ReconnectMax < c.ReconnectMin {
		return ds3d.ConfigErrorf("reconnect_max", "%v is below reconnect_min %v", c.ReconnectMax, c.ReconnectMin)
	}
	return nil
}

// SourceStats are foxglove_ws_source's counters.
type SourceStats struct {
	Received   uint64 // messages received on the points topic
	Missed     uint64 // dropped because the pipeline fell behind
	Bad        uint64 // messages that did not decode (skipped, logged), on any topic
	Connects   uint64 // successful connections, the first included
	Reconnects uint64 // connection attempts after a loss or a failure
}

// Source is foxglove_ws_source: a client of a Foxglove WebSocket server
// whose PointCloud2 messages become lidar datamaps.
type Source struct {
	cfg  SourceConfig
	log  *slog.Logger
	key  ds3d.Key
	pool *ds3d.FramePool

	queue  chan []byte
	cancel context.CancelFunc
	done   chan struct{}

	// The latest image, intrinsics and transforms (under mu), written by
	// the connection goroutine and read by Next.
	mu         sync.Mutex
	image      *ds3d.Frame
	imageRaw   []byte // the latest CompressedImage, not yet decoded
	intr       ds3d.Intrinsics
	haveIntr   bool
	camFrame   string
	tf         *ros2.TFTree
	warnTF     sync.Once
	compressed ros2.CompressedImage
	info       ros2.CameraInfo
	tfs        []ros2.TransformStamped

	frames                                      int
	pc                                          ros2.PointCloud2
	received, missed, bad, connects, reconnects atomic.Uint64
	warnBad                                     sync.Once
}

// NewSource builds a source; Start connects.
func NewSource(c *SourceConfig, log *slog.Logger) (*Source, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pool, err := ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return nil, err
	}
	return &Source{cfg: *c, log: log, key: ds3d.Key(c.OutputKey), pool: pool, queue: make(chan []byte, c.QueueLength),
		tf: ros2.NewTFTree(0), camFrame: c.CameraFrameID}, nil
}

// Start launches the connection goroutine; it reconnects until Close or
// the end of ctx.
func (s *Source) Start(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx)
	return nil
}

// Close stops the connection goroutine and waits for it.
func (s *Source) Close() error {
	if s.cancel != nil {
		s.cancel()
		<-s.done
		s.cancel = nil
	}
	return nil
}

// Stats returns the counters.
func (s *Source) Stats() SourceStats {
	return SourceStats{Received: s.received.Load(), Missed: s.missed.Load(), Bad: s.bad.Load(),
		Connects: s.connects.Load(), Reconnects: s.reconnects.Load()}
}

// Dropped is the number of messages missed because the pipeline fell
// behind; the pipeline adds it to the component's drops.
func (s *Source) Dropped() uint64 { return s.missed.Load() }

// Next returns the next cloud as a datamap stamped with its header time.
func (s *Source) Next(ctx context.Context) (*ds3d.DataMap, error) {
	for {
		if s.cfg.MaxFrames > 0 && s.frames >= s.cfg.MaxFrames {
			return nil, io.EOF
		}
		var b []byte
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case b = <-s.queue:
		}
		if err := s.pc.Unmarshal(b); err != nil {
			s.skip(s.cfg.PointsTopic, err)
			continue
		}
		f, err := s.pool.Get(ctx)
		if err != nil {
			return nil, err
		}
		f.Resize(s.pc.Len(), 4)
		if _, err := s.pc.ToFrame(f); err != nil {
			f.Release()
			s.skip(s.cfg.PointsTopic, err)
			continue
		}
		m := ds3d.NewDataMap()
		m.SetFrame(s.key, f)
		m.SetTimestamp(s.pc.Header.Nanos())
		m.SetInt64(ds3d.KeyFrameNumber, int64(s.frames))
		m.SetInt64(ds3d.KeySourceID, int64(s.cfg.SourceID))
		if s.frames == 0 {
			m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
		}
		s.attachCamera(m)
		s.frames++
		return m, nil
	}
}

// attachCamera adds the latest image (a copy: each datamap owns its
// frames), intrinsics and the lidar→camera transform at the cloud's stamp.
func (s *Source) attachCamera(m *ds3d.DataMap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.imageRaw != nil {
		err := s.compressed.Unmarshal(s.imageRaw)
		if err == nil {
			var f *ds3d.Frame
			if f, err = s.compressed.ToFrame(nil); err == nil {
				s.image = f
			}
		}
		if err != nil {
			s.skip(s.cfg.ImageTopic, err)
		}
		s.imageRaw = nil
	}
	if s.image != nil {
		pl := s.image.Plane
		if im, err := ds3d.NewImageFrame(s.image.Type, s.image.DType, pl.Width, pl.Height, pl.Pitch); err == nil {
			copy(im.Data, s.image.Data)
			m.SetFrame(ds3d.Key(s.cfg.ImageKey), im)
		}
	}
	if s.haveIntr {
		m.Set(ds3d.Key(s.cfg.IntrinsicsKey), s.intr)
	}
	if len(s.cfg.TFTopics) > 0 && s.camFrame != "" {
		ext, err := s.tf.Lookup(s.camFrame, s.pc.Header.FrameID, s.pc.Header.Nanos())
		if err != nil {
			s.warnTF.Do(func() {
				s.log.Warn("no lidar→camera transform yet; warned once", "camera", s.camFrame, "lidar", s.pc.Header.FrameID, "err", err)
			})
			return
		}
		m.Set(ds3d.Key(s.cfg.ExtrinsicsKey), ext)
	}
}

// camera handles a message of the image, camera-info or tf topics.
func (s *Source) camera(kind int, topic string, b []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	switch kind {
	case kindImage:
		// Decoded by the next cloud's Next, so that only images that reach
		// the pipeline are decoded.
		if err = s.compressed.Unmarshal(b); err == nil {
			s.imageRaw = b
			if s.cfg.CameraFrameID == "" && s.compressed.Header.FrameID != "" {
				s.camFrame = s.compressed.Header.FrameID
			}
		}
	case kindCameraInfo:
		if err = s.info.Unmarshal(b); err == nil {
			if s.intr, err = s.info.Intrinsics(); err == nil {
				s.haveIntr = true
				if s.cfg.CameraFrameID == "" && s.camFrame == "" {
					s.camFrame = s.info.Header.FrameID
				}
			}
		}
	case kindTF, kindTFStatic:
		if s.tfs, err = ros2.UnmarshalTFMessage(b, s.tfs); err == nil {
			for _, t := range s.tfs {
				s.tf.Add(t, kind == kindTFStatic)
			}
		}
	}
	if err != nil {
		s.skip(topic, err)
	}
}

// skip counts a message that does not decode and logs the first one.
func (s *Source) skip(topic string, err error) {
	n := s.bad.Add(1)
	s.warnBad.Do(func() {
		s.log.Warn("skipping a message that does not decode; later ones are counted only",
			"topic", topic, "clouds_received", s.received.Load(), "bad", n, "err", err)
	})
}

func (s *Source) run(ctx context.Context) {
	defer close(s.done)
	wait := s.cfg.ReconnectMin
	for {
		connected, err := s.session(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			wait = s.cfg.ReconnectMin
		}
		s.log.Warn("connection lost; reconnecting", "url", s.cfg.URL, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		s.reconnects.Add(1)
		wait = min(2*wait, s.cfg.ReconnectMax)
	}
}

// session runs one connection until it fails; connected tells whether
// the handshake succeeded.
func (s *Source) session(ctx context.Context) (connected bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, _, err := websocket.Dial(dctx, s.cfg.URL, &websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	cancel()
	if err != nil {
		return false, err
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != Subprotocol {
		return false, fmt.Errorf("%s: server did not accept subprotocol %s", s.cfg.URL, Subprotocol)
	}
	conn.SetReadLimit(s.cfg.ReadLimit)
	s.connects.Add(1)
	s.log.Info("connected", "url", s.cfg.URL)
	// One subscription per wanted topic, its id the topic's index.
	want := s.topics()
	subscribed := make([]int64, len(want)) // channel id, or -1
	for i := range subscribed {
		subscribed[i] = -1
	}
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return true, err
		}
		if typ == websocket.MessageBinary {
			m, err := ParseServerBinary(b)
			if err != nil || m.Op != OpMessageData || int(m.SubscriptionID) >= len(want) || subscribed[m.SubscriptionID] < 0 {
				continue // time frames and what we did not ask for
			}
			if k := want[m.SubscriptionID].kind; k == kindPoints {
				s.received.Add(1)
				s.enqueue(m.Payload)
			} else {
				s.camera(k, want[m.SubscriptionID].topic, m.Payload)
			}
			continue
		}
		m, err := ParseServerMessage(b)
		if err != nil {
			return true, err
		}
		switch m.Op {
		case "advertise":
			var subs []Subscription
			for _, ch := range m.Channels {
				for i, w := range want {
					if ch.Topic != w.topic || subscribed[i] >= 0 {
						continue
					}
					if ch.Encoding != "cdr" || ros2.NormalizeType(ch.SchemaName) != ros2.NormalizeType(w.schema) {
						return true, fmt.Errorf("topic %s is %s in %s encoding, want %s in cdr", ch.Topic, ch.SchemaName, ch.Encoding, w.schema)
					}
					subs = append(subs, Subscription{ID: uint32(i), ChannelID: ch.ID})
					subscribed[i] = int64(ch.ID)
				}
			}
			if len(subs) > 0 {
				if err := writeJSON(ctx, conn, Subscribe{Op: "subscribe", Subscriptions: subs}); err != nil {
					return true, err
				}
			}
		case "unadvertise":
			for _, id := range m.ChannelIDs {
				for i := range subscribed {
					if subscribed[i] == int64(id) {
						subscribed[i] = -1 // a new advertisement of the topic resubscribes
						s.log.Warn("the server withdrew a topic", "topic", want[i].topic)
					}
				}
			}
		case "status":
			s.log.Info("server status", "level", m.Level, "message", m.Message)
		}
	}
}

// Kinds of subscribed topics.
const (
	kindPoints = iota
	kindImage
	kindCameraInfo
	kindTF
	kindTFStatic
)

type wanted struct {
	topic, schema string
	kind          int
}

// topics lists the subscriptions, the points first.
func (s *Source) topics() []wanted {
	w := []wanted{{s.cfg.PointsTopic, ros2.PointCloud2Type, kindPoints}}
	if s.cfg.ImageTopic != "" {
		w = append(w, wanted{s.cfg.ImageTopic, ros2.CompressedImageType, kindImage})
	}
	if s.cfg.CameraInfoTopic != "" {
		w = append(w, wanted{s.cfg.CameraInfoTopic, ros2.CameraInfoType, kindCameraInfo})
	}
	for _, t := range s.cfg.TFTopics {
		k := kindTF
		if t == "/tf_static" || strings.HasSuffix(t, "/tf_static") {
			k = kindTFStatic
		}
		w = append(w, wanted{t, ros2.TFMessageType, k})
	}
	return w
}

// enqueue hands a payload to Next, dropping the oldest when the pipeline
// has fallen behind (a live view wants the latest cloud).
func (s *Source) enqueue(b []byte) {
	for {
		select {
		case s.queue <- b:
			return
		default:
		}
		select {
		case <-s.queue:
			s.missed.Add(1)
		default:
		}
	}
}

func writeJSON(ctx context.Context, conn *websocket.Conn, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageText, b)
}

func init() {
	ds3d.Register(ds3d.KindLoader, "foxglove_ws_source",
		`Connects to a Foxglove WebSocket server (foxglove_bridge, foxglove_ws) and turns a sensor_msgs/msg/PointCloud2 topic into lidar datamaps stamped with the message time, adding the latest CompressedImage, CameraInfo intrinsics and the lidar→camera transform from /tf and /tf_static when configured; reconnects with backoff and counts the clouds it had to drop.`,
		NewSourceConfig,
		func(c *SourceConfig, env *ds3d.Env) (any, error) {
			return NewSource(c, env.Logger())
		})
}

// PoolStats reports the point-frame pool under the output key.
func (s *Source) PoolStats() []ds3d.PoolStat {
	return []ds3d.PoolStat{s.pool.Stat(string(s.key))}
}
