package msgbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// validateKafkaSource checks the [kafka] table as msgbroker_source uses
// it: the sink's connection keys, a command topic and a reply topic that
// are legal Kafka topics as written (no {sensor} to fill in).
func validateKafkaSource(c *SourceConfig) error {
	for key, t := range map[string]string{"topic": c.Topic, "reply_topic": c.ReplyTopic} {
		if t == "" && key == "reply_topic" {
			continue
		}
		if kafkaTopic(t) != t || t == "." || t == ".." {
			return ds3d.ConfigErrorf(key, "%q: a Kafka topic has up to 249 of the characters a-z A-Z 0-9 . _ -", t)
		}
	}
	return c.Kafka.validate(c.Topic)
}

// kafkaSub reads the command topic with a franz-go consumer outside any
// consumer group, from the first record whose timestamp is not older than
// the source's start: a command produced before the device started is not
// applied (as on Redis), and no offset has to be committed anywhere. The
// client keeps its position per partition across broker connections, and
// reconnects on its own with reconnect_min doubling to reconnect_max, so
// commands produced while the connection was down are read once it is back.
type kafkaSub struct {
	cfg     *SourceConfig
	log     *slog.Logger
	ad      *kafkaAdapter // options, login and TLS, shared with the sink
	deliver func([]byte, string)

	mu     sync.Mutex // guards ad.client against reply
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newKafkaSub(cfg *SourceConfig, log *slog.Logger) (*kafkaSub, error) {
	a, err := newKafka(&Config{Kafka: cfg.Kafka, Connect: cfg.Connect, SendTO: cfg.Connect})
	if err != nil {
		return nil, err
	}
	backoffFn := func(tries int) time.Duration {
		return min(cfg.BackoffMin<<min(max(tries-1, 0), 30), cfg.BackoffMax)
	}
	a.opts = append(a.opts[:len(a.opts):len(a.opts)],
		kgo.ConsumeTopics(cfg.Topic),
		kgo.RetryBackoffFn(backoffFn),
		// A command is small; max_payload bounds what one partition's
		// fetch asks for (Kafka still returns one larger record whole, which
		// deliver refuses).
		kgo.FetchMaxPartitionBytes(int32(max(cfg.MaxPayload, 1<<10))),
		kgo.FetchMaxWait(time.Second),
	)
	s := &kafkaSub{cfg: cfg, log: log, ad: a, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func (s *kafkaSub) String() string { return s.ad.String() }

func (s *kafkaSub) start(deliver func([]byte, string)) error {
	s.deliver = deliver
	// The record timestamps are the producers' clocks, or the broker's with
	// message.timestamp.type = LogAppendTime (docs/MESSAGING.md).
	s.ad.opts = append(s.ad.opts, kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(time.Now().UnixMilli())))
	t := time.NewTimer(s.cfg.Connect)
	defer t.Stop()
	_, err := startSub(s.log, s.String(), t, s.run)
	return err
}

// run makes the client (retrying with backoff until a broker answers),
// then polls until close. Later connection failures are the client's to
// retry; they are logged, once per distinct error.
func (s *kafkaSub) run(first chan<- error) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.ad.close()
		s.mu.Unlock()
	}()
	var (
		wait     time.Duration
		reported bool
		lastErr  string
	)
	for {
		if wait > 0 && !backoff(s.ctx, nil, wait) {
			return
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
		s.mu.Lock()
		err := s.ad.connect(ctx)
		s.mu.Unlock()
		cancel()
		if !reported {
			first <- err
			reported = true
		}
		if err == nil {
			break
		}
		if s.ctx.Err() != nil {
			return
		}
		var ae *authError
		if errors.As(err, &ae) {
			return
		}
		if msg := err.Error(); msg != lastErr {
			s.log.Warn("cannot connect to the command broker; retrying with backoff", "broker", s.String(), "err", err)
			lastErr = msg
		}
		wait = min(max(2*wait, s.cfg.BackoffMin), s.cfg.BackoffMax)
	}
	cl := s.ad.client
	lastErr = ""
	for {
		fs := cl.PollFetches(s.ctx)
		if s.ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		failed := false
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			failed = true
			if msg := err.Error(); msg != lastErr {
				s.log.Warn("reading the command topic failed; the client retries", "broker", s.String(), "topic", topic, "partition", p, "err", err)
				lastErr = msg
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			lastErr = ""
			s.deliver(r.Value, "")
		})
		// An error the client injects comes once per failed fetch, after its
		// own backoff; this keeps a persistent one from spinning regardless.
		if failed && !backoff(s.ctx, nil, s.cfg.BackoffMin) {
			return
		}
	}
}

func (s *kafkaSub) reply(ctx context.Context, topic string, body []byte) error {
	s.mu.Lock()
	cl := s.ad.client
	s.mu.Unlock()
	if cl == nil {
		return errors.New(s.String() + ": not connected")
	}
	r := &kgo.Record{Topic: topic, Value: body, Headers: s.ad.hdr[0]}
	if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
		return fmt.Errorf("%s: topic %s: %w", s.String(), topic, err)
	}
	return nil
}

func (s *kafkaSub) close() {
	s.cancel()
	<-s.done
}
