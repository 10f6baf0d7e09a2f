package pcap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// FileLoaderConfig configures pcap_file_loader.
type FileLoaderConfig struct {
	Path             ds3d.Path `toml:"path" required:"true" nonempty:"true" path:"exists" doc:"capture file (pcap or pcapng)"`
	Sensor           string    `toml:"sensor" enum:"@pcap.sensor" doc:"sensor family decoding the payloads: velodyne, ouster or hesai (its package must be linked in)"`
	Model            string    `toml:"model" doc:"override the model the packets announce (velodyne: vlp16, hdl32e, vlp32c)"`
	Calibration      ds3d.Path `toml:"calibration" doc:"calibration file (velodyne: ros-drivers YAML; empty = the model's nominal table)"`
	Port             int       `toml:"port" min:"-1" max:"65535" doc:"UDP destination port of the data packets; 0 = the sensor's default (velodyne 2368), -1 = any"`
	ReturnMode       string    `toml:"return_mode" doc:"returns to keep: all (as sent), strongest, last or dual"`
	CutAngle         float64   `toml:"cut_angle" min:"0" max:"<360" unit:"°" doc:"azimuth in degrees where one scan ends and the next begins (put it in the blind sector of a restricted FOV)"`
	FOV              []float64 `toml:"fov" len:"2" finite:"true" doc:"[start, end] azimuth in degrees, clockwise, of the points to keep; empty = full circle"`
	MinRange         float64   `toml:"min_range" min:"0" unit:"m" doc:"drop points at or closer than this range, metres"`
	MaxRange         float64   `toml:"max_range" min:"0" unit:"m" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	Interpolation    string    `toml:"interpolation" enum:"|firing|nebula|block" doc:"velodyne per-laser azimuth: firing (manufacturer timing, the default), nebula (tier4/nebula's arithmetic) or block"`
	DropPartial      bool      `toml:"drop_partial" doc:"drop the incomplete scans at the start and end of the capture"`
	SourceID         int       `toml:"source_id" doc:"DS3D::SourceId of the frames"`
	ds3d.OutputGroup `doc:"key of the point frame"`
	ds3d.PoolGroup   `doc:"frames in flight before the loader waits for one to come back"`
}

// Options returns the decoder settings of the config.
func (c *FileLoaderConfig) Options() SensorOptions {
	return SensorOptions{Model: c.Model, Calibration: string(c.Calibration), ReturnMode: c.ReturnMode,
		CutAngle: c.CutAngle, FOV: c.FOV, MinRange: c.MinRange, MaxRange: c.MaxRange, Interpolation: c.Interpolation}
}

// FileLoader replays a capture through a sensor decoder: one datamap per
// scan with the points ([N,7] f32 x y z intensity ring time return under
// output_datamap_key), the scan's first packet time as DS3D::Timestamp
// (so pipeline.realtime replays at sensor rate), DS3D::SourceId and
// DS3D::FrameNumber. Malformed packets
// are counted, logged once and skipped; a corrupt capture file is an error.
type FileLoader struct {
	cfg     FileLoaderConfig
	port    int
	dec     PacketDecoder
	rd      *Reader
	closer  io.Closer
	pool    *ds3d.FramePool
	log     *slog.Logger
	k       int
	eof     bool
	pending []*ds3d.DataMap
	ctx     context.Context
	emitFn  func(Scan) error
	// Counts for logs and tests.
	Packets, Skipped, Malformed int
	firstBad                    error
}

// NewFileLoader opens the capture and makes the decoder.
func NewFileLoader(cfg *FileLoaderConfig, env *ds3d.Env) (*FileLoader, error) {
	s, err := LookupSensor(cfg.Sensor)
	if err != nil {
		return nil, err
	}
	dec, err := s.New(cfg.Options())
	if err != nil {
		return nil, err
	}
	rd, closer, err := Open(string(cfg.Path))
	if err != nil {
		return nil, err
	}
	pool, err := ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(0) })
	if err != nil {
		closer.Close()
		return nil, err
	}
	l := &FileLoader{cfg: *cfg, port: cfg.Port, dec: dec, rd: rd, closer: closer, pool: pool}
	if l.port == 0 {
		l.port = s.Port
	}
	if env != nil {
		l.log = env.Log
	}
	l.emitFn = l.emit
	return l, nil
}

func (l *FileLoader) emit(s Scan) error {
	if l.cfg.DropPartial && !s.Complete {
		return nil
	}
	f, err := l.pool.Get(l.ctx)
	if err != nil {
		return err
	}
	FillScan(f, s)
	m := ds3d.NewDataMap()
	m.SetFrame(ds3d.Key(l.cfg.OutputKey), f)
	m.SetTimestamp(s.Timestamp)
	m.SetInt64(ds3d.KeySourceID, int64(l.cfg.SourceID))
	m.SetInt64(ds3d.KeyFrameNumber, int64(l.k))
	if l.k == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	l.k++
	l.pending = append(l.pending, m)
	return nil
}

// Next returns the next scan's datamap, or io.EOF after the last.
func (l *FileLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	l.ctx = ctx
	for len(l.pending) == 0 {
		if l.eof {
			return nil, io.EOF
		}
		p, err := l.rd.Next()
		if err == io.EOF {
			l.eof = true
			if err := l.dec.Flush(l.emitFn); err != nil {
				return nil, err
			}
			l.report()
			continue
		}
		if err != nil {
			return nil, err
		}
		if l.port >= 0 && int(p.DstPort) != l.port {
			l.Skipped++
			continue
		}
		l.Packets++
		if err := l.dec.Decode(p.Payload, p.Timestamp, l.emitFn); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, err
			}
			l.Malformed++
			if l.firstBad == nil {
				l.firstBad = fmt.Errorf("record %d (byte %d): %w", p.Index, p.Offset, err)
				if l.log != nil {
					l.log.Warn("dropping malformed packet", "file", l.cfg.Path, "err", l.firstBad)
				}
			}
		}
	}
	m := l.pending[0]
	l.pending = append(l.pending[:0], l.pending[1:]...)
	return m, nil
}

func (l *FileLoader) report() {
	if l.log == nil {
		return
	}
	args := []any{"file", l.cfg.Path, "scans", l.k, "packets", l.Packets, "other_ports", l.Skipped, "malformed", l.Malformed}
	for k, v := range l.dec.Counters() {
		if k != "file" && k != "scans" && k != "packets" && k != "other_ports" && k != "malformed" {
			args = append(args, k, v) // the decoder's own counts, not repeating ours
		}
	}
	l.log.Info("capture replayed", args...)
}

// Close closes the capture and releases datamaps not handed out.
func (l *FileLoader) Close() error {
	for _, m := range l.pending {
		m.Release()
	}
	l.pending = nil
	return l.closer.Close()
}

func init() {
	ds3d.RegisterEnum("pcap.sensor", sensorNames)
	ds3d.Register(ds3d.KindLoader, "pcap_file_loader",
		`Replays a lidar packet capture (pcap/pcapng) through a sensor decoder (velodyne VLP-16/HDL-32E/VLP-32C; ouster and hesai when registered) into one pooled [N,7] float32 frame per rotation or FOV cut (columns x y z intensity ring time return); set pipeline.realtime to replay at sensor rate.`,
		func() *FileLoaderConfig {
			return &FileLoaderConfig{Sensor: "velodyne", OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)}, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *FileLoaderConfig, env *ds3d.Env) (any, error) { return NewFileLoader(c, env) })
}

// PoolStats reports the frame pool under the output key.
func (l *FileLoader) PoolStats() []ds3d.PoolStat {
	return []ds3d.PoolStat{l.pool.Stat(l.cfg.OutputKey)}
}
