package hesai_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/hesai"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

const capture = "lidar-raw/hesai/pandar_xt32_dual_nebula.DERIVED.pcap"

func packets(t testing.TB) ([][]byte, []int64) {
	t.Helper()
	r, c, err := pcap.Open(sampledata.Shared(t, capture))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var ps [][]byte
	var ts []int64
	for {
		p, err := r.Next()
		if err == io.EOF {
			return ps, ts
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.DstPort == hesai.Port {
			ps = append(ps, bytes.Clone(p.Payload))
			ts = append(ts, p.Timestamp)
		}
	}
}

type scan struct {
	hesai.Scan
	pts []float32
	// wide is the frame a loader makes: x y z intensity ring time return.
	wide []float32
}

func decodeAll(t testing.TB, cfg hesai.Config, ps [][]byte, ts []int64) ([]scan, hesai.Stats) {
	t.Helper()
	d, err := hesai.NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []scan
	emit := func(s *hesai.Scan) error {
		out = append(out, scan{*s, append([]float32(nil), s.Points...), interleave(s.Points, s.Ring, s.Time, s.Return)})
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

// golden reads nebula's reference cloud and turns it from nebula's Hesai
// frame (x right, y forward) into ours (x forward, y left): (y, −x, z).
func golden(t *testing.T) []float32 {
	c, err := lidar.ReadFile(sampledata.Shared(t, "lidar-raw/hesai/golden/nebula_xt32_dual_1673400678101968885.pcd"), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := append([]float32(nil), ds3d.AsFloat32(c.Points)[:4*c.Len()]...)
	for i := 0; i < len(p); i += 4 {
		p[i], p[i+1] = p[i+1], -p[i]
	}
	return p
}

// TestAgainstNebula: with nebula's configuration (dual, 0.05–120 m) the
// scan that best matches nebula's reference has its point count within
// 1 % and 99 % of points with a neighbour within 1 cm both ways.
func TestAgainstNebula(t *testing.T) {
	gold := golden(t)
	ps, ts := packets(t)
	scans, _ := decodeAll(t, hesai.Config{MinRange: 0.05, MaxRange: 120}, ps, ts)
	best, bestF := -1, -1.0
	for i, s := range scans {
		if f := dstest.WithinFraction(gold, s.pts, 0.01); f > bestF {
			best, bestF = i, f
		}
	}
	s := scans[best]
	back := dstest.WithinFraction(s.pts, gold, 0.01)
	n, g := s.Len(), len(gold)/4
	t.Logf("scan %d of %d (complete %v, az %d→%d, %d packets): %d points vs nebula %d (%.2f %%); nebula→ours within 1 cm %.4f, ours→nebula %.4f",
		best, len(scans), s.Complete, s.AzimuthFirst, s.AzimuthLast, s.Packets, n, g, 100*float64(n-g)/float64(g), bestF, back)
	for i, s := range scans {
		t.Logf("scan %d: %d points, complete %v, %d packets", i, s.Len(), s.Complete, s.Packets)
	}
	if math.Abs(float64(n-g)) > 0.01*float64(g) {
		t.Errorf("point count %d vs nebula's %d: over 1 %% apart", n, g)
	}
	if bestF < 0.99 || back < 0.99 {
		t.Errorf("nearest neighbour within 1 cm: %.4f / %.4f of points, want ≥ 0.99", bestF, back)
	}
}

// TestCaptureMatchesProvenance: packets, header facts, sequence numbers,
// rotations and non-zero returns as PROVENANCE.md lists them.
func TestCaptureMatchesProvenance(t *testing.T) {
	ps, ts := packets(t)
	if len(ps) != 2000 {
		t.Fatalf("%d packets on 2368, want 2000", len(ps))
	}
	h, err := hesai.ParseHeader(ps[0])
	if err != nil {
		t.Fatal(err)
	}
	if h.Lasers != 32 || h.Blocks != 8 || h.DistUnitMM != 4 || h.Returns != 2 || h.ReturnMode != hesai.ModeLastStrongest ||
		h.MotorRPM < 599 || h.MotorRPM > 600 || h.Seq != 301676 {
		t.Errorf("header %+v", h)
	}
	if got := time.Unix(0, h.SensorTime).UTC().Format("2006-01-02T15:04:05"); got != "2019-07-25T03:19:29" {
		t.Errorf("sensor time %s", got)
	}
	if last, _ := hesai.ParseHeader(ps[len(ps)-1]); last.Seq != 303675 {
		t.Errorf("last sequence %d", last.Seq)
	}
	for b, want := range []int{108, 108, 126, 126, 144, 144, 162, 162} {
		if az := int(ps[0][12+b*130]) | int(ps[0][13+b*130])<<8; az != want {
			t.Errorf("block %d azimuth %d, want %d", b, az, want)
		}
	}
	total := 0
	for _, r := range []hesai.Returns{hesai.ReturnFirstBlock, hesai.ReturnSecondBlock} {
		scans, st := decodeAll(t, hesai.Config{Returns: r}, ps, ts)
		if st.Packets != 2000 || st.Dual != 2000 || st.SeqGaps != 0 || st.Malformed != 0 || st.Scans != 5 || st.Complete != 3 {
			t.Errorf("stats %+v", st)
		}
		total += st.Points
		// 4.0 rotations: 108 → … → 36000 + 108 per full rotation.
		swept := 0
		for _, s := range scans {
			swept += (s.AzimuthLast - s.AzimuthFirst + 36000) % 36000
		}
		if got := float64(swept+18*4) / 36000; math.Abs(got-4.0) > 0.002 {
			t.Errorf("swept %.4f rotations, want 4.000", got)
		}
	}
	if total != 486606 {
		t.Errorf("%d non-zero returns, want 486,606", total)
	}
}

// TestMalformed: broken packets are errors that change nothing.
func TestMalformed(t *testing.T) {
	ps, _ := packets(t)
	good := ps[0]
	mut := func(f func(p []byte)) []byte { p := bytes.Clone(good); f(p); return p }
	cases := []struct {
		name string
		p    []byte
		want string
	}{
		{"short", good[:30], "30 bytes, too short"},
		{"truncated", good[:1000], "1000 bytes, want 1080"},
		{"start", mut(func(p []byte) { p[0] = 0xff }), "byte 0: start FF FF"},
		{"protocol", mut(func(p []byte) { p[2] = 4 }), "protocol 4.1"},
		{"blocks", mut(func(p []byte) { p[7] = 7 }), "7 blocks"},
		{"lasers", mut(func(p []byte) { p[6] = 16 }), "want 568 for 8 blocks × 16 lasers"},
		{"azimuth", mut(func(p []byte) { p[12+3*130], p[13+3*130] = 0xff, 0xff }), "block 3: azimuth 65535"},
		{"velodyne", make([]byte, 1206), "start 00 00"},
	}
	for _, c := range cases {
		d, _ := hesai.NewDecoder(hesai.Config{})
		err := d.Decode(c.p, 0, nil)
		var pe *hesai.PacketError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if st := d.Stats(); st.Malformed != 1 || st.Packets != 0 || st.Points != 0 {
			t.Errorf("%s: stats %+v", c.name, st)
		}
	}
	// A 16-laser table refuses 32-laser packets; a lost packet is a gap.
	d, _ := hesai.NewDecoder(hesai.Config{Angles: &hesai.Angles{Elevation: make([]float64, 16), Azimuth: make([]float64, 16)}})
	if err := d.Decode(good, 0, nil); err == nil || !strings.Contains(err.Error(), "32 lasers, the angle table has 16") {
		t.Errorf("16-laser table: %v", err)
	}
	d, _ = hesai.NewDecoder(hesai.Config{})
	d.Decode(ps[0], 0, nil)
	d.Decode(ps[3], 0, nil)
	if st := d.Stats(); st.SeqGaps != 2 {
		t.Errorf("sequence gaps %d, want 2", st.SeqGaps)
	}
	if _, err := hesai.ParseAngles([]byte("Channel,Elevation,Azimuth\n1,2,3\n3,4,5\n"), "x.csv"); err == nil || !strings.Contains(err.Error(), "x.csv: line 3: channel 3, want 2") {
		t.Errorf("bad angles: %v", err)
	}
	a, err := hesai.LoadAngles(sampledata.Shared(t, "lidar-raw/hesai/PandarXT32.csv"))
	if err != nil || len(a.Elevation) != 32 {
		t.Fatal(err)
	}
	for i := range a.Elevation {
		if a.Elevation[i] != hesai.XT32.Elevation[i] || a.Azimuth[i] != hesai.XT32.Azimuth[i] {
			t.Errorf("channel %d: CSV %v/%v, built-in %v/%v", i+1, a.Elevation[i], a.Azimuth[i], hesai.XT32.Elevation[i], hesai.XT32.Azimuth[i])
		}
	}
}

func FuzzDecode(f *testing.F) {
	ps, _ := packets(f)
	f.Add(ps[0], ps[len(ps)/2])
	f.Add(ps[1], ps[1][:600])
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, cfg := range []hesai.Config{{}, {CutAngle: 180, MinRange: 1, MaxRange: 50, Returns: hesai.ReturnSecondBlock}} {
			d, err := hesai.NewDecoder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			emit := func(s *hesai.Scan) error { n += s.Len(); return nil }
			d.Decode(a, 0, emit)
			d.Decode(b, 1, emit)
			d.Decode(a, 2, emit)
			d.Flush(emit)
			if n != d.Stats().Points || n > 3*8*32 {
				t.Fatalf("%d points emitted, stats %+v", n, d.Stats())
			}
		}
	})
}

// BenchmarkDecode reports decoded points per second on one goroutine.
func BenchmarkDecode(b *testing.B) {
	ps, ts := packets(b)
	d, _ := hesai.NewDecoder(hesai.Config{MinRange: 0.05, MaxRange: 120})
	pts := 0
	emit := func(s *hesai.Scan) error { pts += s.Len(); return nil }
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k, p := range ps {
			d.Decode(p, ts[k], emit)
		}
	}
	d.Flush(emit)
	b.ReportMetric(float64(pts)/b.Elapsed().Seconds(), "points/s")
	b.ReportMetric(float64(b.N*len(ps))/b.Elapsed().Seconds(), "packets/s")
}
