package foxglove

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/ds3d-go/ds3d-go/ds3d"
	fg "github.com/ds3d-go/ds3d-go/sensors/foxglove"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

// Config configures foxglove_ws.
type Config struct {
	Listen          string        `toml:"listen" nonempty:"true" doc:"host:port to serve on; the default accepts local clients only, another address exposes the pipeline's data to the network"`
	AllowedOrigins  []string      `toml:"allowed_origins" doc:"browser origins allowed besides the server's own host: host patterns as path.Match reads them (\"*\" allows any host), or scheme://host patterns (\"file://\" for desktop apps that load their pages from files); clients that send no Origin header, such as native apps and scripts, are always allowed"`
	ServerName      string        `toml:"server_name" nonempty:"true" doc:"name sent to clients in serverInfo"`
	FrameID         string        `toml:"frame_id" nonempty:"true" doc:"header.frame_id of the published points and boxes"`
	PointsKey       string        `toml:"points_key" doc:"key of the point frame published as sensor_msgs/msg/PointCloud2 or foxglove_msgs/msg/PointCloud (one float32 field per column); empty publishes no points"`
	PointsTopic     string        `toml:"points_topic" nonempty:"true" doc:"topic of the points"`
	PointSchema     string        `toml:"point_schema" enum:"ros|foxglove|both" doc:"schema of the points: ros is sensor_msgs/msg/PointCloud2, foxglove is Foxglove's own foxglove_msgs/msg/PointCloud (pose, point_stride, packed FLOAT32 fields), both publishes PointCloud2 on points_topic and PointCloud on points_topic + \"/foxglove\""`
	BoxesKey        string        `toml:"boxes_key" doc:"key of the []Box3D boxes published as visualization_msgs/msg/MarkerArray; empty publishes no boxes"`
	BoxesTopic      string        `toml:"boxes_topic" nonempty:"true" doc:"topic of the boxes"`
	DetectionsTopic string        `toml:"detections_topic" doc:"topic on which the boxes also go out as vision_msgs/msg/Detection3DArray (class, score, track id); empty publishes markers only"`
	SceneTopic      string        `toml:"scene_topic" doc:"topic on which the boxes also go out as foxglove_msgs/msg/SceneUpdate (Foxglove's own scene schema: one cube entity per box, id track-N or box-I); empty publishes no scene"`
	BoxLifetime     time.Duration `toml:"box_lifetime" min:"0" doc:"marker and scene entity lifetime; 0 keeps the boxes until the next message, which starts by deleting them"`
	ImageKey        string        `toml:"image_key" doc:"key of the RGB or RGBA u8 image published as JPEG (encoded on the pipeline's goroutine, once per frame and only while a client subscribes); empty publishes no image"`
	ImageTopic      string        `toml:"image_topic" nonempty:"true" doc:"topic of the image"`
	ImageSchema     string        `toml:"image_schema" enum:"ros|foxglove|both" doc:"schema of the image: ros is sensor_msgs/msg/CompressedImage, foxglove is foxglove_msgs/msg/CompressedImage, both publishes the first on image_topic and the second on image_topic + \"/foxglove\""`
	ImageFrameID    string        `toml:"image_frame_id" nonempty:"true" doc:"header.frame_id of the image, and the child frame of the lidar→camera transform"`
	JPEGQuality     int           `toml:"jpeg_quality" min:"1" max:"100" doc:"JPEG quality of the image"`
	ExtrinsicsKey   string        `toml:"extrinsics_key" doc:"key of the lidar→camera ds3d.Mat4 published on tf_topic as the transform from frame_id to image_frame_id, when it changes; new subscribers get the last one, as ROS latches /tf_static; empty publishes no transform"`
	TFTopic         string        `toml:"tf_topic" nonempty:"true" doc:"topic of the lidar→camera transform"`
	EgoPoseKey      string        `toml:"ego_pose_key" doc:"key of the ego pose (a ds3d.Mat4 world-from-ego, such as DS3D::EgoPose) published on ego_topic with every datamap that holds it, as the transform from world_frame_id (parent) to frame_id (child); empty publishes no ego pose"`
	EgoTopic        string        `toml:"ego_topic" nonempty:"true" doc:"topic of the ego pose transform"`
	WorldFrameID    string        `toml:"world_frame_id" nonempty:"true" doc:"parent frame of the ego pose"`
	TransformSchema string        `toml:"transform_schema" enum:"ros|foxglove|both" doc:"schema of the transforms on tf_topic and ego_topic: ros is tf2_msgs/msg/TFMessage, foxglove is foxglove_msgs/msg/FrameTransforms, both publishes the first on the topic and the second on the topic + \"/foxglove\""`
	QueueLength     int           `toml:"client_queue_length" min:"1" doc:"messages queued per client; when the queue is full, new messages for that client are dropped and counted"`
	QueueBytes      int64         `toml:"client_queue_bytes" min:"1" unit:"B" doc:"bytes queued per client before its messages are dropped (one message larger than this still goes when the queue is empty)"`
	MaxClients      int           `toml:"max_clients" min:"1" doc:"connected clients at most; more are refused with HTTP 503"`
	ReadLimit       int64         `toml:"client_read_limit" min:"256" unit:"B" doc:"largest message a client may send; a larger one closes its connection"`
	WriteTimeout    time.Duration `toml:"client_write_timeout" min:"0" doc:"a client that takes longer to accept one message is disconnected; 0 never disconnects it"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		Listen:          "127.0.0.1:8765",
		AllowedOrigins:  []string{"app.foxglove.dev", "localhost:*", "127.0.0.1:*", "[::1]:*", "file://"},
		ServerName:      "ds3d-go",
		FrameID:         "lidar",
		PointsKey:       string(ds3d.KeyLidarXYZI),
		PointsTopic:     "/ds3d/points",
		PointSchema:     ros2.SchemaROS,
		BoxesKey:        string(ds3d.KeyLidar3DBboxRawData),
		BoxesTopic:      "/ds3d/boxes",
		ImageKey:        string(ds3d.KeyColorFrame),
		ImageTopic:      "/ds3d/image/compressed",
		ImageSchema:     ros2.SchemaROS,
		ImageFrameID:    "camera",
		JPEGQuality:     85,
		ExtrinsicsKey:   string(ds3d.KeyLidarToCamExtrinsic),
		TFTopic:         "/tf_static",
		EgoTopic:        "/tf",
		WorldFrameID:    "map",
		TransformSchema: ros2.SchemaROS,
		QueueLength:     8,
		QueueBytes:      64 << 20,
		MaxClients:      16,
		ReadLimit:       64 << 10,
		WriteTimeout:    10 * time.Second,
	}
}

// Validate checks what the tags cannot.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return ds3d.ConfigErrorf("listen", "want host:port, got %q: %v", c.Listen, err)
	}
	if c.PointsKey == "" && c.BoxesKey == "" && c.ImageKey == "" && c.ExtrinsicsKey == "" && c.EgoPoseKey == "" {
		return ds3d.ConfigErrorf("points_key", "points_key, boxes_key, image_key, extrinsics_key and ego_pose_key are all empty: nothing to publish")
	}
	type use struct {
		on           bool
		topic, field string
	}
	uses := []use{
		{c.BoxesKey != "", c.BoxesTopic, "boxes_topic"},
		{c.BoxesKey != "" && c.DetectionsTopic != "", c.DetectionsTopic, "detections_topic"},
		{c.BoxesKey != "" && c.SceneTopic != "", c.SceneTopic, "scene_topic"},
	}
	for _, x := range []struct {
		on                   bool
		schema, topic, field string
	}{
		{c.PointsKey != "", c.PointSchema, c.PointsTopic, "points_topic"},
		{c.ImageKey != "", c.ImageSchema, c.ImageTopic, "image_topic"},
		{c.ExtrinsicsKey != "", c.TransformSchema, c.TFTopic, "tf_topic"},
		{c.EgoPoseKey != "", c.TransformSchema, c.EgoTopic, "ego_topic"},
	} {
		ros, fox := ros2.SchemaTopics(x.schema, x.topic)
		uses = append(uses, use{x.on && ros != "", ros, x.field}, use{x.on && fox != "", fox, x.field})
	}
	seen := map[string]string{}
	for _, t := range uses {
		if !t.on {
			continue
		}
		if other, dup := seen[t.topic]; dup {
			return ds3d.ConfigErrorf(t.field, "%q is also %s", t.topic, other)
		}
		seen[t.topic] = t.field
	}
	return nil
}

// Stats are the server's counters since Start.
type Stats struct {
	Clients int    // connected now
	Sent    uint64 // messages written to clients
	Dropped uint64 // messages dropped because a client's queue was full
	// PerClient lists the connected clients.
	PerClient []ClientStats
}

// ClientStats are one client's counters.
type ClientStats struct {
	ID      uint64 // 1, 2, … in order of connection
	Addr    string // remote address
	Queued  int    // messages waiting in its queue
	Sent    uint64
	Dropped uint64
}

// payload is one encoded message shared by every client it is queued for;
// the last reference returns it to the free list.
type payload struct {
	buf  []byte
	refs atomic.Int32
	free chan *payload
}

func (p *payload) release() {
	if p.refs.Add(-1) == 0 {
		select {
		case p.free <- p:
		default: // the list is full: let the collector have it
		}
	}
}

// freePayloads bounds the encoded messages kept for reuse. A free list
// rather than a sync.Pool: a pool is emptied by every collection, and
// reallocating megabyte clouds after each one feeds the next.
const freePayloads = 32

// getPayload returns an empty payload holding one reference, the caller's.
func (s *Server) getPayload() *payload {
	var p *payload
	select {
	case p = <-s.free:
	default:
		p = &payload{free: s.free}
	}
	p.refs.Store(1)
	return p
}

type item struct {
	p   *payload
	sub uint32
	ts  uint64
}

// channel is one advertised topic and the number of clients subscribed.
type channel struct {
	fg.Channel
	subs atomic.Int32
}

// noSub marks a channel a client has not subscribed to.
const noSub = -1

type client struct {
	id     uint64
	addr   string
	conn   *websocket.Conn
	queue  chan item
	qbytes atomic.Int64
	// sub[i] is the subscription id on channel i, or noSub.
	sub     []atomic.Int64
	sent    atomic.Uint64
	dropped atomic.Uint64
	hdr     [fg.MessageDataHeaderLen]byte
}

// Server is foxglove_ws.
type Server struct {
	cfg      Config
	log      *slog.Logger
	channels []*channel
	// Indexes in channels, or -1 when not published.
	boxes, detections, scene int
	// Contents that go out in the ROS schema, Foxglove's, or both.
	points, image, tf, ego pair

	img imageEncoder
	// The last lidar→camera transform in each schema, held for new
	// subscribers (under mu), and the extrinsics they were made from.
	tfLast [2]*payload
	tfMat  ds3d.Mat4

	ln     net.Listener
	srv    *http.Server
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the serve goroutine and every connection

	mu      sync.Mutex
	clients map[*client]struct{}
	conns   int // connections admitted, counted before the handshake
	nextID  uint64
	closed  bool

	sent, dropped atomic.Uint64
	free          chan *payload
	egoTF         [1]ros2.TransformStamped // the ego pose's message, reused
}

// pair is the channel indexes of one content in the ROS schema and in
// Foxglove's, -1 where it is not published.
type pair [2]int

const (
	ros = 0
	fox = 1
)

var noPair = pair{-1, -1}

// New builds a server; Start opens the socket.
func New(c *Config, log *slog.Logger) (*Server, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: *c, log: log, boxes: -1, detections: -1, scene: -1, points: noPair, image: noPair, tf: noPair, ego: noPair,
		clients: map[*client]struct{}{}}
	s.free = make(chan *payload, freePayloads)
	add := func(topic, schemaName string) (int, error) {
		schema, ok := ros2.Definition(schemaName)
		if !ok {
			return -1, fmt.Errorf("no message definition for %s", schemaName)
		}
		s.channels = append(s.channels, &channel{Channel: fg.Channel{
			ID: uint32(len(s.channels) + 1), Topic: topic, Encoding: "cdr",
			SchemaName: schemaName, Schema: schema, SchemaEncoding: "ros2msg",
		}})
		return len(s.channels) - 1, nil
	}
	// addPair adds the channels of a content published in schema.
	addPair := func(schema, topic, rosType, foxType string) (pair, error) {
		p := noPair
		rosTopic, foxTopic := ros2.SchemaTopics(schema, topic)
		var err error
		if rosTopic != "" {
			if p[ros], err = add(rosTopic, rosType); err != nil {
				return p, err
			}
		}
		if foxTopic != "" {
			if p[fox], err = add(foxTopic, foxType); err != nil {
				return p, err
			}
		}
		return p, nil
	}
	var err error
	if c.PointsKey != "" {
		if s.points, err = addPair(c.PointSchema, c.PointsTopic, ros2.PointCloud2Type, ros2.FoxglovePointCloudType); err != nil {
			return nil, err
		}
	}
	if c.BoxesKey != "" {
		if s.boxes, err = add(c.BoxesTopic, ros2.MarkerArrayType); err != nil {
			return nil, err
		}
	}
	if c.BoxesKey != "" && c.DetectionsTopic != "" {
		if s.detections, err = add(c.DetectionsTopic, ros2.Detection3DArrayType); err != nil {
			return nil, err
		}
	}
	if c.BoxesKey != "" && c.SceneTopic != "" {
		if s.scene, err = add(c.SceneTopic, ros2.SceneUpdateType); err != nil {
			return nil, err
		}
	}
	if c.ImageKey != "" {
		if s.image, err = addPair(c.ImageSchema, c.ImageTopic, ros2.CompressedImageType, ros2.FoxgloveCompressedImageType); err != nil {
			return nil, err
		}
		s.img.quality = c.JPEGQuality
	}
	if c.ExtrinsicsKey != "" {
		if s.tf, err = addPair(c.TransformSchema, c.TFTopic, ros2.TFMessageType, ros2.FrameTransformsType); err != nil {
			return nil, err
		}
	}
	if c.EgoPoseKey != "" {
		if s.ego, err = addPair(c.TransformSchema, c.EgoTopic, ros2.TFMessageType, ros2.FrameTransformsType); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Addr is the address the server listens on (after Start), with the port
// the system chose when listen ends in ":0".
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Start opens the socket and serves until Close or ctx ends.
func (s *Server) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(s.cfg.Listen); !isLoopback(host) {
		s.log.Warn("serving beyond this machine: any host that reaches the address sees the pipeline's data", "listen", ln.Addr().String())
	}
	s.ln = ln
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, s.cancel)
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serveWS), ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return s.ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("foxglove_ws stopped serving", "err", err)
		}
	}()
	go func() {
		// Stops the listener when the pipeline's context ends without Close.
		defer s.wg.Done()
		<-s.ctx.Done()
		stop()
		_ = s.srv.Close()
	}()
	s.log.Info("serving Foxglove WebSocket", "url", "ws://"+ln.Addr().String())
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Close disconnects every client and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	if s.cancel == nil {
		return nil
	}
	s.cancel()
	s.wg.Wait()
	s.mu.Lock()
	for i, p := range s.tfLast {
		if p != nil {
			p.release()
			s.tfLast[i] = nil
		}
	}
	s.mu.Unlock()
	return nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Clients: len(s.clients), Sent: s.sent.Load(), Dropped: s.dropped.Load()}
	for c := range s.clients {
		st.PerClient = append(st.PerClient, ClientStats{ID: c.id, Addr: c.addr, Queued: len(c.queue), Sent: c.sent.Load(), Dropped: c.dropped.Load()})
	}
	return st
}

// Dropped is the total of messages dropped for slow clients; the pipeline
// adds it to the component's drops in its metrics.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

// Subscribers is the number of clients subscribed to topic.
func (s *Server) Subscribers(topic string) int {
	for _, ch := range s.channels {
		if ch.Topic == topic {
			return int(ch.subs.Load())
		}
	}
	return 0
}

// Render encodes the datamap's points and boxes, each once, for the
// channels that have subscribers, and queues them for those clients. It
// never waits on a client.
func (s *Server) Render(_ context.Context, in *ds3d.DataMap) error {
	ts, ok := in.Timestamp()
	if !ok {
		ts = time.Now().UnixNano()
	}
	if s.subscribedAny(s.points) && in.Has(ds3d.Key(s.cfg.PointsKey)) {
		if err := s.renderPoints(in, ts); err != nil {
			return err
		}
	}
	if s.subscribed(s.boxes) || s.subscribed(s.detections) || s.subscribed(s.scene) {
		if err := s.renderBoxes(in, ts); err != nil {
			return err
		}
	}
	if s.subscribedAny(s.image) && in.Has(ds3d.Key(s.cfg.ImageKey)) {
		f, err := in.Frame(ds3d.Key(s.cfg.ImageKey))
		if err != nil {
			return err
		}
		// One JPEG for both schemas.
		jpg, err := s.img.encode(f)
		if err != nil {
			return fmt.Errorf("%s: %w", s.cfg.ImageKey, err)
		}
		h := ros2.HeaderAt(ts, s.cfg.ImageFrameID)
		if s.subscribed(s.image[ros]) {
			p := s.getPayload()
			p.buf = ros2.AppendCompressedImage(p.buf[:0], &ros2.CompressedImage{Header: h, Format: "jpeg", Data: jpg})
			s.broadcast(s.image[ros], p, ts)
		}
		if s.subscribed(s.image[fox]) {
			p := s.getPayload()
			p.buf = ros2.AppendFoxgloveCompressedImage(p.buf[:0], h, "jpeg", jpg)
			s.broadcast(s.image[fox], p, ts)
		}
	}
	if s.subscribedAny(s.ego) && in.Has(ds3d.Key(s.cfg.EgoPoseKey)) {
		m, err := ds3d.Get[ds3d.Mat4](in, ds3d.Key(s.cfg.EgoPoseKey))
		if err != nil {
			return err
		}
		s.egoTF[0] = ros2.TransformStamped{Header: ros2.HeaderAt(ts, s.cfg.WorldFrameID), ChildFrameID: s.cfg.FrameID,
			Transform: ros2.TransformFromMat4(m)}
		if s.subscribed(s.ego[ros]) {
			p := s.getPayload()
			p.buf = ros2.AppendTFMessage(p.buf[:0], s.egoTF[:])
			s.broadcast(s.ego[ros], p, ts)
		}
		if s.subscribed(s.ego[fox]) {
			p := s.getPayload()
			p.buf = ros2.AppendFrameTransforms(p.buf[:0], s.egoTF[:])
			s.broadcast(s.ego[fox], p, ts)
		}
	}
	if s.tf != noPair && in.Has(ds3d.Key(s.cfg.ExtrinsicsKey)) {
		m, err := ds3d.Get[ds3d.Mat4](in, ds3d.Key(s.cfg.ExtrinsicsKey))
		if err != nil {
			return err
		}
		if err := s.publishTF(m, ts); err != nil {
			return fmt.Errorf("%s: %w", s.cfg.ExtrinsicsKey, err)
		}
	}
	return nil
}

func (s *Server) subscribed(ch int) bool { return ch >= 0 && s.channels[ch].subs.Load() > 0 }

func (s *Server) subscribedAny(p pair) bool { return s.subscribed(p[ros]) || s.subscribed(p[fox]) }

// renderPoints encodes the point frame in each subscribed schema.
func (s *Server) renderPoints(in *ds3d.DataMap, ts int64) error {
	f, err := in.Frame(ds3d.Key(s.cfg.PointsKey))
	if err != nil {
		return err
	}
	h := ros2.HeaderAt(ts, s.cfg.FrameID)
	for schema, ch := range s.points {
		if !s.subscribed(ch) {
			continue
		}
		p := s.getPayload()
		// One allocation for a cloud larger than any before, not append's
		// doublings.
		if need := 256 + len(s.cfg.FrameID) + f.Bytes(); cap(p.buf) < need {
			p.buf = make([]byte, 0, need+need/8)
		}
		if schema == ros {
			p.buf, err = ros2.AppendPointCloud2(p.buf[:0], h, f)
		} else {
			p.buf, err = ros2.AppendFoxglovePointCloud(p.buf[:0], h, f)
		}
		if err != nil {
			p.release()
			return fmt.Errorf("%s: %w", s.cfg.PointsKey, err)
		}
		s.broadcast(ch, p, ts)
	}
	return nil
}

func (s *Server) renderBoxes(in *ds3d.DataMap, ts int64) error {
	if !in.Has(ds3d.Key(s.cfg.BoxesKey)) {
		return nil
	}
	boxes, err := ds3d.Get[[]ds3d.Box3D](in, ds3d.Key(s.cfg.BoxesKey))
	if err != nil {
		return err
	}
	h := ros2.HeaderAt(ts, s.cfg.FrameID)
	if s.subscribed(s.boxes) {
		p := s.getPayload()
		p.buf = ros2.AppendMarkerArray(p.buf[:0], h, boxes, int64(s.cfg.BoxLifetime))
		s.broadcast(s.boxes, p, ts)
	}
	if s.subscribed(s.detections) {
		p := s.getPayload()
		p.buf = ros2.AppendDetection3DArray(p.buf[:0], h, boxes)
		s.broadcast(s.detections, p, ts)
	}
	if s.subscribed(s.scene) {
		p := s.getPayload()
		p.buf = ros2.AppendSceneUpdate(p.buf[:0], h, boxes, int64(s.cfg.BoxLifetime))
		s.broadcast(s.scene, p, ts)
	}
	return nil
}

// publishTF sends the transform when the extrinsics change (or first
// appear) and keeps it for clients that subscribe later. The lidar→camera
// extrinsics map lidar points into the camera; their inverse is the
// camera's pose in the lidar frame, which a transform from the lidar
// (parent) to the camera (child) holds.
func (s *Server) publishTF(m ds3d.Mat4, ts int64) error {
	s.mu.Lock()
	same := (s.tfLast[ros] != nil || s.tfLast[fox] != nil) && s.tfMat == m
	s.mu.Unlock()
	if same {
		return nil
	}
	pose, err := m.Inverse()
	if err != nil {
		return err
	}
	tf := []ros2.TransformStamped{{
		Header:       ros2.HeaderAt(ts, s.cfg.FrameID),
		ChildFrameID: s.cfg.ImageFrameID,
		Transform:    ros2.TransformFromMat4(pose),
	}}
	for schema, ch := range s.tf {
		if ch < 0 {
			continue
		}
		p := s.getPayload()
		if schema == ros {
			p.buf = ros2.AppendTFMessage(p.buf[:0], tf)
		} else {
			p.buf = ros2.AppendFrameTransforms(p.buf[:0], tf)
		}
		p.refs.Add(1) // the server's own hold, for later subscribers
		s.mu.Lock()
		old := s.tfLast[schema]
		s.tfLast[schema], s.tfMat = p, m
		s.mu.Unlock()
		if old != nil {
			old.release()
		}
		s.broadcast(ch, p, ts)
	}
	return nil
}

// broadcast queues p for every client subscribed to channel ch, dropping
// it for clients whose queue is full, and gives up the caller's reference.
func (s *Server) broadcast(ch int, p *payload, ts int64) {
	s.mu.Lock()
	for c := range s.clients {
		if sub := c.sub[ch].Load(); sub != noSub {
			s.enqueue(c, p, uint32(sub), ts)
		}
	}
	s.mu.Unlock()
	p.release()
}

// enqueue queues p for c, or counts a drop when c's queue is full.
func (s *Server) enqueue(c *client, p *payload, sub uint32, ts int64) {
	n := int64(len(p.buf))
	// Counted before the send so that the writer's subtraction never
	// comes first.
	if q := c.qbytes.Add(n); q > n && q > s.cfg.QueueBytes {
		c.qbytes.Add(-n)
		c.dropped.Add(1)
		s.dropped.Add(1)
		return
	}
	p.refs.Add(1)
	select {
	case c.queue <- item{p: p, sub: sub, ts: uint64(ts)}:
	default:
		p.refs.Add(-1)
		c.qbytes.Add(-n)
		c.dropped.Add(1)
		s.dropped.Add(1)
	}
}

// serveWS runs one connection: the handshake, the advertisement, a writer
// goroutine for queued messages and, on this goroutine, the reader of the
// client's requests. It returns when either side ends, after the writer.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed || s.conns >= s.cfg.MaxClients {
		s.mu.Unlock()
		http.Error(w, "too many clients", http.StatusServiceUnavailable)
		return
	}
	s.conns++
	s.nextID++
	id := s.nextID
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.conns--
		s.mu.Unlock()
		s.wg.Done()
	}()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols:   []string{fg.Subprotocol},
		OriginPatterns: s.cfg.AllowedOrigins,
	})
	if err != nil {
		s.log.Warn("refused a connection", "remote", r.RemoteAddr, "err", err)
		return
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != fg.Subprotocol {
		conn.Close(websocket.StatusPolicyViolation, "subprotocol "+fg.Subprotocol+" required")
		return
	}
	conn.SetReadLimit(s.cfg.ReadLimit)
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	c := &client{id: id, addr: r.RemoteAddr, conn: conn, queue: make(chan item, s.cfg.QueueLength),
		sub: make([]atomic.Int64, len(s.channels))}
	for i := range c.sub {
		c.sub[i].Store(noSub)
	}
	if err := s.hello(ctx, c); err != nil {
		return
	}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	s.log.Info("client connected", "client", id, "remote", c.addr)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel() // a failed write ends the reader too
		s.writeLoop(ctx, c)
	}()
	s.readLoop(ctx, c)
	cancel()
	<-done
	s.mu.Lock()
	delete(s.clients, c)
	s.mu.Unlock()
	for i := range c.sub {
		if c.sub[i].Swap(noSub) != noSub {
			s.channels[i].subs.Add(-1)
		}
	}
	// Nothing enqueues after the removal: give the queued payloads back.
	for {
		select {
		case it := <-c.queue:
			it.p.release()
			continue
		default:
		}
		break
	}
	s.log.Info("client disconnected", "client", id, "remote", c.addr, "sent", c.sent.Load(), "dropped", c.dropped.Load())
}

func (s *Server) hello(ctx context.Context, c *client) error {
	info := fg.ServerInfo{Op: "serverInfo", Name: s.cfg.ServerName, Capabilities: []string{},
		SupportedEncodings: []string{}, Metadata: map[string]string{}}
	if err := s.send(ctx, c, info); err != nil {
		return err
	}
	adv := fg.Advertise{Op: "advertise", Channels: make([]fg.Channel, len(s.channels))}
	for i, ch := range s.channels {
		adv.Channels[i] = ch.Channel
	}
	return s.send(ctx, c, adv)
}

// send writes one JSON control message.
func (s *Server) send(ctx context.Context, c *client, v any) error {
	if s.cfg.WriteTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.WriteTimeout)
		defer cancel()
	}
	return wsjson.Write(ctx, c.conn, v)
}

func (s *Server) status(ctx context.Context, c *client, level int, msg string) error {
	return s.send(ctx, c, fg.Status{Op: "status", Level: level, Message: msg})
}

func (s *Server) writeLoop(ctx context.Context, c *client) {
	for {
		select {
		case <-ctx.Done():
			return
		case it := <-c.queue:
			c.qbytes.Add(-int64(len(it.p.buf)))
			err := s.writeData(ctx, c, it)
			it.p.release()
			if err != nil {
				if ctx.Err() == nil {
					s.log.Info("client write failed", "client", c.id, "err", err)
				}
				return
			}
			c.sent.Add(1)
			s.sent.Add(1)
		}
	}
}

// writeData writes the per-client header and the shared payload as one
// WebSocket message.
func (s *Server) writeData(ctx context.Context, c *client, it item) error {
	if s.cfg.WriteTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.WriteTimeout)
		defer cancel()
	}
	w, err := c.conn.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		return err
	}
	hdr := fg.AppendMessageDataHeader(c.hdr[:0], it.sub, it.ts)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := w.Write(it.p.buf); err != nil {
		return err
	}
	return w.Close()
}

func (s *Server) readLoop(ctx context.Context, c *client) {
	for {
		typ, b, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			if s.status(ctx, c, fg.StatusError, "client publishing is not supported: the server does not advertise clientPublish") != nil {
				return
			}
			continue
		}
		m, err := fg.ParseClientMessage(b)
		if err != nil {
			if s.status(ctx, c, fg.StatusError, err.Error()) != nil {
				return
			}
			continue
		}
		var problems []string
		switch m.Op {
		case "subscribe":
			problems = s.subscribe(c, m.Subscriptions)
		case "unsubscribe":
			problems = s.unsubscribe(c, m.SubscriptionIDs)
		default:
			problems = []string{fmt.Sprintf("unsupported op %q", m.Op)}
		}
		for _, p := range problems {
			if s.status(ctx, c, fg.StatusError, p) != nil {
				return
			}
		}
	}
}

func (s *Server) channelIndex(id uint32) int {
	for i, ch := range s.channels {
		if ch.ID == id {
			return i
		}
	}
	return -1
}

func (s *Server) subscribe(c *client, subs []fg.Subscription) []string {
	var problems []string
	for _, sub := range subs {
		i := s.channelIndex(sub.ChannelID)
		if i < 0 {
			problems = append(problems, fmt.Sprintf("subscribe: unknown channel %d", sub.ChannelID))
			continue
		}
		if j := c.subscription(sub.ID); j >= 0 {
			problems = append(problems, fmt.Sprintf("subscribe: subscription id %d is already used for channel %d", sub.ID, s.channels[j].ID))
			continue
		}
		if c.sub[i].Swap(int64(sub.ID)) == noSub {
			s.channels[i].subs.Add(1)
		}
		for schema, ch := range s.tf {
			if i != ch {
				continue
			}
			// Latched: a new subscriber gets the transform in force.
			s.mu.Lock()
			if p := s.tfLast[schema]; p != nil {
				s.enqueue(c, p, sub.ID, time.Now().UnixNano())
			}
			s.mu.Unlock()
		}
	}
	return problems
}

func (s *Server) unsubscribe(c *client, ids []uint32) []string {
	var problems []string
	for _, id := range ids {
		i := c.subscription(id)
		if i < 0 {
			problems = append(problems, fmt.Sprintf("unsubscribe: unknown subscription %d", id))
			continue
		}
		if c.sub[i].Swap(noSub) != noSub {
			s.channels[i].subs.Add(-1)
		}
	}
	return problems
}

// subscription is the channel index a subscription id is on, or -1.
func (c *client) subscription(id uint32) int {
	for i := range c.sub {
		if c.sub[i].Load() == int64(id) {
			return i
		}
	}
	return -1
}

func init() {
	ds3d.Register(ds3d.KindRender, "foxglove_ws",
		`Serves the pipeline's points (sensor_msgs/msg/PointCloud2 or Foxglove's foxglove_msgs/msg/PointCloud), 3D boxes (visualization_msgs/msg/MarkerArray, and optionally vision_msgs/msg/Detection3DArray and foxglove_msgs/msg/SceneUpdate), camera image (JPEG in sensor_msgs/msg/CompressedImage or foxglove_msgs/msg/CompressedImage), lidar→camera transform (/tf_static) and ego pose (/tf) as tf2_msgs/msg/TFMessage or foxglove_msgs/msg/FrameTransforms, live over the Foxglove WebSocket protocol, for Foxglove or any foxglove.websocket.v1 client; each content in the ROS schema, Foxglove's, or both; slow clients lose messages, the pipeline never waits.`,
		NewConfig,
		func(c *Config, env *ds3d.Env) (any, error) {
			return New(c, env.Logger())
		})
}
