package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/bus"
)

// Config configures bus_publish.
type Config struct {
	bus.ConnConfig
	bus.StreamConfig
	IDPrefix   string        `toml:"id_prefix" doc:"prefix of message ids (id = prefix + source id + \"-\" + frame number); give each publishing pipeline its own when several publish the same source ids"`
	Exclude    []string      `toml:"exclude_keys" nonempty:"each" doc:"keys not sent (values of types the encoding does not carry, or bulk no consumer needs)"`
	QueueLen   int           `toml:"queue_length" min:"1" doc:"encoded datamaps waiting for the sender"`
	Window     int           `toml:"max_inflight" min:"1" doc:"datamaps published and awaiting their acknowledgement at once"`
	Block      time.Duration `toml:"block_timeout" min:"0" doc:"longest Render waits for room in the queue; a datamap that finds none by then is dropped and counted (0: drop at once)"`
	AckTimeout time.Duration `toml:"ack_timeout" min:">0" doc:"a publish not acknowledged within this time is published again with the same id (the server's duplicate window removes a copy that did arrive)"`
	Retries    int           `toml:"retries" min:"0" doc:"publishes of one datamap after the first; when all fail it is dropped and counted"`
	CloseTO    time.Duration `toml:"close_timeout" min:"0" doc:"how long Close keeps publishing what is queued; what is left then is counted as dropped"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{
		ConnConfig:   bus.DefaultConnConfig(),
		StreamConfig: bus.DefaultStreamConfig(),
		QueueLen:     8,
		Window:       16,
		Block:        time.Second,
		AckTimeout:   5 * time.Second,
		Retries:      5,
		CloseTO:      10 * time.Second,
	}
}

// Validate checks the connection and stream keys.
func (c *Config) Validate() error {
	if err := c.ConnConfig.Validate(); err != nil {
		return err
	}
	return c.StreamConfig.Validate()
}

// Stats are the publisher's counters. Each datamap Render took is, at any
// time, exactly one of published, dropped or pending.
type Stats struct {
	Published uint64 // acknowledged by the stream
	Dropped   uint64 // no queue room within block_timeout, every retry failed, or left at close
	Failed    uint64 // publishes that failed or timed out (each is retried while retries last)
	Pending   int64  // queued or awaiting acknowledgement
	Bytes     uint64 // encoded bytes acknowledged
	Chunked   uint64 // datamaps larger than the server's max payload, sent as chunks
}

// Publisher is the bus_publish component.
type Publisher struct {
	cfg  Config
	log  *slog.Logger
	skip map[ds3d.Key]bool

	conn   *bus.Conn
	js     jetstream.JetStream
	chunk  int
	frames map[int64]int64 // next frame number per source without DS3D::FrameNumber

	queue chan *message
	free  chan *message

	published, dropped, failed, bytes, chunked atomic.Uint64
	pending                                    atomic.Int64

	ctx     context.Context
	cancel  context.CancelFunc
	closing chan struct{}
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
}

type message struct {
	buf      []byte
	id       string
	source   int64
	frame    int64
	attempts int
}

// New builds a publisher; Start connects.
func New(cfg *Config, log *slog.Logger) (*Publisher, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{cfg: *cfg, log: log, skip: map[ds3d.Key]bool{bus.KeyAck: true}, frames: map[int64]int64{}}
	for _, k := range cfg.Exclude {
		p.skip[ds3d.Key(k)] = true
	}
	n := cfg.QueueLen + cfg.Window + 1
	p.queue = make(chan *message, n)
	p.free = make(chan *message, n)
	for range n {
		p.free <- &message{}
	}
	return p, nil
}

// Start connects (starting the embedded server for url = "embedded") and
// makes sure the stream exists; a refused login, an unreachable server or
// a missing stream is an error before the pipeline runs.
func (p *Publisher) Start(ctx context.Context) error {
	conn, err := bus.Dial(&p.cfg.ConnConfig, "ds3d bus_publish", p.log)
	if err != nil {
		return err
	}
	js, err := jetstream.New(conn.NC, jetstream.WithPublishAsyncMaxPending(4*p.cfg.Window))
	if err != nil {
		conn.Close()
		return fmt.Errorf("bus_publish: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.Connect)
	defer cancel()
	if _, err := p.cfg.StreamConfig.Ensure(sctx, js); err != nil {
		conn.Close()
		return err
	}
	p.conn, p.js, p.chunk = conn, js, bus.ChunkLimit(conn.NC)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.closing = make(chan struct{})
	p.done = make(chan struct{})
	go p.run()
	return nil
}

// Render encodes the datamap and queues it for the sender, waiting at most
// block_timeout for room.
func (p *Publisher) Render(ctx context.Context, in *ds3d.DataMap) error {
	if p.done == nil {
		return errors.New("bus_publish: Render before Start")
	}
	src, err := in.Int64(ds3d.KeySourceID)
	if err != nil {
		src = 0
	}
	fn, err := in.Int64(ds3d.KeyFrameNumber)
	if err != nil {
		fn = p.frames[src]
		p.frames[src] = fn + 1
	}
	if !in.Has(bus.KeyOrigin) {
		in.SetInt64(bus.KeyOrigin, time.Now().UnixNano())
	}
	var m *message
	select {
	case m = <-p.free:
	default:
		t := time.NewTimer(p.cfg.Block)
		select {
		case m = <-p.free:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if m == nil {
		p.dropped.Add(1)
		return nil
	}
	buf, err := bus.Encode(m.buf[:0], in, p.isSkipped)
	m.buf = buf
	if err != nil {
		p.free <- m
		return fmt.Errorf("bus_publish: frame %d of source %d: %w", fn, src, err)
	}
	m.id, m.source, m.frame, m.attempts = bus.MsgID(p.cfg.IDPrefix, src, fn), src, fn, 0
	p.pending.Add(1)
	p.queue <- m // never blocks: the queue holds every message
	return nil
}

func (p *Publisher) isSkipped(k ds3d.Key) bool { return p.skip[k] }

// flight is a message published and awaiting its acknowledgement.
type flight struct {
	m   *message
	fut jetstream.PubAckFuture
	at  time.Time
}

// run is the sender: it publishes in queue order with up to max_inflight
// acknowledgements outstanding and republishes what failed or timed out.
func (p *Publisher) run() {
	defer close(p.done)
	var inflight []flight
	var retry []*message
	for {
		var m *message
		if len(inflight) < p.cfg.Window {
			if len(retry) > 0 {
				m, retry = retry[0], retry[1:]
			} else if len(inflight) == 0 {
				select {
				case m = <-p.queue:
				case <-p.closing:
					select {
					case m = <-p.queue:
					default:
						return
					}
				case <-p.ctx.Done():
					p.loseRest(nil, retry)
					return
				}
			} else {
				select {
				case m = <-p.queue:
				default:
				}
			}
		}
		if m != nil {
			fut, err := p.publish(m)
			if err != nil {
				if !p.failOne(m, err, &retry) {
					p.loseRest(inflight, retry)
					return
				}
				continue
			}
			inflight = append(inflight, flight{m: m, fut: fut, at: time.Now()})
			continue
		}
		f := inflight[0]
		inflight = inflight[1:]
		t := time.NewTimer(max(p.cfg.AckTimeout-time.Since(f.at), 0))
		var err error
		select {
		case <-f.fut.Ok():
		case err = <-f.fut.Err():
		case <-t.C:
			err = errors.New("no acknowledgement within ack_timeout")
		case <-p.ctx.Done():
			t.Stop()
			p.loseRest(append(inflight, f), retry)
			return
		}
		t.Stop()
		if err == nil {
			p.published.Add(1)
			p.bytes.Add(uint64(len(f.m.buf)))
			p.pending.Add(-1)
			p.free <- f.m
			continue
		}
		if !p.failOne(f.m, err, &retry) {
			p.loseRest(inflight, retry)
			return
		}
	}
}

// failOne counts a failed publish and queues the message again while its
// retries last; false when the sender must stop.
func (p *Publisher) failOne(m *message, err error, retry *[]*message) bool {
	p.failed.Add(1)
	m.attempts++
	if m.attempts > p.cfg.Retries {
		p.log.Warn("bus_publish: dropped after every retry failed", "id", m.id, "err", err)
		p.dropped.Add(1)
		p.pending.Add(-1)
		p.free <- m
	} else {
		p.log.Debug("bus_publish: publish failed; retrying", "id", m.id, "attempt", m.attempts, "err", err)
		*retry = append(*retry, m)
		// A server that is down answers at once: wait a little between
		// attempts instead of spending the retries in a millisecond.
		wait := time.NewTimer(min(time.Duration(m.attempts)*200*time.Millisecond, 2*time.Second))
		defer wait.Stop()
		select {
		case <-wait.C:
		case <-p.ctx.Done():
			return false
		}
	}
	return true
}

func (p *Publisher) loseRest(inflight []flight, retry []*message) {
	n := int64(len(inflight) + len(retry))
	for {
		select {
		case <-p.queue:
			n++
			continue
		default:
		}
		break
	}
	p.pending.Add(-n)
	p.dropped.Add(uint64(n))
}

// publish sends one datamap: its chunks first (each acknowledged, so the
// head can name their sequences), then the head message with the id.
func (p *Publisher) publish(m *message) (jetstream.PubAckFuture, error) {
	msg := &nats.Msg{Subject: p.cfg.Subject(m.source), Header: nats.Header{}}
	msg.Header.Set(bus.HdrSource, strconv.FormatInt(m.source, 10))
	msg.Header.Set(bus.HdrFrame, strconv.FormatInt(m.frame, 10))
	if len(m.buf) <= p.chunk {
		msg.Data = m.buf
	} else {
		seqs := make([]string, 0, len(m.buf)/p.chunk+1)
		for i, off := 0, 0; off < len(m.buf); i, off = i+1, off+p.chunk {
			end := min(off+p.chunk, len(m.buf))
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.AckTimeout)
			ack, err := p.js.PublishMsg(ctx, &nats.Msg{Subject: p.cfg.ChunkSubject(m.source), Data: m.buf[off:end]},
				jetstream.WithMsgID(m.id+".c"+strconv.Itoa(i)))
			cancel()
			if err != nil {
				return nil, fmt.Errorf("chunk %d: %w", i, err)
			}
			seqs = append(seqs, strconv.FormatUint(ack.Sequence, 10))
		}
		msg.Header.Set(bus.HdrChunks, strings.Join(seqs, ","))
		msg.Header.Set(bus.HdrSize, strconv.Itoa(len(m.buf)))
		if m.attempts == 0 {
			p.chunked.Add(1)
		}
	}
	return p.js.PublishMsgAsync(msg, jetstream.WithMsgID(m.id))
}

// Close publishes what is queued for up to close_timeout, then stops the
// sender and closes the connection.
func (p *Publisher) Close() error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed || p.done == nil {
		p.closed = true
		return nil
	}
	p.closed = true
	close(p.closing)
	t := time.AfterFunc(p.cfg.CloseTO, p.cancel)
	<-p.done
	t.Stop()
	p.cancel()
	p.conn.Close()
	st := p.Stats()
	lvl := slog.LevelInfo
	if st.Dropped > 0 {
		lvl = slog.LevelWarn
	}
	p.log.Log(context.Background(), lvl, "bus_publish closed", "published", st.Published, "dropped", st.Dropped, "failed", st.Failed)
	return nil
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	return Stats{Published: p.published.Load(), Dropped: p.dropped.Load(), Failed: p.failed.Load(),
		Pending: p.pending.Load(), Bytes: p.bytes.Load(), Chunked: p.chunked.Load()}
}

// Dropped is the count of dropped datamaps; the pipeline adds it to the
// component's drops in its metrics.
func (p *Publisher) Dropped() uint64 { return p.dropped.Load() }

func init() {
	ds3d.Register(ds3d.KindRender, "bus_publish",
		`Publishes each datamap — frames, boxes, timestamps, every key — to a NATS JetStream stream in the bus's versioned binary encoding (subject {stream}.dm.{source id}; larger than the server's max payload: chunks on {stream}.chunk.{source id}), with message id source-frame for the server's duplicate window. Publishes are acknowledged; a bounded window of them is in flight, failures are retried with the same id and counted, and Render never waits longer than block_timeout. url = "embedded" runs an in-process JetStream server (docs/SCALE.md).`,
		DefaultConfig,
		func(c *Config, env *ds3d.Env) (any, error) {
			return New(c, env.Logger())
		})
}
