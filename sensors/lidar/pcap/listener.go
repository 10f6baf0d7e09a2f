package pcap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ListenerOptions are the socket and stream settings the live UDP drivers
// (velodyne_udp, ouster_udp, hesai_udp) share; each driver's config adds its
// sensor's decoder settings.
type ListenerOptions struct {
	Name        string        // component impl, for messages ("velodyne_udp")
	Address     string        // host:port to listen on
	DropPartial bool          // drop scans that did not begin and end at a cut
	IdleTimeout time.Duration // end the stream after this long without a packet; 0 = never
	MaxFrames   int           // end the stream after this many scans; 0 = no limit
	ReadBuffer  int           // SO_RCVBUF in bytes; 0 keeps the system's
	SourceID    int
	OutputKey   string
	MemPoolSize int
	// StatsInterval is how often the running listener logs its packet and
	// scan rates; 0 = never.
	StatsInterval time.Duration
}

// ListenerGroup is the keys every *_udp loader hands to the Listener; a
// loader's config embeds it (their keys become the config's own).
type ListenerGroup struct {
	IdleTimeout time.Duration `toml:"idle_timeout" min:"0s" doc:"end the stream after this long without a packet (\"0s\" = listen until stopped)"`
	MaxFrames   int           `toml:"max_frames" min:"0" doc:"end the stream after this many frames (scans); 0 = no limit"`
	ReadBuffer  int           `toml:"read_buffer" doc:"socket receive buffer in bytes (SO_RCVBUF); 0 keeps the system's"`
	SourceID    int           `toml:"source_id" doc:"DS3D::SourceId of the frames"`
	OutputKey   string        `toml:"output_datamap_key" nonempty:"true" doc:"key of the point frame"`
	MemPoolSize int           `toml:"mem_pool_size" min:"1" doc:"frames in flight; a frame (scan) finished while all are downstream is dropped and counted"`
	// StatsInterval's default is DefaultStatsInterval (set by each driver).
	StatsInterval time.Duration `toml:"stats_interval" min:"0s" doc:"log the packet and scan rates (and malformed packets, dropped scans) this often while listening; \"0s\" = never"`
}

// DefaultStatsInterval is the drivers' default stats_interval: often
// enough to see a sensor come and go, rare enough not to flood a log.
const DefaultStatsInterval = 10 * time.Second

// Options returns the Listener's options for impl name listening on address.
func (g *ListenerGroup) Options(name, address string, dropPartial bool) ListenerOptions {
	return ListenerOptions{Name: name, Address: address, DropPartial: dropPartial, IdleTimeout: g.IdleTimeout,
		MaxFrames: g.MaxFrames, ReadBuffer: g.ReadBuffer, SourceID: g.SourceID, OutputKey: g.OutputKey, MemPoolSize: g.MemPoolSize,
		StatsInterval: g.StatsInterval}
}

// CheckRangeConfig checks that max_range is 0 (no limit) or above
// min_range (metres); the tags min:"0" on both keys check the rest.
func CheckRangeConfig(minRange, maxRange float64) error {
	if maxRange > 0 && maxRange <= minRange {
		return ds3d.ConfigErrorf("max_range", "must be 0 or above min_range, got %v", maxRange)
	}
	return nil
}

// UDPStats counts what a listener saw.
type UDPStats struct {
	Received  int64 // datagrams read
	Malformed int64 // rejected by the decoder
	Dropped   int64 // finished scans dropped because every pooled frame was downstream
	Scans     int64 // scans handed downstream
}

// Listener is a live lidar source: it reads one sensor family's UDP
// packets, decodes them with a PacketDecoder and emits a datamap per scan
// (the arrival time of the scan's first packet as DS3D::Timestamp). Start
// opens the socket and starts the one goroutine it owns, which reads,
// decodes and fills pooled frames; it stops when the context of Start ends
// or Close is called. A scan that finds no free frame is dropped and
// counted rather than stalling the socket; a payload the decoder rejects is
// counted as malformed, as pcap_file_loader counts it.
type Listener struct {
	opt    ListenerOptions
	newDec func() (PacketDecoder, error)
	pool   *ds3d.FramePool
	log    *slog.Logger
	conn   net.PacketConn
	out    chan *ds3d.DataMap
	errc   chan error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stats  struct{ received, malformed, dropped, scans atomic.Int64 }
}

// NewListener checks that a decoder can be made; the socket opens in Start.
func NewListener(opt ListenerOptions, newDec func() (PacketDecoder, error), env *ds3d.Env) (*Listener, error) {
	if _, err := newDec(); err != nil {
		return nil, err
	}
	pool, err := ds3d.NewFramePool(opt.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return nil, err
	}
	l := &Listener{opt: opt, newDec: newDec, pool: pool, out: make(chan *ds3d.DataMap, opt.MemPoolSize), errc: make(chan error, 1)}
	if env != nil {
		l.log = env.Log
	}
	return l, nil
}

// Start opens the socket and starts the reader goroutine.
func (l *Listener) Start(ctx context.Context) error {
	conn, err := net.ListenPacket("udp", l.opt.Address)
	if err != nil {
		return fmt.Errorf("%s: %w", l.opt.Name, err)
	}
	if l.opt.ReadBuffer > 0 {
		if uc, ok := conn.(*net.UDPConn); ok {
			uc.SetReadBuffer(l.opt.ReadBuffer)
		}
	}
	l.conn = conn
	ctx, l.cancel = context.WithCancel(ctx)
	dec, err := l.newDec()
	if err != nil {
		conn.Close()
		return err
	}
	if l.log != nil {
		// The bound address, not the configured one: ":0" or a host name
		// says nothing about where to send packets.
		l.log.Info("listening on "+conn.LocalAddr().String(), "sensor", l.opt.Name)
		if l.opt.StatsInterval > 0 {
			l.wg.Add(1)
			go func() {
				defer l.wg.Done()
				l.logRates(ctx)
			}()
		}
	}
	l.wg.Add(2)
	go func() { // unblock ReadFrom when the context ends
		defer l.wg.Done()
		<-ctx.Done()
		conn.Close()
	}()
	go func() {
		defer l.wg.Done()
		defer l.cancel()
		defer close(l.out)
		l.errc <- l.run(ctx, conn, dec)
	}()
	return nil
}

// logRates logs the packet and scan rates every StatsInterval until ctx
// ends; a silent sensor shows as 0 packets/s rather than as no line.
func (l *Listener) logRates(ctx context.Context) {
	t := time.NewTicker(l.opt.StatsInterval)
	defer t.Stop()
	last, lastT := l.Stats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s, dt := l.Stats(), now.Sub(lastT).Seconds()
			l.log.Info("receiving", "address", l.conn.LocalAddr().String(), "packets", s.Received-last.Received,
				"packets_per_s", round1(float64(s.Received-last.Received)/dt), "scans_per_s", round1(float64(s.Scans-last.Scans)/dt),
				"malformed", s.Malformed-last.Malformed, "dropped_scans", s.Dropped-last.Dropped)
			last, lastT = s, now
		}
	}
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// Addr is the socket's local address (after Start).
func (l *Listener) Addr() net.Addr { return l.conn.LocalAddr() }

// Stats returns the counts so far.
func (l *Listener) Stats() UDPStats {
	return UDPStats{l.stats.received.Load(), l.stats.malformed.Load(), l.stats.dropped.Load(), l.stats.scans.Load()}
}

var errEnough = errors.New("max_frames reached")

func (l *Listener) run(ctx context.Context, conn net.PacketConn, dec PacketDecoder) error {
	buf := make([]byte, 65536)
	k := 0
	emit := func(s Scan) error {
		if l.opt.DropPartial && !s.Complete {
			return nil
		}
		f := l.pool.TryGet()
		if f == nil {
			l.stats.dropped.Add(1)
			return nil
		}
		FillScan(f, s)
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.Key(l.opt.OutputKey), f)
		m.SetTimestamp(s.Timestamp)
		m.SetInt64(ds3d.KeySourceID, int64(l.opt.SourceID))
		m.SetInt64(ds3d.KeyFrameNumber, int64(k))
		if k == 0 {
			m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
		}
		k++
		select {
		case l.out <- m: // never blocks long: out holds mem_pool_size datamaps
		case <-ctx.Done():
			m.Release()
			return ctx.Err()
		}
		l.stats.scans.Add(1)
		if l.opt.MaxFrames > 0 && k >= l.opt.MaxFrames {
			return errEnough
		}
		return nil
	}
	for {
		if l.opt.IdleTimeout > 0 {
			conn.SetReadDeadline(time.Now().Add(l.opt.IdleTimeout))
		}
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil // stopped
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if err := dec.Flush(emit); err != nil && err != errEnough && ctx.Err() == nil {
					return err
				}
				return nil // idle: end of stream
			}
			return fmt.Errorf("%s %s: %w", l.opt.Name, l.opt.Address, err)
		}
		l.stats.received.Add(1)
		if err := dec.Decode(buf[:n], time.Now().UnixNano(), emit); err != nil {
			if err == errEnough || ctx.Err() != nil {
				return nil
			}
			if l.stats.malformed.Add(1) == 1 && l.log != nil {
				l.log.Warn("dropping malformed packet", "address", l.opt.Address, "err", err)
			}
		}
	}
}

// Next returns the next scan's datamap; io.EOF once the listener has
// stopped (idle timeout, max_frames, or the context of Start or Next ended).
func (l *Listener) Next(ctx context.Context) (*ds3d.DataMap, error) {
	select {
	case m, ok := <-l.out:
		if !ok {
			err := <-l.errc
			l.errc <- err
			if err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		return m, nil
	case <-ctx.Done():
		l.cancel()
		return nil, io.EOF
	}
}

// Close stops the goroutine, waits for it and releases undelivered frames.
func (l *Listener) Close() error {
	if l.cancel == nil {
		return nil
	}
	l.cancel()
	l.wg.Wait()
	for m := range l.out {
		m.Release()
	}
	s := l.Stats()
	if l.log != nil {
		l.log.Info(l.opt.Name+" stopped", "address", l.opt.Address, "received", s.Received, "malformed", s.Malformed, "dropped_scans", s.Dropped, "scans", s.Scans)
	}
	return nil
}

// PoolStats reports the frame pool under the output key (the live UDP
// drivers are Listeners).
func (l *Listener) PoolStats() []ds3d.PoolStat {
	return []ds3d.PoolStat{l.pool.Stat(l.opt.OutputKey)}
}
