package msgbroker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// KafkaConfig is the connection to a Kafka cluster.
type KafkaConfig struct {
	Brokers      []string  `toml:"brokers" nonempty:"true,each" doc:"seed brokers, host:port each; the client learns the rest of the cluster from them"`
	ClientID     string    `toml:"client_id" doc:"Kafka client.id, for the brokers' logs and quotas; empty: ds3d- and 8 random hex digits"`
	Acks         string    `toml:"acks" enum:"all|leader|none" doc:"all: sent when every in-sync replica has the record (at least once; the producer is idempotent unless idempotent = false); leader: when the partition leader wrote it; none: when it was written to the socket (at most once)"`
	Idempotent   bool      `toml:"idempotent" doc:"with acks = \"all\": the broker drops a batch the client sends twice within one connection (before Kafka 3.0 the user needs the IDEMPOTENT_WRITE permission)"`
	Compression  string    `toml:"compression" enum:"none|gzip|snappy|lz4|zstd" doc:"compression of the record batches"`
	MaxInFlight  int       `toml:"max_inflight" min:"1" doc:"records produced before the oldest is acknowledged; all of them are sent again after a failure"`
	AutoCreate   bool      `toml:"auto_create_topics" doc:"ask the broker to create a topic that does not exist (it does when its auto.create.topics.enable is on); off: records to a missing topic fail and are retried"`
	SASL         string    `toml:"sasl_mechanism" enum:"none|plain|scram-sha-256|scram-sha-512" doc:"SASL mechanism of the login (with username and password_file); PLAIN sends the password as it is, so use it over TLS"`
	Username     string    `toml:"username" doc:"SASL user name"`
	PasswordFile ds3d.Path `toml:"password_file" path:"exists" doc:"file holding the SASL password (its first line); a password is never written in the config itself"`
	TLS          TLSConfig `toml:"tls" doc:"TLS settings (tls.enabled or any TLS file turns it on)"`
}

func (c *KafkaConfig) validate(topic string) error {
	if c.Idempotent && c.Acks != "all" {
		return ds3d.ConfigErrorf("kafka.idempotent", "needs acks = \"all\" (acks = %q)", c.Acks)
	}
	if (c.SASL != "none") != (c.Username != "") {
		return ds3d.ConfigErrorf("kafka.username", "sasl_mechanism %q and username %q: a SASL login needs both, no login neither", c.SASL, c.Username)
	}
	if c.PasswordFile != "" && c.SASL == "none" {
		return ds3d.ConfigErrorf("kafka.password_file", "a password needs kafka.sasl_mechanism and kafka.username")
	}
	for i, b := range c.Brokers {
		if k := strings.LastIndexByte(b, ':'); k <= 0 || k == len(b)-1 {
			return ds3d.ConfigErrorf(fmt.Sprintf("kafka.brokers[%d]", i), "%q: want host:port", b)
		}
	}
	// {sensor} is made legal at run time; the rest of the template must be.
	if t := strings.ReplaceAll(topic, "{sensor}", "0"); kafkaTopic(t) != t || t == "." || t == ".." {
		return ds3d.ConfigErrorf("topic", "%q: a Kafka topic has up to 249 of the characters a-z A-Z 0-9 . _ - (e.g. \"ds3d.{sensor}\")", topic)
	}
	return c.TLS.Validate("kafka.")
}

// kafkaTopic maps a topic name to a legal Kafka topic: each character
// outside a-z A-Z 0-9 . _ - becomes _, and the name is cut at 249 bytes.
// A sensor id may hold any character; the broker would refuse such a
// topic for good, and the sender would retry it forever.
func kafkaTopic(s string) string {
	legal := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
	}
	if strings.IndexFunc(s, func(r rune) bool { return !legal(r) }) >= 0 {
		s = strings.Map(func(r rune) rune {
			if legal(r) {
				return r
			}
			return '_'
		}, s)
	}
	if len(s) > 249 {
		s = s[:249]
	}
	return s
}

// kafkaAdapter produces with franz-go. The client retries within a
// connection on its own; the sender still owns reconnecting: a record not
// acknowledged within send_timeout closes the client, and a new one sends
// every unacknowledged record again.
type kafkaAdapter struct {
	cfg    *Config
	opts   []kgo.Opt
	name   string
	client *kgo.Client
	topics map[string]string // topic as the sink made it → legal Kafka topic
	keys   map[string][]byte // sensor id → record key
	hdr    [2][]kgo.RecordHeader
}

func newKafka(cfg *Config) (*kafkaAdapter, error) {
	c := &cfg.Kafka
	pw, err := readPassword("kafka.password_file", c.PasswordFile)
	if err != nil {
		return nil, err
	}
	id := c.ClientID
	if id == "" {
		id = "ds3d-" + randomID()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id),
		// franz-go's floors (100 ms, 1 s); the sender's send_timeout bounds
		// each record anyway.
		kgo.DialTimeout(cfg.Connect), kgo.ProduceRequestTimeout(max(cfg.SendTO, 100*time.Millisecond)),
		kgo.RecordDeliveryTimeout(max(cfg.SendTO, time.Second)), kgo.MaxBufferedRecords(c.MaxInFlight),
		// The sink's sender waits for each record; lingering would only add latency.
		kgo.ProducerLinger(0),
	}
	switch c.Acks {
	case "all":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
		if !c.Idempotent {
			opts = append(opts, kgo.DisableIdempotentWrite())
		}
	case "leader":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	case "none":
		opts = append(opts, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	switch c.Compression {
	case "gzip":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.GzipCompression()))
	case "snappy":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.SnappyCompression()))
	case "lz4":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.Lz4Compression()))
	case "zstd":
		opts = append(opts, kgo.ProducerBatchCompression(kgo.ZstdCompression()))
	default:
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	if c.AutoCreate {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	switch c.SASL {
	case "plain":
		opts = append(opts, kgo.SASL(plain.Auth{User: c.Username, Pass: pw}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.Username, Pass: pw}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: c.Username, Pass: pw}.AsSha512Mechanism()))
	}
	scheme := "kafka"
	if c.TLS.On() {
		tc, err := c.TLS.Config(hostOf(c.Brokers[0]))
		if err != nil {
			return nil, fmt.Errorf("kafka.%w", err)
		}
		// franz-go sets each broker's host as the server name when the
		// config names none: one CA then serves every broker of a cluster.
		tc.ServerName = ""
		opts = append(opts, kgo.DialTLSConfig(tc))
		scheme = "kafka+tls"
	}
	name := scheme + " " + strings.Join(c.Brokers, ",")
	if c.Username != "" {
		name += fmt.Sprintf(" as user %q", c.Username)
	}
	a := &kafkaAdapter{cfg: cfg, opts: opts, name: name, topics: map[string]string{}, keys: map[string][]byte{}}
	a.hdr[0] = []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/json")}}
	a.hdr[1] = []kgo.RecordHeader{{Key: "content-type", Value: []byte("application/x-protobuf")}}
	return a, nil
}

func (a *kafkaAdapter) String() string { return a.name }

// connect makes a client and asks a broker for its metadata: that dials,
// runs TLS and the SASL login, so their failures surface here.
func (a *kafkaAdapter) connect(ctx context.Context) error {
	a.close()
	cl, err := kgo.NewClient(a.opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", a.name, err)
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		switch {
		case errors.Is(err, kerr.SaslAuthenticationFailed) || errors.Is(err, kerr.UnsupportedSaslMechanism) ||
			errors.Is(err, kerr.IllegalSaslState) || errors.Is(err, kerr.ClusterAuthorizationFailed):
			return &authError{fmt.Errorf("%s: login refused: %w", a.name, err)}
		case badCert(err):
			return &authError{fmt.Errorf("%s: server certificate rejected: %w", a.name, err)}
		}
		return fmt.Errorf("%s: %w", a.name, err)
	}
	a.client = cl
	return nil
}

func (a *kafkaAdapter) publish(ctx context.Context, m *message) func(context.Context) error {
	topic, ok := a.topics[m.topic]
	if !ok {
		topic = kafkaTopic(m.topic)
		a.topics[m.topic] = topic
	}
	key, ok := a.keys[m.sensor]
	if !ok {
		key = []byte(m.sensor)
		a.keys[m.sensor] = key
	}
	hdr := a.hdr[0]
	if m.proto {
		hdr = a.hdr[1]
	}
	done := make(chan error, 1)
	r := &kgo.Record{Topic: topic, Key: key, Value: m.buf, Headers: hdr}
	a.client.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	return func(ctx context.Context) error {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s: topic %s: %w", a.name, topic, err)
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (a *kafkaAdapter) window() int { return a.cfg.Kafka.MaxInFlight }

// close closes the client: franz-go fails every record it still holds
// (calling its promise) before Close returns, so no buffer stays in its
// hands.
func (a *kafkaAdapter) close() {
	if a.client != nil {
		a.client.Close()
		a.client = nil
	}
}
