package ouster_test

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// capture is one of PROVENANCE.md's Ouster captures with its facts.
type capture struct {
	name    string
	packets int   // lidar packets on 7502
	size    int   // their size
	other   int   // datagrams on other ports (IMU on 7503)
	frames  []int // frame ids in order
	cols    []int // valid columns of each frame
	first   []int // first measurement id of each frame
	nonZero int   // non-zero first-return ranges
	spanNs  uint64
}

var captures = []capture{
	{"OS-1-32-G_v2.1.1_1024x10", 64, 6464, 0, []int{638}, []int{1024}, []int{0}, 27310, 3577233516920 - 3577133606620},
	{"OS-0-32-U1_v2.2.0_1024x10", 64, 8448, 10, []int{1453}, []int{1024}, []int{0}, 21631, 0},
	{"os1-64_legacy_2019", 100, 12608, 0, []int{12072, 12073, 12074}, []int{224, 1024, 352}, []int{800, 0, 0}, 92270, 0},
}

func meta(t testing.TB, name string) *ouster.Metadata {
	t.Helper()
	m, err := ouster.LoadMetadata(sampledata.Shared(t, "lidar-raw/ouster/"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// packets reads a capture's payloads on port (others counted).
func packets(t testing.TB, name string, port uint16) (ps [][]byte, ts []int64, other int) {
	t.Helper()
	r, c, err := pcap.Open(sampledata.Shared(t, "lidar-raw/ouster/"+name+".pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for {
		p, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.DstPort != port {
			other++
			continue
		}
		ps = append(ps, bytes.Clone(p.Payload))
		ts = append(ts, p.Timestamp)
	}
}

type frame struct {
	ouster.Scan
	pts []float32
	// wide is the frame a loader makes: x y z intensity ring time return.
	wide []float32
}

func decodeAll(t testing.TB, cfg ouster.Config, ps [][]byte, ts []int64) ([]frame, ouster.Stats) {
	t.Helper()
	d, err := ouster.NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []frame
	emit := func(s *ouster.Scan) error {
		out = append(out, frame{*s, append([]float32(nil), s.Points...), interleave(s.Points, s.Ring, s.Time, s.Return)})
		return nil
	}
	for i, p := range ps {
		if err := d.Decode(p, ts[i], emit); err != nil {
			t.Fatal(err)
		}
	}
	d.Flush(emit)
	return out, d.Stats()
}

// TestCapturesMatchProvenance: packet counts and sizes, frame ids, columns
// per frame and non-zero range counts as PROVENANCE.md lists them.
func TestCapturesMatchProvenance(t *testing.T) {
	for _, c := range captures {
		t.Run(c.name, func(t *testing.T) {
			m := meta(t, c.name)
			ps, ts, other := packets(t, c.name, ouster.Port)
			if len(ps) != c.packets || other != c.other || m.PacketBytes() != c.size {
				t.Fatalf("%d lidar packets (+%d other), metadata packet size %d; want %d (+%d), %d", len(ps), other, m.PacketBytes(), c.packets, c.other, c.size)
			}
			for i, p := range ps {
				if len(p) != c.size {
					t.Fatalf("packet %d: %d bytes", i, len(p))
				}
			}
			frames, st := decodeAll(t, ouster.Config{Meta: m, Returns: ouster.ReturnFirst}, ps, ts)
			if len(frames) != len(c.frames) {
				t.Fatalf("%d frames, want %d", len(frames), len(c.frames))
			}
			points := 0
			for i, f := range frames {
				t.Logf("frame %d: id %d, %d columns from %d, %d points, %d packets, column ts %d → %d", i, f.FrameID, f.Columns, f.FirstMeasurementID, f.Len(), f.Packets, f.ColumnTimeFirst, f.ColumnTimeLast)
				if f.FrameID != c.frames[i] || f.Columns != c.cols[i] || f.FirstMeasurementID != c.first[i] || f.Complete != (f.Columns == 1024) {
					t.Errorf("frame %d: id %d, %d columns from %d (complete %v); want id %d, %d columns from %d", i, f.FrameID, f.Columns, f.FirstMeasurementID, f.Complete, c.frames[i], c.cols[i], c.first[i])
				}
				if c.spanNs != 0 && f.ColumnTimeLast-f.ColumnTimeFirst != c.spanNs {
					t.Errorf("column time span %d ns, want %d", f.ColumnTimeLast-f.ColumnTimeFirst, c.spanNs)
				}
				points += f.Len()
				for k := 0; k < len(f.pts); k += 4 {
					x, y, z := f.pts[k], f.pts[k+1], f.pts[k+2]
					if r := math.Sqrt(float64(x*x + y*y + z*z)); math.IsNaN(r) || r > 300 {
						t.Fatalf("point %v", f.pts[k:k+4])
					}
				}
			}
			if points != c.nonZero || st.NonZero != c.nonZero {
				t.Errorf("%d points / %d non-zero ranges, want %d", points, st.NonZero, c.nonZero)
			}
			if st.Packets != c.packets || st.Malformed != 0 || st.InvalidColumns != 0 || st.Duplicates != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestDualReturns: the dual profile's second returns add points; the
// first-return selection keeps exactly the non-zero first ranges.
func TestDualReturns(t *testing.T) {
	c := captures[1]
	m := meta(t, c.name)
	ps, ts, _ := packets(t, c.name, ouster.Port)
	all, _ := decodeAll(t, ouster.Config{Meta: m}, ps, ts)
	second, _ := decodeAll(t, ouster.Config{Meta: m, Returns: ouster.ReturnSecond}, ps, ts)
	if n, s := all[0].Len(), second[0].Len(); n != c.nonZero+s || s == 0 {
		t.Errorf("all returns %d points, second %d, first %d", n, s, c.nonZero)
	}
	lim, _ := decodeAll(t, ouster.Config{Meta: m, Returns: ouster.ReturnFirst, MinRange: 1, MaxRange: 20}, ps, ts)
	for k := 0; k < len(lim[0].pts); k += 4 {
		x, y, z := lim[0].pts[k], lim[0].pts[k+1], lim[0].pts[k+2]
		// Range limits apply to the measured range r, which includes the
		// beam-origin offset n (2.8 cm here) and the 3.6 cm lidar→sensor z.
		if r := math.Sqrt(float64(x*x + y*y + z*z)); r < 0.9 || r > 20.1 {
			t.Fatalf("point at %.3f m outside [1, 20]", r)
		}
	}
	if len(lim[0].pts) == 0 || len(lim[0].pts) >= len(all[0].pts) {
		t.Errorf("range limits kept %d of %d values", len(lim[0].pts), len(all[0].pts))
	}
	if _, err := ouster.NewDecoder(ouster.Config{Meta: meta(t, captures[0].name), Returns: ouster.ReturnSecond}); err == nil {
		t.Error("second return accepted for a LEGACY sensor")
	}
}

// TestGeometry checks one pixel of the OS1-64 capture against Ouster's
// formula computed here independently in float64 (default beam origin
// offset and lidar_to_sensor of 2019 metadata), and that z is up: a
// sizeable share, but not all, of the complete frame lies below the sensor.
func TestGeometry(t *testing.T) {
	c := captures[2]
	m := meta(t, c.name)
	ps, ts, _ := packets(t, c.name, ouster.Port)
	// One packet of the complete frame: its first column, beam 63.
	p := ps[14]
	mid := int(p[8]) | int(p[9])<<8
	r := float64(uint32(p[16+12*63])|uint32(p[17+12*63])<<8|uint32(p[18+12*63]&0x0f)<<16) / 1000
	d, _ := ouster.NewDecoder(ouster.Config{Meta: m})
	var got []float32
	d.Decode(p, ts[14], nil)
	// Re-decode the packet as a frame of its own by flushing.
	d.Flush(func(s *ouster.Scan) error { got = append(got, s.Points...); return nil })
	if r == 0 {
		t.Skip("chosen pixel has no return")
	}
	n := 0.012163 // default lidar_origin_to_beam_origin_mm (2019 metadata has none)
	te := 2 * math.Pi * (1 - float64(mid)/1024)
	ta := -2 * math.Pi * m.BeamAzimuth[63] / 360
	phi := 2 * math.Pi * m.BeamAltitude[63] / 360
	xl := (r-n)*math.Cos(te+ta)*math.Cos(phi) + n*math.Cos(te)
	yl := (r-n)*math.Sin(te+ta)*math.Cos(phi) + n*math.Sin(te)
	zl := (r - n) * math.Sin(phi)
	want := [3]float64{-xl, -yl, zl + 0.03618} // default lidar_to_sensor: diag(−1, −1, 1), +36.18 mm
	found := false
	for k := 0; k < len(got); k += 4 {
		if math.Abs(float64(got[k])-want[0]) < 1e-4 && math.Abs(float64(got[k+1])-want[1]) < 1e-4 && math.Abs(float64(got[k+2])-want[2]) < 1e-4 {
			found = true
		}
	}
	if !found {
		t.Errorf("no point at %v (measurement id %d, beam 63, r %.3f m)", want, mid, r)
	}
	frames, _ := decodeAll(t, ouster.Config{Meta: m, Returns: ouster.ReturnFirst}, ps, ts)
	f := frames[1]
	below := 0
	for k := 0; k < len(f.pts); k += 4 {
		if f.pts[k+2] < 0 {
			below++
		}
	}
	if frac := float64(below) / float64(f.Len()); frac < 0.3 || frac > 0.9 {
		t.Errorf("%.2f of points below the sensor", frac)
	}
}

// TestMalformed: packets that do not match the metadata's profile are
// errors that change nothing, never panics.
func TestMalformed(t *testing.T) {
	c := captures[1]
	m := meta(t, c.name)
	ps, ts, _ := packets(t, c.name, ouster.Port)
	legacy, _, _ := packets(t, captures[0].name, ouster.Port)
	good := ps[0]
	mut := func(f func(p []byte)) []byte { p := bytes.Clone(good); f(p); return p }
	cases := []struct {
		name string
		p    []byte
		want string
	}{
		{"short", good[:8000], "8000 bytes, want 8448"},
		{"legacy packet", legacy[0], "6464 bytes, want 8448 (RNG19_RFL8_SIG16_NIR16_DUAL, 16 columns × 32 pixels)"},
		{"imu packet", make([]byte, 48), "48 bytes"},
		{"type", mut(func(p []byte) { p[0] = 7 }), "packet type 7"},
		{"measurement id", mut(func(p []byte) { p[32+524*3+8], p[32+524*3+9] = 0x00, 0x04 }), "column 3: measurement id 1024"},
	}
	for _, tc := range cases {
		d, _ := ouster.NewDecoder(ouster.Config{Meta: m})
		err := d.Decode(tc.p, 0, nil)
		var pe *ouster.PacketError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
		if st := d.Stats(); st.Malformed != 1 || st.Packets != 0 || st.Points != 0 {
			t.Errorf("%s: stats %+v", tc.name, st)
		}
		n := 0
		d.Flush(func(*ouster.Scan) error { n++; return nil })
		if n != 0 {
			t.Errorf("%s: a malformed packet started a frame", tc.name)
		}
	}
	// A lost packet leaves the frame incomplete; a repeated one counts
	// duplicate columns.
	d, _ := ouster.NewDecoder(ouster.Config{Meta: m})
	var frames []ouster.Scan
	emit := func(s *ouster.Scan) error { frames = append(frames, *s); return nil }
	for i, p := range ps {
		if i == 10 {
			continue
		}
		d.Decode(p, ts[i], emit)
		if i == 20 {
			d.Decode(p, ts[i], emit)
		}
	}
	d.Flush(emit)
	if len(frames) != 1 || frames[0].Complete || frames[0].Columns != 1008 || d.Stats().Duplicates != 16 {
		t.Errorf("lost + repeated packet: %d frames, %+v", len(frames), d.Stats())
	}
	// Metadata errors name the file.
	for _, bad := range []string{`{}`, `{"beam_altitude_angles":[1,2],"beam_azimuth_angles":[1]}`,
		`{"beam_altitude_angles":[1],"beam_azimuth_angles":[1],"lidar_mode":"1024x10","data_format":{"udp_profile_lidar":"RNG15_RFL8_NIR8"}}`} {
		if _, err := ouster.ParseMetadata([]byte(bad), "x.json"); err == nil || !strings.Contains(err.Error(), "x.json") {
			t.Errorf("metadata %s: %v", bad, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	var metas []*ouster.Metadata
	for _, c := range captures {
		ps, _, _ := packets(f, c.name, ouster.Port)
		f.Add(ps[0], ps[len(ps)-1])
		metas = append(metas, meta(f, c.name))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, m := range metas {
			d, err := ouster.NewDecoder(ouster.Config{Meta: m, MaxRange: 100})
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			emit := func(s *ouster.Scan) error { n += s.Len(); return nil }
			d.Decode(a, 0, emit)
			d.Decode(b, 1, emit)
			d.Decode(a, 2, emit)
			d.Flush(emit)
			if n != d.Stats().Points || n > 2*2*16*m.PixelsPerColumn {
				t.Fatalf("%d points emitted, stats %+v", n, d.Stats())
			}
		}
	})
}

// BenchmarkDecode reports decoded points per second on one goroutine
// (every non-zero return; the OS1-64 capture is 1024×10, 64 beams).
func BenchmarkDecode(b *testing.B) {
	for _, c := range captures {
		b.Run(c.name, func(b *testing.B) {
			m := meta(b, c.name)
			ps, ts, _ := packets(b, c.name, ouster.Port)
			// Two copies of the capture with frame ids 3 apart, alternated,
			// so that every pass decodes fresh frames.
			shifted := make([][]byte, len(ps))
			for k, p := range ps {
				q := bytes.Clone(p)
				if m.Profile == ouster.ProfileLegacy {
					for c := 0; c < m.ColumnsPerPacket; c++ {
						o := c*m.ColumnBytes() + 10
						fid := int(q[o]) | int(q[o+1])<<8 + 3
						q[o], q[o+1] = byte(fid), byte(fid>>8)
					}
				} else {
					fid := int(q[2]) | int(q[3])<<8 + 3
					q[2], q[3] = byte(fid), byte(fid>>8)
				}
				shifted[k] = q
			}
			d, _ := ouster.NewDecoder(ouster.Config{Meta: m})
			pts := 0
			emit := func(s *ouster.Scan) error { pts += s.Len(); return nil }
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				src := ps
				if i%2 == 1 {
					src = shifted
				}
				for k, p := range src {
					d.Decode(p, ts[k], emit)
				}
			}
			d.Flush(emit)
			if st := d.Stats(); st.Late != 0 || st.Duplicates != 0 {
				b.Fatalf("stats %+v", st)
			}
			b.ReportMetric(float64(pts)/b.Elapsed().Seconds(), "points/s")
			b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// TestOusterSDKDigests: the range and reflectivity images of each complete
// frame hash (md5 of the little-endian array, as ouster-sdk's regression
// digests *_digest.json do) to ouster-sdk's values: RANGE and REFLECTIVITY
// (uint8 in LidarScan) for the LEGACY capture, RANGE, RANGE2 and
// REFLECTIVITY for the dual one (images of the frame's 1024 columns).
func TestOusterSDKDigests(t *testing.T) {
	type digest struct {
		Scans []map[string]string `json:"scans"`
	}
	md5of := func(v any) string {
		var b bytes.Buffer
		binary.Write(&b, binary.LittleEndian, v)
		return fmt.Sprintf("%x", md5.Sum(b.Bytes()))
	}
	for _, c := range captures[:2] {
		t.Run(c.name, func(t *testing.T) {
			raw, err := os.ReadFile(sampledata.Shared(t, "lidar-raw/ouster/"+c.name+"_digest.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want digest
			if err := json.Unmarshal(raw, &want); err != nil || len(want.Scans) != 1 {
				t.Fatalf("digest file: %v", err)
			}
			m := meta(t, c.name)
			ps, ts, _ := packets(t, c.name, ouster.Port)
			d, _ := ouster.NewDecoder(ouster.Config{Meta: m, Images: true})
			var got []map[string]string
			emit := func(s *ouster.Scan) error {
				refl := make([]uint8, len(s.Reflectivity))
				for i, v := range s.Reflectivity {
					refl[i] = uint8(v)
				}
				if !s.Complete {
					t.Errorf("frame %d incomplete", s.FrameID)
				}
				g := map[string]string{"FRAME_ID": fmt.Sprint(s.FrameID), "RANGE": md5of(s.Range), "REFLECTIVITY": md5of(refl)}
				if s.Range2 != nil {
					g["RANGE2"] = md5of(s.Range2)
				}
				got = append(got, g)
				return nil
			}
			for i, p := range ps {
				if err := d.Decode(p, ts[i], emit); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 1 {
				t.Fatalf("%d frames", len(got))
			}
			for k, v := range got[0] {
				if want.Scans[0][k] != v {
					t.Errorf("%s: md5 %s, ouster-sdk %s", k, v, want.Scans[0][k])
				}
			}
			t.Logf("matched ouster-sdk digests of %d fields: %v", len(got[0]), got[0])
		})
	}
}
