package velodyne_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// runLoader builds and runs loader impl → recorder from a TOML config body.
func runLoader(t *testing.T, impl, cfg string) []dstest.Scan {
	t.Helper()
	return dstest.MustRecord(t, "", impl, cfg, wideScanOf)
}

func TestPcapFileLoader(t *testing.T) {
	path := sampledata.Shared(t, "lidar-raw/velodyne/vlp16_dual_nebula.DERIVED.pcap")
	recs := runLoader(t, "pcap_file_loader", `path = "`+path+`"
min_range = 0.3
max_range = 300.0
mem_pool_size = 2`)
	ps, ts := packets(t, "vlp16_dual_nebula.DERIVED.pcap")
	want, _ := decodeAll(t, velodyne.Config{MinRange: 0.3, MaxRange: 300}, ps, ts)
	if len(recs) != len(want) || len(recs) != 5 {
		t.Fatalf("%d datamaps, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		dstest.SamePoints(t, "scan", r.Points, want[i].wide)
		if r.Timestamp != want[i].ts || r.Frame != int64(i) {
			t.Errorf("scan %d: ts %d frame %d, want %d", i, r.Timestamp, r.Frame, want[i].ts)
		}
	}
	// drop_partial keeps the three complete rotations; a forced VLP-32C
	// calibration on VLP-16 packets is refused at construction.
	recs = runLoader(t, "pcap_file_loader", `path = "`+path+`"
drop_partial = true`)
	if len(recs) != 3 {
		t.Errorf("drop_partial: %d scans, want 3", len(recs))
	}
}

// TestExampleConfig runs apps/examples/pcap_vlp16.toml as shipped.
func TestExampleConfig(t *testing.T) {
	path := filepath.Join(sampledata.RepoRoot(t), "apps", "examples", "pcap_vlp16.toml")
	dstest.MustRunFile(t, path) // its counting_sink fails the run unless exactly 2 scans arrive
}

// TestUDPEndToEnd replays a capture over UDP on 127.0.0.1 into velodyne_udp
// and checks that the frames equal decoding the capture directly.
func TestUDPEndToEnd(t *testing.T) {
	ps, ts := packets(t, "vlp16_dual_nebula.DERIVED.pcap")
	want, _ := decodeAll(t, velodyne.Config{}, ps, ts)
	cfg := &velodyne.UDPConfig{Address: "127.0.0.1:0", ListenerGroup: pcap.ListenerGroup{IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20,
		OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 8}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := velodyne.NewUDPLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// the sensor, with a broken packet (no block flags: counted, not fatal) first
	wait := dstest.SendUDP(t, l.Addr().String(), 8, [][]byte{make([]byte, 1206)}, ps)
	recs := dstest.Drain(ctx, t, l, wideScanOf)
	wait()
	st := l.Stats()
	if st.Received != int64(len(ps))+1 || st.Malformed != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v (sent %d + 1 broken)", st, len(ps))
	}
	if len(recs) != len(want) {
		t.Fatalf("%d scans over UDP, %d from the file", len(recs), len(want))
	}
	for i := range recs {
		dstest.SamePoints(t, "udp scan", recs[i].Points, want[i].wide)
	}
}

// TestUDPLogsAddressAndRates checks what an operator sees while a sensor
// streams: the bound address (not ":0") once, then rate lines whose packet
// count adds up to what was sent.
func TestUDPLogsAddressAndRates(t *testing.T) {
	ps, _ := packets(t, "vlp16_dual_nebula.DERIVED.pcap")
	cfg := &velodyne.UDPConfig{Address: "127.0.0.1:0", ListenerGroup: pcap.ListenerGroup{IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20,
		OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 8, StatsInterval: 20 * time.Millisecond}}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	l, err := velodyne.NewUDPLoader(cfg, &ds3d.Env{Name: "lidar", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	// about 8 packets per millisecond: the send spans several intervals
	wait := dstest.SendUDP(t, addr, 8, nil, ps)
	dstest.Drain(ctx, t, l, dstest.ScanOf)
	wait()
	l.Close()
	out := logs.String()
	if !strings.Contains(out, `msg="listening on `+addr+`"`) {
		t.Errorf("no 'listening on %s' line:\n%s", addr, out)
	}
	var packets, rate int64
	lines := 0
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "msg=receiving") {
			continue
		}
		lines++
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "packets="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				packets += n
			}
			if v, ok := strings.CutPrefix(f, "packets_per_s="); ok {
				if r, err := strconv.ParseFloat(v, 64); err != nil || r < 0 {
					t.Fatalf("packets_per_s=%s", v)
				} else if r > 0 {
					rate++
				}
			}
		}
	}
	if lines == 0 || packets <= 0 || rate == 0 {
		t.Fatalf("no rate lines with packets (%d lines):\n%s", lines, out)
	}
	// The lines count each packet once; those after the last tick are in
	// no line.
	if packets > int64(len(ps)) {
		t.Errorf("rate lines add up to %d packets, %d were sent", packets, len(ps))
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
