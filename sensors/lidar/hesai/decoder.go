// Package hesai decodes Hesai PandarXT (XT32, XT16; UDP protocol 6.1) data
// packets into point frames. A packet is a 12-byte header (EE FF, protocol
// 6.1, laser and block counts, distance unit in mm, returns per firing),
// block_num blocks of (azimuth u16 in 0.01°, laser_num × (distance u16 in
// distance units, reflectivity u8, reserved u8)) and a 28-byte tail (return
// mode, motor speed, UTC date-time, µs timestamp, factory byte, UDP
// sequence); in dual-return modes consecutive block pairs share a firing.
// In mode 0x39 (last and strongest) the second block of a pair holds the
// last echo and the first the strongest, or the second strongest where the
// last echo is the strongest (as Velodyne's dual mode does): of the 8,829
// firings of the bundled XT32 capture that kept two echoes of a channel,
// the second block's is the farther in every one and the brighter in 85 %. Per-channel elevation ε and azimuth offset
// δ come from the angle table (PandarXT32.csv: Channel,Elevation,Azimuth,
// degrees; the nominal XT32 table is built in). With α = block azimuth + δ
// (clockwise from the sensor's forward axis, seen from above) and d the
// distance in metres, a point is (d·cosε·cosα, −d·cosε·sinα, d·sinε): the
// project's convention, x forward, y left, z up. (tier4/nebula writes the
// same point in Hesai's own frame, (d·cosε·sinα, d·cosε·cosα, d·sinε),
// y forward and x right; the tests rotate nebula's reference by 90° to
// compare.) Intensity is the reflectivity (0–255). As nebula does, a dual
// firing keeps its second return and keeps the first only when the two
// ranges differ by at least DualThreshold (0.1 m). Scans are cut where the
// block azimuth passes CutAngle. Importing the package registers sensor
// "hesai" (UDP 2368) with pcap_file_loader and the hesai_udp component.
//
// Every point also carries ring, time and return (Scan.Ring, Scan.Time,
// Scan.Return; the ds3d columns of those names): ring is the channel, 0 =
// the angle table's first row (the XT32's top beam); time is the firing
// time in seconds after the scan's first packet's tail timestamp, from the
// PandarXT32 user manual's firing schedule as nebula's
// get_packet_relative_point_time_offset has it: block b (0-based, of B
// blocks, R returns) fires 5.632 − 50·⌊(B−1−b)/R⌋ µs after its packet's
// timestamp and channel n 0.368 + 1.512·n µs into the firing, so a scan's
// first points are up to 350 µs negative; return is 0 strongest (and the
// single-return modes first and strongest), 1 last, 2 both (a dual firing
// whose two echoes lie within DualThreshold, kept once), 3 second
// strongest, 4 first. In mode 0x39 the first block's echo is 0 when it is
// at least as bright as the last one, else 3; mode 0x3B is taken as
// (first, last) and 0x3C as (first, strongest) in packet order (nebula
// flips 0x3B for the XT32 likewise; no capture here checks those two).
package hesai

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// Return modes of the tail's return-mode byte.
const (
	ModeFirst           = 0x33
	ModeStrongest       = 0x37
	ModeLast            = 0x38
	ModeLastStrongest   = 0x39
	ModeLastFirst       = 0x3b
	ModeFirstStrongest  = 0x3c
	headerBytes         = 12
	tailBytes           = 28
	DefaultDualDistance = 0.1 // m, nebula's dual_return_distance_threshold
)

// ReturnModeName names a tail return-mode byte.
func ReturnModeName(b byte) string {
	switch b {
	case ModeFirst:
		return "first"
	case ModeStrongest:
		return "strongest"
	case ModeLast:
		return "last"
	case ModeLastStrongest:
		return "dual (last, strongest)"
	case ModeLastFirst:
		return "dual (last, first)"
	case ModeFirstStrongest:
		return "dual (first, strongest)"
	}
	return fmt.Sprintf("unknown (0x%02x)", b)
}

// Returns selects the returns of a dual firing.
type Returns int

const (
	ReturnAll         Returns = iota // both, the first dropped when within DualThreshold of the second (nebula)
	ReturnFirstBlock                 // the first block of each pair (0x39: the strongest or second strongest)
	ReturnSecondBlock                // the second block of each pair (0x39: the last)
	ReturnBrighter                   // per channel the brighter echo of the pair (the strongest; the last on a tie)
)

// ParseReturnMode reads the shared return_mode option: "", "all" or
// "dual" keep both returns (deduplicated); for dual packets "last" keeps the
// second block of each pair (mode 0x39's last echo) and "strongest" the
// brighter echo of each channel.
func ParseReturnMode(s string) (Returns, error) {
	switch s {
	case "", "all", "dual":
		return ReturnAll, nil
	case "last":
		return ReturnSecondBlock, nil
	case "strongest":
		return ReturnBrighter, nil
	}
	return 0, fmt.Errorf("hesai: unknown return mode %q (want all, dual, last or strongest)", s)
}

// Angles is a per-channel angle table, degrees.
type Angles struct {
	Elevation, Azimuth []float64
}

// XT32 is the nominal PandarXT32 table (nebula's PandarXT32.csv).
var XT32 = Angles{
	Elevation: []float64{14.972363, 13.952372, 12.938632, 11.931141, 10.926151, 9.922410, 8.917419, 7.917429, 6.919938, 5.919947,
		4.922456, 3.924965, 2.929974, 1.936233, 0.944992, -0.047500, -1.039991, -2.036232, -3.028723, -4.024964, -5.019955,
		-6.016196, -7.013687, -8.013678, -9.011169, -10.011159, -11.006150, -12.003641, -12.996131, -13.997372, -15.004862, -16.023602},
	Azimuth: []float64{0.082385, 0.076529, 0.078240, 0.076267, 0.064337, 0.059942, 0.049319, 0.044992, 0.034446, 0.027658, 0.020896,
		0.014147, 0.008668, -0.000548, -0.007248, -0.015201, -0.025654, -0.031126, -0.037837, -0.045822, -0.061312, -0.065570,
		-0.068599, -0.076658, -0.088476, -0.091580, -0.098438, -0.092837, -0.102247, -0.104231, -0.118783, -0.129679},
}

// LoadAngles reads a Hesai angle-correction CSV (header line, then
// Channel,Elevation,Azimuth per laser, channels 1…N in order).
func LoadAngles(path string) (Angles, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Angles{}, err
	}
	return ParseAngles(b, path)
}

// ParseAngles parses angle-correction CSV; name is for errors.
func ParseAngles(b []byte, name string) (Angles, error) {
	var a Angles
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || line == 1 && !strings.ContainsAny(s[:1], "0123456789") {
			continue
		}
		f := strings.Split(s, ",")
		if len(f) < 3 {
			return a, fmt.Errorf("hesai angles %s: line %d: %d fields, want Channel,Elevation,Azimuth", name, line, len(f))
		}
		var v [3]float64
		var err error
		for i := range v {
			if v[i], err = strconv.ParseFloat(strings.TrimSpace(f[i]), 64); err != nil || math.IsNaN(v[i]) {
				return a, fmt.Errorf("hesai angles %s: line %d: field %d: %q is not a number", name, line, i+1, f[i])
			}
		}
		if int(v[0]) != len(a.Elevation)+1 {
			return a, fmt.Errorf("hesai angles %s: line %d: channel %v, want %d", name, line, v[0], len(a.Elevation)+1)
		}
		if math.Abs(v[1]) > 90 || math.Abs(v[2]) > 30 {
			return a, fmt.Errorf("hesai angles %s: line %d: elevation %v° / azimuth %v° out of range", name, line, v[1], v[2])
		}
		a.Elevation = append(a.Elevation, v[1])
		a.Azimuth = append(a.Azimuth, v[2])
	}
	if len(a.Elevation) == 0 {
		return a, fmt.Errorf("hesai angles %s: no channels", name)
	}
	return a, nil
}

// Config says how to decode. The zero value decodes XT32 packets with the
// nominal table, all returns, cutting at azimuth 0.
type Config struct {
	// Angles replaces the nominal XT32 table (its length must be the
	// packets' laser count).
	Angles *Angles
	// Returns selects returns of dual packets.
	Returns Returns
	// DualThreshold (m, 0 = DefaultDualDistance) drops the first return of
	// a dual firing this close to the second.
	DualThreshold float64
	// CutAngle (degrees, clockwise from forward) ends a scan when the block
	// azimuth passes it.
	CutAngle float64
	// MinRange drops points at or closer than this, metres; MaxRange
	// (when > 0) at or beyond.
	MinRange, MaxRange float64
}

// PacketError describes a dropped packet.
type PacketError struct {
	Offset int // byte in the payload, -1 when about the whole packet
	Msg    string
}

func (e *PacketError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("hesai packet: byte %d: %s", e.Offset, e.Msg)
	}
	return "hesai packet: " + e.Msg
}

// Scan is one rotation (or the points between two cuts). It is owned by
// the decoder and valid only during the emit call that hands it out.
type Scan struct {
	// Points holds x, y, z, intensity per point (len = 4·N); Ring, Time
	// and Return one value per point (see the package comment).
	Points             []float32
	Ring, Time, Return []float32
	// Timestamp is the capture (or arrival) time of the scan's first
	// packet, ns; SensorTime that packet's own UTC time, ns since the epoch.
	Timestamp, SensorTime int64
	Packets, Firings      int
	// Complete is true when the scan began and ended at a cut.
	Complete bool
	// AzimuthFirst and AzimuthLast are the first and last block azimuths,
	// 0.01°.
	AzimuthFirst, AzimuthLast int
	ReturnMode                byte
	startedAtCut              bool
}

// Len is the number of points.
func (s *Scan) Len() int { return len(s.Points) / 4 }

// Stats counts what the decoder saw.
type Stats struct {
	Packets   int // decoded
	Malformed int // rejected
	SeqGaps   int // packets missing by the tail's UDP sequence number
	Points    int
	Scans     int
	Complete  int
	Dual      int // dual-return packets
}

// Decoder turns PandarXT packets into scans. Not safe for concurrent use.
type Decoder struct {
	cfg        Config
	ang        Angles
	cosE, sinE []float32
	cosD, sinD []float32
	minR, maxR float32
	thr        float32
	cut        int
	cur        Scan
	active     bool
	prevAz     int
	seq        uint32
	haveSeq    bool
	stats      Stats
}

// sin/cos of the block azimuth in 0.01° steps.
var sinTab, cosTab = func() ([]float32, []float32) {
	s, c := make([]float32, 36000), make([]float32, 36000)
	for i := range s {
		a := float64(i) * math.Pi / 18000
		s[i], c[i] = float32(math.Sin(a)), float32(math.Cos(a))
	}
	return s, c
}()

// NewDecoder checks the configuration.
func NewDecoder(cfg Config) (*Decoder, error) {
	switch {
	case cfg.CutAngle < 0 || cfg.CutAngle >= 360 || math.IsNaN(cfg.CutAngle):
		return nil, fmt.Errorf("hesai: cut angle %v° not in [0, 360)", cfg.CutAngle)
	case cfg.MinRange < 0 || cfg.MaxRange < 0 || (cfg.MaxRange > 0 && cfg.MaxRange <= cfg.MinRange):
		return nil, fmt.Errorf("hesai: range limits [%v, %v] m", cfg.MinRange, cfg.MaxRange)
	case cfg.DualThreshold < 0:
		return nil, fmt.Errorf("hesai: dual threshold %v m", cfg.DualThreshold)
	case cfg.Returns < ReturnAll || cfg.Returns > ReturnBrighter:
		return nil, fmt.Errorf("hesai: bad return selection %d", cfg.Returns)
	}
	d := &Decoder{cfg: cfg, ang: XT32, prevAz: -1, minR: float32(cfg.MinRange), maxR: float32(cfg.MaxRange),
		thr: float32(cfg.DualThreshold), cut: int(math.Round(cfg.CutAngle * 100))}
	if d.thr == 0 {
		d.thr = DefaultDualDistance
	}
	if cfg.Angles != nil {
		if len(cfg.Angles.Elevation) == 0 || len(cfg.Angles.Azimuth) != len(cfg.Angles.Elevation) {
			return nil, fmt.Errorf("hesai: angle table with %d elevations and %d azimuths", len(cfg.Angles.Elevation), len(cfg.Angles.Azimuth))
		}
		d.ang = *cfg.Angles
	}
	for i := range d.ang.Elevation {
		e, o := d.ang.Elevation[i]*math.Pi/180, d.ang.Azimuth[i]*math.Pi/180
		d.cosE, d.sinE = append(d.cosE, float32(math.Cos(e))), append(d.sinE, float32(math.Sin(e)))
		d.cosD, d.sinD = append(d.cosD, float32(math.Cos(o))), append(d.sinD, float32(math.Sin(o)))
	}
	return d, nil
}

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Lasers is the channel count of the angle table.
func (d *Decoder) Lasers() int { return len(d.cosE) }

func (d *Decoder) bad(off int, format string, args ...any) error {
	d.stats.Malformed++
	return &PacketError{off, fmt.Sprintf(format, args...)}
}

// Header is what a packet's header and tail announce.
type Header struct {
	Lasers, Blocks, Returns int
	DistUnitMM              int
	ReturnMode              byte
	MotorRPM                int
	SensorTime              int64 // ns since the epoch
	Seq                     uint32
}

// ParseHeader checks a packet's framing and reads its header and tail.
func ParseHeader(p []byte) (Header, error) {
	var h Header
	if len(p) < headerBytes+tailBytes {
		return h, &PacketError{-1, fmt.Sprintf("%d bytes, too short for header and tail", len(p))}
	}
	if p[0] != 0xee || p[1] != 0xff {
		return h, &PacketError{0, fmt.Sprintf("start %02X %02X, want EE FF", p[0], p[1])}
	}
	if p[2] != 6 || p[3] != 1 {
		return h, &PacketError{2, fmt.Sprintf("protocol %d.%d, want 6.1 (PandarXT)", p[2], p[3])}
	}
	h.Lasers, h.Blocks, h.DistUnitMM, h.Returns = int(p[6]), int(p[7]), int(p[9]), int(p[10])
	if h.Lasers == 0 || h.Blocks == 0 || h.DistUnitMM == 0 || h.Returns < 1 || h.Returns > 2 || h.Blocks%h.Returns != 0 {
		return h, &PacketError{6, fmt.Sprintf("%d lasers, %d blocks, distance unit %d mm, %d returns", h.Lasers, h.Blocks, h.DistUnitMM, h.Returns)}
	}
	if want := headerBytes + h.Blocks*(2+4*h.Lasers) + tailBytes; len(p) != want {
		return h, &PacketError{-1, fmt.Sprintf("%d bytes, want %d for %d blocks × %d lasers", len(p), want, h.Blocks, h.Lasers)}
	}
	t := p[len(p)-tailBytes:]
	le := binary.LittleEndian
	h.ReturnMode = t[10]
	h.MotorRPM = int(le.Uint16(t[11:]))
	dt := t[13:19]
	h.SensorTime = time.Date(1900+int(dt[0]), time.Month(dt[1]), int(dt[2]), int(dt[3]), int(dt[4]), int(dt[5]), 0, time.UTC).UnixNano() +
		int64(le.Uint32(t[19:]))*1000
	h.Seq = le.Uint32(t[24:])
	return h, nil
}

// Decode decodes a packet captured at ts (ns) and calls emit for every scan
// it completes. A malformed packet is a *PacketError that changes nothing.
func (d *Decoder) Decode(p []byte, ts int64, emit func(*Scan) error) error {
	h, err := ParseHeader(p)
	if err != nil {
		d.stats.Malformed++
		return err
	}
	if h.Lasers != len(d.cosE) {
		return d.bad(6, "%d lasers, the angle table has %d", h.Lasers, len(d.cosE))
	}
	stride := 2 + 4*h.Lasers
	le := binary.LittleEndian
	for b := 0; b < h.Blocks; b++ {
		if az := int(le.Uint16(p[headerBytes+b*stride:])); az >= 36000 {
			return d.bad(headerBytes+b*stride, "block %d: azimuth %d ≥ 36000", b, az)
		}
	}
	d.stats.Packets++
	if h.Returns == 2 {
		d.stats.Dual++
	}
	if d.haveSeq && h.Seq-d.seq > 1 && h.Seq-d.seq < 1<<30 {
		d.stats.SeqGaps += int(h.Seq - d.seq - 1)
	}
	d.seq, d.haveSeq = h.Seq, true
	unit := float32(h.DistUnitMM) / 1000
	newPacket := true
	for b := 0; b < h.Blocks; b += h.Returns {
		o := headerBytes + b*stride
		az := int(le.Uint16(p[o:]))
		if d.prevAz >= 0 && d.crossed(d.prevAz, az) {
			if d.active {
				if err := d.finish(true, emit); err != nil {
					d.prevAz = az
					return err
				}
			}
			d.begin(ts, h, az, true)
			newPacket = false
		} else if !d.active {
			d.begin(ts, h, az, false)
			newPacket = false
		}
		if newPacket {
			d.cur.Packets++
			newPacket = false
		}
		d.prevAz = az
		d.cur.AzimuthLast = az
		d.cur.Firings++
		// Firing time after the scan's first packet, ns.
		tf := float64(h.SensorTime-d.cur.SensorTime) + 5632 - 50000*float64((h.Blocks-1-b)/h.Returns)
		r1, r2 := returnsOf(h.ReturnMode)
		first := p[o+2 : o+stride]
		if h.Returns == 1 {
			d.block(first, az, unit, tf, blockOpt{ret: r1})
			continue
		}
		second := p[o+stride+2 : o+2*stride]
		rank := h.ReturnMode == ModeLastStrongest
		switch d.cfg.Returns {
		case ReturnFirstBlock:
			d.block(first, az, unit, tf, blockOpt{ret: r1, rankBy: second, rank: rank})
		case ReturnSecondBlock:
			d.block(second, az, unit, tf, blockOpt{ret: r2})
		case ReturnBrighter:
			d.block(first, az, unit, tf, blockOpt{ret: 0, brighter: second})
			d.block(second, az, unit, tf, blockOpt{ret: r2, brighterEq: first})
		default:
			d.block(first, az, unit, tf, blockOpt{ret: r1, other: second, rankBy: second, rank: rank})
			d.block(second, az, unit, tf, blockOpt{ret: r2, pair: first})
		}
	}
	return nil
}

// returnsOf gives the return column of a packet's first and second block
// of a firing (see the package comment).
func returnsOf(mode byte) (first, second float32) {
	switch mode {
	case ModeLast:
		return 1, 1
	case ModeLastStrongest:
		return 0, 1
	case ModeLastFirst:
		return 4, 1
	case ModeFirstStrongest:
		return 4, 0
	}
	return 0, 0
}

// crossed reports whether going clockwise from a to b passes the cut.
func (d *Decoder) crossed(a, b int) bool {
	step := (b - a + 36000) % 36000
	if step == 0 || step >= 18000 {
		return false
	}
	k := (d.cut - a + 36000) % 36000
	return k > 0 && k <= step
}

// blockOpt says how block treats a block of a dual firing; the byte
// slices are the paired block's units.
type blockOpt struct {
	ret float32
	// other suppresses this block's echoes within the dual threshold of
	// its own; pair marks them both (return 2) instead.
	other, pair []byte
	// rankBy with rank: return 0 where this echo is at least as bright as
	// rankBy's, else 3 (second strongest).
	rankBy []byte
	rank   bool
	// brighter keeps only echoes brighter than its; brighterEq those at
	// least as bright.
	brighter, brighterEq []byte
}

// block appends a block's points.
func (d *Decoder) block(units []byte, az int, unit float32, tf float64, o blockOpt) {
	sa, ca := sinTab[az], cosTab[az]
	sc := &d.cur
	pts := sc.Points
	for ch := range d.cosE {
		u := units[4*ch:]
		raw := uint16(u[0]) | uint16(u[1])<<8
		if raw == 0 {
			continue
		}
		r := float32(raw) * unit
		if r <= d.minR || (d.maxR > 0 && r >= d.maxR) {
			continue
		}
		if o.brighter != nil && u[2] <= o.brighter[4*ch+2] || o.brighterEq != nil && u[2] < o.brighterEq[4*ch+2] {
			continue
		}
		if o.other != nil {
			r2 := float32(uint16(o.other[4*ch])|uint16(o.other[4*ch+1])<<8) * unit
			if r-r2 < d.thr && r2-r < d.thr {
				continue
			}
		}
		ret := o.ret
		if o.rank && u[2] < o.rankBy[4*ch+2] {
			ret = 3
		}
		if o.pair != nil {
			r2 := float32(uint16(o.pair[4*ch])|uint16(o.pair[4*ch+1])<<8) * unit
			if r-r2 < d.thr && r2-r < d.thr {
				ret = 2
			}
		}
		s := sa*d.cosD[ch] + ca*d.sinD[ch] // sin(α+δ)
		c := ca*d.cosD[ch] - sa*d.sinD[ch] // cos(α+δ)
		xy := r * d.cosE[ch]
		pts = append(pts, xy*c, -xy*s, r*d.sinE[ch], float32(u[2]))
		sc.Ring = append(sc.Ring, float32(ch))
		sc.Time = append(sc.Time, float32((tf+368+1512*float64(ch))*1e-9))
		sc.Return = append(sc.Return, ret)
	}
	d.cur.Points = pts
}

func (d *Decoder) begin(ts int64, h Header, az int, atCut bool) {
	pts := d.cur.Points[:0]
	d.cur = Scan{Points: pts, Ring: d.cur.Ring[:0], Time: d.cur.Time[:0], Return: d.cur.Return[:0], Timestamp: ts, SensorTime: h.SensorTime, Packets: 1, AzimuthFirst: az, ReturnMode: h.ReturnMode, startedAtCut: atCut}
	d.active = true
}

func (d *Decoder) finish(complete bool, emit func(*Scan) error) error {
	d.active = false
	d.cur.Complete = complete && d.cur.startedAtCut
	d.stats.Scans++
	d.stats.Points += d.cur.Len()
	if d.cur.Complete {
		d.stats.Complete++
	}
	if emit == nil {
		return nil
	}
	return emit(&d.cur)
}

// Flush emits the scan in progress (incomplete) at the end of the stream.
func (d *Decoder) Flush(emit func(*Scan) error) error {
	d.prevAz = -1
	if !d.active {
		return nil
	}
	return d.finish(false, emit)
}
