package ouster

import (
	"fmt"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// Port is the default UDP port of Ouster lidar packets (7503 carries IMU
// packets).
const Port = 7502

func init() {
	pcap.RegisterSensor("ouster", pcap.Sensor{Port: Port, New: func(o pcap.SensorOptions) (pcap.PacketDecoder, error) {
		cfg, err := ConfigFromOptions(o)
		if err != nil {
			return nil, err
		}
		return NewPacketDecoder(cfg)
	}})
}

// ConfigFromOptions reads the shared component options: Calibration is the
// sensor metadata JSON (required); cut angle, FOV, interpolation and model
// do not apply to Ouster (frames are cut by frame id) and are refused.
func ConfigFromOptions(o pcap.SensorOptions) (Config, error) {
	var c Config
	var err error
	switch {
	case o.Calibration == "":
		return c, fmt.Errorf("ouster: give the sensor metadata JSON as calibration")
	case o.CutAngle != 0:
		return c, fmt.Errorf("ouster: cut_angle does not apply (frames are cut by frame id)")
	case len(o.FOV) != 0:
		return c, fmt.Errorf("ouster: fov does not apply (set the sensor's azimuth window)")
	case o.Interpolation != "":
		return c, fmt.Errorf("ouster: interpolation does not apply")
	}
	if c.Returns, err = ParseReturnMode(o.ReturnMode); err != nil {
		return c, err
	}
	if c.Meta, err = LoadMetadata(o.Calibration); err != nil {
		return c, err
	}
	if o.Model != "" && o.Model != c.Meta.ProdLine {
		return c, fmt.Errorf("ouster: model %q but the metadata is for %q", o.Model, c.Meta.ProdLine)
	}
	c.MinRange, c.MaxRange = o.MinRange, o.MaxRange
	return c, nil
}

// PacketDecoder adapts a Decoder to pcap.PacketDecoder.
type PacketDecoder struct {
	*Decoder
	out  func(pcap.Scan) error
	emit func(*Scan) error
	// extra backs pcap.Scan.Extra so that emitting does not allocate.
	extra [3][]float32
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
	return p.Decoder.Decode(payload, ts, p.emit)
}

// Flush implements pcap.PacketDecoder.
func (p *PacketDecoder) Flush(emit func(pcap.Scan) error) error {
	p.out = emit
	return p.Decoder.Flush(p.emit)
}

// Counters implements pcap.PacketDecoder.
func (p *PacketDecoder) Counters() map[string]int {
	s := p.Stats()
	return map[string]int{"packets": s.Packets, "malformed": s.Malformed, "invalid_columns": s.InvalidColumns,
		"duplicate_columns": s.Duplicates, "late_columns": s.Late, "points": s.Points, "scans": s.Scans, "complete_scans": s.Complete}
}

// Describe names the sensor and profile (for pcap.Inspect).
func (p *PacketDecoder) Describe() (model, returnMode string) {
	m := p.Meta()
	model = "Ouster " + m.ProdLine
	if m.ProdLine == "" {
		model = fmt.Sprintf("Ouster %d-beam", m.PixelsPerColumn)
	}
	model += fmt.Sprintf(" (%s, %s)", m.Mode, m.Profile)
	if m.Profile == ProfileDual {
		return model, "dual (strongest + second strongest)"
	}
	return model, "single (strongest)"
}
