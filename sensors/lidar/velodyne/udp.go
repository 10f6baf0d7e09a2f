package velodyne

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// UDPConfig configures velodyne_udp.
type UDPConfig struct {
	Address       string    `toml:"address" nonempty:"true" doc:"UDP address to listen on (host:port; \":2368\" = every interface)"`
	Model         string    `toml:"model" doc:"override the model the packets announce (vlp16, hdl32e, vlp32c)"`
	Calibration   ds3d.Path `toml:"calibration" doc:"ros-drivers calibration YAML; empty = the model's nominal table"`
	ReturnMode    string    `toml:"return_mode" enum:"|all|any|strongest|last|dual" doc:"returns to keep: all (as sent; any is a synonym), strongest, last or dual; empty = all"`
	CutAngle      float64   `toml:"cut_angle" min:"0" max:"<360" unit:"°" doc:"azimuth in degrees where one scan ends and the next begins"`
	FOV           []float64 `toml:"fov" len:"2" finite:"true" doc:"[start, end] azimuth in degrees, clockwise, of the points to keep; empty = full circle"`
	MinRange      float64   `toml:"min_range" min:"0" unit:"m" doc:"drop points at or closer than this range, metres"`
	MaxRange      float64   `toml:"max_range" min:"0" unit:"m" doc:"drop points at or beyond this range, metres; 0 = no limit"`
	Interpolation string    `toml:"interpolation" enum:"|firing|nebula|block" doc:"per-laser azimuth: firing, nebula or block; empty = firing"`
	DropPartial   bool      `toml:"drop_partial" doc:"drop the incomplete first scan (and the last one at the end)"`
	pcap.ListenerGroup
}

// UDPStats counts what the listener saw.
type UDPStats = pcap.UDPStats

// NewUDPLoader makes the velodyne_udp listener (the shared pcap.Listener with this
// sensor's decoder); the socket opens in Start.
func NewUDPLoader(cfg *UDPConfig, env *ds3d.Env) (*pcap.Listener, error) {
	dcfg, err := ConfigFromOptions(pcap.SensorOptions{Model: cfg.Model, Calibration: string(cfg.Calibration),
		ReturnMode: cfg.ReturnMode, CutAngle: cfg.CutAngle, FOV: cfg.FOV, MinRange: cfg.MinRange,
		MaxRange: cfg.MaxRange, Interpolation: cfg.Interpolation})
	if err != nil {
		return nil, err
	}
	opt := cfg.Options("velodyne_udp", cfg.Address, cfg.DropPartial)
	return pcap.NewListener(opt, func() (pcap.PacketDecoder, error) { return NewPacketDecoder(dcfg) }, env)
}

func init() {
	ds3d.Register(ds3d.KindLoader, "velodyne_udp",
		`Listens for Velodyne VLP-16/HDL-32E/VLP-32C data packets on UDP and emits one pooled [N,7] float32 frame per rotation or FOV cut (x y z intensity ring time return: ring by elevation, seconds from the scan's first firing, 0 strongest 1 last 2 both); counts malformed packets and scans dropped for want of a free frame.`,
		func() *UDPConfig {
			c := &UDPConfig{Address: fmt.Sprintf(":%d", Port)}
			c.OutputKey, c.MemPoolSize, c.StatsInterval = string(ds3d.KeyLidarXYZI), 4, pcap.DefaultStatsInterval
			return c
		},
		func(c *UDPConfig, env *ds3d.Env) (any, error) { return NewUDPLoader(c, env) })
}
