package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// SubscribeConfig configures bus_subscribe.
type SubscribeConfig struct {
	ConnConfig
	StreamConfig
	Durable     string        `toml:"durable" nonempty:"true" doc:"durable consumer name: processes that give the same name share the stream as a work queue, each datamap going to one of them"`
	Sources     string        `toml:"sources" nonempty:"true" doc:"source ids to consume: * for all, or one id"`
	Deliver     string        `toml:"deliver" enum:"all|new" doc:"where a new durable starts: all (the stream's first message) or new (messages published from now on)"`
	AckWait     time.Duration `toml:"ack_wait" min:">0" doc:"a datamap not acked within this time (its process died or is stuck) is delivered again, to any process of the durable"`
	MaxPending  int           `toml:"max_ack_pending" min:"1" doc:"datamaps this process holds unacked at once (the pipeline's in-flight bound on this side)"`
	FetchBytes  int           `toml:"fetch_max_bytes" min:"1024" unit:"bytes" doc:"bytes requested from the server ahead of the pipeline"`
	PoolSize    int           `toml:"mem_pool_size" min:"1" doc:"pooled frames the decoder fills; a datamap with more frames than are free gets fresh ones"`
	Dedup       int           `toml:"dedup" min:"0" doc:"remember the last N message ids and drop a datamap whose id was seen (a redelivery whose first delivery got through); 0: off"`
	Reorder     int           `toml:"reorder" min:"0" doc:"hold up to N datamaps per source to hand them on in frame-number order; 0: off (arrival order)"`
	ReorderWait time.Duration `toml:"reorder_timeout" min:">0" doc:"longest a datamap waits in the reorder buffer for a missing predecessor"`
	Idle        time.Duration `toml:"idle_timeout" min:"0" doc:"end of stream when no datamap arrived for this long (after the first); 0: never"`
	MaxMaps     int64         `toml:"max_datamaps" min:"0" doc:"end of stream after this many datamaps; 0: no limit"`
}

// DefaultSubscribeConfig returns the defaults.
func DefaultSubscribeConfig() *SubscribeConfig {
	return &SubscribeConfig{
		ConnConfig:   DefaultConnConfig(),
		StreamConfig: DefaultStreamConfig(),
		Durable:      "ds3d-workers",
		Sources:      "*",
		Deliver:      "all",
		AckWait:      30 * time.Second,
		MaxPending:   32,
		FetchBytes:   64 << 20,
		PoolSize:     32,
		ReorderWait:  time.Second,
	}
}

// Validate ties keys together.
func (c *SubscribeConfig) Validate() error {
	if err := c.ConnConfig.Validate(); err != nil {
		return err
	}
	if err := c.StreamConfig.Validate(); err != nil {
		return err
	}
	if !streamName.MatchString(c.Durable) {
		return ds3d.ConfigErrorf("durable", "%q: only letters, digits, - and _", c.Durable)
	}
	if c.Sources != "*" {
		if _, err := strconv.ParseInt(c.Sources, 10, 64); err != nil {
			return ds3d.ConfigErrorf("sources", "%q: want * or a source id", c.Sources)
		}
	}
	// A datamap delivered to a worker that died (or to a pull request the
	// client had already given up) comes back only after ack_wait: a
	// subscriber that ends sooner for want of datamaps would leave it to
	// nobody.
	if c.Idle > 0 && c.AckWait >= c.Idle {
		return ds3d.ConfigErrorf("ack_wait", "%v is not below idle_timeout %v: a datamap redelivered after ack_wait would come when this subscriber has ended", c.AckWait, c.Idle)
	}
	return nil
}

// SubscribeStats are the subscriber's counters.
type SubscribeStats struct {
	Received   uint64 // messages taken from the server, duplicates included
	Acked      uint64 // datamaps acked after leaving the pipeline (duplicates included)
	Duplicates uint64 // dropped by the dedup window
	Malformed  uint64 // could not be decoded or reassembled; terminated, never redelivered
	Late       uint64 // reached the reorder buffer after a later frame of their source had gone on
}

// Subscriber is the bus_subscribe loader.
type Subscriber struct {
	cfg SubscribeConfig
	log *slog.Logger

	conn      *Conn
	stream    jetstream.Stream
	cons      jetstream.Consumer
	cur       jetstream.MessageBatch // the open pull request, or nil
	curCancel context.CancelFunc
	started   bool

	frames *ds3d.FramePool
	tokens chan *ds3d.Frame // free ack tokens
	tokPl  *ds3d.FramePool
	mu     sync.Mutex
	owner  map[*ds3d.Frame]jetstream.Msg // token → message to ack

	seen    *idWindow
	reorder *reorderBuf
	buf     []byte
	count   int64
	last    time.Time

	received, acked, dups, malformed atomic.Uint64

	cancel context.CancelFunc
	done   chan struct{}
}

// NewSubscriber builds a subscriber; Start connects.
func NewSubscriber(cfg *SubscribeConfig, log *slog.Logger) (*Subscriber, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Subscriber{cfg: *cfg, log: log, owner: map[*ds3d.Frame]jetstream.Msg{}}
	var err error
	s.frames, err = ds3d.NewFramePool(cfg.PoolSize, func() *ds3d.Frame { return &ds3d.Frame{} })
	if err != nil {
		return nil, err
	}
	// One token per datamap this process may hold unacked, plus the
	// reorder buffer's, so holding back never starves the fetch.
	ntok := cfg.MaxPending
	s.tokPl, err = ds3d.NewFramePool(ntok, func() *ds3d.Frame { return ds3d.NewFrame(ds3d.DTypeU8, ds3d.FrameCustom, ds3d.NewShape(0)) })
	if err != nil {
		return nil, err
	}
	s.tokens = make(chan *ds3d.Frame, ntok)
	for range ntok {
		s.tokens <- s.tokPl.TryGet()
	}
	if cfg.Dedup > 0 {
		s.seen = newIDWindow(cfg.Dedup)
	}
	if cfg.Reorder > 0 {
		s.reorder = newReorderBuf(cfg.Reorder, cfg.ReorderWait)
	}
	return s, nil
}

// Start connects, makes sure the stream and the durable consumer exist, and
// starts the acker.
func (s *Subscriber) Start(ctx context.Context) error {
	conn, err := Dial(&s.cfg.ConnConfig, "ds3d bus_subscribe "+s.cfg.Durable, s.log)
	if err != nil {
		return err
	}
	js, err := jetstream.New(conn.NC)
	if err != nil {
		conn.Close()
		return fmt.Errorf("bus_subscribe: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.Connect)
	defer cancel()
	st, err := s.cfg.StreamConfig.Ensure(sctx, js)
	if err != nil {
		conn.Close()
		return err
	}
	dp := jetstream.DeliverAllPolicy
	if s.cfg.Deliver == "new" {
		dp = jetstream.DeliverNewPolicy
	}
	cons, err := st.CreateOrUpdateConsumer(sctx, jetstream.ConsumerConfig{
		Durable:       s.cfg.Durable,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.cfg.AckWait,
		MaxAckPending: max(s.cfg.MaxPending*4, 256),
		DeliverPolicy: dp,
		FilterSubject: s.cfg.Stream + ".dm." + s.cfg.Sources,
		Replicas:      0,
	})
	if err != nil {
		conn.Close()
		return fmt.Errorf("bus_subscribe: consumer %s on stream %s: %w", s.cfg.Durable, s.cfg.Stream, err)
	}
	s.conn, s.stream, s.cons, s.started = conn, st, cons, true
	actx, acancel := context.WithCancel(context.Background())
	s.cancel, s.done = acancel, make(chan struct{})
	go s.ackLoop(actx)
	return nil
}

// ackLoop acks the message of each token that came back to its pool: the
// datamap holding it, and every clone, has been released.
func (s *Subscriber) ackLoop(ctx context.Context) {
	defer close(s.done)
	for {
		tok, err := s.tokPl.Get(ctx)
		if err != nil {
			return
		}
		s.mu.Lock()
		msg := s.owner[tok]
		delete(s.owner, tok)
		s.mu.Unlock()
		if msg != nil {
			if err := msg.Ack(); err != nil {
				s.log.Warn("bus_subscribe: ack failed; the datamap will be delivered again after ack_wait", "err", err)
			} else {
				s.acked.Add(1)
			}
		}
		s.tokens <- tok
	}
}

// Next returns the next datamap; io.EOF after max_datamaps or idle_timeout.
func (s *Subscriber) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if !s.started {
		return nil, errors.New("bus_subscribe: Next before Start")
	}
	for {
		if s.reorder != nil {
			if m := s.reorder.pop(time.Now(), false); m != nil {
				return s.hand(m)
			}
		}
		if s.cfg.MaxMaps > 0 && s.count >= s.cfg.MaxMaps {
			return s.drainEOF()
		}
		// Wait for a token first: it bounds what this process holds.
		var tok *ds3d.Frame
		select {
		case tok = <-s.tokens:
		default:
			if s.reorder != nil && s.reorder.len() > 0 {
				// Every token is held, some in the reorder buffer:
				// hand the oldest on rather than wait for ourselves.
				return s.hand(s.reorder.pop(time.Now(), true))
			}
			select {
			case tok = <-s.tokens:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		msg, err := s.fetch(ctx, len(s.tokens)+1)
		if msg == nil {
			s.tokens <- tok
			if err != nil {
				return nil, err
			}
			if s.reorder != nil && s.reorder.len() > 0 {
				if m := s.reorder.pop(time.Now(), false); m != nil {
					return s.hand(m)
				}
			}
			if s.cfg.Idle > 0 && !s.last.IsZero() && time.Since(s.last) >= s.cfg.Idle {
				return s.drainEOF()
			}
			continue
		}
		s.received.Add(1)
		s.last = time.Now()
		h := msg.Headers()
		id := h.Get("Nats-Msg-Id")
		if s.seen != nil && id != "" && !s.seen.add(id) {
			s.dups.Add(1)
			s.acked.Add(1)
			_ = msg.Ack()
			s.tokens <- tok
			continue
		}
		m, err := s.decode(ctx, msg)
		if err != nil {
			s.malformed.Add(1)
			s.log.Error("bus_subscribe: dropping a message that cannot be decoded", "id", id, "subject", msg.Subject(), "err", err)
			_ = msg.Term()
			s.tokens <- tok
			continue
		}
		s.mu.Lock()
		s.owner[tok] = msg
		s.mu.Unlock()
		m.SetFrame(KeyAck, tok)
		if s.reorder != nil {
			src, _ := strconv.ParseInt(h.Get(HdrSource), 10, 64)
			fn, err := strconv.ParseInt(h.Get(HdrFrame), 10, 64)
			if err == nil {
				s.reorder.push(src, fn, m, time.Now())
				continue
			}
		}
		return s.hand(m)
	}
}

func (s *Subscriber) hand(m *ds3d.DataMap) (*ds3d.DataMap, error) {
	s.count++
	return m, nil
}

// drainEOF hands on what the reorder buffer holds, then ends the stream.
func (s *Subscriber) drainEOF() (*ds3d.DataMap, error) {
	if s.reorder != nil && s.reorder.len() > 0 {
		return s.hand(s.reorder.pop(time.Now(), true))
	}
	return nil, io.EOF
}

// fetch returns the next message, from the open pull request or a new one
// asking for up to n (one per free ack token, so every message fetched goes
// on at once and none waits out its ack_wait in a client buffer). Messages
// are handed on as they arrive, not when the request completes. It waits
// at most the shortest of the timeouts that matter now; a nil message with
// a nil error means the wait ran out (the request stays open for the next
// call).
func (s *Subscriber) fetch(ctx context.Context, n int) (jetstream.Msg, error) {
	wait := time.Second
	if s.cfg.Idle > 0 {
		wait = min(wait, s.cfg.Idle)
	}
	if s.reorder != nil && s.reorder.len() > 0 {
		wait = min(wait, s.cfg.ReorderWait/4+time.Millisecond)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		if s.cur == nil {
			// The request outlives this call. Its expiry is the server's
			// (FetchMaxWait), and the client waits a second longer for the
			// server to end it. With a context deadline instead, the client
			// waited only a tenth longer than the server, and on a loaded
			// machine a message the server sent just before its expiry
			// reached an inbox already gone: delivered to nobody, it held a
			// max_ack_pending slot for ack_wait and stalled every worker of
			// the durable (apps/v2x-cloud's demo).
			b, err := s.cons.Fetch(n, jetstream.FetchMaxBytes(s.cfg.FetchBytes), jetstream.FetchMaxWait(fetchExpiry))
			cancel := func() {}
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				s.log.Debug("bus_subscribe: fetch", "err", err)
				sleepCtx(ctx, 50*time.Millisecond) // connection trouble: the client reconnects
				return nil, nil
			}
			s.cur, s.curCancel = b, cancel
		}
		select {
		case m, ok := <-s.cur.Messages():
			if ok {
				return m, nil
			}
			if err := s.cur.Error(); err != nil && !errors.Is(err, jetstream.ErrBatchCompleted) &&
				!errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
				s.log.Debug("bus_subscribe: fetch", "err", err)
			}
			s.curCancel()
			s.cur = nil
		case <-t.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fetchExpiry is how long a pull request waits at the server: short, so a
// request lost to a reconnect or a leader change is replaced soon (the
// client drops it a second after this at the latest).
const fetchExpiry = time.Second

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Subscriber) decode(ctx context.Context, msg jetstream.Msg) (*ds3d.DataMap, error) {
	data, err := Reassemble(ctx, s.stream, msg.Headers(), msg.Data(), s.buf)
	if err != nil {
		return nil, err
	}
	if len(msg.Headers().Get(HdrChunks)) > 0 {
		s.buf = data
	}
	m := ds3d.NewDataMap()
	if err := Decode(data, m, s.frames.TryGet); err != nil {
		m.Release()
		return nil, err
	}
	return m, nil
}

// Stats returns the counters.
func (s *Subscriber) Stats() SubscribeStats {
	st := SubscribeStats{Received: s.received.Load(), Acked: s.acked.Load(), Duplicates: s.dups.Load(), Malformed: s.malformed.Load()}
	if s.reorder != nil {
		st.Late = s.reorder.late.Load()
	}
	return st
}

// Close stops fetching and the acker and closes the connection. Datamaps
// still in the pipeline are not acked: the server delivers them again after
// ack_wait.
func (s *Subscriber) Close() error {
	if !s.started {
		return nil
	}
	// Give datamaps released just now a moment to be acked.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) && len(s.tokens) < cap(s.tokens)-s.held() {
		time.Sleep(5 * time.Millisecond)
	}
	if s.cur != nil {
		s.curCancel()
		for m := range s.cur.Messages() {
			_ = m.Nak() // fetched but never handed on: to another process at once
		}
		s.cur = nil
	}
	s.cancel()
	<-s.done
	// Acks are fire-and-forget publishes: flush them before closing.
	_ = s.conn.NC.FlushTimeout(time.Second)
	if s.reorder != nil {
		s.reorder.releaseAll()
	}
	s.conn.Close()
	s.started = false
	st := s.Stats()
	s.log.Info("bus_subscribe closed", "received", st.Received, "acked", st.Acked, "duplicates", st.Duplicates, "malformed", st.Malformed, "late", st.Late)
	return nil
}

// held is the number of tokens in the reorder buffer.
func (s *Subscriber) held() int {
	if s.reorder == nil {
		return 0
	}
	return s.reorder.len()
}

func init() {
	ds3d.Register(ds3d.KindLoader, "bus_subscribe",
		`Consumes datamaps that bus_publish put on a NATS JetStream stream, through a durable pull consumer: processes with the same durable share the stream as a work queue. A datamap is acked once it (and every clone of it) has left every sink of this pipeline; one not acked within ack_wait is delivered again. Optional: a window of seen message ids drops duplicates, a bounded per-source buffer restores frame order. url = "embedded" runs an in-process JetStream server (docs/SCALE.md).`,
		DefaultSubscribeConfig,
		func(c *SubscribeConfig, env *ds3d.Env) (any, error) {
			return NewSubscriber(c, env.Logger())
		})
}
