package msgbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// validateAMQPSource checks the [amqp] table as msgbroker_source uses it:
// the sink's connection keys, a named exchange (a queue cannot be bound to
// the default one) and a binding key and reply routing key of at most 255
// bytes.
func validateAMQPSource(c *SourceConfig) error {
	if c.AMQP.Exchange == "" {
		return ds3d.ConfigErrorf("amqp.exchange", "msgbroker_source binds its queue to an exchange (a topic exchange such as amq.topic for * and # in topic); the default exchange takes no bindings")
	}
	if len(c.ReplyTopic) > 255 {
		return ds3d.ConfigErrorf("reply_topic", "%d bytes: an AMQP routing key has at most 255", len(c.ReplyTopic))
	}
	return c.AMQP.validate(c.Topic)
}

// amqpSub consumes commands with amqp091-go from a queue of its own: the
// broker names it, it is exclusive to the connection and deleted with it,
// and it is bound to exchange with topic as binding key (on a topic
// exchange * and # are wildcards). Like an MQTT clean session, a command
// published while the connection is down reaches no queue and is lost; a
// sender that must know reads the reply. After a failure the subscriber
// reconnects with backoff and binds a new queue.
type amqpSub struct {
	cfg     *SourceConfig
	log     *slog.Logger
	ad      *amqpAdapter // dial, login, TLS and exchange check, shared with the sink
	deliver func([]byte, string)

	mu     sync.Mutex // guards ad's connection against reply
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func newAMQPSub(cfg *SourceConfig, log *slog.Logger) (*amqpSub, error) {
	a, err := newAMQP(&Config{AMQP: cfg.AMQP, Connect: cfg.Connect, SendTO: cfg.Connect})
	if err != nil {
		return nil, err
	}
	s := &amqpSub{cfg: cfg, log: log, ad: a, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func (s *amqpSub) String() string { return s.ad.String() }

func (s *amqpSub) start(deliver func([]byte, string)) error {
	s.deliver = deliver
	t := time.NewTimer(s.cfg.Connect)
	defer t.Stop()
	_, err := startSub(s.log, s.String(), t, s.run)
	return err
}

// run connects, binds and consumes until close; when the deliveries end
// (the channel or the connection closed) it reconnects with backoff.
func (s *amqpSub) run(first chan<- error) {
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
	for s.ctx.Err() == nil {
		if wait > 0 && !backoff(s.ctx, nil, wait) {
			return
		}
		msgs, err := s.connect()
		firstTry := !reported
		if firstTry {
			first <- err
			reported = true
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			var ae *authError
			if errors.As(err, &ae) {
				if firstTry {
					return // Start fails with it
				}
				// Refused after Start succeeded (a password changed, a
				// permission revoked): nothing to do but keep trying slowly.
				wait = s.cfg.BackoffMax
			}
			if msg := err.Error(); msg != lastErr {
				s.log.Warn("cannot connect to the command broker; retrying with backoff", "broker", s.String(), "err", err)
				lastErr = msg
			}
			wait = min(max(2*wait, s.cfg.BackoffMin), s.cfg.BackoffMax)
			continue
		}
		wait, lastErr = 0, ""
		if !s.consume(msgs) {
			return
		}
		s.log.Warn("command broker connection lost; reconnecting", "broker", s.String())
		wait = s.cfg.BackoffMin
	}
}

// consume hands each delivery on until the deliveries end (false: closed).
func (s *amqpSub) consume(msgs <-chan amqp.Delivery) bool {
	for {
		select {
		case d, ok := <-msgs:
			if !ok {
				return s.ctx.Err() == nil
			}
			s.deliver(d.Body, "")
		case <-s.ctx.Done():
			return false
		}
	}
}

// connect opens the connection and the channel (the adapter's: confirm
// mode, so replies are confirmed), declares the queue, binds it and starts
// consuming. The queue's calls have no deadline of their own; the
// connection's heartbeat (10 s) ends a broker that stops answering.
func (s *amqpSub) connect() (<-chan amqp.Delivery, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ad.connect(ctx); err != nil {
		return nil, err
	}
	ch := s.ad.ch
	fail := func(what string, err error) (<-chan amqp.Delivery, error) {
		s.ad.close()
		err = fmt.Errorf("%s: %s: %w", s.String(), what, err)
		var ae *amqp.Error
		if errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed) {
			return nil, &authError{err}
		}
		return nil, err
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		return fail("declaring the command queue", err)
	}
	if err := ch.QueueBind(q.Name, s.cfg.Topic, s.cfg.AMQP.Exchange, false, nil); err != nil {
		return fail(fmt.Sprintf("binding the command queue to exchange %q with key %q", s.cfg.AMQP.Exchange, s.cfg.Topic), err)
	}
	// Acknowledged on delivery: a command is applied at most once, and one
	// in flight when the connection breaks is lost, as one published
	// during the outage is.
	msgs, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		return fail("consuming the command queue", err)
	}
	return msgs, nil
}

// reply publishes on exchange with topic as routing key and waits for the
// broker's confirm.
func (s *amqpSub) reply(ctx context.Context, topic string, body []byte) error {
	s.mu.Lock()
	ch := s.ad.ch
	s.mu.Unlock()
	if ch == nil {
		return errors.New(s.String() + ": not connected")
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, s.cfg.AMQP.Exchange, topic, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Transient, AppId: "ds3d", Body: body})
	if err != nil {
		return fmt.Errorf("%s: routing key %s: %w", s.String(), topic, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("%s: routing key %s: %w", s.String(), topic, err)
	}
	if !ok {
		return fmt.Errorf("%s: routing key %s: the broker did not confirm the reply", s.String(), topic)
	}
	return nil
}

func (s *amqpSub) close() {
	s.cancel()
	<-s.done
}
