package ouster

import (
	"fmt"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// UDPConfig configures ouster_udp.
type UDPConfig struct {
	Address     string        `toml:"address" doc:"UDP address to listen on for lidar packets (host:port; \":7502\" = every interface)"`
	Metadata    ds3d.Path     `toml:"metadata" doc:"sensor metadata JSON (from the sensor's get_metadata or ouster-cli); its udp_profile_lidar must match the packets" required:"true"`
	ReturnMode  string        `toml:"return_mode" doc:"returns to keep (dual profile): all, strongest or second"`
	MinRange    float64       `toml:"min_range" doc:"drop points at or closer than this range, metres"`
	MaxRange    float64       `toml:"max_range" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	DropPartial bool          `toml:"drop_partial" doc:"drop frames that miss columns (the first one joined mid-rotation, lost packets)"`
	IdleTimeout time.Duration `toml:"idle_timeout" doc:"end the stream after this long without a packet (\"0s\" = listen until stopped)"`
	MaxFrames   int           `toml:"max_frames" doc:"end the stream after this many frames; 0 = no limit"`
	ReadBuffer  int           `toml:"read_buffer" doc:"socket receive buffer in bytes (SO_RCVBUF); 0 keeps the system's"`
	SourceID    int           `toml:"source_id" doc:"DS3D::SourceId of the frames"`
	OutputKey   string        `toml:"output_datamap_key" doc:"key of the point frame"`
	MemPoolSize int           `toml:"mem_pool_size" doc:"frames in flight; a frame finished while all are downstream is dropped and counted"`
}

// Validate checks ranges.
func (c *UDPConfig) Validate() error {
	switch {
	case c.Address == "":
		return ds3d.ConfigErrorf("address", "must not be empty")
	case c.Metadata == "":
		return ds3d.ConfigErrorf("metadata", "give the sensor metadata JSON")
	}
	if err := pcap.CheckRangeConfig(c.MinRange, c.MaxRange); err != nil {
		return err
	}
	if err := pcap.CheckListenerConfig(c.IdleTimeout, c.MaxFrames, c.MemPoolSize, c.OutputKey); err != nil {
		return err
	}
	if _, err := ParseReturnMode(c.ReturnMode); err != nil {
		return ds3d.ConfigErrorf("return_mode", "%v", err)
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
	opt := pcap.ListenerOptions{Name: "ouster_udp", Address: cfg.Address, DropPartial: cfg.DropPartial,
		IdleTimeout: cfg.IdleTimeout, MaxFrames: cfg.MaxFrames, ReadBuffer: cfg.ReadBuffer,
		SourceID: cfg.SourceID, OutputKey: cfg.OutputKey, MemPoolSize: cfg.MemPoolSize}
	return pcap.NewListener(opt, func() (pcap.PacketDecoder, error) { return NewPacketDecoder(dcfg) }, env)
}

func init() {
	ds3d.Register(ds3d.KindLoader, "ouster_udp",
		`Listens for Ouster lidar packets (LEGACY or RNG19_RFL8_SIG16_NIR16_DUAL, as the sensor metadata JSON says) on UDP and emits one pooled [N,4] float32 frame per frame id (x forward, y left, z up, metres; reflectivity); counts malformed packets and frames dropped for want of a free frame.`,
		func() *UDPConfig {
			return &UDPConfig{Address: fmt.Sprintf(":%d", Port), OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 4}
		},
		func(c *UDPConfig, env *ds3d.Env) (any, error) { return NewUDPLoader(c, env) })
}
