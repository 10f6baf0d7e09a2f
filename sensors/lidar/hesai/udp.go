package hesai

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
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// UDPConfig configures hesai_udp.
type UDPConfig struct {
	Address     string        `toml:"address" doc:"UDP address to listen on (host:port; \":2368\" = every interface)"`
	Calibration ds3d.Path     `toml:"calibration" doc:"angle-correction CSV (Channel,Elevation,Azimuth); empty = the nominal PandarXT32 table"`
	ReturnMode  string        `toml:"return_mode" doc:"returns to keep of dual packets: all (nebula's de-duplication), last or strongest"`
	CutAngle    float64       `toml:"cut_angle" doc:"azimuth in degrees, clockwise from forward, where one scan ends and the next begins"`
	MinRange    float64       `toml:"min_range" doc:"drop points at or closer than this range, metres"`
	MaxRange    float64       `toml:"max_range" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	DropPartial bool          `toml:"drop_partial" doc:"drop the incomplete first scan (and the last one at the end)"`
	IdleTimeout time.Duration `toml:"idle_timeout" doc:"end the stream after this long without a packet (\"0s\" = listen until stopped)"`
	MaxFrames   int           `toml:"max_frames" doc:"end the stream after this many scans; 0 = no limit"`
	ReadBuffer  int           `toml:"read_buffer" doc:"socket receive buffer in bytes (SO_RCVBUF); 0 keeps the system's"`
	SourceID    int           `toml:"source_id" doc:"DS3D::SourceId of the frames"`
	OutputKey   string        `toml:"output_datamap_key" doc:"key of the point frame"`
	MemPoolSize int           `toml:"mem_pool_size" doc:"frames in flight; a scan finished while all are downstream is dropped and counted"`
}

// Validate checks ranges.
func (c *UDPConfig) Validate() error {
	switch {
	case c.Address == "":
		return ds3d.ConfigErrorf("address", "must not be empty")
	case c.CutAngle < 0 || c.CutAngle >= 360 || math.IsNaN(c.CutAngle):
		return ds3d.ConfigErrorf("cut_angle", "must be in [0, 360), got %v", c.CutAngle)
	case c.MinRange < 0:
		return ds3d.ConfigErrorf("min_range", "must be ≥ 0, got %v", c.MinRange)
	case c.MaxRange < 0 || (c.MaxRange > 0 && c.MaxRange <= c.MinRange):
		return ds3d.ConfigErrorf("max_range", "must be 0 or above min_range, got %v", c.MaxRange)
	case c.IdleTimeout < 0:
		return ds3d.ConfigErrorf("idle_timeout", "must be ≥ 0")
	case c.MaxFrames < 0:
		return ds3d.ConfigErrorf("max_frames", "must be ≥ 0")
	case c.MemPoolSize < 1:
		return ds3d.ConfigErrorf("mem_pool_size", "must be ≥ 1, got %d", c.MemPoolSize)
	case c.OutputKey == "":
		return ds3d.ConfigErrorf("output_datamap_key", "must not be empty")
	}
	if _, err := ParseReturnMode(c.ReturnMode); err != nil {
		return ds3d.ConfigErrorf("return_mode", "%v", err)
	}
	return nil
}

// UDPStats counts what the listener saw.
type UDPStats struct {
	Received  int64 // datagrams read
	Malformed int64 // rejected by the decoder (bad framing, size, azimuth)
	Dropped   int64 // finished scans dropped because every pooled frame was downstream
	Scans     int64 // scans handed downstream
}

// UDPLoader listens for Hesai PandarXT data packets and emits a datamap per scan
// (as pcap_file_loader does, with the arrival time of the scan's first
// packet as DS3D::Timestamp). Start opens the socket and starts the one
// goroutine it owns, which reads, decodes and fills pooled frames; it stops
// when the context of Start ends or Close is called. A scan that finds no
// free pooled frame is dropped and counted rather than stalling the socket.
type UDPLoader struct {
	cfg    UDPConfig
	dcfg   Config
	pool   *ds3d.FramePool
	log    *slog.Logger
	conn   net.PacketConn
	out    chan *ds3d.DataMap
	errc   chan error
	cancel context.CancelFunc
	wg     sync.WaitGroup
	stats  struct{ received, malformed, dropped, scans atomic.Int64 }
}

// NewUDPLoader reads the angle table; the socket opens in Start.
func NewUDPLoader(cfg *UDPConfig, env *ds3d.Env) (*UDPLoader, error) {
	dcfg, err := ConfigFromOptions(pcap.SensorOptions{Calibration: string(cfg.Calibration), ReturnMode: cfg.ReturnMode,
		CutAngle: cfg.CutAngle, MinRange: cfg.MinRange, MaxRange: cfg.MaxRange})
	if err != nil {
		return nil, err
	}
	if _, err := NewDecoder(dcfg); err != nil {
		return nil, err
	}
	pool, err := ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		return nil, err
	}
	l := &UDPLoader{cfg: *cfg, dcfg: dcfg, pool: pool, out: make(chan *ds3d.DataMap, cfg.MemPoolSize), errc: make(chan error, 1)}
	if env != nil {
		l.log = env.Log
	}
	return l, nil
}

// Start opens the socket and starts the reader goroutine.
func (l *UDPLoader) Start(ctx context.Context) error {
	conn, err := net.ListenPacket("udp", l.cfg.Address)
	if err != nil {
		return fmt.Errorf("hesai_udp: %w", err)
	}
	if l.cfg.ReadBuffer > 0 {
		if uc, ok := conn.(*net.UDPConn); ok {
			uc.SetReadBuffer(l.cfg.ReadBuffer)
		}
	}
	l.conn = conn
	ctx, l.cancel = context.WithCancel(ctx)
	dec, err := NewDecoder(l.dcfg)
	if err != nil {
		conn.Close()
		return err
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

// Addr is the socket's local address (after Start).
func (l *UDPLoader) Addr() net.Addr { return l.conn.LocalAddr() }

// Stats returns the counts so far.
func (l *UDPLoader) Stats() UDPStats {
	return UDPStats{l.stats.received.Load(), l.stats.malformed.Load(), l.stats.dropped.Load(), l.stats.scans.Load()}
}

var errEnough = errors.New("max_frames reached")

func (l *UDPLoader) run(ctx context.Context, conn net.PacketConn, dec *Decoder) error {
	buf := make([]byte, 65536)
	k := 0
	emit := func(s *Scan) error {
		if l.cfg.DropPartial && !s.Complete {
			return nil
		}
		f := l.pool.TryGet()
		if f == nil {
			l.stats.dropped.Add(1)
			return nil
		}
		pcap.FillFrame(f, s.Points)
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.Key(l.cfg.OutputKey), f)
		m.SetTimestamp(s.Timestamp)
		m.SetInt64(ds3d.KeySourceID, int64(l.cfg.SourceID))
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
		if l.cfg.MaxFrames > 0 && k >= l.cfg.MaxFrames {
			return errEnough
		}
		return nil
	}
	for {
		if l.cfg.IdleTimeout > 0 {
			conn.SetReadDeadline(time.Now().Add(l.cfg.IdleTimeout))
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
			return fmt.Errorf("hesai_udp %s: %w", l.cfg.Address, err)
		}
		l.stats.received.Add(1)
		if err := dec.Decode(buf[:n], time.Now().UnixNano(), emit); err != nil {
			if err == errEnough || ctx.Err() != nil {
				return nil
			}
			var pe *PacketError
			if errors.As(err, &pe) {
				if l.stats.malformed.Add(1) == 1 && l.log != nil {
					l.log.Warn("dropping malformed packet", "address", l.cfg.Address, "err", err)
				}
				continue
			}
			return err
		}
	}
}

// Next returns the next frame's datamap; io.EOF once the listener has
// stopped (idle timeout, max_frames, or the context of Start or Next ended).
func (l *UDPLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
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
func (l *UDPLoader) Close() error {
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
		l.log.Info("hesai_udp stopped", "address", l.cfg.Address, "received", s.Received, "malformed", s.Malformed, "dropped_scans", s.Dropped, "scans", s.Scans)
	}
	return nil
}

func init() {
	ds3d.Register(ds3d.KindLoader, "hesai_udp",
		`Listens for Hesai PandarXT32 data packets (protocol 6.1, single or dual return) on UDP and emits one pooled [N,4] float32 frame per rotation (x forward, y left, z up, metres; reflectivity), cut at cut_angle; counts malformed packets and scans dropped for want of a free frame.`,
		func() *UDPConfig {
			return &UDPConfig{Address: fmt.Sprintf(":%d", Port), OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 4}
		},
		func(c *UDPConfig, env *ds3d.Env) (any, error) { return NewUDPLoader(c, env) })
}
