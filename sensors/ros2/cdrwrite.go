package ros2

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Writer appends one XCDR1 little-endian message (CDR_LE, encapsulation
// header 00 01 00 00) to a byte slice, aligning every primitive to its size
// counted from the end of that header, as ROS 2's rmw implementations do.
// The zero Writer is not usable: start one with NewWriter.
type Writer struct {
	buf    []byte
	origin int // index in buf just after the encapsulation header
}

// NewWriter starts a message at the end of dst by appending the
// encapsulation header; dst's capacity is reused.
func NewWriter(dst []byte) Writer {
	dst = append(dst, 0x00, 0x01, 0x00, 0x00)
	return Writer{buf: dst, origin: len(dst)}
}

// Bytes returns dst with the message appended.
func (w *Writer) Bytes() []byte { return w.buf }

// Len is the message's length so far, the encapsulation header included.
func (w *Writer) Len() int { return len(w.buf) - w.origin + 4 }

// Align pads with zeros to a multiple of n bytes after the header.
func (w *Writer) Align(n int) {
	for (len(w.buf)-w.origin)%n != 0 {
		w.buf = append(w.buf, 0)
	}
}

// Bool writes a bool as one byte (0 or 1).
func (w *Writer) Bool(v bool) {
	if v {
		w.buf = append(w.buf, 1)
	} else {
		w.buf = append(w.buf, 0)
	}
}

// Uint8 writes a uint8 (also byte and char).
func (w *Writer) Uint8(v uint8) { w.buf = append(w.buf, v) }

// Int8 writes an int8.
func (w *Writer) Int8(v int8) { w.buf = append(w.buf, uint8(v)) }

// Uint16 writes an aligned uint16.
func (w *Writer) Uint16(v uint16) {
	w.Align(2)
	w.buf = binary.LittleEndian.AppendUint16(w.buf, v)
}

// Int16 writes an aligned int16.
func (w *Writer) Int16(v int16) { w.Uint16(uint16(v)) }

// Uint32 writes an aligned uint32.
func (w *Writer) Uint32(v uint32) {
	w.Align(4)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, v)
}

// Int32 writes an aligned int32.
func (w *Writer) Int32(v int32) { w.Uint32(uint32(v)) }

// Uint64 writes an aligned uint64.
func (w *Writer) Uint64(v uint64) {
	w.Align(8)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, v)
}

// Int64 writes an aligned int64.
func (w *Writer) Int64(v int64) { w.Uint64(uint64(v)) }

// Float32 writes an aligned float32.
func (w *Writer) Float32(v float32) { w.Uint32(math.Float32bits(v)) }

// Float64 writes an aligned float64.
func (w *Writer) Float64(v float64) { w.Uint64(math.Float64bits(v)) }

// String writes a CDR string: a uint32 length counting the terminating NUL,
// the bytes, then the NUL.
func (w *Writer) String(s string) {
	w.Uint32(uint32(len(s) + 1))
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, 0)
}

// Count writes a sequence's element count.
func (w *Writer) Count(n int) { w.Uint32(uint32(n)) }

// ByteSeq writes a uint8[] sequence: the count, then the bytes.
func (w *Writer) ByteSeq(b []byte) {
	w.Count(len(b))
	w.buf = append(w.buf, b...)
}

// Float64s writes the elements of a float64 array without a count (a fixed
// array T[N]; write the count first for a sequence).
func (w *Writer) Float64s(v []float64) {
	if len(v) == 0 {
		return
	}
	w.Align(8)
	for _, x := range v {
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(x))
	}
}

// Time writes a builtin_interfaces/Time (or Duration).
func (w *Writer) Time(sec int32, nanosec uint32) {
	w.Int32(sec)
	w.Uint32(nanosec)
}

// Header writes a std_msgs/Header.
func (w *Writer) Header(h *Header) {
	w.Time(h.Sec, h.Nanosec)
	w.String(h.FrameID)
}

// StampFromNanos splits nanoseconds since the epoch into the sec and
// nanosec of a builtin_interfaces/Time (nanosec in [0, 1e9), sec rounded
// down for negative times).
func StampFromNanos(ns int64) (sec int32, nanosec uint32) {
	s := ns / 1e9
	r := ns % 1e9
	if r < 0 {
		s--
		r += 1e9
	}
	return int32(s), uint32(r)
}

// HeaderAt is the std_msgs/Header stamped ns (nanoseconds since the epoch)
// in frame frameID.
func HeaderAt(ns int64, frameID string) Header {
	sec, nsec := StampFromNanos(ns)
	return Header{Sec: sec, Nanosec: nsec, FrameID: frameID}
}

// dec reads the fields of a typed message, keeping the first error so that
// a decoder reads like the message definition; every read after an error
// returns zero.
type dec struct {
	r   cdrReader
	err error
}

func newDec(b []byte) (dec, error) {
	r, err := newCDR(b)
	return dec{r: r}, err
}

func (d *dec) u8(what string) uint8 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.u8(what)
	d.err = err
	return v
}

func (d *dec) boolean(what string) bool { return d.u8(what) != 0 }

func (d *dec) u32(what string) uint32 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.u32(what)
	d.err = err
	return v
}

func (d *dec) i32(what string) int32 { return int32(d.u32(what)) }

func (d *dec) u64(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, err := d.r.u64(what)
	d.err = err
	return v
}

func (d *dec) f64(what string) float64 { return math.Float64frombits(d.u64(what)) }

// f64s fills a fixed float64 array.
func (d *dec) f64s(dst []float64, what string) {
	for i := range dst {
		dst[i] = d.f64(what)
	}
}

// str sets *s to the next string, allocating only when it changed.
func (d *dec) str(s *string, what string) {
	if d.err != nil {
		return
	}
	b, err := d.r.strBytes(what)
	d.err = err
	if err == nil {
		setStr(s, b)
	}
}

// strRaw returns the next string's bytes, aliasing the message.
func (d *dec) strRaw(what string) []byte {
	if d.err != nil {
		return nil
	}
	b, err := d.r.strBytes(what)
	d.err = err
	return b
}

// bytes returns the next uint8[] sequence, aliasing the message.
func (d *dec) bytes(what string) []byte {
	n := d.count(what, 1)
	if d.err != nil {
		return nil
	}
	b := d.r.b[d.r.off : d.r.off+n : d.r.off+n]
	d.r.off += n
	return b
}

// count reads a sequence length that the rest of the message can hold at
// minSize bytes per element.
func (d *dec) count(what string, minSize int) int {
	if d.err != nil {
		return 0
	}
	n, err := d.r.count(what, minSize)
	d.err = err
	return n
}

func (d *dec) header(h *Header) {
	h.Sec = d.i32("header.stamp.sec")
	h.Nanosec = d.u32("header.stamp.nanosec")
	d.str(&h.FrameID, "header.frame_id")
}

// done wraps the first error with the message type.
func (d *dec) done(typ string) error {
	if d.err != nil {
		return fmt.Errorf("%s: %w", typ, d.err)
	}
	return nil
}

// resize returns s with length n, reusing its array when it is large enough.
func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
