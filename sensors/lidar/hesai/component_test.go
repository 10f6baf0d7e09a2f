package hesai_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/hesai"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// runLoader builds and runs loader impl → recorder from a TOML config body.
func runLoader(t *testing.T, impl, cfg string) []dstest.Scan {
	t.Helper()
	return dstest.MustRecord(t, "", impl, cfg, wideScanOf)
}

// TestPcapFileLoader replays the XT32 capture through pcap_file_loader
// with sensor = "hesai" and the shared angle CSV: the scans equal
// decoding it directly; drop_partial keeps the three complete rotations.
func TestPcapFileLoader(t *testing.T) {
	path := sampledata.Shared(t, capture)
	csv := sampledata.Shared(t, "lidar-raw/hesai/PandarXT32.csv")
	recs := runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "hesai"
calibration = "`+csv+`"
min_range = 0.05
max_range = 120.0
mem_pool_size = 2`)
	ps, ts := packets(t)
	want, _ := decodeAll(t, hesai.Config{MinRange: 0.05, MaxRange: 120}, ps, ts)
	if len(recs) != 5 || len(want) != 5 {
		t.Fatalf("%d datamaps, want 5", len(recs))
	}
	for i, r := range recs {
		dstest.SamePoints(t, "scan", r.Points, want[i].wide)
		if r.Timestamp != want[i].Timestamp || r.Frame != int64(i) {
			t.Errorf("scan %d: ts %d number %d, want %d", i, r.Timestamp, r.Frame, want[i].Timestamp)
		}
	}
	recs = runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "hesai"
drop_partial = true`)
	if len(recs) != 3 {
		t.Errorf("drop_partial: %d scans, want 3", len(recs))
	}
}

// TestUDPEndToEnd replays the capture over UDP on 127.0.0.1 into hesai_udp
// (with a broken packet mixed in) and checks that the scans equal decoding
// the capture directly.
func TestUDPEndToEnd(t *testing.T) {
	ps, ts := packets(t)
	want, _ := decodeAll(t, hesai.Config{}, ps, ts)
	cfg := &hesai.UDPConfig{Address: "127.0.0.1:0", ListenerGroup: pcap.ListenerGroup{IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20,
		OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 8}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := hesai.NewUDPLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// the sensor, with a packet without EE FF first (counted, not fatal)
	wait := dstest.SendUDP(t, l.Addr().String(), 8, [][]byte{make([]byte, 1080)}, ps)
	recs := dstest.Drain(ctx, t, l, wideScanOf)
	wait()
	if st := l.Stats(); st.Received != int64(len(ps))+1 || st.Malformed != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v (sent %d + 1 broken)", st, len(ps))
	}
	if len(recs) != len(want) {
		t.Fatalf("%d scans over UDP, %d from the file", len(recs), len(want))
	}
	for i := range recs {
		dstest.SamePoints(t, "udp scan", recs[i].Points, want[i].wide)
	}
	if err := ds3d.CheckConfig(&hesai.UDPConfig{Address: ":0", ListenerGroup: pcap.ListenerGroup{OutputKey: "x", MemPoolSize: 1}, CutAngle: 360}); err == nil {
		t.Error("cut_angle 360 validated")
	}
}

// TestExampleConfig runs apps/examples/pcap_xt32.toml as shipped (its
// counting_sink fails the run unless exactly 2 scans arrive) and checks the
// bundled cut decodes as the same packets of the shared capture do.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "pcap_xt32.toml")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the shipped example is part of the repository: %v", err)
	}
	dstest.MustRunFile(t, path)
	r, c, err := pcap.Open(sampledata.Sample(t, "lidar-raw/pandar_xt32_dual_nebula_cut.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ps, ts := packets(t)
	for i := 375; i < 625; i++ {
		p, err := r.Next()
		if err != nil || !bytes.Equal(p.Payload, ps[i]) || p.Timestamp != ts[i] {
			t.Fatalf("bundled record %d differs from the shared capture's %d (%v)", i-375, i, err)
		}
	}
}
