package ouster_test

import (
	"context"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	_ "github.com/ds3d-go/ds3d-go/ds3d/builtin"
	"github.com/ds3d-go/ds3d-go/internal/dstest"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
)

// runLoader builds and runs loader impl → recorder from a TOML config body.
func runLoader(t *testing.T, impl, cfg string) []dstest.Scan {
	t.Helper()
	return dstest.MustRecord(t, "", impl, cfg, wideScanOf)
}

// TestPcapFileLoader replays the OS1-64 capture through pcap_file_loader
// with sensor = "ouster": the three frames equal decoding it directly, and
// drop_partial keeps the complete one.
func TestPcapFileLoader(t *testing.T) {
	c := captures[2]
	path := sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".pcap")
	js := sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")
	recs := runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "ouster"
calibration = "`+js+`"
mem_pool_size = 2`)
	ps, ts, _ := packets(t, c.name, ouster.Port)
	want, _ := decodeAll(t, ouster.Config{Meta: meta(t, c.name)}, ps, ts)
	if len(recs) != 3 || len(want) != 3 {
		t.Fatalf("%d datamaps, want 3", len(recs))
	}
	for i, r := range recs {
		dstest.SamePoints(t, "frame", r.Points, want[i].wide)
		if r.Timestamp != want[i].Timestamp || r.Frame != int64(i) {
			t.Errorf("frame %d: ts %d number %d, want %d", i, r.Timestamp, r.Frame, want[i].Timestamp)
		}
	}
	recs = runLoader(t, "pcap_file_loader", `path = "`+path+`"
sensor = "ouster"
calibration = "`+js+`"
drop_partial = true`)
	if len(recs) != 1 || len(recs[0].Points)/7 != 58797 {
		t.Errorf("drop_partial: %d frames, want the complete one", len(recs))
	}
	// The dual-profile capture: the IMU packets on 7503 are skipped by port.
	c = captures[1]
	recs = runLoader(t, "pcap_file_loader", `path = "`+sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".pcap")+`"
sensor = "ouster"
return_mode = "strongest"
calibration = "`+sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")+`"`)
	if len(recs) != 1 || len(recs[0].Points)/7 != c.nonZero {
		t.Errorf("dual capture: %d frames", len(recs))
	}
}

// TestUDPEndToEnd replays the dual-profile capture over UDP on 127.0.0.1
// into ouster_udp (with a LEGACY packet and an IMU packet mixed in, which
// are counted as malformed) and checks that the frame equals decoding the
// capture directly.
func TestUDPEndToEnd(t *testing.T) {
	c := captures[1]
	ps, ts, _ := packets(t, c.name, ouster.Port)
	legacy, _, _ := packets(t, captures[0].name, ouster.Port)
	want, _ := decodeAll(t, ouster.Config{Meta: meta(t, c.name)}, ps, ts)
	cfg := &ouster.UDPConfig{Address: "127.0.0.1:0", Metadata: ds3d.Path(sampledata.Shared(t, "lidar-raw/ouster/"+c.name+".json")),
		ListenerGroup: pcap.ListenerGroup{IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20, OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 4}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := ouster.NewUDPLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// the sensor, with a LEGACY and an IMU-sized packet first
	wait := dstest.SendUDP(t, l.Addr().String(), 4, [][]byte{legacy[0], make([]byte, 48)}, ps)
	recs := dstest.Drain(ctx, t, l, wideScanOf)
	wait()
	if st := l.Stats(); st.Received != int64(len(ps))+2 || st.Malformed != 2 || st.Dropped != 0 || st.Scans != 1 {
		t.Fatalf("stats %+v (sent %d + 2 foreign)", st, len(ps))
	}
	if len(recs) != 1 {
		t.Fatalf("%d frames over UDP", len(recs))
	}
	dstest.SamePoints(t, "udp frame", recs[0].Points, want[0].wide)
	bad := &ouster.UDPConfig{Address: ":0", ListenerGroup: pcap.ListenerGroup{OutputKey: "x", MemPoolSize: 1}}
	if err := ds3d.CheckConfig(bad); err == nil {
		t.Error("ouster_udp without metadata validated")
	}
}
