package msgbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisSub reads the command stream with XREAD BLOCK from the stream's
// last entry at the first connection on: a command added while the device
// was not running is not applied, one added while the connection was down
// is (reading resumes after the last entry seen). The entry's payload
// field is the command, as the msgbroker sink writes its messages.
type redisSub struct {
	cfg     *SourceConfig
	log     *slog.Logger
	ad      *redisAdapter // dial, login and TLS, shared with the sink
	deliver func([]byte, string)

	mu     sync.Mutex // guards ad.client against reply
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

// redisBlock is how long one XREAD waits for an entry.
const redisBlock = time.Second

func newRedisSub(cfg *SourceConfig, log *slog.Logger) (*redisSub, error) {
	a, err := newRedis(&Config{Redis: cfg.Redis, Connect: cfg.Connect, SendTO: cfg.Connect})
	if err != nil {
		return nil, err
	}
	// One connection blocks in XREAD; the other sends replies.
	a.opts.PoolSize = 2
	s := &redisSub{cfg: cfg, log: log, ad: a, done: make(chan struct{})}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

func (s *redisSub) String() string { return s.ad.String() }

func (s *redisSub) start(deliver func([]byte, string)) error {
	s.deliver = deliver
	t := time.NewTimer(s.cfg.Connect)
	defer t.Stop()
	_, err := startSub(s.log, s.String(), t, s.run)
	return err
}

// run connects, finds where to read from, and reads until close; after a
// failure it reconnects with backoff.
func (s *redisSub) run(first chan<- error) {
	defer close(s.done)
	defer func() {
		s.mu.Lock()
		s.ad.close()
		s.mu.Unlock()
	}()
	var (
		wait     time.Duration
		up       bool
		reported bool
		last     string // id of the last entry seen
		lastErr  string
	)
	for s.ctx.Err() == nil {
		if !up {
			if wait > 0 && !backoff(s.ctx, nil, wait) {
				return
			}
			err := s.connect(&last)
			if !reported {
				first <- err
				reported = true
			}
			if err != nil {
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
				continue
			}
			up, wait, lastErr = true, 0, ""
		}
		res, err := s.ad.client.XRead(s.ctx, &redis.XReadArgs{Streams: []string{s.cfg.Topic, last}, Count: 16, Block: redisBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			s.log.Warn("reading the command stream failed; reconnecting", "broker", s.String(), "err", err)
			up, wait = false, s.cfg.BackoffMin
			continue
		}
		for _, st := range res {
			for _, m := range st.Messages {
				last = m.ID
				body, _ := m.Values["payload"].(string)
				s.deliver([]byte(body), "")
			}
		}
	}
}

// connect opens the connection; at the first one, it finds the stream's
// last entry to read after.
func (s *redisSub) connect(last *string) error {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.Connect)
	defer cancel()
	s.mu.Lock()
	err := s.ad.connect(ctx)
	s.mu.Unlock()
	if err != nil || *last != "" {
		return err
	}
	ms, err := s.ad.client.XRevRangeN(ctx, s.cfg.Topic, "+", "-", 1).Result()
	if err != nil {
		return fmt.Errorf("%s: XREVRANGE %s: %w", s.String(), s.cfg.Topic, err)
	}
	*last = "0-0"
	if len(ms) > 0 {
		*last = ms[0].ID
	}
	return nil
}

func (s *redisSub) reply(ctx context.Context, topic string, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ad.client == nil {
		return errors.New(s.String() + ": not connected")
	}
	args := redis.XAddArgs{Stream: topic, MaxLen: s.cfg.Redis.StreamMaxLen, Approx: s.cfg.Redis.StreamMaxLen > 0,
		Values: []any{"payload", body, "content_type", "application/json"}}
	return s.ad.client.XAdd(ctx, &args).Err()
}

func (s *redisSub) close() {
	s.cancel()
	<-s.done
}
