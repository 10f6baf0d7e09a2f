package msgbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/msgconv"
)

// TLSConfig is the [tls] table every adapter shares (ds3d.TLSConfig).
type TLSConfig = ds3d.TLSConfig

// MQTTConfig is the connection to an MQTT 3.1.1 broker.
type MQTTConfig struct {
	Broker       string    `toml:"broker" nonempty:"true" doc:"broker URL: tcp://host:port, or ssl://host:port (also tls://, mqtts://) for TLS"`
	ClientID     string    `toml:"client_id" doc:"MQTT client identifier; empty: ds3d- and 8 random hex digits"`
	QoS          int       `toml:"qos" enum:"0|1" doc:"0: at most once (sent when written to the socket); 1: at least once (sent when the broker acknowledged it)"`
	Retain       bool      `toml:"retain" doc:"set the retain flag, so a new subscriber gets the last message of the topic"`
	MaxInFlight  int       `toml:"max_inflight" min:"1" doc:"messages published before the oldest is acknowledged (QoS 1) or written (QoS 0); all of them are sent again after a failure"`
	Username     string    `toml:"username" doc:"user name; empty: none"`
	PasswordFile ds3d.Path `toml:"password_file" path:"exists" doc:"file holding the password (its first line); a password is never written in the config itself"`
	TLS          TLSConfig `toml:"tls" doc:"TLS settings"`
}

// RedisConfig is the connection to a Redis server.
type RedisConfig struct {
	Addr         string    `toml:"addr" nonempty:"true" doc:"server host:port"`
	DB           int       `toml:"db" min:"0" doc:"database number"`
	Username     string    `toml:"username" doc:"ACL user name; empty: the default user"`
	PasswordFile ds3d.Path `toml:"password_file" path:"exists" doc:"file holding the password (its first line); a password is never written in the config itself"`
	StreamMaxLen int64     `toml:"stream_max_len" min:"0" doc:"XADD MAXLEN ~ N: trim the stream to about N entries; 0 never trims"`
	TLS          TLSConfig `toml:"tls" doc:"TLS settings (tls.enabled or any TLS file turns it on)"`
}

// Config configures msgbroker.
type Config struct {
	msgconv.Options
	BoxesKey   string            `toml:"lidar_bbox_key" nonempty:"true" doc:"key of the []Box3D boxes sent by the ds3d_json and ds3d_protobuf schemas"`
	ObjectsKey string            `toml:"objects_key" nonempty:"true" doc:"key of the []Object2D objects sent by the deepstream and deepstream_minimal schemas"`
	EventsKey  string            `toml:"events_key" doc:"key of analytics events (*ds3d.AnalyticsEvents, filters/analytics): when set, the sink sends each event as one message in the ds3d analytics 1.0 JSON schema (docs/PAYLOADS.md) to the topic of the event's own source, every frame whatever frame_interval, instead of boxes or objects; needs schema = \"ds3d_json\""`
	FrameID    string            `toml:"frame_id" nonempty:"true" doc:"coordinate frame of the boxes (detection3d frame_id)"`
	Event      msgconv.EventType `toml:"event" enum:"entry|exit|moving|stopped|parked|empty|reset" doc:"event.type of deepstream (full) payloads"`
	Protocol   string            `toml:"protocol" enum:"mqtt|redis|kafka|amqp|nats" doc:"broker protocol: mqtt (MQTT 3.1.1), redis (Redis Streams), kafka, amqp (AMQP 0-9-1, RabbitMQ) or nats (NATS core or JetStream)"`
	Topic      string            `toml:"topic" nonempty:"true" doc:"MQTT topic, Redis stream key, Kafka topic, AMQP routing key or NATS subject; {sensor} is replaced by the message's sensor id"`
	QueueLen   int               `toml:"queue_length" min:"1" doc:"messages held between Render and the sender; a message that finds the queue full is dropped and counted"`
	Connect    time.Duration     `toml:"connect_timeout" min:">0" doc:"bound of one connection attempt; Start waits this long for the first one"`
	SendTO     time.Duration     `toml:"send_timeout" min:">0" doc:"a message the broker has not acknowledged within this time counts as failed and the connection is restarted"`
	BackoffMin time.Duration     `toml:"reconnect_min" min:">0" doc:"first wait before reconnecting; it doubles after each failed attempt"`
	BackoffMax time.Duration     `toml:"reconnect_max" min:">0" doc:"cap of the reconnect wait"`
	CloseTO    time.Duration     `toml:"close_timeout" min:"0" doc:"how long Close keeps sending what is queued; what is left then is counted as dropped (with a spool: written to the spool for the next run)"`
	Spool      SpoolConfig       `toml:"spool" doc:"optional on-disk spool for what the broker cannot take now (docs/MESSAGING.md, \"Spool\")"`
	MQTT       MQTTConfig        `toml:"mqtt" doc:"MQTT connection (protocol = \"mqtt\")"`
	Redis      RedisConfig       `toml:"redis" doc:"Redis connection (protocol = \"redis\")"`
	Kafka      KafkaConfig       `toml:"kafka" doc:"Kafka connection (protocol = \"kafka\")"`
	AMQP       AMQPConfig        `toml:"amqp" doc:"AMQP 0-9-1 connection (protocol = \"amqp\")"`
	NATS       NATSConfig        `toml:"nats" doc:"NATS connection (protocol = \"nats\")"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{
		Options:    msgconv.DefaultOptions(),
		BoxesKey:   string(ds3d.KeyLidar3DBboxRawData),
		ObjectsKey: string(ds3d.KeyObject2DBbox),
		FrameID:    "lidar",
		Event:      msgconv.EventMoving,
		Protocol:   "mqtt",
		Topic:      "ds3d/{sensor}",
		QueueLen:   1024,
		Connect:    5 * time.Second,
		SendTO:     5 * time.Second,
		BackoffMin: 100 * time.Millisecond,
		BackoffMax: 10 * time.Second,
		CloseTO:    5 * time.Second,
		Spool:      SpoolConfig{MaxBytes: 1 << 30, SegmentBytes: 16 << 20, Fsync: "segment"},
		MQTT:       MQTTConfig{Broker: "tcp://127.0.0.1:1883", QoS: 1, MaxInFlight: 256},
		Redis:      RedisConfig{Addr: "127.0.0.1:6379", StreamMaxLen: 100000},
		Kafka: KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Acks: "all", Idempotent: true, Compression: "none",
			MaxInFlight: 1024, AutoCreate: true, SASL: "none"},
		AMQP: AMQPConfig{Addr: "127.0.0.1:5672", Vhost: "/", Exchange: "amq.topic", Persistent: true, MaxInFlight: 256},
		NATS: NATSConfig{Servers: []string{"nats://127.0.0.1:4222"}, MaxInFlight: 256},
	}
}

// Validate ties keys together.
func (c *Config) Validate() error {
	if err := c.Options.Validate(); err != nil {
		// The tags already check schema and frame_interval: what is left is
		// the schema/message_per pairing.
		return ds3d.ConfigErrorf("message_per", "%s", strings.TrimPrefix(err.Error(), "msgconv: "))
	}
	if c.EventsKey != "" && c.Schema != msgconv.SchemaDetection3DJSON {
		return ds3d.ConfigErrorf("events_key", "analytics events go out in the ds3d analytics JSON schema: set schema = %q (not %q)", msgconv.SchemaDetection3DJSON, c.Schema)
	}
	if c.BackoffMax < c.BackoffMin {
		return ds3d.ConfigErrorf("reconnect_max", "%v is below reconnect_min %v", c.BackoffMax, c.BackoffMin)
	}
	if err := c.Spool.validate(); err != nil {
		return err
	}
	switch c.Protocol {
	case "mqtt":
		if err := c.MQTT.checkLogin(); err != nil {
			return err
		}
		if err := mqttPublishTopic("topic", c.Topic); err != nil {
			return err
		}
		return c.MQTT.TLS.Validate("mqtt.")
	case "redis":
		return c.Redis.TLS.Validate("redis.")
	case "kafka":
		return c.Kafka.validate(c.Topic)
	case "amqp":
		return c.AMQP.validate(c.Topic)
	case "nats":
		return c.NATS.validate(c.Topic)
	}
	return nil
}

// checkLogin checks the broker URL and that a password comes with a user
// name; the sink and the command source share it.
func (c *MQTTConfig) checkLogin() error {
	if _, _, err := mqttURL(c.Broker); err != nil {
		return ds3d.ConfigErrorf("mqtt.broker", "%v", err)
	}
	if c.PasswordFile != "" && c.Username == "" {
		return ds3d.ConfigErrorf("mqtt.password_file", "a password needs mqtt.username (MQTT 3.1.1 sends no password without a user name)")
	}
	return nil
}

// mqttPublishTopic refuses the subscription wildcards in a topic one
// publishes to; key names the config key.
func mqttPublishTopic(key, t string) error {
	if strings.ContainsAny(t, "+#") {
		return ds3d.ConfigErrorf(key, "%q: + and # are subscription wildcards, not allowed in a topic one publishes to", t)
	}
	return nil
}

// readPassword returns the first line of a password file.
func readPassword(key string, p ds3d.Path) (string, error) {
	if p == "" {
		return "", nil
	}
	b, err := os.ReadFile(string(p))
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSuffix(line, "\r"), nil
}

// message is one payload on its way to the broker.
type message struct {
	buf    []byte
	topic  string // topic or stream key, {sensor} substituted
	sensor string
	proto  bool // protobuf body (content type)
	// spooled: read from the spool, which keeps it until its delivery;
	// at is where its record ends there.
	spooled bool
	at      pos
}

// adapter is one protocol's connection. The sender goroutine alone calls
// it, one call at a time.
type adapter interface {
	// connect opens the connection, bounded by ctx.
	connect(ctx context.Context) error
	// publish starts sending one message and returns the wait for it to
	// be delivered as the protocol's guarantee defines delivered. The
	// message's buffer is the adapter's until that wait returned nil or
	// close ran.
	publish(ctx context.Context, m *message) func(context.Context) error
	// window is how many messages may await delivery at once.
	window() int
	// close drops the connection; connect may follow.
	close()
	// String names the broker (and the user) for logs.
	String() string
}

// authError marks an error the server gave because of the credentials or
// the TLS setup: retrying does not help, so Start fails with it.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// Stats are the sink's counters. Every message encoded is, at any time,
// exactly one of sent, dropped or queued (in the queue or in the sender's
// hands); Failed counts failures, not messages.
type Stats struct {
	Sent       uint64 // delivered as the adapter's guarantee defines it
	Dropped    uint64 // found the queue full, or still queued when Close gave up
	Failed     uint64 // sends that failed or timed out; each is followed by a reconnect that sends the unacknowledged messages again
	Reconnects uint64 // connections made after the first
	Queued     int    // waiting now in memory, the one being sent included
	Spooled    int    // in the on-disk spool awaiting delivery, those an earlier run left included
	Connected  bool   // whether the sender holds a connection now
}

// Sink is the msgbroker component.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	meta    msgconv.Metadata
	ad      adapter
	enc     msgconv.Encoder
	events  []msgconv.Event2D
	sources map[int]*source // per source id: metadata and topic
	warned  map[ds3d.Key]bool

	queue chan *message
	sp    *spool                // nil: no spool
	spSt  atomic.Pointer[spool] // sp for Stats, which the metrics exporter may call while Start runs
	free  chan *message

	sent, dropped, failed, reconnects atomic.Uint64
	pending                           atomic.Int64 // encoded and neither sent nor dropped
	connected                         atomic.Bool

	ctx      context.Context // the sender's; cancelled when Close gives up
	cancel   context.CancelFunc
	closing  chan struct{}
	done     chan struct{}
	first    chan error // the first connection attempt's result, for Start
	started  bool
	closeMu  sync.Mutex
	isClosed bool
}

// New builds a sink from a validated config; it reads the metadata and
// password files but connects to nothing (Start does).
func New(cfg *Config, log *slog.Logger) (*Sink, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Sink{cfg: *cfg, log: log, sources: map[int]*source{}, warned: map[ds3d.Key]bool{}}
	if cfg.MetadataFile != "" {
		md, err := msgconv.LoadMetadata(string(cfg.MetadataFile))
		if err != nil {
			return nil, err
		}
		s.meta = md
	}
	var err error
	switch cfg.Protocol {
	case "mqtt":
		s.ad, err = newMQTT(&s.cfg)
	case "redis":
		s.ad, err = newRedis(&s.cfg)
	case "kafka":
		s.ad, err = newKafka(&s.cfg)
	case "amqp":
		s.ad, err = newAMQP(&s.cfg)
	case "nats":
		s.ad, err = newNATS(&s.cfg)
	default:
		err = ds3d.ConfigErrorf("protocol", "%q: want mqtt, redis, kafka, amqp or nats", cfg.Protocol)
	}
	if err != nil {
		return nil, err
	}
	s.queue = make(chan *message, cfg.QueueLen)
	// The free list holds every buffer that is not in flight: the queue's,
	// the sender's and the one Render encodes into.
	s.free = make(chan *message, cfg.QueueLen+2)
	return s, nil
}

// Start launches the sender and waits up to connect_timeout for its first
// connection: a refused login or a TLS failure is returned, so the pipeline
// does not start with a sink that can never send; a broker that is down or
// slow is logged and retried in the background.
func (s *Sink) Start(context.Context) error {
	if s.cfg.Spool.Dir != "" {
		sp, err := openSpool(s.cfg.Spool, s.log)
		if err != nil {
			return err
		}
		s.sp = sp
		s.spSt.Store(sp)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.closing = make(chan struct{})
	s.done = make(chan struct{})
	s.first = make(chan error, 1)
	s.started = true
	go s.run()
	select {
	case err := <-s.first:
		var ae *authError
		if errors.As(err, &ae) {
			s.Close()
			return err
		}
	case <-time.After(s.cfg.Connect):
		s.log.Warn("broker not connected yet; messages queue until it is", "broker", s.ad.String(), "queue_length", s.cfg.QueueLen)
	}
	return nil
}

// Render encodes the datamap's payloads and queues them; it never waits
// for the network.
func (s *Sink) Render(_ context.Context, in *ds3d.DataMap) error {
	if s.cfg.EventsKey != "" {
		return s.renderEvents(in)
	}
	fn, err := in.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		fn = -1
	}
	if !s.cfg.Due(fn) {
		return nil
	}
	src := int64(-1)
	if v, err := in.Int64(ds3d.KeySourceID); err == nil {
		src = v
	}
	ts, ok := in.Timestamp()
	if !ok {
		ts = time.Now().UnixNano()
	}
	so := s.source(int(src))
	meta := so.meta
	switch s.cfg.Schema {
	case msgconv.SchemaDetection3DJSON, msgconv.SchemaDetection3DProto:
		boxes, err := s.get3D(in)
		if err != nil {
			return err
		}
		h := msgconv.Header{SensorID: meta.Sensor.ID, SourceID: int32(src), FrameNumber: fn, FrameID: s.cfg.FrameID, Timestamp: ts}
		for lo, hi := range s.cfg.Batches(len(boxes)) {
			m := s.msg(so)
			if s.cfg.Schema == msgconv.SchemaDetection3DJSON {
				m.buf = msgconv.EncodeJSON(m.buf[:0], &h, boxes[lo:hi], nil)
			} else {
				m.proto = true
				if m.buf, err = msgconv.MarshalProto(m.buf[:0], &h, boxes[lo:hi], nil); err != nil {
					s.recycle(m)
					return fmt.Errorf("frame %d: %w", fn, err)
				}
			}
			s.enqueue(m)
		}
	default:
		objs, err := s.get2D(in)
		if err != nil {
			return err
		}
		ev := s.events[:0]
		for i := range objs {
			ev = append(ev, msgconv.Event2D{Timestamp: ts, FrameNumber: max(fn, 0), Meta: meta, Event: s.cfg.Event,
				Object: objs[i], Kind: msgconv.KindOfLabel(objs[i].Label)})
		}
		s.events = ev
		for lo, hi := range s.cfg.Batches(len(ev)) {
			m := s.msg(so)
			if s.cfg.Schema == msgconv.SchemaDeepStream {
				m.buf = s.enc.AppendFull(m.buf[:0], &ev[lo])
			} else if len(ev) > 0 {
				m.buf = s.enc.AppendMinimal(m.buf[:0], ev[lo:hi])
			} else {
				m.buf = s.enc.AppendMinimalFrame(m.buf[:0], max(fn, 0), ts, meta, nil)
			}
			s.enqueue(m)
		}
	}
	return nil
}

// renderEvents queues one message per analytics event of in, each to the
// topic and with the sensor id of the event's own source (a batch's slots
// are different streams). Events are not thinned by frame_interval: an
// entry or crossing left out would be lost for good.
func (s *Sink) renderEvents(in *ds3d.DataMap) error {
	k := ds3d.Key(s.cfg.EventsKey)
	if !in.Has(k) {
		s.warnOnce(k)
		return nil
	}
	evs, err := ds3d.Get[*ds3d.AnalyticsEvents](in, k)
	if err != nil || evs == nil {
		return err
	}
	for i := range evs.Events {
		e := &evs.Events[i]
		so := s.source(int(e.SourceID))
		m := s.msg(so)
		m.buf = msgconv.AppendAnalyticsJSON(m.buf[:0], so.meta.Sensor.ID, e)
		s.enqueue(m)
	}
	return nil
}

func (s *Sink) get3D(in *ds3d.DataMap) ([]ds3d.Box3D, error) {
	k := ds3d.Key(s.cfg.BoxesKey)
	if !in.Has(k) {
		s.warnOnce(k)
		return nil, nil
	}
	return ds3d.Get[[]ds3d.Box3D](in, k)
}

func (s *Sink) get2D(in *ds3d.DataMap) ([]ds3d.Object2D, error) {
	k := ds3d.Key(s.cfg.ObjectsKey)
	if !in.Has(k) {
		s.warnOnce(k)
		return nil, nil
	}
	return ds3d.Get[[]ds3d.Object2D](in, k)
}

func (s *Sink) warnOnce(k ds3d.Key) {
	if !s.warned[k] {
		s.warned[k] = true
		s.log.Warn("datamap without the key: its frames go out with no objects; warned once", "key", string(k))
	}
}

// source is what the sink keeps per source id.
type source struct {
	meta  *msgconv.SensorMeta
	topic string // Topic with {sensor} substituted
}

// source returns the metadata and topic of a source id, once per id, so
// the topic template is expanded once.
func (s *Sink) source(id int) *source {
	if so, ok := s.sources[id]; ok {
		return so
	}
	meta := s.meta.For(max(id, 0))
	so := &source{meta: meta, topic: strings.ReplaceAll(s.cfg.Topic, "{sensor}", meta.Sensor.ID)}
	s.sources[id] = so
	return so
}

// msg takes a message from the free list (or makes one) addressed for the
// source.
func (s *Sink) msg(so *source) *message {
	var m *message
	select {
	case m = <-s.free:
	default:
		m = &message{buf: make([]byte, 0, 4096)}
	}
	m.topic, m.sensor, m.proto, m.spooled = so.topic, so.meta.Sensor.ID, false, false
	return m
}

func (s *Sink) recycle(m *message) {
	m.spooled = false
	select {
	case s.free <- m:
	default:
	}
}

// enqueue hands m to the sender. Without a spool a full queue drops it;
// with one it goes to the spool, and so does every later message until the
// sender has read the spool to its end, which keeps the order.
func (s *Sink) enqueue(m *message) {
	s.pending.Add(1)
	sp := s.sp
	if sp == nil {
		select {
		case s.queue <- m:
		default:
			s.pending.Add(-1)
			s.dropped.Add(1)
			s.recycle(m)
		}
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.active {
		select {
		case s.queue <- m:
			return
		default:
			sp.active = true
		}
	}
	s.pending.Add(-1)
	s.spoolPut(m)
	s.recycle(m)
}

// spoolPut writes m to the spool (its mutex held). The messages of deleted
// old segments, and m when the spool cannot take it, are counted as
// dropped.
func (s *Sink) spoolPut(m *message) {
	sp := s.sp
	evicted, err := sp.put(m)
	s.dropped.Add(uint64(evicted))
	if err != nil {
		s.dropped.Add(1)
		if !sp.failed {
			s.log.Error("spool write failed; messages are dropped until one succeeds", "dir", s.cfg.Spool.Dir, "err", err)
			sp.failed = true
		}
		return
	}
	sp.failed = false
}

// spill moves the queue into the spool while the broker is away, so that a
// process killed during an outage loses none of it; new messages go to the
// spool too until the sender has read it to its end.
func (s *Sink) spill() {
	sp := s.sp
	if sp == nil {
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if !sp.drained() {
		// The queue is older than the spool's unread records: appended
		// after them it would go out of order. It goes first after the
		// reconnect anyway.
		return
	}
	sp.active = true
	for {
		select {
		case m := <-s.queue:
			s.pending.Add(-1)
			s.spoolPut(m)
			s.recycle(m)
		default:
			return
		}
	}
}

// fromSpool returns the spool's next unread message, or nil.
func (s *Sink) fromSpool() *message {
	var m *message
	select {
	case m = <-s.free:
	default:
		m = &message{buf: make([]byte, 0, 4096)}
	}
	if s.sp.take(m) {
		return m
	}
	s.recycle(m)
	return nil
}

// run is the sender goroutine: it connects, sends in order (what a failure
// left unacknowledged, then the queue, then the spool) with up to the
// adapter's window of messages awaiting their acknowledgement, and on a
// failure reconnects with backoff and sends every unacknowledged message
// again, in order.
func (s *Sink) run() {
	defer close(s.done)
	defer s.ad.close()
	var (
		inflight []flight   // published, acknowledgement awaited, oldest first
		retry    []*message // to send again after a reconnect, before the queue
		up       bool
		everUp   bool
		firstTry = true
		wait     time.Duration
		lastErr  string
	)
	window := s.ad.window()
	began := time.Now()
	// next returns the message to publish: a retry, else one from the
	// queue, else one from the spool, without waiting.
	next := func() *message {
		if len(retry) > 0 {
			m := retry[0]
			retry = retry[1:]
			return m
		}
		select {
		case m := <-s.queue:
			return m
		default:
		}
		if s.sp != nil {
			return s.fromSpool()
		}
		return nil
	}
	lose := func() {
		for _, f := range inflight {
			retry = append(retry, f.m)
		}
		s.loseAll(retry)
	}
	// With a spool, Close need not wait for a broker that is away: what
	// is held goes to the spool for the next run.
	var closingSpool <-chan struct{}
	if s.sp != nil {
		closingSpool = s.closing
	}
	for {
		if !up {
			select {
			case <-s.closing:
				// Close asked for the end: nothing to send, no reason to connect.
				if len(retry) == 0 && len(s.queue) == 0 {
					return
				}
				if s.sp != nil {
					lose()
					return
				}
			default:
			}
			// Connect before the first message too, so that Start learns
			// of a refused login before the pipeline runs.
			if wait > 0 && !backoff(s.ctx, closingSpool, wait) {
				lose()
				return
			}
			cctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
			err := tlsRefused(s.ad.connect(cctx))
			cancel()
			// Start waits for the first answer that settles whether the
			// broker takes this login. A server that refuses a client
			// certificate under TLS 1.3 does so after the client's
			// handshake has ended, and its alert can be lost to the
			// connection's reset; the next attempts then read the alert.
			// Log a failure once until the next success or a new error,
			// not at every backoff step; before Start hears of it, so a
			// caller that closes at once still finds it in the log.
			if err != nil && s.ctx.Err() == nil {
				if msg := err.Error(); msg != lastErr {
					what := "cannot connect to the broker; retrying with backoff"
					var ae *authError
					if errors.As(err, &ae) {
						what = "the broker refused the login or TLS refused the broker"
					}
					s.log.Error(what, "broker", s.ad.String(), "err", err)
					lastErr = msg
				}
			}
			if firstTry && (err == nil || !cutShort(err) || time.Since(began) > s.cfg.Connect) {
				s.first <- err
				firstTry = false
			}
			if err != nil {
				if s.ctx.Err() != nil {
					lose()
					return
				}
				s.spill()
				wait = min(max(2*wait, s.cfg.BackoffMin), s.cfg.BackoffMax)
				continue
			}
			up, wait, lastErr = true, 0, ""
			s.connected.Store(true)
			if everUp {
				s.reconnects.Add(1)
				s.log.Info("reconnected to the broker", "broker", s.ad.String())
			}
			everUp = true
		}
		var m *message
		if len(inflight) < window {
			m = next()
		}
		if m == nil && len(inflight) == 0 {
			// Idle: wait for a message, or for Close.
			select {
			case m = <-s.queue:
			case <-s.closing:
				select {
				case m = <-s.queue:
				default:
					return
				}
			case <-s.ctx.Done():
				return
			}
		}
		if m != nil {
			inflight = append(inflight, flight{m: m, ack: s.ad.publish(s.ctx, m)})
			continue
		}
		// The window is full or nothing is queued: settle the oldest.
		f := inflight[0]
		sctx, cancel := context.WithTimeout(s.ctx, s.cfg.SendTO)
		err := f.ack(sctx)
		cancel()
		if err == nil {
			inflight = inflight[1:]
			s.sent.Add(1)
			if f.m.spooled {
				s.sp.ack(f.m.at)
			} else {
				s.pending.Add(-1)
			}
			s.recycle(f.m)
			continue
		}
		s.failed.Add(1)
		// Everything unacknowledged goes again, in order, after the
		// reconnect (the broker may have got some of it: at least once).
		old := retry
		retry = make([]*message, 0, len(inflight)+len(old))
		for _, f := range inflight {
			retry = append(retry, f.m)
		}
		retry = append(retry, old...)
		inflight = inflight[:0]
		s.ad.close()
		up = false
		s.connected.Store(false)
		if s.ctx.Err() != nil {
			s.loseAll(retry)
			return
		}
		s.log.Warn("send failed; reconnecting", "broker", s.ad.String(), "err", err)
		s.spill()
		wait = s.cfg.BackoffMin
	}
}

// tlsRefused marks a TLS alert the server sent during the connection as an
// authError: a server that demands a client certificate refuses a missing
// or untrusted one with an alert (certificate required, bad certificate,
// unknown CA, decrypt error), and retrying does not change that. Client
// libraries format the alert into their own errors, so the text is what
// is left to match: crypto/tls writes every alert received as
// "remote error: tls: …".
func tlsRefused(err error) error {
	var ae *authError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "remote error: tls: ") {
		return err
	}
	return &authError{fmt.Errorf("%w: the server refused the TLS handshake; a client certificate it requires is missing (tls.cert_file) or not signed by a CA it trusts", err)}
}

// cutShort reports whether a connection attempt ended with the peer
// closing or resetting it, with no answer of the protocol.
func cutShort(err error) bool {
	var ae *authError
	if errors.As(err, &ae) {
		return false
	}
	msg := err.Error()
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || strings.Contains(msg, "connection reset by peer") || strings.HasSuffix(msg, "EOF")
}

// flight is a published message and the wait for its acknowledgement.
type flight struct {
	m   *message
	ack func(context.Context) error
}

// loseAll disposes of held and everything still queued when the sender
// ends with them unsent. Without a spool they are counted as dropped. With
// one they are written to it for the next run; those read from it stay
// there (unless their segment was deleted to make room: then dropped).
func (s *Sink) loseAll(held []*message) {
	sp := s.sp
	if sp == nil {
		n := int64(len(held))
		for {
			select {
			case <-s.queue:
				n++
				continue
			default:
			}
			break
		}
		s.pending.Add(-n)
		s.dropped.Add(uint64(n))
		return
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	sp.active = true
	for _, m := range held {
		if m.spooled {
			if !sp.holds(m.at) {
				sp.count.Add(-1)
				s.dropped.Add(1)
			}
			continue
		}
		s.pending.Add(-1)
		s.spoolPut(m)
	}
	for {
		select {
		case m := <-s.queue:
			s.pending.Add(-1)
			s.spoolPut(m)
			continue
		default:
		}
		break
	}
}

// backoff waits d; false when ctx ended or closing was closed first (a nil
// closing never is).
func backoff(ctx context.Context, closing <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-closing:
		return false
	}
}

// Close sends what is queued for up to close_timeout, then stops the sender
// and closes the connection; what was not sent by then is counted as
// dropped. It waits for the sender goroutine to end.
func (s *Sink) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.isClosed || !s.started {
		s.isClosed = true
		return nil
	}
	s.isClosed = true
	close(s.closing)
	t := time.AfterFunc(s.cfg.CloseTO, s.cancel)
	<-s.done
	t.Stop()
	s.cancel()
	s.connected.Store(false)
	if s.sp != nil {
		if err := s.sp.close(); err != nil {
			s.log.Error("spool not closed cleanly", "dir", s.cfg.Spool.Dir, "err", err)
		}
	}
	st := s.Stats()
	lvl := slog.LevelInfo
	if st.Dropped > 0 {
		lvl = slog.LevelWarn
	}
	s.log.Log(context.Background(), lvl, "broker sink closed", "broker", s.ad.String(),
		"sent", st.Sent, "dropped", st.Dropped, "failed", st.Failed, "reconnects", st.Reconnects, "spooled", st.Spooled)
	return nil
}

// Stats returns the counters (for the metrics exporter).
func (s *Sink) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failed: s.failed.Load(),
		Reconnects: s.reconnects.Load(), Queued: int(s.pending.Load()), Spooled: s.spooled(), Connected: s.connected.Load()}
}

func (s *Sink) spooled() int {
	sp := s.spSt.Load()
	if sp == nil {
		return 0
	}
	return int(sp.count.Load())
}

// Dropped is the count of dropped messages; the pipeline adds it to the
// component's drops in its metrics.
func (s *Sink) Dropped() uint64 { return s.dropped.Load() }

func init() {
	ds3d.Register(ds3d.KindRender, "msgbroker",
		`Sends each datamap's 3D boxes or 2D objects as msgconv payloads (DeepStream full/minimal JSON, ds3d detection3d JSON or protobuf) to a message broker: MQTT 3.1.1, Redis Streams, Kafka, AMQP 0-9-1 or NATS (core or JetStream). A bounded queue and one sender goroutine stand between the pipeline and the network: a full queue drops (counted) or, with spool.dir, spills to disk; the sender reconnects with capped exponential backoff (docs/MESSAGING.md).`,
		DefaultConfig,
		func(c *Config, env *ds3d.Env) (any, error) {
			return New(c, env.Logger())
		})
}

// hostOf returns the host of host:port for TLS server names.
func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		h := addr[:i]
		return strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	}
	return addr
}

// randomID is 8 random hex digits for a default client id.
func randomID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
