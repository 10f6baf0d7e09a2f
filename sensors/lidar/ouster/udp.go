package ouster

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// UDPConfig configures ouster_udp.
type UDPConfig struct {
	Address     string    `toml:"address" nonempty:"true" doc:"UDP address to listen on for lidar packets (host:port; \":7502\" = every interface)"`
	Metadata    ds3d.Path `toml:"metadata" nonempty:"true" doc:"sensor metadata JSON (from the sensor's get_metadata or ouster-cli); its udp_profile_lidar must match the packets" required:"true"`
	ReturnMode  string    `toml:"return_mode" enum:"|all|dual|strongest|first|second" doc:"returns to keep (dual profile): all (or dual), strongest (or first) or second; empty = all"`
	MinRange    float64   `toml:"min_range" min:"0" unit:"m" doc:"drop points at or closer than this range, metres"`
	MaxRange    float64   `toml:"max_range" min:"0" unit:"m" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	DropPartial bool      `toml:"drop_partial" doc:"drop frames that miss columns (the first one joined mid-rotation, lost packets)"`
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

// NewUDPLoader makes the ouster_udp listener (the shared pcap.Listener with this
// sensor's decoder); the socket opens in Start.
func NewUDPLoader(cfg *UDPConfig, env *ds3d.Env) (*pcap.Listener, error) {
	dcfg, err := ConfigFromOptions(pcap.SensorOptions{Calibration: string(cfg.Metadata), ReturnMode: cfg.ReturnMode,
		MinRange: cfg.MinRange, MaxRange: cfg.MaxRange})
	if err != nil {
		return nil, err
	}
	opt := cfg.Options("ouster_udp", cfg.Address, cfg.DropPartial)
	return pcap.NewListener(opt, func() (pcap.PacketDecoder, error) { return NewPacketDecoder(dcfg) }, env)
}

func init() {
	ds3d.Register(ds3d.KindLoader, "ouster_udp",
		`Listens for Ouster lidar packets (LEGACY or RNG19_RFL8_SIG16_NIR16_DUAL, as the sensor metadata JSON says) on UDP and emits one pooled [N,7] float32 frame per frame id (x y z intensity ring time return: x forward, y left, z up, metres; reflectivity; beam; seconds from the first column; 0 strongest, 3 second); counts malformed packets and frames dropped for want of a free frame.`,
		func() *UDPConfig {
			c := &UDPConfig{Address: fmt.Sprintf(":%d", Port)}
			c.OutputKey, c.MemPoolSize, c.StatsInterval = string(ds3d.KeyLidarXYZI), 4, pcap.DefaultStatsInterval
			return c
		},
		func(c *UDPConfig, env *ds3d.Env) (any, error) { return NewUDPLoader(c, env) })
}
