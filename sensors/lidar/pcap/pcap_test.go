package pcap_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// captures lists the real captures with the datagram counts per
// "port/lengthB" that PROVENANCE.md (pcap_info.py) gives, and the first
// record time.
var captures = []struct {
	rel    string
	counts map[string]int
	first  int64 // first datagram's pcap time, µs
}{
	{"lidar-raw/velodyne/vlp16_strongest_2018.pcap", map[string]int{"2368/1206B": 84}, 1525347606362040},
	{"lidar-raw/velodyne/hdl32e_strongest_2012.pcap", map[string]int{"2368/1206B": 876, "8308/512B": 100}, 1355263365378121},
	{"lidar-raw/velodyne/vlp16_dual_nebula.DERIVED.pcap", map[string]int{"2368/1206B": 603}, 1673400471737763},
	{"lidar-raw/velodyne/vlp32c_strongest_fov180_nebula.DERIVED.pcap", map[string]int{"2368/1206B": 379}, 1713492677327771},
	{"lidar-raw/hesai/pandar_xt32_dual_nebula.DERIVED.pcap", map[string]int{"2368/1080B": 2000}, 0},
	{"lidar-raw/ouster/OS-1-32-G_v2.1.1_1024x10.pcap", map[string]int{"7502/6464B": 64}, 0},
	{"lidar-raw/ouster/OS-0-32-U1_v2.2.0_1024x10.pcap", map[string]int{"7502/8448B": 64, "7503/48B": 10}, 0},
	{"lidar-raw/ouster/os1-64_legacy_2019.pcap", map[string]int{"7502/12608B": 100}, 0},
}

type dgram struct {
	ts           int64
	src, dst     [4]byte
	sport, dport uint16
	payload      []byte
}

func readAll(t testing.TB, r *pcap.Reader) []dgram {
	t.Helper()
	var out []dgram
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, dgram{p.Timestamp, p.SrcIP, p.DstIP, p.SrcPort, p.DstPort, bytes.Clone(p.Payload)})
	}
}

func readFile(t testing.TB, path string) ([]dgram, pcap.Stats, pcap.Format) {
	t.Helper()
	r, c, err := pcap.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := readAll(t, r)
	return d, r.Stats(), r.Format()
}

func TestRealCaptures(t *testing.T) {
	for _, c := range captures {
		t.Run(c.rel[strings.LastIndexByte(c.rel, '/')+1:], func(t *testing.T) {
			ds, st, f := readFile(t, sampledata.Shared(t, c.rel))
			got := map[string]int{}
			for _, d := range ds {
				got[fmt.Sprintf("%d/%dB", d.dport, len(d.payload))]++
			}
			if fmt.Sprint(got) != fmt.Sprint(c.counts) {
				t.Errorf("datagrams %v, want %v", got, c.counts)
			}
			if f.NG || f.BigEndian || f.LinkType != pcap.LinkEthernet || f.Version != "2.4" {
				t.Errorf("format %+v", f)
			}
			if c.first != 0 && ds[0].ts != c.first*1000 {
				t.Errorf("first time %d ns, want %d µs", ds[0].ts, c.first)
			}
			if st.Malformed != 0 || st.Truncated != 0 || st.NonUDP != 0 || st.Records != len(ds) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// frameSpec turns a datagram into link-layer frames (several when
// fragmented at fragSize bytes of IP payload).
func ipPackets(d dgram, id uint16, fragSize int) [][]byte {
	udp := make([]byte, 8+len(d.payload))
	binary.BigEndian.PutUint16(udp[0:], d.sport)
	binary.BigEndian.PutUint16(udp[2:], d.dport)
	binary.BigEndian.PutUint16(udp[4:], uint16(len(udp)))
	copy(udp[8:], d.payload)
	if fragSize <= 0 {
		fragSize = len(udp)
	}
	var out [][]byte
	for off := 0; off < len(udp); off += fragSize {
		end := min(off+fragSize, len(udp))
		ip := make([]byte, 20+end-off)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
		binary.BigEndian.PutUint16(ip[4:], id)
		ff := uint16(off / 8)
		if end < len(udp) {
			ff |= 0x2000
		}
		binary.BigEndian.PutUint16(ip[6:], ff)
		ip[8], ip[9] = 64, 17
		copy(ip[12:], d.src[:])
		copy(ip[16:], d.dst[:])
		copy(ip[20:], udp[off:end])
		out = append(out, ip)
	}
	return out
}

func linkFrame(link int, ip []byte) []byte {
	switch link {
	case pcap.LinkEthernet: // with an 802.1Q tag, to test tag skipping
		f := make([]byte, 18, 18+len(ip))
		binary.BigEndian.PutUint16(f[12:], 0x8100)
		binary.BigEndian.PutUint16(f[16:], 0x0800)
		return append(f, ip...)
	case pcap.LinkLinuxSLL:
		f := make([]byte, 16, 16+len(ip))
		binary.BigEndian.PutUint16(f[14:], 0x0800)
		return append(f, ip...)
	case pcap.LinkNull:
		return append([]byte{2, 0, 0, 0}, ip...)
	}
	return ip
}

type rec struct {
	ts    int64
	frame []byte
}

func records(ds []dgram, link, fragSize int) []rec {
	var out []rec
	for i, d := range ds {
		pk := ipPackets(d, uint16(i), fragSize)
		// Send fragments last-first to test out-of-order reassembly.
		for k := len(pk) - 1; k >= 0; k-- {
			out = append(out, rec{d.ts, linkFrame(link, pk[k])})
		}
	}
	return out
}

func writeClassic(order binary.ByteOrder, nanos bool, link int, rs []rec) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	order.PutUint32(h[0:], magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 262144)
	order.PutUint32(h[20:], uint32(link))
	b.Write(h)
	for _, r := range rs {
		rh := make([]byte, 16)
		frac := r.ts % 1e9
		if !nanos {
			frac /= 1000
		}
		order.PutUint32(rh[0:], uint32(r.ts/1e9))
		order.PutUint32(rh[4:], uint32(frac))
		order.PutUint32(rh[8:], uint32(len(r.frame)))
		order.PutUint32(rh[12:], uint32(len(r.frame)))
		b.Write(rh)
		b.Write(r.frame)
	}
	return b.Bytes()
}

func ngBlock(b *bytes.Buffer, order binary.ByteOrder, typ uint32, body []byte) {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	var h [8]byte
	order.PutUint32(h[0:], typ)
	order.PutUint32(h[4:], n)
	b.Write(h[:])
	b.Write(body)
	order.PutUint32(h[0:], n)
	b.Write(h[:4])
}

// writeNG writes a pcapng file: tsresol < 0 leaves the default (µs);
// simple writes simple packet blocks (no timestamps).
func writeNG(order binary.ByteOrder, tsresol int, link int, rs []rec, simple bool) []byte {
	var b bytes.Buffer
	shb := make([]byte, 16)
	order.PutUint32(shb[0:], 0x1A2B3C4D)
	order.PutUint16(shb[4:], 1)
	binary.LittleEndian.PutUint64(shb[8:], ^uint64(0))
	ngBlock(&b, order, 0x0A0D0D0A, shb)
	idb := make([]byte, 8)
	order.PutUint16(idb[0:], uint16(link))
	order.PutUint32(idb[4:], 0)
	unit := int64(1000)
	if tsresol >= 0 {
		opt := make([]byte, 8)
		order.PutUint16(opt[0:], 9)
		order.PutUint16(opt[2:], 1)
		opt[4] = byte(tsresol)
		idb = append(idb, opt...)
		idb = append(idb, 0, 0, 0, 0) // opt_endofopt
		unit = 1
		for i := tsresol; i < 9; i++ {
			unit *= 10
		}
	}
	ngBlock(&b, order, 1, idb)
	ngBlock(&b, order, 0x0BAD, []byte{1, 2, 3}) // unknown block: skipped
	for _, r := range rs {
		if simple {
			body := make([]byte, 4, 4+len(r.frame))
			order.PutUint32(body, uint32(len(r.frame)))
			ngBlock(&b, order, 3, append(body, r.frame...))
			continue
		}
		body := make([]byte, 20, 20+len(r.frame))
		t := uint64(r.ts / unit)
		order.PutUint32(body[4:], uint32(t>>32))
		order.PutUint32(body[8:], uint32(t))
		order.PutUint32(body[12:], uint32(len(r.frame)))
		order.PutUint32(body[16:], uint32(len(r.frame)))
		ngBlock(&b, order, 6, append(body, r.frame...))
	}
	return b.Bytes()
}

// TestContainersAndLinks re-encodes real captures in every container, byte
// order, timestamp unit and link type, with and without IPv4 fragments, and
// checks that the same datagrams come back.
func TestContainersAndLinks(t *testing.T) {
	for _, rel := range []string{captures[1].rel, captures[5].rel} {
		want, _, _ := readFile(t, sampledata.Shared(t, rel))
		want = want[:min(len(want), 200)]
		be, le := binary.ByteOrder(binary.BigEndian), binary.ByteOrder(binary.LittleEndian)
		cases := []struct {
			name   string
			file   []byte
			noTime bool
			frags  int
		}{
			{"classic-be-us-eth", writeClassic(be, false, pcap.LinkEthernet, records(want, pcap.LinkEthernet, 0)), false, 0},
			{"classic-le-ns-sll", writeClassic(le, true, pcap.LinkLinuxSLL, records(want, pcap.LinkLinuxSLL, 0)), false, 0},
			{"classic-be-ns-raw", writeClassic(be, true, pcap.LinkRaw, records(want, pcap.LinkRaw, 0)), false, 0},
			{"classic-le-us-null-frag", writeClassic(le, false, pcap.LinkNull, records(want, pcap.LinkNull, 600)), false, 600},
			{"ng-le-us-eth", writeNG(le, -1, pcap.LinkEthernet, records(want, pcap.LinkEthernet, 0), false), false, 0},
			{"ng-be-ns-ipv4-frag-" + fmt.Sprint(len(want)), writeNG(be, 9, pcap.LinkIPv4, records(want, pcap.LinkIPv4, 504), false), false, 504},
			{"ng-le-simple-sll", writeNG(le, 6, pcap.LinkLinuxSLL, records(want, pcap.LinkLinuxSLL, 0), true), true, 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r, err := pcap.NewReader(bytes.NewReader(c.file), c.name)
				if err != nil {
					t.Fatal(err)
				}
				got := readAll(t, r)
				if len(got) != len(want) {
					t.Fatalf("%d datagrams, want %d (stats %+v)", len(got), len(want), r.Stats())
				}
				for i := range got {
					g, w := got[i], want[i]
					if c.noTime {
						g.ts = w.ts
					}
					if g.ts != w.ts || g.src != w.src || g.dst != w.dst || g.sport != w.sport || g.dport != w.dport || !bytes.Equal(g.payload, w.payload) {
						t.Fatalf("datagram %d differs: ts %d/%d ports %d/%d len %d/%d", i, g.ts, w.ts, g.dport, w.dport, len(g.payload), len(w.payload))
					}
				}
				st := r.Stats()
				if c.frags > 0 && (st.Reassembled == 0 || st.PendingFrags != 0) {
					t.Errorf("fragments: %+v", st)
				}
			})
		}
	}
}

func TestWriterRoundTrip(t *testing.T) {
	want, _, _ := readFile(t, sampledata.Shared(t, captures[0].rel))
	for _, nanos := range []bool{false, true} {
		var b bytes.Buffer
		w, err := pcap.NewWriter(&b, nanos)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range want {
			if err := w.WritePacket(pcap.Packet{Timestamp: d.ts, SrcIP: d.src, DstIP: d.dst, SrcPort: d.sport, DstPort: d.dport, Payload: d.payload}); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		r, err := pcap.NewReader(&b, "roundtrip")
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, r)
		if len(got) != len(want) || got[5].ts != want[5].ts || !bytes.Equal(got[7].payload, want[7].payload) || got[3].src != want[3].src {
			t.Errorf("round trip nanos=%v differs", nanos)
		}
	}
}

func TestErrors(t *testing.T) {
	path := sampledata.Shared(t, captures[0].rel)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The second record starts after the file header, one record header and
	// the first frame (1248 bytes for a 1206-byte payload over Ethernet).
	rec2 := int64(24 + 16 + 1248)
	ng := writeNG(binary.LittleEndian, -1, pcap.LinkEthernet, records([]dgram{{payload: []byte("hello")}}, pcap.LinkEthernet, 0), false)
	badLen := bytes.Clone(ng)
	binary.LittleEndian.PutUint32(badLen[len(badLen)-4:], 999)
	cases := []struct {
		name   string
		data   []byte
		atOpen bool
		want   string
		off    int64
	}{
		{"wrong magic", append([]byte("PCD\n"), data[4:100]...), true, "not a pcap or pcapng file", 0},
		{"empty", nil, true, "too short", 0},
		{"short header", data[:10], true, "truncated pcap file header", 0},
		{"truncated record", data[:rec2+16+600], false, "truncated record: header says 1248 bytes, 600 left", rec2},
		{"truncated record header", data[:rec2+5], false, "truncated record header: 5 of 16 bytes", rec2},
		{"huge record", func() []byte {
			b := bytes.Clone(data[:rec2+16])
			binary.LittleEndian.PutUint32(b[rec2+8:], 1<<30)
			return b
		}(), false, "over the", rec2},
		{"pcapng block lengths", badLen, false, "lengths differ", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := pcap.NewReader(bytes.NewReader(c.data), "x.pcap")
			if err == nil {
				if c.atOpen {
					t.Fatal("no error at open")
				}
				for err == nil {
					_, err = r.Next()
				}
			}
			var fe *lidar.FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.pcap") {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if c.name != "pcapng block lengths" && fe.Offset != c.off {
				t.Errorf("offset %d, want %d (%v)", fe.Offset, c.off, err)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	for _, c := range captures {
		p := sampledata.SharedDir(f) + "/" + c.rel
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f.Add(data[:min(len(data), fuzzSeedBytes)])
	}
	le := binary.LittleEndian
	f.Add(writeNG(le, 9, pcap.LinkIPv4, records([]dgram{{payload: bytes.Repeat([]byte{7}, 3000)}}, pcap.LinkIPv4, 504), false))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := pcap.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for i := 0; i < 1<<16; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
		}
	})
}

// fuzzSeedBytes is how much of each real capture seeds FuzzReader.
var fuzzSeedBytes = 64 << 10
