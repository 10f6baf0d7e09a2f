package velodyne_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// scanInfo is a copy of what a test needs from an emitted scan.
type scanInfo struct {
	pts             []float32
	ts              int64
	complete        bool
	coverage, swept int
	azFirst, azLast int
	packets         int
	// wide is the frame a loader makes: x y z intensity ring time return.
	wide            []float32
	ring, time, ret []float32
}

// packets reads the capture's 2368 payloads.
func packets(t testing.TB, rel string) ([][]byte, []int64) {
	t.Helper()
	r, c, err := pcap.Open(sampledata.Shared(t, "lidar-raw/velodyne/"+rel))
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
		if p.DstPort == 2368 {
			ps = append(ps, bytes.Clone(p.Payload))
			ts = append(ts, p.Timestamp)
		}
	}
}

func decodeAll(t testing.TB, cfg velodyne.Config, ps [][]byte, ts []int64) ([]scanInfo, velodyne.Stats) {
	t.Helper()
	d, err := velodyne.NewDecoder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var out []scanInfo
	emit := func(s *velodyne.Scan) error {
		out = append(out, scanInfo{append([]float32(nil), s.Points...), s.Timestamp, s.Complete, s.Coverage(), s.SweptCentiDeg, s.AzimuthFirst, s.AzimuthLast, s.Packets,
			interleave(s.Points, s.Ring, s.Time, s.Return), slices.Clone(s.Ring), slices.Clone(s.Time), slices.Clone(s.Return)})
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

// TestCapturesMatchProvenance: every capture decodes; rotations, points and
// azimuth coverage match PROVENANCE.md (pcap_info.py's counts of non-zero
// returns, rotations swept, 1° bins).
func TestCapturesMatchProvenance(t *testing.T) {
	cases := []struct {
		file      string
		cut       float64
		points    int     // all non-zero returns (single-return files)
		rotations float64 // swept
		complete  int     // complete scans
		coverage  int     // 1° bins of a complete scan (or of the whole file)
		stats     velodyne.Stats
	}{
		{"vlp16_strongest_2018.pcap", 0, 31630, 1.114, 0, 360, velodyne.Stats{Packets: 84}},
		{"hdl32e_strongest_2012.pcap", 0, 252057, 5.678, 5, 360, velodyne.Stats{Packets: 876}},
		{"vlp16_dual_nebula.DERIVED.pcap", 0, -1, 4.000, 3, 360, velodyne.Stats{Packets: 603}},
		{"vlp32c_strongest_fov180_nebula.DERIVED.pcap", 180, 131305, 2.512, 4, 181, velodyne.Stats{Packets: 379}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ps, ts := packets(t, c.file)
			scans, st := decodeAll(t, velodyne.Config{CutAngle: c.cut}, ps, ts)
			total, swept, complete := 0, 0, 0
			bins := map[int]bool{}
			for i, s := range scans {
				total += len(s.pts) / 4
				swept += s.swept
				if s.complete {
					complete++
					if s.coverage != c.coverage {
						t.Errorf("scan %d covers %d 1° bins, want %d", i, s.coverage, c.coverage)
					}
				}
				for k := 0; k < len(s.pts); k += 4 {
					if math.IsNaN(float64(s.pts[k])) {
						t.Fatal("NaN point")
					}
				}
				bins[s.azFirst/100] = true
			}
			// Inter-scan steps are inside the scans; pcap_info adds the
			// same block-to-block steps ≤ 10°.
			if got := float64(swept) / 36000; math.Abs(got-c.rotations) > 0.002 {
				t.Errorf("swept %.3f rotations, want %.3f", got, c.rotations)
			}
			if c.points >= 0 && total != c.points {
				t.Errorf("%d points, want %d (every non-zero return)", total, c.points)
			}
			if complete != c.complete {
				t.Errorf("%d complete scans, want %d", complete, c.complete)
			}
			if st.Packets != c.stats.Packets || st.Malformed != 0 || st.TimingMismatch != 0 || st.ModelMismatch != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func readGolden(t *testing.T, name string) []float32 {
	c, err := lidar.ReadFile(sampledata.Shared(t, "lidar-raw/velodyne/golden/"+name), lidar.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), ds3d.AsFloat32(c.Points)[:4*c.Len()]...)
}

// TestAgainstNebula compares scans with nebula's reference clouds after
// matching nebula's configuration (PROVENANCE.md): the scan of the capture
// that best matches the reference must have its point count within 1 % and
// 99 % of the reference's points must have one of ours within 1 cm (and the
// other way round).
func TestAgainstNebula(t *testing.T) {
	cases := []struct {
		name, pcap, golden string
		cfg                velodyne.Config
	}{
		{"vlp16-dual", "vlp16_dual_nebula.DERIVED.pcap", "nebula_vlp16_dual_1673400472138016708.pcd",
			velodyne.Config{MinRange: 0.3, MaxRange: 300}},
		{"vlp32c", "vlp32c_strongest_fov180_nebula.DERIVED.pcap", "nebula_vlp32c_1713492677464078412.pcd",
			velodyne.Config{MinRange: 0.4, MaxRange: 50, CutAngle: 180}},
	}
	for _, c := range cases {
		for _, interp := range []velodyne.Interp{velodyne.InterpNebula, velodyne.InterpFiring, velodyne.InterpBlock} {
			c.cfg.Interpolation = interp
			t.Run(c.name+"/"+[]string{"firing", "nebula", "block"}[interp], func(t *testing.T) {
				gold := readGolden(t, c.golden)
				ps, ts := packets(t, c.pcap)
				scans, _ := decodeAll(t, c.cfg, ps, ts)
				best, bestF := -1, -1.0
				for i, s := range scans {
					if f := dstest.WithinFraction(gold, s.pts, 0.01); f > bestF {
						best, bestF = i, f
					}
				}
				s := scans[best]
				back := dstest.WithinFraction(s.pts, gold, 0.01)
				n, g := len(s.pts)/4, len(gold)/4
				t.Logf("scan %d of %d (ts %d, complete %v): %d points vs nebula %d (%.2f %%); nebula→ours within 1 cm %.4f, ours→nebula %.4f",
					best, len(scans), s.ts, s.complete, n, g, 100*float64(n-g)/float64(g), bestF, back)
				if math.Abs(float64(n-g)) > 0.01*float64(g) {
					t.Errorf("point count %d vs nebula's %d: over 1 %% apart", n, g)
				}
				if loose := dstest.WithinFraction(gold, s.pts, 0.10); loose < 0.99 {
					t.Errorf("only %.4f of nebula's points within 10 cm of ours", loose)
				}
				if interp == velodyne.InterpNebula && (bestF < 0.99 || back < 0.99) {
					t.Errorf("nearest neighbour within 1 cm: %.4f / %.4f of points, want ≥ 0.99", bestF, back)
				}
			})
		}
	}
}

// TestMalformed: broken packets are errors that change nothing, never panics.
func TestMalformed(t *testing.T) {
	ps, ts := packets(t, "vlp16_strongest_2018.pcap")
	good := ps[0]
	mut := func(f func(p []byte)) []byte { p := bytes.Clone(good); f(p); return p }
	cases := []struct {
		name string
		p    []byte
		want string
	}{
		{"short", good[:1000], "1000 bytes, want 1206"},
		{"flag", mut(func(p []byte) { p[300] = 0x12 }), "byte 300: block 3 flag 12 EE"},
		{"azimuth", mut(func(p []byte) { p[402], p[403] = 0xff, 0xff }), "azimuth 65535"},
		{"product", mut(func(p []byte) { p[1205] = 0x99 }), "unknown product id 0x99"},
	}
	for _, c := range cases {
		d, _ := velodyne.NewDecoder(velodyne.Config{})
		err := d.Decode(c.p, 0, nil)
		var pe *velodyne.PacketError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if st := d.Stats(); st.Malformed != 1 || st.Packets != 0 {
			t.Errorf("%s: stats %+v", c.name, st)
		}
	}
	// A forced model decodes unknown product ids and counts the mismatch;
	// a single-return packet of the wrong mode is dropped.
	d, _ := velodyne.NewDecoder(velodyne.Config{Model: velodyne.VLP16, Returns: velodyne.ReturnLast})
	if err := d.Decode(good, ts[0], nil); err == nil || d.Stats().ReturnMismatch != 1 {
		t.Errorf("strongest packet with returns=last: %v %+v", err, d.Stats())
	}
	d, _ = velodyne.NewDecoder(velodyne.Config{Model: velodyne.HDL32E})
	for i, p := range ps {
		d.Decode(p, ts[i], nil)
	}
	if st := d.Stats(); st.ModelMismatch != len(ps) || st.TimingMismatch != len(ps)-1 {
		t.Errorf("VLP-16 packets decoded as HDL-32E: %+v, want every packet flagged", st)
	}
	if _, err := velodyne.NewDecoder(velodyne.Config{CutAngle: 400}); err == nil {
		t.Error("cut angle 400° accepted")
	}
	if _, err := velodyne.ParseCalibration([]byte("lasers:\n  - {laser_id: 3}\n"), "bad.yaml"); err == nil || !strings.Contains(err.Error(), "laser_id 3") {
		t.Errorf("bad calibration: %v", err)
	}
}

func TestCalibrationFiles(t *testing.T) {
	for _, f := range []string{"VLP16.yaml", "VLP32.yaml", "HDL32.yaml"} {
		c, err := velodyne.LoadCalibration(sampledata.Shared(t, "lidar-raw/velodyne/calib/"+f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "VLP16.yaml" && (c.NumLasers != 16 || math.Abs(c.Lasers[1].VertCorrection-math.Pi/180) > 1e-12 || c.DistanceResolution != 0.002) {
			t.Errorf("%s: %+v", f, c.Lasers[1])
		}
		if f == "VLP32.yaml" && (c.NumLasers != 32 || c.DistanceResolution != 0.004) {
			t.Errorf("%s: %d lasers, %v m", f, c.NumLasers, c.DistanceResolution)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, rel := range []string{"vlp16_strongest_2018.pcap", "vlp16_dual_nebula.DERIVED.pcap", "hdl32e_strongest_2012.pcap", "vlp32c_strongest_fov180_nebula.DERIVED.pcap"} {
		ps, _ := packets(f, rel)
		f.Add(ps[0], ps[len(ps)/2])
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		for _, cfg := range []velodyne.Config{{}, {Model: velodyne.VLP32C, FOVStart: 300, FOVEnd: 60, CutAngle: 180, Interpolation: velodyne.InterpNebula}} {
			d, err := velodyne.NewDecoder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			emit := func(s *velodyne.Scan) error { n += s.Len(); return nil }
			d.Decode(a, 0, emit)
			d.Decode(b, 1, emit)
			d.Decode(a, 2, emit)
			d.Flush(emit)
			if n != d.Stats().Points || n > 3*384 {
				t.Fatalf("%d points emitted, stats %+v", n, d.Stats())
			}
		}
	})
}

// BenchmarkDecode reports decoded points per second on one goroutine.
func BenchmarkDecode(b *testing.B) {
	for _, rel := range []string{"vlp16_strongest_2018.pcap", "vlp16_dual_nebula.DERIVED.pcap", "hdl32e_strongest_2012.pcap", "vlp32c_strongest_fov180_nebula.DERIVED.pcap"} {
		b.Run(strings.TrimSuffix(rel, ".pcap"), func(b *testing.B) {
			ps, ts := packets(b, rel)
			d, _ := velodyne.NewDecoder(velodyne.Config{})
			pts := 0
			emit := func(s *velodyne.Scan) error { pts += s.Len(); return nil }
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
		})
	}
}
