package msgbroker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// SourceConfig configures msgbroker_source.
type SourceConfig struct {
	Protocol   string        `toml:"protocol" enum:"mqtt|redis|kafka|amqp|nats" doc:"broker protocol: mqtt (MQTT 3.1.1), redis (Redis Streams), kafka, amqp (AMQP 0-9-1, RabbitMQ) or nats (NATS core)"`
	Topic      string        `toml:"topic" nonempty:"true" doc:"where commands arrive: MQTT topic filter (+ and # allowed), Redis stream key, Kafka topic, AMQP binding key on amqp.exchange (* and # allowed on a topic exchange), or NATS subject (* and > allowed)"`
	ReplyTopic string        `toml:"reply_topic" doc:"where a reply (id, ok, error) to each command goes: MQTT topic, Redis stream key, Kafka topic, AMQP routing key on amqp.exchange or NATS subject; empty: no replies (NATS also answers a request's own reply subject)"`
	MaxPayload int           `toml:"max_payload" min:"64" max:"1048576" unit:"bytes" doc:"largest command accepted; a longer message is refused without being parsed (the broker bounds what the client reads: mosquitto message_size_limit, NATS max_payload)"`
	QueueLen   int           `toml:"queue_length" min:"1" doc:"commands waiting to be applied; one that finds the queue full is dropped and counted"`
	CommandTO  time.Duration `toml:"command_timeout" min:">0" doc:"bound of applying one command (a set waits for its component's next datamap boundary; a swap_model loads the model)"`
	Dedup      int           `toml:"dedup_window" min:"0" doc:"how many recent (command, component, id) triples are remembered: a message delivered again (MQTT QoS 1, a Redis retry, a resent request) is applied once and answered with the first one's reply; 0: none"`
	Connect    time.Duration `toml:"connect_timeout" min:">0" doc:"bound of one connection attempt; Start waits this long for the first one"`
	BackoffMin time.Duration `toml:"reconnect_min" min:">0" doc:"first wait before reconnecting; it doubles after each failed attempt"`
	BackoffMax time.Duration `toml:"reconnect_max" min:">0" doc:"cap of the reconnect wait"`
	MQTT       MQTTConfig    `toml:"mqtt" doc:"MQTT connection (protocol = \"mqtt\"); qos is the subscription's, retain applies to replies, max_inflight is unused"`
	Redis      RedisConfig   `toml:"redis" doc:"Redis connection (protocol = \"redis\"); stream_max_len trims the reply stream"`
	Kafka      KafkaConfig   `toml:"kafka" doc:"Kafka connection (protocol = \"kafka\"): the sink's keys; acks, idempotent, compression and max_inflight apply to replies"`
	AMQP       AMQPConfig    `toml:"amqp" doc:"AMQP 0-9-1 connection (protocol = \"amqp\"): the sink's keys; exchange must be named (amq.topic by default), persistent and max_inflight are unused"`
	NATS       NATSConfig    `toml:"nats" doc:"NATS connection (protocol = \"nats\"): the sink's keys; jetstream and stream must stay off, max_inflight is unused"`
}

// DefaultSourceConfig returns the defaults.
func DefaultSourceConfig() *SourceConfig {
	return &SourceConfig{
		Protocol:   "mqtt",
		Topic:      "ds3d/commands",
		MaxPayload: 64 << 10,
		QueueLen:   64,
		CommandTO:  30 * time.Second,
		Dedup:      256,
		Connect:    5 * time.Second,
		BackoffMin: 100 * time.Millisecond,
		BackoffMax: 10 * time.Second,
		MQTT:       MQTTConfig{Broker: "tcp://127.0.0.1:1883", QoS: 1, MaxInFlight: 1},
		Redis:      RedisConfig{Addr: "127.0.0.1:6379", StreamMaxLen: 10000},
		Kafka: KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, Acks: "all", Idempotent: true, Compression: "none",
			MaxInFlight: 16, AutoCreate: true, SASL: "none"},
		AMQP: AMQPConfig{Addr: "127.0.0.1:5672", Vhost: "/", Exchange: "amq.topic", MaxInFlight: 1},
		NATS: NATSConfig{Servers: []string{"nats://127.0.0.1:4222"}, MaxInFlight: 1},
	}
}

// Validate ties keys together.
func (c *SourceConfig) Validate() error {
	if c.BackoffMax < c.BackoffMin {
		return ds3d.ConfigErrorf("reconnect_max", "%v is below reconnect_min %v", c.BackoffMax, c.BackoffMin)
	}
	switch c.Protocol {
	case "mqtt":
		if err := c.MQTT.checkLogin(); err != nil {
			return err
		}
		if err := mqttFilter(c.Topic); err != nil {
			return ds3d.ConfigErrorf("topic", "%q: %v", c.Topic, err)
		}
		if err := mqttPublishTopic("reply_topic", c.ReplyTopic); err != nil {
			return err
		}
		return c.MQTT.TLS.Validate("mqtt.")
	case "redis":
		return c.Redis.TLS.Validate("redis.")
	case "kafka":
		return validateKafkaSource(c)
	case "amqp":
		return validateAMQPSource(c)
	case "nats":
		return validateNATSSource(c)
	}
	return nil
}

// mqttFilter checks an MQTT 3.1.1 topic filter (§4.7): + stands alone in
// a level, # alone in the last one.
func mqttFilter(f string) error {
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#") && (l != "#" || i != len(levels)-1):
			return fmt.Errorf("# must be the whole last level")
		case strings.Contains(l, "+") && l != "+":
			return fmt.Errorf("+ must be a whole level")
		}
	}
	return nil
}

// subscriber is one protocol's subscription. Its start hands each message
// to deliver from the client library's goroutine; deliver never blocks.
type subscriber interface {
	// start connects and subscribes. A refused login or a TLS failure is
	// returned (an *authError); a broker that is down or slow is retried
	// in the background after start waited connect_timeout.
	start(deliver func(body []byte, replyTo string)) error
	// reply publishes body on topic, bounded by ctx.
	reply(ctx context.Context, topic string, body []byte) error
	// close ends the subscription; deliver is not called after it returns.
	close()
	// String names the broker (and the user) for logs.
	String() string
}

// SourceStats are msgbroker_source's counters. Every message received is
// applied, refused, a duplicate, or dropped, or is still queued.
type SourceStats struct {
	Received   uint64 // messages that arrived on the topic
	Applied    uint64 // commands the pipeline took
	Refused    uint64 // malformed, too long, unknown, or refused by the pipeline or the component
	Duplicates uint64 // delivered again within dedup_window: answered as before, not applied twice
	Dropped    uint64 // found the queue full
	Replies    uint64 // replies published
}

// inbound is one message on its way to the command goroutine.
type inbound struct {
	body    []byte
	replyTo string
}

// Source is the msgbroker_source component: a pass-through filter that
// subscribes to a command topic and applies each command to the pipeline
// it runs in.
type Source struct {
	cfg  SourceConfig
	log  *slog.Logger
	pipe ds3d.Pipeline
	sub  subscriber

	mu     sync.Mutex // guards queue sends against Close
	closed bool
	queue  chan inbound

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	seen     map[string]*Reply // the dedup window: key → the reply the command got
	seenFIFO []string

	received, applied, refused, duplicates, dropped, replies atomic.Uint64
}

// NewSource builds the component; p is the pipeline it steers (nil: every
// command is refused). It reads the password files but connects to nothing
// (Start does).
func NewSource(cfg *SourceConfig, p ds3d.Pipeline, log *slog.Logger) (*Source, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Source{cfg: *cfg, log: log, pipe: p, queue: make(chan inbound, cfg.QueueLen), seen: map[string]*Reply{}}
	var err error
	switch cfg.Protocol {
	case "mqtt":
		s.sub, err = newMQTTSub(&s.cfg, log)
	case "redis":
		s.sub, err = newRedisSub(&s.cfg, log)
	case "kafka":
		s.sub, err = newKafkaSub(&s.cfg, log)
	case "amqp":
		s.sub, err = newAMQPSub(&s.cfg, log)
	case "nats":
		s.sub, err = newNATSSub(&s.cfg, log)
	default:
		err = ds3d.ConfigErrorf("protocol", "%q: want mqtt, redis, kafka, amqp or nats", cfg.Protocol)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Start starts the command goroutine and subscribes. A login the broker
// refuses or a server certificate TLS rejects fails Start; a broker that
// is down is retried in the background.
func (s *Source) Start(context.Context) error {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.done = make(chan struct{})
	go s.run()
	if err := s.sub.start(s.deliver); err != nil {
		s.Close()
		return err
	}
	s.log.Info("listening for commands", "broker", s.sub.String(), "topic", s.cfg.Topic)
	return nil
}

// Process passes the datamap on: commands act on other components, by
// name, from the command goroutine.
func (s *Source) Process(_ context.Context, in *ds3d.DataMap, emit ds3d.Emit) error {
	return emit(in)
}

// deliver queues one message; the client library's goroutine calls it.
func (s *Source) deliver(body []byte, replyTo string) {
	s.received.Add(1)
	if len(body) > s.cfg.MaxPayload {
		s.refused.Add(1)
		s.log.Warn("command refused", "err", fmt.Sprintf("message of %d bytes, max_payload is %d", len(body), s.cfg.MaxPayload), "id", peekIDPrefix(body))
		return
	}
	// The library may reuse its buffer after the callback.
	m := inbound{body: append([]byte(nil), body...), replyTo: replyTo}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		s.dropped.Add(1)
		return
	}
	select {
	case s.queue <- m:
	default:
		s.dropped.Add(1)
		s.log.Warn("command dropped: the queue is full", "queue_length", s.cfg.QueueLen, "id", peekID(body))
	}
}

// peekIDPrefix finds the id near the start of an over-long body without
// parsing all of it.
func peekIDPrefix(body []byte) string {
	return peekID(body[:min(len(body), 4096)])
}

// run is the command goroutine: one command at a time, in arrival order.
func (s *Source) run() {
	defer close(s.done)
	for {
		select {
		case m := <-s.queue:
			s.handle(m)
		case <-s.ctx.Done():
			return
		}
	}
}

func (s *Source) handle(m inbound) {
	c, err := DecodeCommand(m.body)
	if err != nil {
		s.refused.Add(1)
		var ce *CommandError
		id := ""
		if errors.As(err, &ce) {
			id = ce.ID
		}
		s.log.Warn("command refused", "id", id, "err", err)
		s.answer(m.replyTo, Reply{Version: CommandVersion, ID: id, Error: err.Error()})
		return
	}
	key := c.Command + "\x00" + c.Component + "\x00" + c.ID
	if prev, ok := s.seen[key]; ok {
		s.duplicates.Add(1)
		s.log.Info("command delivered again; applied once, answered as before", "id", c.ID, "command", c.Command, "component", c.Component)
		s.answer(m.replyTo, *prev)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.CommandTO)
	start := time.Now()
	err = Dispatch(ctx, s.pipe, c)
	cancel()
	r := Reply{Version: CommandVersion, ID: c.ID, Command: c.Command, Component: c.Component, OK: err == nil}
	if err != nil {
		s.refused.Add(1)
		r.Error = err.Error()
		s.log.Warn("command refused", "id", c.ID, "command", c.Command, "component", c.Component, "err", err)
	} else {
		s.applied.Add(1)
		s.log.Info("command applied", "id", c.ID, "command", c.Command, "component", c.Component, "took", time.Since(start))
	}
	s.remember(key, &r)
	s.answer(m.replyTo, r)
}

// remember keeps a command's reply for the dedup window: the last
// dedup_window (command, component, id) keys.
func (s *Source) remember(key string, r *Reply) {
	if s.cfg.Dedup == 0 {
		return
	}
	s.seen[key] = r
	s.seenFIFO = append(s.seenFIFO, key)
	if len(s.seenFIFO) > s.cfg.Dedup {
		delete(s.seen, s.seenFIFO[0])
		s.seenFIFO = s.seenFIFO[1:]
	}
}

// answer publishes a reply: on the message's own reply subject (NATS
// requests) or on reply_topic.
func (s *Source) answer(replyTo string, r Reply) {
	topic := replyTo
	if topic == "" {
		topic = s.cfg.ReplyTopic
	}
	if topic == "" {
		return
	}
	b, err := json.Marshal(r)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
	defer cancel()
	if err := s.sub.reply(ctx, topic, b); err != nil {
		s.log.Warn("reply not sent", "id", r.ID, "topic", topic, "err", err)
		return
	}
	s.replies.Add(1)
}

// Close ends the subscription and the command goroutine; a command being
// applied is cancelled (a model being loaded finishes loading and is
// dropped), queued ones are dropped and counted.
func (s *Source) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.done == nil {
		return nil // never started
	}
	s.sub.close()
	s.cancel()
	<-s.done
	for {
		select {
		case <-s.queue:
			s.dropped.Add(1)
			continue
		default:
		}
		break
	}
	st := s.Stats()
	s.log.Info("command source closed", "broker", s.sub.String(), "received", st.Received, "applied", st.Applied,
		"refused", st.Refused, "duplicates", st.Duplicates, "dropped", st.Dropped)
	return nil
}

// Stats returns the counters.
func (s *Source) Stats() SourceStats {
	return SourceStats{Received: s.received.Load(), Applied: s.applied.Load(), Refused: s.refused.Load(),
		Duplicates: s.duplicates.Load(), Dropped: s.dropped.Load(), Replies: s.replies.Load()}
}

// Dropped is the count of commands dropped on a full queue; the pipeline
// adds it to the component's drops.
func (s *Source) Dropped() uint64 { return s.dropped.Load() }

func init() {
	ds3d.Register(ds3d.KindFilter, "msgbroker_source",
		`Cloud-to-device commands: subscribes to a command topic on MQTT 3.1.1, Redis Streams, Kafka, AMQP 0-9-1 or NATS and applies each JSON command (docs/schema/ds3d-command-1.0.schema.json) to the pipeline it runs in: set (runtime-updatable config keys), record_start / record_stop (smart_record), swap_model (lidar_infer, infer_2d). A pass-through filter: datamaps go through unchanged, so it ends with the stream; link it anywhere in the chain. Malformed, unknown and refused commands are logged with their id, counted and answered on reply_topic; the pipeline runs on (docs/MESSAGING.md).`,
		DefaultSourceConfig,
		func(c *SourceConfig, env *ds3d.Env) (any, error) {
			var p ds3d.Pipeline
			if env != nil {
				p = env.Pipeline
			}
			return NewSource(c, p, env.Logger())
		})
}
