package velodyne

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// Port is the default UDP port of Velodyne data packets (8308 carries
// position packets).
const Port = 2368

func init() {
	pcap.RegisterSensor("velodyne", pcap.Sensor{Port: Port, New: func(o pcap.SensorOptions) (pcap.PacketDecoder, error) {
		cfg, err := ConfigFromOptions(o)
		if err != nil {
			return nil, err
		}
		return NewPacketDecoder(cfg)
	}})
}

// ConfigFromOptions reads the shared component options.
func ConfigFromOptions(o pcap.SensorOptions) (Config, error) {
	var c Config
	var err error
	if c.Model, err = ParseModel(o.Model); err != nil {
		return c, err
	}
	if c.Returns, err = ParseReturnMode(o.ReturnMode); err != nil {
		return c, err
	}
	if c.Interpolation, err = ParseInterp(o.Interpolation); err != nil {
		return c, err
	}
	if o.Calibration != "" {
		if c.Calibration, err = LoadCalibration(o.Calibration); err != nil {
			return c, err
		}
	}
	switch len(o.FOV) {
	case 0:
	case 2:
		c.FOVStart, c.FOVEnd = o.FOV[0], o.FOV[1]
	default:
		return c, fmt.Errorf("velodyne: fov needs [start, end], got %v", o.FOV)
	}
	c.CutAngle, c.MinRange, c.MaxRange = o.CutAngle, o.MinRange, o.MaxRange
	return c, nil
}

// PacketDecoder adapts a Decoder to pcap.PacketDecoder.
type PacketDecoder struct {
	*Decoder
	out  func(pcap.Scan) error
	emit func(*Scan) error
	// extra backs pcap.Scan.Extra so that emitting does not allocate.
	extra [3][]float32
	mode  byte // factory return-mode byte of the last good data packet
}

// pointColumns names the frames' columns (pcap.Scan.Columns).
var pointColumns = []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing, ds3d.ColTime, ds3d.ColReturn}

// NewPacketDecoder makes a Decoder behind the sensor-neutral interface.
func NewPacketDecoder(cfg Config) (*PacketDecoder, error) {
	d, err := NewDecoder(cfg)
	if err != nil {
		return nil, err
	}
	p := &PacketDecoder{Decoder: d}
	p.emit = func(s *Scan) error {
		p.extra = [3][]float32{s.Ring, s.Time, s.Return}
		return p.out(pcap.Scan{Points: s.Points, Timestamp: s.Timestamp, Complete: s.Complete, Extra: p.extra[:], Columns: pointColumns})
	}
	return p, nil
}

// Decode implements pcap.PacketDecoder.
func (p *PacketDecoder) Decode(payload []byte, ts int64, emit func(pcap.Scan) error) error {
	p.out = emit
	err := p.Decoder.Decode(payload, ts, p.emit)
	if err == nil && len(payload) == 1206 {
		p.mode = payload[1204]
	}
	return err
}

var returnModes = map[byte]string{0x37: "strongest", 0x38: "last", 0x39: "dual (last, strongest)"}

// Describe implements pcap.Describer: the model and the return mode the
// packets' factory bytes name.
func (p *PacketDecoder) Describe() (model, returnMode string) {
	return "Velodyne " + p.Model().String(), returnModes[p.mode]
}

// Flush implements pcap.PacketDecoder.
func (p *PacketDecoder) Flush(emit func(pcap.Scan) error) error {
	p.out = emit
	return p.Decoder.Flush(p.emit)
}

// Counters implements pcap.PacketDecoder.
func (p *PacketDecoder) Counters() map[string]int {
	s := p.Stats()
	return map[string]int{"packets": s.Packets, "position_packets": s.Positions, "malformed": s.Malformed,
		"return_mismatch": s.ReturnMismatch, "model_mismatch": s.ModelMismatch, "timing_mismatch": s.TimingMismatch,
		"points": s.Points, "scans": s.Scans}
}
