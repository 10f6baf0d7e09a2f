// Package pcap reads UDP datagrams out of packet captures: classic libpcap
// files (either byte order, microsecond or nanosecond timestamps) and pcapng
// (section header, interface description, enhanced and simple packet blocks;
// per-interface if_tsresol), on the link types Ethernet (with 802.1Q/802.1ad
// tags), Linux cooked capture v1 and v2, raw IPv4 and BSD loopback. IPv4
// fragments are reassembled (Ouster lidar packets exceed the Ethernet MTU
// when captured off a real link); non-UDP traffic, IPv6 and other link
// layers are counted and skipped. It is the input side of the lidar packet
// decoders (sensors/lidar/velodyne, ouster, hesai) and streams: a capture is
// never read into memory whole. Errors name the file and byte offset
// (*lidar.FormatError); corrupt input is an error, never a panic.
//
// Writer writes classic pcap with synthetic Ethernet/IPv4/UDP headers, for
// cutting small samples out of long captures and for tests.
package pcap

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// Link types (LINKTYPE_* of tcpdump.org) the reader understands.
const (
	LinkNull      = 0   // BSD loopback: 4-byte address family in host order
	LinkEthernet  = 1   // Ethernet II, 802.1Q / 802.1ad tags skipped
	LinkRaw       = 101 // raw IP
	LinkLinuxSLL  = 113 // Linux cooked capture v1
	LinkIPv4      = 228 // raw IPv4
	LinkLinuxSLL2 = 276 // Linux cooked capture v2
)

// MaxRecord bounds a record's captured length; a larger one is taken as a
// corrupt file rather than allocated.
const MaxRecord = 1 << 18

// Packet is one UDP datagram. Payload aliases the reader's buffer and is
// valid until the next call to Next.
type Packet struct {
	// Timestamp is the capture time in nanoseconds since the Unix epoch
	// (pcap record time; 0 for pcapng simple packet blocks, which carry none).
	Timestamp int64
	SrcIP     [4]byte
	DstIP     [4]byte
	SrcPort   uint16
	DstPort   uint16
	Payload   []byte
	// Offset is the byte offset of the record (or block) in the file that
	// completed the datagram.
	Offset int64
	// Index counts the capture's records from 0 (the one that completed
	// the datagram).
	Index int
}

// Stats counts what the reader saw and skipped.
type Stats struct {
	Records      int `json:"records"`           // pcap records / pcapng packet blocks
	UDP          int `json:"udp"`               // datagrams returned
	NonIPv4      int `json:"non_ipv4"`          // frames of another network protocol or link type
	NonUDP       int `json:"non_udp"`           // IPv4 packets of another protocol
	Fragments    int `json:"fragments"`         // IPv4 fragments seen (each counted once)
	Reassembled  int `json:"reassembled"`       // datagrams rebuilt from fragments
	Malformed    int `json:"malformed"`         // frames too short for their headers, bad IP header, UDP length past the end
	Truncated    int `json:"truncated"`         // records captured shorter than on the wire (snaplen)
	PendingFrags int `json:"pending_fragments"` // incomplete reassemblies left (at EOF, or evicted)
}

// Format says which container a Reader found.
type Format struct {
	NG        bool   `json:"pcapng"`                // pcapng
	BigEndian bool   `json:"big_endian"`            // of the file (pcap) or of the first section (pcapng)
	Nanos     bool   `json:"nanosecond_timestamps"` // classic pcap with nanosecond timestamps
	LinkType  int    `json:"link_type"`             // of the file, or of the first interface (pcapng)
	Version   string `json:"version"`               // "2.4", "1.0"
}

// Reader returns the UDP datagrams of a capture in file order.
type Reader struct {
	name  string
	br    *bufio.Reader
	off   int64 // offset of the next unread byte
	fmt   Format
	order binary.ByteOrder
	frac  int64 // classic: ns per timestamp fraction unit
	link  int

	ifaces []iface // pcapng
	buf    []byte
	stats  Stats
	index  int
	frags  reassembler
}

type iface struct {
	link  int
	snap  uint32
	num   uint64 // timestamp units: value * num / den = ns
	den   uint64
	tsOff int64 // if_tsoffset, seconds
}

// Open opens a capture file. Close the returned closer when done.
func Open(path string) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

// NewReader reads the file header from r; name appears in errors.
func NewReader(r io.Reader, name string) (*Reader, error) {
	rd := &Reader{name: name, br: bufio.NewReaderSize(r, 1<<16)}
	head, err := rd.br.Peek(4)
	if err != nil {
		return nil, rd.errf(0, "file too short for a capture header (%d bytes)", len(head))
	}
	if binary.LittleEndian.Uint32(head) == 0x0A0D0D0A {
		rd.fmt.NG = true
		return rd, nil // the SHB is read by Next like any block
	}
	var h [24]byte
	if n, err := io.ReadFull(rd.br, h[:]); err != nil {
		if ok := magicOK(h[:4]); !ok {
			return nil, rd.badMagic(h[:4])
		}
		return nil, rd.errf(0, "truncated pcap file header: %d of 24 bytes", n)
	}
	rd.off = 24
	switch {
	case binary.LittleEndian.Uint32(h[:]) == 0xa1b2c3d4:
		rd.order, rd.frac = binary.LittleEndian, 1000
	case binary.LittleEndian.Uint32(h[:]) == 0xa1b23c4d:
		rd.order, rd.frac = binary.LittleEndian, 1
	case binary.BigEndian.Uint32(h[:]) == 0xa1b2c3d4:
		rd.order, rd.frac = binary.BigEndian, 1000
	case binary.BigEndian.Uint32(h[:]) == 0xa1b23c4d:
		rd.order, rd.frac = binary.BigEndian, 1
	default:
		return nil, rd.badMagic(h[:4])
	}
	rd.fmt.BigEndian = rd.order == binary.BigEndian
	rd.fmt.Nanos = rd.frac == 1
	rd.fmt.Version = fmt.Sprintf("%d.%d", rd.order.Uint16(h[4:]), rd.order.Uint16(h[6:]))
	// The link type's low 16 bits; the upper bits carry FCS flags.
	rd.link = int(rd.order.Uint32(h[20:]) & 0xffff)
	rd.fmt.LinkType = rd.link
	return rd, nil
}

func magicOK(m []byte) bool {
	if len(m) < 4 {
		return false
	}
	l, b := binary.LittleEndian.Uint32(m), binary.BigEndian.Uint32(m)
	return l == 0xa1b2c3d4 || l == 0xa1b23c4d || b == 0xa1b2c3d4 || b == 0xa1b23c4d || l == 0x0A0D0D0A
}

func (r *Reader) badMagic(m []byte) error {
	return r.errf(0, "not a pcap or pcapng file: magic % x (want d4 c3 b2 a1, 4d 3c b2 a1, either byte order, or pcapng 0a 0d 0d 0a)", m)
}

func (r *Reader) errf(off int64, msg string, args ...any) error {
	return &lidar.FormatError{Format: "pcap", File: r.name, Offset: off, Msg: fmt.Sprintf(msg, args...)}
}

// Format describes the container (for pcapng, once the first section and
// interface have been read).
func (r *Reader) Format() Format { return r.fmt }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.PendingFrags = len(r.frags.pending)
	return s
}

// Next returns the next UDP datagram, or io.EOF after the last.
func (r *Reader) Next() (Packet, error) {
	for {
		var (
			frame []byte
			ts    int64
			link  int
			start = r.off
			err   error
		)
		if r.fmt.NG {
			frame, ts, link, err = r.nextBlock()
		} else {
			frame, ts, link, err = r.nextRecord()
		}
		if err != nil {
			return Packet{}, err
		}
		if frame == nil {
			continue // a pcapng block that is not a packet
		}
		r.stats.Records++
		idx := r.index
		r.index++
		p, ok := r.udp(link, frame, ts)
		if !ok {
			continue
		}
		p.Offset, p.Index = start, idx
		r.stats.UDP++
		return p, nil
	}
}

// fill reads n bytes into r.buf.
func (r *Reader) fill(n int) ([]byte, int, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	got, err := io.ReadFull(r.br, b)
	r.off += int64(got)
	return b, got, err
}

func (r *Reader) nextRecord() ([]byte, int64, int, error) {
	start := r.off
	var h [16]byte
	n, err := io.ReadFull(r.br, h[:])
	r.off += int64(n)
	if err == io.EOF {
		return nil, 0, 0, io.EOF
	}
	if err != nil {
		return nil, 0, 0, r.errf(start, "truncated record header: %d of 16 bytes", n)
	}
	sec, frac := int64(r.order.Uint32(h[0:])), int64(r.order.Uint32(h[4:]))
	incl, orig := r.order.Uint32(h[8:]), r.order.Uint32(h[12:])
	if incl > MaxRecord {
		return nil, 0, 0, r.errf(start, "record of %d bytes is over the %d-byte limit (corrupt file?)", incl, MaxRecord)
	}
	if incl < orig {
		r.stats.Truncated++
	}
	b, got, err := r.fill(int(incl))
	if err != nil {
		return nil, 0, 0, r.errf(start, "truncated record: header says %d bytes, %d left in the file", incl, got)
	}
	return b, sec*1_000_000_000 + frac*r.frac, r.link, nil
}

// nextBlock reads one pcapng block; frame is nil for non-packet blocks.
func (r *Reader) nextBlock() ([]byte, int64, int, error) {
	start := r.off
	var h [8]byte
	n, err := io.ReadFull(r.br, h[:])
	r.off += int64(n)
	if err == io.EOF {
		return nil, 0, 0, io.EOF
	}
	if err != nil {
		return nil, 0, 0, r.errf(start, "truncated block header: %d of 8 bytes", n)
	}
	btype := binary.LittleEndian.Uint32(h[:]) // SHB's type is a palindrome
	if btype == 0x0A0D0D0A {
		// Section header: the byte-order magic decides the section's order.
		bom, err := r.br.Peek(4)
		if err != nil {
			return nil, 0, 0, r.errf(start, "truncated section header block")
		}
		switch binary.LittleEndian.Uint32(bom) {
		case 0x1A2B3C4D:
			r.order = binary.LittleEndian
		case 0x4D3C2B1A:
			r.order = binary.BigEndian
		default:
			return nil, 0, 0, r.errf(start+8, "bad pcapng byte-order magic % x", bom)
		}
		if start == 0 {
			r.fmt.BigEndian = r.order == binary.BigEndian
		}
		r.ifaces = r.ifaces[:0]
	} else if r.order == nil {
		return nil, 0, 0, r.errf(start, "pcapng block before the section header")
	}
	btype = r.order.Uint32(h[:])
	blen := r.order.Uint32(h[4:])
	if blen < 12 || blen%4 != 0 || blen > MaxRecord+64 {
		return nil, 0, 0, r.errf(start, "pcapng block length %d is invalid (must be ≥ 12, a multiple of 4, ≤ %d)", blen, MaxRecord+64)
	}
	b, got, err := r.fill(int(blen) - 8)
	if err != nil {
		return nil, 0, 0, r.errf(start, "truncated pcapng block: length %d, %d bytes left in the file", blen, got+8)
	}
	if r.order.Uint32(b[len(b)-4:]) != blen {
		return nil, 0, 0, r.errf(start, "pcapng block lengths differ: %d at the start, %d at the end", blen, r.order.Uint32(b[len(b)-4:]))
	}
	body := b[:len(b)-4]
	switch btype {
	case 0x0A0D0D0A:
		if len(body) < 8 {
			return nil, 0, 0, r.errf(start, "section header block too short")
		}
		r.fmt.Version = fmt.Sprintf("%d.%d", r.order.Uint16(body[4:]), r.order.Uint16(body[6:]))
		return nil, 0, 0, nil
	case 1: // interface description
		if len(body) < 8 {
			return nil, 0, 0, r.errf(start, "interface description block too short")
		}
		ifc := iface{link: int(r.order.Uint16(body)), snap: r.order.Uint32(body[4:]), num: 1000, den: 1}
		for o := 8; o+4 <= len(body); {
			code, ol := r.order.Uint16(body[o:]), int(r.order.Uint16(body[o+2:]))
			if code == 0 || o+4+ol > len(body) {
				break
			}
			v := body[o+4 : o+4+ol]
			switch {
			case code == 9 && ol >= 1: // if_tsresol
				if v[0]&0x80 != 0 {
					e := v[0] & 0x7f
					if e > 63 {
						return nil, 0, 0, r.errf(start, "if_tsresol 2^-%d is out of range", e)
					}
					ifc.num, ifc.den = 1_000_000_000, 1<<e
				} else {
					e := int(v[0])
					if e > 9 {
						if e > 19 {
							return nil, 0, 0, r.errf(start, "if_tsresol 10^-%d is out of range", e)
						}
						ifc.num, ifc.den = 1, pow10(e-9)
					} else {
						ifc.num, ifc.den = pow10(9-e), 1
					}
				}
			case code == 14 && ol >= 8: // if_tsoffset
				ifc.tsOff = int64(r.order.Uint64(v))
			}
			o += 4 + (ol+3)&^3
		}
		r.ifaces = append(r.ifaces, ifc)
		if len(r.ifaces) == 1 && r.fmt.LinkType == 0 {
			r.fmt.LinkType = ifc.link
		}
		return nil, 0, 0, nil
	case 6: // enhanced packet
		if len(body) < 20 {
			return nil, 0, 0, r.errf(start, "enhanced packet block too short")
		}
		id := r.order.Uint32(body)
		if int(id) >= len(r.ifaces) {
			return nil, 0, 0, r.errf(start, "enhanced packet block names interface %d of %d", id, len(r.ifaces))
		}
		ifc := r.ifaces[id]
		t := uint64(r.order.Uint32(body[4:]))<<32 | uint64(r.order.Uint32(body[8:]))
		incl, orig := r.order.Uint32(body[12:]), r.order.Uint32(body[16:])
		if uint64(incl) > uint64(len(body)-20) {
			return nil, 0, 0, r.errf(start, "enhanced packet block: captured length %d past the block's %d data bytes", incl, len(body)-20)
		}
		if incl < orig {
			r.stats.Truncated++
		}
		ts := ifc.ns(t)
		return body[20 : 20+incl], ts, ifc.link, nil
	case 3: // simple packet: interface 0, no timestamp
		if len(body) < 4 || len(r.ifaces) == 0 {
			return nil, 0, 0, r.errf(start, "simple packet block without an interface or too short")
		}
		orig := r.order.Uint32(body)
		incl := min(uint64(orig), uint64(len(body)-4))
		if s := r.ifaces[0].snap; s != 0 && uint64(s) < incl {
			incl = uint64(s)
		}
		if incl < uint64(orig) {
			r.stats.Truncated++
		}
		return body[4 : 4+incl], 0, r.ifaces[0].link, nil
	}
	return nil, 0, 0, nil
}

func pow10(e int) uint64 {
	v := uint64(1)
	for ; e > 0; e-- {
		v *= 10
	}
	return v
}

// ns converts a timestamp in the interface's units to Unix nanoseconds.
func (i iface) ns(t uint64) int64 {
	var v uint64
	if i.den == 1 {
		v = t * i.num
	} else {
		// Split to keep the product in range: whole seconds-ish plus the rest.
		q, rem := t/i.den, t%i.den
		v = q*i.num + rem*i.num/i.den
	}
	return int64(v) + i.tsOff*1_000_000_000
}

// udp peels the link, IPv4 and UDP headers off a frame.
func (r *Reader) udp(link int, f []byte, ts int64) (Packet, bool) {
	var ip []byte
	switch link {
	case LinkEthernet:
		if len(f) < 14 {
			r.stats.Malformed++
			return Packet{}, false
		}
		et, o := binary.BigEndian.Uint16(f[12:]), 14
		for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && o+4 <= len(f) {
			et = binary.BigEndian.Uint16(f[o+2:])
			o += 4
		}
		if et != 0x0800 {
			r.stats.NonIPv4++
			return Packet{}, false
		}
		ip = f[o:]
	case LinkLinuxSLL:
		if len(f) < 16 {
			r.stats.Malformed++
			return Packet{}, false
		}
		if binary.BigEndian.Uint16(f[14:]) != 0x0800 {
			r.stats.NonIPv4++
			return Packet{}, false
		}
		ip = f[16:]
	case LinkLinuxSLL2:
		if len(f) < 20 {
			r.stats.Malformed++
			return Packet{}, false
		}
		if binary.BigEndian.Uint16(f[0:]) != 0x0800 {
			r.stats.NonIPv4++
			return Packet{}, false
		}
		ip = f[20:]
	case LinkRaw, LinkIPv4, 12, 14: // 12/14: raw IP on some BSDs
		ip = f
	case LinkNull:
		if len(f) < 4 {
			r.stats.Malformed++
			return Packet{}, false
		}
		if binary.LittleEndian.Uint32(f) != 2 && binary.BigEndian.Uint32(f) != 2 {
			r.stats.NonIPv4++
			return Packet{}, false
		}
		ip = f[4:]
	default:
		r.stats.NonIPv4++
		return Packet{}, false
	}
	if len(ip) < 20 || ip[0]>>4 != 4 {
		if len(ip) > 0 && ip[0]>>4 != 4 {
			r.stats.NonIPv4++
		} else {
			r.stats.Malformed++
		}
		return Packet{}, false
	}
	ihl := int(ip[0]&15) * 4
	tot := int(binary.BigEndian.Uint16(ip[2:]))
	if ihl < 20 || tot < ihl || tot > len(ip) {
		r.stats.Malformed++
		return Packet{}, false
	}
	var p Packet
	copy(p.SrcIP[:], ip[12:16])
	copy(p.DstIP[:], ip[16:20])
	proto := ip[9]
	body := ip[ihl:tot]
	ff := binary.BigEndian.Uint16(ip[6:])
	if ff&0x2000 != 0 || ff&0x1fff != 0 {
		r.stats.Fragments++
		key := fragKey{src: p.SrcIP, dst: p.DstIP, id: binary.BigEndian.Uint16(ip[4:]), proto: proto}
		whole, fts, ok := r.frags.add(key, int(ff&0x1fff)*8, ff&0x2000 != 0, body, ts)
		if !ok {
			return Packet{}, false
		}
		r.stats.Reassembled++
		body, ts = whole, fts
	}
	if proto != 17 {
		r.stats.NonUDP++
		return Packet{}, false
	}
	if len(body) < 8 {
		r.stats.Malformed++
		return Packet{}, false
	}
	ulen := int(binary.BigEndian.Uint16(body[4:]))
	if ulen < 8 || ulen > len(body) {
		r.stats.Malformed++
		return Packet{}, false
	}
	p.SrcPort = binary.BigEndian.Uint16(body)
	p.DstPort = binary.BigEndian.Uint16(body[2:])
	p.Payload = body[8:ulen]
	p.Timestamp = ts
	return p, true
}

// reassembler rebuilds fragmented IPv4 datagrams (RFC 791), keyed by
// source, destination, identification and protocol. Overlaps are resolved
// last-writer-wins; at most maxPending datagrams wait at once (the oldest
// is dropped), which bounds memory on a capture that lost fragments.
type reassembler struct {
	pending []*fragBuf
	free    []*fragBuf
	out     []byte
}

const maxPending = 64

// maxFragments bounds the fragments of one datagram (a 65,535-byte datagram
// over a 1500-byte MTU takes 45).
const maxFragments = 128

type fragKey struct {
	src, dst [4]byte
	id       uint16
	proto    byte
}

type fragBuf struct {
	key  fragKey
	data []byte
	have []span
	end  int // total length, -1 until the last fragment arrives
	ts   int64
}

type span struct{ lo, hi int }

func (a *reassembler) add(k fragKey, off int, more bool, b []byte, ts int64) ([]byte, int64, bool) {
	var fb *fragBuf
	idx := -1
	for i, p := range a.pending {
		if p.key == k {
			fb, idx = p, i
			break
		}
	}
	if fb == nil {
		if len(a.pending) >= maxPending {
			a.free = append(a.free, a.pending[0])
			a.pending = append(a.pending[:0], a.pending[1:]...)
		}
		if n := len(a.free); n > 0 {
			fb = a.free[n-1]
			a.free = a.free[:n-1]
		} else {
			fb = new(fragBuf)
		}
		fb.key, fb.data, fb.have, fb.end, fb.ts = k, fb.data[:0], fb.have[:0], -1, ts
		a.pending = append(a.pending, fb)
		idx = len(a.pending) - 1
	}
	hi := off + len(b)
	if hi > 65535 || len(fb.have) >= maxFragments {
		// Past the IPv4 limit, or a flood of fragments that never
		// completes: drop the datagram.
		a.pending = append(a.pending[:idx], a.pending[idx+1:]...)
		a.free = append(a.free, fb)
		return nil, 0, false
	}
	if len(fb.data) < hi {
		fb.data = append(fb.data, make([]byte, hi-len(fb.data))...)
	}
	copy(fb.data[off:], b)
	fb.have = append(fb.have, span{off, hi})
	if !more {
		fb.end = hi
	}
	if fb.end < 0 || !covered(fb.have, fb.end) {
		return nil, 0, false
	}
	a.out = append(a.out[:0], fb.data[:fb.end]...)
	a.pending = append(a.pending[:idx], a.pending[idx+1:]...)
	a.free = append(a.free, fb)
	return a.out, fb.ts, true
}

// covered reports whether the spans cover [0, end).
func covered(s []span, end int) bool {
	reach := 0
	for changed := true; changed && reach < end; {
		changed = false
		for _, x := range s {
			if x.lo <= reach && x.hi > reach {
				reach, changed = x.hi, true
			}
		}
	}
	return reach >= end
}
