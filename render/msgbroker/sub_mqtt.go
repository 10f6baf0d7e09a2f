package msgbroker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// mqttSub subscribes with paho. Until the first connection the sub's own
// goroutine retries with backoff (so that a refused login is told apart
// from a broker that is down); after it, paho's reconnection keeps the
// connection, and every connection subscribes again (clean session: a
// command sent while the device was away is not kept for it).
type mqttSub struct {
	cfg     *SourceConfig
	log     *slog.Logger
	ad      *mqttAdapter // connects and tells a refused login from a broker that is down
	name    string
	deliver func([]byte, string)
	ctx     context.Context // ends with close
	cancel  context.CancelFunc

	mu     sync.Mutex
	client mqtt.Client // set once connected; nil before
	closed bool
	subbed chan struct{}
	once   sync.Once
	hooks  sync.WaitGroup // OnConnect handlers in progress
	stop   chan struct{}
	done   chan struct{}
}

func newMQTTSub(cfg *SourceConfig, log *slog.Logger) (*mqttSub, error) {
	// The sink's adapter builds the same connection: URL, client id, user,
	// password file and TLS.
	a, err := newMQTT(&Config{MQTT: cfg.MQTT, Connect: cfg.Connect, SendTO: cfg.Connect})
	if err != nil {
		return nil, err
	}
	s := &mqttSub{cfg: cfg, log: log, ad: a, name: a.name, subbed: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	a.opts.SetAutoReconnect(true).SetMaxReconnectInterval(cfg.BackoffMax).SetConnectRetry(false).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			log.Warn("command broker connection lost; reconnecting", "broker", s.name, "err", err)
		})
	return s, nil
}

func (s *mqttSub) String() string { return s.name }

// onConnect subscribes after every connection, first and reconnects.
func (s *mqttSub) onConnect(c mqtt.Client) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.hooks.Add(1) // under mu, before close's Wait
	s.mu.Unlock()
	defer s.hooks.Done()
	t := c.Subscribe(s.cfg.Topic, byte(s.cfg.MQTT.QoS), s.onMessage)
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Connect)
	defer cancel()
	select {
	case <-s.stop:
		return
	default:
	}
	if err := wait(ctx, t); err != nil {
		s.log.Error("subscribing to the command topic failed", "broker", s.name, "topic", s.cfg.Topic, "err", err)
		return
	}
	s.once.Do(func() { close(s.subbed) })
}

func (s *mqttSub) onMessage(_ mqtt.Client, m mqtt.Message) {
	s.deliver(m.Payload(), "")
}

func (s *mqttSub) start(deliver func([]byte, string)) error {
	s.deliver = deliver
	timer := time.NewTimer(s.cfg.Connect)
	defer timer.Stop()
	if up, err := startSub(s.log, s.name, timer, s.connectLoop); !up {
		return err
	}
	// Connected: wait for the subscription, so that commands sent from now
	// on arrive.
	select {
	case <-s.subbed:
	case <-timer.C:
		s.log.Warn("command subscription not acknowledged yet", "broker", s.name, "topic", s.cfg.Topic)
	}
	return nil
}

// connectLoop makes the first connection, retrying with backoff; after it
// paho reconnects by itself.
func (s *mqttSub) connectLoop(first chan<- error) {
	defer close(s.done)
	var wait time.Duration
	reported := false
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-s.ctx.Done():
				t.Stop()
				return
			}
		}
		cctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
		err := s.ad.connect(cctx)
		cancel()
		if s.ctx.Err() != nil {
			return // close disconnects
		}
		if !reported {
			first <- err
			reported = true
		}
		if err == nil {
			s.mu.Lock()
			s.client = s.ad.client
			s.mu.Unlock()
			return
		}
		var ae *authError
		if errors.As(err, &ae) {
			return // Start fails with it
		}
		wait = min(max(2*wait, s.cfg.BackoffMin), s.cfg.BackoffMax)
	}
}

func (s *mqttSub) reply(ctx context.Context, topic string, body []byte) error {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return errors.New(s.name + ": not connected")
	}
	return wait(ctx, c.Publish(topic, byte(s.cfg.MQTT.QoS), s.cfg.MQTT.Retain, body))
}

func (s *mqttSub) close() {
	close(s.stop)
	s.cancel()
	<-s.done
	s.mu.Lock()
	c := s.client
	s.client, s.closed = nil, true
	s.mu.Unlock()
	if c != nil {
		// Also while paho is reconnecting: Disconnect ends its loop.
		c.Disconnect(250)
	} else {
		s.ad.close()
	}
	s.hooks.Wait()
}
