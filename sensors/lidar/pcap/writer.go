package pcap

import (
	"bufio"
	"encoding/binary"
	"io"
)

// Writer writes UDP datagrams as a classic little-endian pcap file
// (version 2.4, LINKTYPE_ETHERNET, microsecond or nanosecond timestamps)
// with synthetic Ethernet, IPv4 and UDP headers: broadcast destination MAC,
// zero source MAC, UDP checksum 0 (not computed), IPv4 header checksum
// computed. Datagrams larger than one IPv4 packet are not split: the
// IPv4 total length must fit 16 bits.
type Writer struct {
	w     *bufio.Writer
	nanos bool
	id    uint16
	buf   []byte
}

// NewWriter writes the file header. nanos selects the nanosecond magic.
func NewWriter(w io.Writer, nanos bool) (*Writer, error) {
	pw := &Writer{w: bufio.NewWriter(w), nanos: nanos}
	var h [24]byte
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	binary.LittleEndian.PutUint32(h[16:], 65535)
	binary.LittleEndian.PutUint32(h[20:], LinkEthernet)
	_, err := pw.w.Write(h[:])
	return pw, err
}

// WritePacket appends one datagram with p's timestamp, addresses, ports and
// payload (Offset and Index are ignored).
func (pw *Writer) WritePacket(p Packet) error {
	n := 14 + 20 + 8 + len(p.Payload)
	if cap(pw.buf) < 16+n {
		pw.buf = make([]byte, 16+n)
	}
	b := pw.buf[:16+n]
	clear(b[:16+42])
	sec, frac := p.Timestamp/1_000_000_000, p.Timestamp%1_000_000_000
	if !pw.nanos {
		frac /= 1000
	}
	binary.LittleEndian.PutUint32(b[0:], uint32(sec))
	binary.LittleEndian.PutUint32(b[4:], uint32(frac))
	binary.LittleEndian.PutUint32(b[8:], uint32(n))
	binary.LittleEndian.PutUint32(b[12:], uint32(n))
	f := b[16:]
	copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+len(p.Payload)))
	binary.BigEndian.PutUint16(ip[4:], pw.id)
	pw.id++
	ip[6] = 0x40 // don't fragment
	ip[8] = 64
	ip[9] = 17
	copy(ip[12:16], p.SrcIP[:])
	copy(ip[16:20], p.DstIP[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], p.SrcPort)
	binary.BigEndian.PutUint16(u[2:], p.DstPort)
	binary.BigEndian.PutUint16(u[4:], uint16(8+len(p.Payload)))
	copy(u[8:], p.Payload)
	_, err := pw.w.Write(b)
	return err
}

// Flush writes buffered data to the underlying writer.
func (pw *Writer) Flush() error { return pw.w.Flush() }

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(h); i += 2 {
		s += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
