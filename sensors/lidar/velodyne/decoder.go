// Package velodyne decodes Velodyne VLP-16, HDL-32E and VLP-32C data
// packets (1206-byte UDP payloads on port 2368) into point clouds, one per
// rotation or per configured cut angle, in the framework's lidar frame:
// x forward, y left, z up, metres; intensity is the calibrated reflectivity
// byte (0–255).
//
// A packet holds 12 blocks of 100 bytes — flag FF EE, azimuth u16 LE in
// 0.01°, 32 × (range u16 LE in distance_resolution units, reflectivity u8)
// — then a u32 timestamp (µs past the hour), the return-mode byte (0x37
// strongest, 0x38 last, 0x39 dual) and the product-id byte (0x21 HDL-32E,
// 0x22 VLP-16, 0x28 VLP-32C). In dual mode blocks come in pairs of equal
// azimuth: even = last return, odd = strongest (or second strongest when
// both are the same echo). The geometry follows ros-drivers
// velodyne_pointcloud and tier4/nebula, whose reference clouds the tests
// compare against: for a laser with elevation ω, rotation correction ρ and
// offsets (h, v) at azimuth α (clockwise from the sensor's front, seen from
// above), range d:
//
//	θ  = α − ρ
//	r  = d·cos ω − v·sin ω
//	x  = r·cos θ + h·sin θ
//	y  = −(r·sin θ − h·cos θ)
//	z  = d·sin ω + v·cos ω
//
// which is x forward, y left, z up: no further rotation is needed to reach
// the framework's lidar frame. α is interpolated between consecutive blocks
// for each laser's firing time (VLP-16: two 16-laser firing sequences per
// block; HDL-32E: 32 single firings; VLP-32C: 16 pair firings) and rounded
// with ρ to 0.01° as nebula does. Config.Interpolation picks the model:
// InterpFiring (default) follows the firing schedules of the user manuals;
// InterpNebula reproduces nebula's decoders bit for bit where they differ
// (32-laser models advance 2.304/55.296 of the block step per laser slot
// rather than per laser pair, and one trailing block of each packet gets
// no interpolation), for comparison with nebula's output; InterpBlock uses
// the block azimuth for every laser.
//
// Besides x, y, z and intensity every point carries three columns
// (Scan.Ring, Scan.Time, Scan.Return; the ds3d column names ring, time and
// return): ring is the laser's rank by elevation, 0 = lowest beam (the
// `ring` of velodyne_pointcloud and nebula's `channel`); time is the
// laser's firing time in seconds after the first firing of the scan's
// first packet (its device timestamp), from the packet timestamps and the
// firing schedule, so it is ≥ 0 and spans about one rotation; return is
// 0 strongest and 1 last — the mode byte of single-return packets (0x37,
// 0x38), the block of a dual pair (odd: strongest or second strongest,
// even: last) where its two echoes differ — and 2 both, a dual firing
// whose last and strongest are the same echo, kept once (nebula's
// IDENTICAL).
package velodyne

import (
	"fmt"
	"math"
	"sort"
)

// PacketSize is the UDP payload size of a data packet; PositionSize that
// of a position (GPS/NMEA) packet on port 8308.
const (
	PacketSize   = 1206
	PositionSize = 512
	blocks       = 12
	blockBytes   = 100
)

// ReturnMode selects which returns become points.
type ReturnMode int

// Return modes. ReturnAll keeps what the sensor sends: one return in
// single mode; both in dual mode, the strongest dropped where it is the
// same echo as the last (nebula's rule).
const (
	ReturnAll ReturnMode = iota
	ReturnStrongest
	ReturnLast
	ReturnDual
)

// ParseReturnMode reads "", "all", "strongest", "last", "dual".
func ParseReturnMode(s string) (ReturnMode, error) {
	switch s {
	case "", "all", "any":
		return ReturnAll, nil
	case "strongest":
		return ReturnStrongest, nil
	case "last":
		return ReturnLast, nil
	case "dual":
		return ReturnDual, nil
	}
	return 0, fmt.Errorf("velodyne: unknown return mode %q (want all, strongest, last or dual)", s)
}

// Config says how to decode. The zero value decodes every model with its
// nominal calibration, all returns, full circle, cutting at azimuth 0.
type Config struct {
	// Model overrides the product-id byte (ModelAuto trusts it).
	Model Model
	// Calibration replaces the model's nominal table.
	Calibration *Calibration
	// Returns selects returns; a single-return packet of another mode is
	// dropped with a *PacketError.
	Returns ReturnMode
	// CutAngle (degrees, sensor azimuth) ends a scan when the azimuth
	// passes it; 0 cuts at the wrap through north. A sensor with a
	// restricted field of view should cut inside its blind sector.
	CutAngle float64
	// FOVStart and FOVEnd (degrees) keep points whose azimuth lies in
	// [FOVStart, FOVEnd] going clockwise (FOVStart > FOVEnd wraps through
	// 0); equal values keep the full circle.
	FOVStart, FOVEnd float64
	// MinRange and MaxRange (metres) keep points with MinRange < d <
	// MaxRange; MaxRange 0 means no upper limit.
	MinRange, MaxRange float64
	// Interpolation chooses how each laser's azimuth is derived from the
	// block azimuths (see the package comment).
	Interpolation Interp
}

// Interp is an azimuth interpolation model.
type Interp int

// Interpolation models.
const (
	InterpFiring Interp = iota
	InterpNebula
	InterpBlock
)

// ParseInterp reads "", "firing", "nebula", "block".
func ParseInterp(s string) (Interp, error) {
	switch s {
	case "", "firing":
		return InterpFiring, nil
	case "nebula":
		return InterpNebula, nil
	case "block":
		return InterpBlock, nil
	}
	return 0, fmt.Errorf("velodyne: unknown azimuth interpolation %q (want firing, nebula or block)", s)
}

// Stats counts packets and what happened to them.
type Stats struct {
	Packets        int // data packets decoded
	Positions      int // 512-byte position packets skipped
	Malformed      int // wrong size, bad block flag or azimuth: dropped
	ReturnMismatch int // single-return packets of a mode other than Config.Returns: dropped
	ModelMismatch  int // product byte disagreeing with the decoder's model (decoded as the model)
	TimingMismatch int // device-time steps off the model's packet period by > 3 % (steps over 10 periods are gaps, not counted)
	Points         int // points emitted
	Scans          int // scans emitted
}

// PacketError describes a packet that was dropped.
type PacketError struct {
	Offset int // byte in the payload, -1 when about the whole packet
	Msg    string
}

func (e *PacketError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("velodyne packet: byte %d: %s", e.Offset, e.Msg)
	}
	return "velodyne packet: " + e.Msg
}

// Scan is one rotation (or the points between two cuts). It is owned by
// the decoder and valid only during the emit call that hands it out.
type Scan struct {
	// Points holds x, y, z, intensity per point (len = 4·N); Ring, Time
	// and Return one value per point (see the package comment).
	Points             []float32
	Ring, Time, Return []float32
	// Timestamp is the capture (or arrival) time of the scan's first
	// packet, ns; DeviceTimeUs that packet's own timestamp (µs past the
	// hour).
	Timestamp    int64
	DeviceTimeUs uint32
	// Packets and Blocks count what contributed (a packet split by the
	// cut counts in both scans).
	Packets, Blocks int
	// Complete is true when the scan both began and ended at a cut (not at
	// the start or end of the stream).
	Complete bool
	// AzimuthFirst and AzimuthLast are the first and last block azimuths,
	// 0.01°; SweptCentiDeg adds the block-to-block steps of up to 10°
	// (larger steps are blind sectors).
	AzimuthFirst, AzimuthLast int
	SweptCentiDeg             int
	Model                     Model
	// Dual is true when the packets were dual-return.
	Dual bool

	bins         [6]uint64
	lastPacket   int
	startedAtCut bool
}

// Coverage is the number of distinct 1° azimuth bins the scan's blocks
// fall in (360 for a full rotation).
func (s *Scan) Coverage() int {
	n := 0
	for _, w := range s.bins {
		for ; w != 0; w &= w - 1 {
			n++
		}
	}
	return n
}

// Len is the number of points.
func (s *Scan) Len() int { return len(s.Points) / 4 }

// laserK is a laser's calibration unpacked for the hot loop.
type laserK struct {
	cosV, sinV, dist, vo, ho float32
	frac                     float64 // share of the block's azimuth step at this slot's firing
	ring                     float32 // rank by elevation, 0 = lowest
	fireUs                   float64 // firing time after the block's start, µs
	rotC                     float64 // 36000 − ρ in 0.01° (kept positive for the rounding)
}

// Decoder turns packets into scans. It is not safe for concurrent use.
type Decoder struct {
	cfg    Config
	model  Model
	tim    timing
	res    float32
	lasers [32]laserK
	cut    int
	// zeroBlock is the block nebula leaves uninterpolated (InterpNebula).
	zeroBlock [2]int
	fovAll    bool
	fovLo     int
	fovHi     int
	minR      float32
	maxR      float32

	cur      Scan
	haveCur  bool
	prevAz   int
	lastDiff float64
	prevDev  uint32
	haveDev  bool
	packetNo int
	stats    Stats
}

var cosT, sinT [36000]float32

func init() {
	for i := range cosT {
		s, c := math.Sincos(float64(i) * math.Pi / 18000)
		cosT[i], sinT[i] = float32(c), float32(s)
	}
}

// NewDecoder checks the configuration. With Model set, the calibration is
// resolved now; with ModelAuto, on the first packet.
func NewDecoder(cfg Config) (*Decoder, error) {
	d := &Decoder{cfg: cfg, prevAz: -1}
	for _, a := range []float64{cfg.CutAngle, cfg.FOVStart, cfg.FOVEnd} {
		if math.IsNaN(a) || a < 0 || a >= 360 {
			return nil, fmt.Errorf("velodyne: angle %v° out of [0, 360)", a)
		}
	}
	if cfg.MinRange < 0 || cfg.MaxRange < 0 || (cfg.MaxRange > 0 && cfg.MaxRange <= cfg.MinRange) {
		return nil, fmt.Errorf("velodyne: range limits [%v, %v] m make no sense", cfg.MinRange, cfg.MaxRange)
	}
	d.cut = int(math.Round(cfg.CutAngle*100)) % 36000
	d.fovLo, d.fovHi = int(math.Round(cfg.FOVStart*100)), int(math.Round(cfg.FOVEnd*100))
	d.fovAll = d.fovLo == d.fovHi
	d.minR = float32(cfg.MinRange)
	d.maxR = float32(cfg.MaxRange)
	if cfg.MaxRange == 0 {
		d.maxR = float32(math.Inf(1))
	}
	if cfg.Model != ModelAuto {
		if err := d.setModel(cfg.Model); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *Decoder) setModel(m Model) error {
	cal := d.cfg.Calibration
	if cal == nil {
		var err error
		if cal, err = NominalCalibration(m); err != nil {
			return err
		}
	}
	tim := modelTiming(m)
	if cal.NumLasers != tim.lasers {
		return fmt.Errorf("velodyne: calibration %s has %d lasers but the %v has %d", cal.Name, cal.NumLasers, m, tim.lasers)
	}
	d.model, d.tim = m, tim
	rank := make([]int, tim.lasers)
	for i := range rank {
		rank[i] = i
	}
	sort.SliceStable(rank, func(a, b int) bool { return cal.Lasers[rank[a]].VertCorrection < cal.Lasers[rank[b]].VertCorrection })
	ringOf := make([]float32, tim.lasers)
	for r, i := range rank {
		ringOf[i] = float32(r)
	}
	d.res = float32(cal.DistanceResolution)
	d.zeroBlock = [2]int{-1, -1}
	if d.cfg.Interpolation == InterpNebula {
		if m == VLP16 {
			d.zeroBlock = [2]int{blocks - 1, blocks - 2} // single, dual
		} else {
			d.zeroBlock = [2]int{blocks - 1, blocks - 5}
		}
	}
	for j := 0; j < 32; j++ {
		l := cal.Lasers[j%tim.lasers]
		sv, cv := math.Sincos(l.VertCorrection)
		k := laserK{cosV: float32(cv), sinV: float32(sv),
			dist: float32(l.DistCorrection), vo: float32(l.VertOffset), ho: float32(l.HorizOffset),
			rotC: 36000 - l.RotCorrection*18000/math.Pi, ring: ringOf[j%tim.lasers], fireUs: tim.frac[j] * tim.blockUs}
		switch d.cfg.Interpolation {
		case InterpFiring:
			k.frac = tim.frac[j]
		case InterpNebula:
			k.frac = tim.frac[j]
			if m != VLP16 {
				k.frac = float64(j) * 2.304 / 55.296
			}
		}
		d.lasers[j] = k
	}
	return nil
}

// Model is the model being decoded (ModelAuto before the first packet).
func (d *Decoder) Model() Model { return d.model }

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

// Decode decodes one UDP payload captured at ts (ns) and calls emit for
// every scan it completes (usually none, at most one for real data). A
// position packet is counted and skipped. A malformed packet or one of the
// wrong return mode returns a *PacketError and changes nothing; an error
// from emit is returned as is.
func (d *Decoder) Decode(p []byte, ts int64, emit func(*Scan) error) error {
	if len(p) == PositionSize {
		d.stats.Positions++
		return nil
	}
	if len(p) != PacketSize {
		d.stats.Malformed++
		return &PacketError{Offset: -1, Msg: fmt.Sprintf("%d bytes, want %d", len(p), PacketSize)}
	}
	var az [blocks]int
	for b := 0; b < blocks; b++ {
		o := b * blockBytes
		if p[o] != 0xFF || p[o+1] != 0xEE {
			d.stats.Malformed++
			return &PacketError{Offset: o, Msg: fmt.Sprintf("block %d flag %02X %02X, want FF EE", b, p[o], p[o+1])}
		}
		az[b] = int(p[o+2]) | int(p[o+3])<<8
		if az[b] >= 36000 {
			d.stats.Malformed++
			return &PacketError{Offset: o + 2, Msg: fmt.Sprintf("block %d azimuth %d ≥ 36000", b, az[b])}
		}
	}
	mode, prod := p[1204], p[1205]
	dual := mode == ModeDual
	switch d.cfg.Returns {
	case ReturnStrongest, ReturnLast:
		want, other := byte(ModeStrongest), byte(ModeLast)
		if d.cfg.Returns == ReturnLast {
			want, other = other, want
		}
		if mode == other {
			d.stats.ReturnMismatch++
			return &PacketError{Offset: 1204, Msg: fmt.Sprintf("return mode 0x%02X, configured for 0x%02X", mode, want)}
		}
	case ReturnDual:
		if !dual {
			d.stats.ReturnMismatch++
			return &PacketError{Offset: 1204, Msg: fmt.Sprintf("return mode 0x%02X is not dual (0x39)", mode)}
		}
	}
	pm := modelOfProduct(prod)
	if d.model == ModelAuto {
		if pm == ModelAuto {
			d.stats.Malformed++
			return &PacketError{Offset: 1205, Msg: fmt.Sprintf("unknown product id 0x%02X: set the model", prod)}
		}
		if err := d.setModel(pm); err != nil {
			return err
		}
	} else if pm != d.model {
		d.stats.ModelMismatch++
	}
	dev := uint32(p[1200]) | uint32(p[1201])<<8 | uint32(p[1202])<<16 | uint32(p[1203])<<24
	d.checkTiming(dev, dual)
	d.stats.Packets++
	d.packetNo++

	step := 1
	if dual {
		step = 2
	}
	for b := 0; b < blocks; b++ {
		a := az[b]
		// Azimuth advance over this block, for per-firing interpolation.
		diff := d.lastDiff
		if b+step < blocks {
			if dd := float64((az[b+step] - a + 36000) % 36000); dd <= 1000 {
				diff, d.lastDiff = dd, dd
			}
		} else if b == d.zeroBlock[step-1] {
			diff = 0
		}
		if d.prevAz >= 0 && a != d.prevAz {
			relP, relC := (d.prevAz-d.cut+36000)%36000, (a-d.cut+36000)%36000
			if relP-relC > 9000 && d.haveCur {
				if err := d.finish(true, emit); err != nil {
					return err
				}
			}
		}
		if !d.haveCur {
			d.start(ts, dev, d.prevAz >= 0)
		}
		s := &d.cur
		if d.prevAz >= 0 {
			if st := (a - d.prevAz + 36000) % 36000; st <= 1000 {
				s.SweptCentiDeg += st
			}
		}
		d.prevAz = a
		if s.lastPacket != d.packetNo {
			s.lastPacket = d.packetNo
			s.Packets++
		}
		if s.Blocks == 0 {
			s.AzimuthFirst = a
			s.Dual = dual
		}
		s.Blocks++
		s.AzimuthLast = a
		s.bins[a/100/64] |= 1 << (a / 100 % 64)

		if dual {
			last := b%2 == 0
			if (d.cfg.Returns == ReturnStrongest && last) || (d.cfg.Returns == ReturnLast && !last) {
				continue
			}
		}
		var other, pair []byte
		ret := float32(0)
		if mode == ModeLast {
			ret = 1
		}
		if dual {
			switch {
			case b%2 == 0:
				ret = 1
				if d.cfg.Returns != ReturnLast {
					pair = p[(b+1)*blockBytes+4 : (b+2)*blockBytes]
				}
			case d.cfg.Returns != ReturnStrongest:
				other = p[(b-1)*blockBytes+4 : b*blockBytes]
			}
		}
		// Firing time of the block's first laser after the scan's first
		// packet (device clock, µs past the hour, wrapping hourly).
		tb := float64((int64(dev)-int64(s.DeviceTimeUs)+3_600_000_000)%3_600_000_000) + float64(b/step)*d.tim.blockUs
		d.block(p[b*blockBytes+4:(b+1)*blockBytes], other, pair, float64(a), diff, tb, ret)
	}
	return nil
}

// checkTiming compares the device-time step with the model's packet period.
func (d *Decoder) checkTiming(dev uint32, dual bool) {
	if d.haveDev {
		stepUs := float64((int64(dev) - int64(d.prevDev) + 3_600_000_000) % 3_600_000_000)
		want := d.tim.blockUs * blocks
		if dual {
			want /= 2
		}
		if stepUs < 10*want && math.Abs(stepUs-want) > 0.03*want { // longer steps: blind sector or lost packets
			d.stats.TimingMismatch++
		}
	}
	d.prevDev, d.haveDev = dev, true
}

func (d *Decoder) start(ts int64, dev uint32, atCut bool) {
	pts := d.cur.Points[:0]
	d.cur = Scan{Points: pts, Ring: d.cur.Ring[:0], Time: d.cur.Time[:0], Return: d.cur.Return[:0], Timestamp: ts, DeviceTimeUs: dev, Model: d.model, startedAtCut: atCut}
	d.haveCur = true
}

func (d *Decoder) finish(complete bool, emit func(*Scan) error) error {
	d.haveCur = false
	s := &d.cur
	s.Complete = complete && s.startedAtCut
	d.stats.Scans++
	d.stats.Points += s.Len()
	if emit == nil {
		return nil
	}
	return emit(s)
}

// Flush emits the scan in progress (incomplete) at the end of a stream and
// starts afresh: the next packet begins a new, incomplete scan.
func (d *Decoder) Flush(emit func(*Scan) error) error {
	d.prevAz, d.haveDev = -1, false
	if !d.haveCur || d.cur.Blocks == 0 {
		d.haveCur = false
		return nil
	}
	return d.finish(false, emit)
}

// block decodes 32 channels of one block; other is the paired last-return
// block in dual mode (channels with an identical range are skipped), pair
// the strongest-return block paired with a last-return one (channels with
// an identical range are both, return 2). tb is the block's firing time
// in the scan (µs), ret the return of its points.
func (d *Decoder) block(ch, other, pair []byte, az, diff, tb float64, ret float32) {
	s := &d.cur
	n := len(s.Points)
	if cap(s.Points)-n < 32*4 {
		grown := make([]float32, n, 2*cap(s.Points)+32*4*blocks*8)
		copy(grown, s.Points)
		s.Points = grown
	}
	pts := s.Points[:n+32*4]
	ch = ch[:96]
	for j := 0; j < 32; j++ {
		raw := uint16(ch[3*j]) | uint16(ch[3*j+1])<<8
		if raw == 0 {
			continue
		}
		if other != nil && other[3*j] == ch[3*j] && other[3*j+1] == ch[3*j+1] {
			continue
		}
		l := &d.lasers[j]
		dist := float32(raw)*d.res + l.dist
		if !(dist > d.minR && dist < d.maxR) {
			continue
		}
		// θ = α + Δα·frac − ρ, rounded to 0.01°.
		ai := int(az + diff*l.frac + l.rotC + 0.5)
		for ai >= 36000 {
			ai -= 36000
		}
		if !d.fovAll {
			if d.fovLo < d.fovHi {
				if ai < d.fovLo || ai > d.fovHi {
					continue
				}
			} else if ai > d.fovHi && ai < d.fovLo {
				continue
			}
		}
		cr, sr := cosT[ai], sinT[ai]
		r := dist*l.cosV - l.vo*l.sinV
		p := pts[n : n+4 : n+4]
		p[0] = r*cr + l.ho*sr
		p[1] = -(r*sr - l.ho*cr)
		p[2] = dist*l.sinV + l.vo*l.cosV
		p[3] = float32(ch[3*j+2])
		n += 4
		r2 := ret
		if pair != nil && pair[3*j] == ch[3*j] && pair[3*j+1] == ch[3*j+1] {
			r2 = 2
		}
		s.Ring = append(s.Ring, l.ring)
		s.Time = append(s.Time, float32((tb+l.fireUs)*1e-6))
		s.Return = append(s.Return, r2)
	}
	s.Points = pts[:n]
}
