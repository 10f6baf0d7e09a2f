package hesai

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// UDPConfig configures hesai_udp.
type UDPConfig struct {
	Address     string    `toml:"address" nonempty:"true" doc:"UDP address to listen on (host:port; \":2368\" = every interface)"`
	Calibration ds3d.Path `toml:"calibration" doc:"angle-correction CSV (Channel,Elevation,Azimuth); empty = the nominal PandarXT32 table"`
	ReturnMode  string    `toml:"return_mode" enum:"|all|dual|last|strongest" doc:"returns to keep of dual packets: all (nebula's de-duplication; dual is a synonym), last (the second block of each pair) or strongest (per channel the brighter echo); empty = all"`
	CutAngle    float64   `toml:"cut_angle" min:"0" max:"<360" unit:"°" doc:"azimuth in degrees, clockwise from forward, where one scan ends and the next begins"`
	MinRange    float64   `toml:"min_range" min:"0" unit:"m" doc:"drop points at or closer than this range, metres"`
	MaxRange    float64   `toml:"max_range" min:"0" unit:"m" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	DropPartial bool      `toml:"drop_partial" doc:"drop the incomplete first scan (and the last one at the end)"`
	pcap.ListenerGroup
}

// Validate checks what the tags cannot: min_range against max_range.
func (c *UDPConfig) Validate() error {
	if err := pcap.CheckRangeConfig(c.MinRange, c.MaxRange); err != nil {
		return err
	}
	return nil
}

// UDPStats counts what the listener saw.
type UDPStats = pcap.UDPStats

// NewUDPLoader makes the hesai_udp listener (the shared pcap.Listener with this
// sensor's decoder); the socket opens in Start.
func NewUDPLoader(cfg *UDPConfig, env *ds3d.Env) (*pcap.Listener, error) {
	dcfg, err := ConfigFromOptions(pcap.SensorOptions{Calibration: string(cfg.Calibration), ReturnMode: cfg.ReturnMode,
		CutAngle: cfg.CutAngle, MinRange: cfg.MinRange, MaxRange: cfg.MaxRange})
	if err != nil {
		return nil, err
	}
	opt := cfg.Options("hesai_udp", cfg.Address, cfg.DropPartial)
	return pcap.NewListener(opt, func() (pcap.PacketDecoder, error) { return NewPacketDecoder(dcfg) }, env)
}

func init() {
	ds3d.Register(ds3d.KindLoader, "hesai_udp",
		`Listens for Hesai PandarXT32 data packets (protocol 6.1, single or dual return) on UDP and emits one pooled [N,7] float32 frame per rotation (x y z intensity ring time return: x forward, y left, z up, metres; reflectivity; channel; seconds from the scan's first packet; 0 strongest, 1 last, 4 first), cut at cut_angle; counts malformed packets and scans dropped for want of a free frame.`,
		func() *UDPConfig {
			c := &UDPConfig{Address: fmt.Sprintf(":%d", Port)}
			c.OutputKey, c.MemPoolSize, c.StatsInterval = string(ds3d.KeyLidarXYZI), 4, pcap.DefaultStatsInterval
			return c
		},
		func(c *UDPConfig, env *ds3d.Env) (any, error) { return NewUDPLoader(c, env) })
}
