// Package ouster decodes Ouster OS-0/OS-1/OS-2 lidar UDP packets — the
// LEGACY layout and the RNG19_RFL8_SIG16_NIR16_DUAL profile — into point
// frames, driven by the sensor's metadata JSON (beam angles, beam origin
// offset, transforms, columns per frame/packet, pixels per column, profile).
// Columns are gathered into frames by frame id; a frame is complete when all
// columns_per_frame measurement ids arrived valid, and it is emitted as soon
// as it is (or when the frame id changes, or at Flush). Geometry follows
// Ouster's sensor documentation ("Lidar Range to XYZ") as ouster-sdk's
// XYZLut does: with r the range (mm), n = lidar_origin_to_beam_origin_mm,
// θe = 2π(1 − measurement_id/columns_per_frame), θa = −2π·beam_azimuth/360
// and φ = 2π·beam_altitude/360, the lidar-frame point is
// ((r−n)cos(θe+θa)cosφ + B₀₃cosθe, (r−n)sin(θe+θa)cosφ + B₀₃sinθe,
// (r−n)sinφ + B₂₃) with B the beam_to_lidar_transform, mapped by
// lidar_to_sensor_transform into the sensor frame and written in metres.
// Points are therefore in ouster-sdk's sensor frame (the lidar frame turned
// by lidar_to_sensor_transform; with the usual 180° yaw the sensor's +x
// points away from the external connector): x forward, y left, z up — the
// project's lidar convention. Measurement id 0 then looks backwards
// (towards the connector) and ids sweep clockwise seen from above. Intensity is the calibrated reflectivity
// (u16 in LEGACY, u8 in the dual profile). Zero ranges (no return) are
// dropped. With Config.Images the decoder also keeps each frame's staggered
// range and reflectivity images, bit-identical to ouster-sdk's LidarScan
// fields (checked against its md5 digests). Importing the package registers sensor "ouster" (UDP 7502) with
// pcap_file_loader and the ouster_udp live component.
//
// Every point also carries ring, time and return (Scan.Ring, Scan.Time,
// Scan.Return; the ds3d columns of those names): ring is the beam (pixel
// row, 0 = the metadata's first beam_altitude_angles entry, the top beam);
// time is the column's sensor timestamp minus that of the frame's first
// column received, in seconds (every pixel of a column shares its
// timestamp, as in ouster-sdk's LidarScan); return is 0 for the strongest
// return (LEGACY's only one, RANGE of the dual profile) and 3 for the
// second strongest (RANGE2).
package ouster

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Returns selects the returns of the dual profile.
type Returns int

const (
	ReturnAll    Returns = iota // every non-zero return (both of the dual profile)
	ReturnFirst                 // the strongest return only (RANGE)
	ReturnSecond                // the second-strongest return only (RANGE2)
)

// ParseReturnMode reads the shared return_mode option: "", "all" or "dual"
// keep both returns, "strongest" (or "first") the first, "second" the
// second. Ouster has no last-return mode.
func ParseReturnMode(s string) (Returns, error) {
	switch s {
	case "", "all", "dual":
		return ReturnAll, nil
	case "strongest", "first":
		return ReturnFirst, nil
	case "second":
		return ReturnSecond, nil
	}
	return 0, fmt.Errorf("ouster: unknown return mode %q (want all, dual, strongest or second)", s)
}

// Config says how to decode.
type Config struct {
	// Meta is the sensor's metadata (required).
	Meta *Metadata
	// Returns selects returns of the dual profile (LEGACY has one).
	Returns Returns
	// MinRange drops points at or closer than this, metres; MaxRange
	// (when > 0) at or beyond.
	MinRange, MaxRange float64
	// Images makes the decoder also fill each Scan's range and
	// reflectivity images (ouster-sdk's LidarScan fields, staggered).
	Images bool
}

// PacketError describes a dropped packet.
type PacketError struct {
	Offset int // byte in the payload, -1 when about the whole packet
	Msg    string
}

func (e *PacketError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("ouster packet: byte %d: %s", e.Offset, e.Msg)
	}
	return "ouster packet: " + e.Msg
}

// Scan is one frame. It is owned by the decoder and valid only during the
// emit call that hands it out.
type Scan struct {
	// Points holds x, y, z, intensity per point (len = 4·N); Ring, Time
	// and Return one value per point (see the package comment).
	Points             []float32
	Ring, Time, Return []float32
	// Timestamp is the capture (or arrival) time of the frame's first
	// packet, ns.
	Timestamp int64
	FrameID   int
	// Columns counts the distinct valid measurement ids received; the
	// frame is Complete when they are all columns_per_frame.
	Columns  int
	Complete bool
	// FirstMeasurementID is the first column received; ColumnTimeFirst and
	// ColumnTimeLast the sensor timestamps (ns) of the first and last
	// columns received.
	FirstMeasurementID              int
	ColumnTimeFirst, ColumnTimeLast uint64
	Packets                         int
	// NonZero counts the non-zero first-return ranges of the frame's valid
	// columns, before the range limits.
	NonZero int
	// With Config.Images: pixels_per_column × columns_per_frame images,
	// row = beam, column = measurement id (staggered, as in the packets and
	// ouster-sdk's LidarScan), zero where no valid column arrived: Range and
	// Range2 in mm (Range2 only for the dual profile), Reflectivity.
	Range, Range2 []uint32
	Reflectivity  []uint16
}

// Len is the number of points.
func (s *Scan) Len() int { return len(s.Points) / 4 }

// Stats counts what the decoder saw.
type Stats struct {
	Packets        int // decoded
	Malformed      int // rejected (wrong size, type, measurement id)
	InvalidColumns int // columns whose status said invalid
	Duplicates     int // columns whose measurement id the frame already had
	Late           int // columns of a frame already emitted complete
	Points, Scans  int
	Complete       int // complete frames emitted
	NonZero        int // non-zero first-return ranges of valid columns
}

// Decoder turns lidar packets into frames. It is not safe for concurrent use.
type Decoder struct {
	cfg          Config
	m            *Metadata
	w, h, cpp    int
	colBytes     int
	size         int
	legacy       bool
	lut          []float32 // per (column, pixel): dx, dy, dz, ox, oy, oz (sensor frame, metres)
	nM           float32   // n, metres
	minMM, maxMM float32   // range limits, mm (0 = none)
	seen         []uint64
	cur          Scan
	active       bool
	done         int // frame id emitted complete, -1 none
	stats        Stats
}

// NewDecoder builds the per-pixel lookup table of the metadata.
func NewDecoder(cfg Config) (*Decoder, error) {
	m := cfg.Meta
	if m == nil {
		return nil, fmt.Errorf("ouster: no sensor metadata (give the metadata JSON as calibration)")
	}
	if cfg.Returns < ReturnAll || cfg.Returns > ReturnSecond {
		return nil, fmt.Errorf("ouster: bad return selection %d", cfg.Returns)
	}
	if cfg.MinRange < 0 || cfg.MaxRange < 0 || (cfg.MaxRange > 0 && cfg.MaxRange <= cfg.MinRange) {
		return nil, fmt.Errorf("ouster: range limits [%v, %v] m", cfg.MinRange, cfg.MaxRange)
	}
	if m.Profile == ProfileLegacy && cfg.Returns == ReturnSecond {
		return nil, fmt.Errorf("ouster: return_mode second needs the dual profile, metadata says %s", m.Profile)
	}
	d := &Decoder{cfg: cfg, m: m, w: m.ColumnsPerFrame, h: m.PixelsPerColumn, cpp: m.ColumnsPerPacket,
		colBytes: m.ColumnBytes(), size: m.PacketBytes(), legacy: m.Profile == ProfileLegacy, done: -1,
		nM: float32(m.LidarOriginToBeamOrigin / 1000), minMM: float32(cfg.MinRange * 1000), maxMM: float32(cfg.MaxRange * 1000)}
	d.seen = make([]uint64, (d.w+63)/64)
	d.lut = make([]float32, 6*d.w*d.h)
	L, B := m.LidarToSensor, m.BeamToLidar
	for c := range d.w {
		te := 2 * math.Pi * (1 - float64(c)/float64(d.w))
		for i := range d.h {
			ta := -2 * math.Pi * m.BeamAzimuth[i] / 360
			phi := 2 * math.Pi * m.BeamAltitude[i] / 360
			dir := [3]float64{math.Cos(te+ta) * math.Cos(phi), math.Sin(te+ta) * math.Cos(phi), math.Sin(phi)}
			off := [3]float64{B[3] * math.Cos(te), B[3] * math.Sin(te), B[11]}
			k := 6 * (c*d.h + i)
			for r := range 3 {
				d.lut[k+r] = float32(L[4*r]*dir[0] + L[4*r+1]*dir[1] + L[4*r+2]*dir[2])
				d.lut[k+3+r] = float32((L[4*r]*off[0] + L[4*r+1]*off[1] + L[4*r+2]*off[2] + L[4*r+3]) / 1000)
			}
		}
	}
	return d, nil
}

// Meta returns the decoder's metadata.
func (d *Decoder) Meta() *Metadata { return d.m }

// Stats returns the counts so far.
func (d *Decoder) Stats() Stats { return d.stats }

func (d *Decoder) bad(off int, format string, args ...any) error {
	d.stats.Malformed++
	return &PacketError{off, fmt.Sprintf(format, args...)}
}

// Decode decodes one lidar packet captured at ts (ns) and calls emit for
// every frame it completes. A packet of another size than the metadata's
// profile gives, a non-lidar packet type or an out-of-range measurement
// id is a *PacketError that changes nothing.
func (d *Decoder) Decode(p []byte, ts int64, emit func(*Scan) error) error {
	if len(p) != d.size {
		return d.bad(-1, "%d bytes, want %d (%s, %d columns × %d pixels)", len(p), d.size, d.m.Profile, d.cpp, d.h)
	}
	le := binary.LittleEndian
	base, fid := 0, 0
	if !d.legacy {
		if t := le.Uint16(p); t != 1 {
			return d.bad(0, "packet type %d, want 1 (lidar data)", t)
		}
		base, fid = 32, int(le.Uint16(p[2:]))
	}
	for c := range d.cpp {
		o := base + c*d.colBytes
		if mid := int(le.Uint16(p[o+8:])); mid >= d.w {
			return d.bad(o+8, "column %d: measurement id %d ≥ %d columns per frame", c, mid, d.w)
		}
	}
	d.stats.Packets++
	counted := false
	for c := range d.cpp {
		o := base + c*d.colBytes
		col := p[o : o+d.colBytes]
		mid := int(le.Uint16(col[8:]))
		var valid bool
		if d.legacy {
			fid = int(le.Uint16(col[10:]))
			valid = le.Uint32(col[d.colBytes-4:]) == 0xffffffff
		} else {
			valid = le.Uint16(col[10:])&1 == 1
		}
		if !valid {
			d.stats.InvalidColumns++
			continue
		}
		if fid == d.done {
			d.stats.Late++
			continue
		}
		if d.active && fid != d.cur.FrameID {
			if err := d.finish(emit); err != nil {
				return err
			}
		}
		if !d.active {
			d.begin(fid, mid, ts)
			counted = true
		} else if !counted {
			d.cur.Packets++
			counted = true
		}
		if d.seen[mid>>6]&(1<<(mid&63)) != 0 {
			d.stats.Duplicates++
			continue
		}
		d.seen[mid>>6] |= 1 << (mid & 63)
		d.cur.Columns++
		t := le.Uint64(col)
		if d.cur.Columns == 1 {
			d.cur.ColumnTimeFirst = t
		}
		d.cur.ColumnTimeLast = t
		d.column(col, mid, float32(float64(int64(t-d.cur.ColumnTimeFirst))*1e-9))
		if d.cur.Columns == d.w {
			d.done = fid
			if err := d.finish(emit); err != nil {
				return err
			}
			counted = false
		}
	}
	return nil
}

func (d *Decoder) begin(fid, mid int, ts int64) {
	// Columns of the last complete frame are dropped as late only until
	// another frame begins (so that a sensor restarting its frame ids
	// is not ignored).
	d.done = -1
	pts, r1, r2, refl := d.cur.Points[:0], d.cur.Range, d.cur.Range2, d.cur.Reflectivity
	if d.cfg.Images {
		n := d.w * d.h
		if len(r1) != n {
			r1, refl = make([]uint32, n), make([]uint16, n)
			if !d.legacy {
				r2 = make([]uint32, n)
			}
		}
		clear(r1)
		clear(r2)
		clear(refl)
	}
	d.cur = Scan{Points: pts, Ring: d.cur.Ring[:0], Time: d.cur.Time[:0], Return: d.cur.Return[:0], Timestamp: ts, FrameID: fid, FirstMeasurementID: mid, Packets: 1, Range: r1, Range2: r2, Reflectivity: refl}
	clear(d.seen)
	d.active = true
}

// column appends the points of one valid column measured at t (s after the
// frame's first column).
func (d *Decoder) column(col []byte, mid int, t float32) {
	le := binary.LittleEndian
	lut := d.lut[6*mid*d.h : 6*(mid+1)*d.h]
	pts := d.cur.Points
	nz := 0
	if d.legacy {
		px := col[16 : 16+12*d.h]
		for i := range d.h {
			q := px[12*i : 12*i+12]
			r := le.Uint32(q) & 0xfffff
			if r == 0 {
				continue
			}
			nz++
			pts = d.point(pts, lut[6*i:6*i+6], r, float32(le.Uint16(q[4:])), i, t, 0)
		}
	} else {
		px := col[12 : 12+16*d.h]
		for i := range d.h {
			q := px[16*i : 16*i+16]
			r1 := le.Uint32(q) & 0x7ffff
			if r1 != 0 {
				nz++
				if d.cfg.Returns != ReturnSecond {
					pts = d.point(pts, lut[6*i:6*i+6], r1, float32(q[3]), i, t, 0)
				}
			}
			if d.cfg.Returns != ReturnFirst {
				if r2 := le.Uint32(q[4:]) & 0x7ffff; r2 != 0 {
					pts = d.point(pts, lut[6*i:6*i+6], r2, float32(q[7]), i, t, 3)
				}
			}
		}
	}
	d.cur.Points = pts
	d.cur.NonZero += nz
	if d.cfg.Images {
		d.image(col, mid)
	}
}

// image copies a column's raw fields into the scan's images.
func (d *Decoder) image(col []byte, mid int) {
	le := binary.LittleEndian
	for i := range d.h {
		k := i*d.w + mid
		if d.legacy {
			q := col[16+12*i:]
			d.cur.Range[k], d.cur.Reflectivity[k] = le.Uint32(q)&0xfffff, le.Uint16(q[4:])
		} else {
			q := col[12+16*i:]
			d.cur.Range[k], d.cur.Range2[k], d.cur.Reflectivity[k] = le.Uint32(q)&0x7ffff, le.Uint32(q[4:])&0x7ffff, uint16(q[3])
		}
	}
}

func (d *Decoder) point(pts []float32, l []float32, r uint32, refl float32, ring int, t, ret float32) []float32 {
	rm := float32(r)
	if rm <= d.minMM || (d.maxMM > 0 && rm >= d.maxMM) {
		return pts
	}
	s := &d.cur
	s.Ring, s.Time, s.Return = append(s.Ring, float32(ring)), append(s.Time, t), append(s.Return, ret)
	m := rm*0.001 - d.nM
	return append(pts, m*l[0]+l[3], m*l[1]+l[4], m*l[2]+l[5], refl)
}

func (d *Decoder) finish(emit func(*Scan) error) error {
	d.active = false
	d.cur.Complete = d.cur.Columns == d.w
	d.stats.Scans++
	d.stats.Points += d.cur.Len()
	d.stats.NonZero += d.cur.NonZero
	if d.cur.Complete {
		d.stats.Complete++
	}
	if emit == nil {
		return nil
	}
	return emit(&d.cur)
}

// Flush emits the frame in progress (incomplete) at the end of the stream.
func (d *Decoder) Flush(emit func(*Scan) error) error {
	if !d.active {
		return nil
	}
	return d.finish(emit)
}
