package hesai

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// Port is the default UDP port of Hesai data packets.
const Port = 2368

func init() {
	pcap.RegisterSensor("hesai", pcap.Sensor{Port: Port, New: func(o pcap.SensorOptions) (pcap.PacketDecoder, error) {
		cfg, err := ConfigFromOptions(o)
		if err != nil {
			return nil, err
		}
		return NewPacketDecoder(cfg)
	}})
}

// ConfigFromOptions reads the shared component options: Calibration is an
// angle-correction CSV (empty = the nominal XT32 table); model "" or
// "xt32"; FOV and interpolation are refused.
func ConfigFromOptions(o pcap.SensorOptions) (Config, error) {
	var c Config
	var err error
	switch {
	case o.Model != "" && o.Model != "xt32" && o.Model != "pandarxt32":
		return c, fmt.Errorf("hesai: model %q not supported (xt32)", o.Model)
	case len(o.FOV) != 0:
		return c, fmt.Errorf("hesai: fov is not supported yet")
	case o.Interpolation != "":
		return c, fmt.Errorf("hesai: interpolation does not apply")
	}
	if c.Returns, err = ParseReturnMode(o.ReturnMode); err != nil {
		return c, err
	}
	if o.Calibration != "" {
		a, err := LoadAngles(o.Calibration)
		if err != nil {
			return c, err
		}
		c.Angles = &a
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
	last  Scan // header facts of the latest scan, for Describe
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
		p.last.ReturnMode = s.ReturnMode
		p.extra = [3][]float32{s.Ring, s.Time, s.Return}
		return p.out(pcap.Scan{Points: s.Points, Timestamp: s.Timestamp, Complete: s.Complete, Extra: p.extra[:], Columns: pointColumns})
	}
	return p, nil
}

// Decode implements pcap.PacketDecoder.
func (p *PacketDecoder) Decode(payload []byte, ts int64, emit func(pcap.Scan) error) error {
	p.out = emit
	if err := p.Decoder.Decode(payload, ts, p.emit); err != nil {
		return err
	}
	p.last.ReturnMode = payload[len(payload)-tailBytes+10]
	return nil
}

// Flush implements pcap.PacketDecoder.
func (p *PacketDecoder) Flush(emit func(pcap.Scan) error) error {
	p.out = emit
	return p.Decoder.Flush(p.emit)
}

// Counters implements pcap.PacketDecoder.
func (p *PacketDecoder) Counters() map[string]int {
	s := p.Stats()
	return map[string]int{"packets": s.Packets, "malformed": s.Malformed, "sequence_gaps": s.SeqGaps,
		"points": s.Points, "scans": s.Scans, "complete_scans": s.Complete, "dual_packets": s.Dual}
}

// Describe names the sensor and the return mode of the latest packet (for
// pcap.Inspect).
func (p *PacketDecoder) Describe() (model, returnMode string) {
	model = fmt.Sprintf("Hesai PandarXT (%d lasers)", p.Lasers())
	if p.Lasers() == 32 {
		model = "Hesai PandarXT32"
	}
	return model, ReturnModeName(p.last.ReturnMode)
}
