package pcap_test

import (
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/hesai"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/ouster"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	_ "github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// TestInspect runs Inspect on every capture of PROVENANCE.md: the sensor
// family (and model where the decoder names it), packets on the data port,
// other ports, return mode and rotations as listed there.
func TestInspect(t *testing.T) {
	cases := []struct {
		file           string
		sensor, model  string // model: substring of Info.Model
		port, packets  int
		ports          string // WriteText's udp ports line
		returns        string // substring of Info.ReturnMode
		scans, complet int
		median         int // points per rotation (complete, or partial scans)
	}{
		{"velodyne/vlp16_strongest_2018.pcap", "velodyne", "", 2368, 84, "2368: 84 × 1206 B", "", 2, 0, -1},
		{"velodyne/hdl32e_strongest_2012.pcap", "velodyne", "", 2368, 876, "2368: 876 × 1206 B, 8308: 100 × 512 B", "", 7, 5, -1},
		{"velodyne/vlp16_dual_nebula.DERIVED.pcap", "velodyne", "", 2368, 603, "2368: 603 × 1206 B", "", 5, 3, -1},
		{"velodyne/vlp32c_strongest_fov180_nebula.DERIVED.pcap", "velodyne", "", 2368, 379, "2368: 379 × 1206 B", "", -1, -1, -1},
		{"hesai/pandar_xt32_dual_nebula.DERIVED.pcap", "hesai", "Hesai PandarXT32", 2368, 2000, "2368: 2000 × 1080 B", "dual (last, strongest)", 5, 3, -1},
		{"ouster/OS-1-32-G_v2.1.1_1024x10.pcap", "ouster", "OS-1-32-G", 7502, 64, "7502: 64 × 6464 B", "single", 1, 1, 27310},
		{"ouster/OS-0-32-U1_v2.2.0_1024x10.pcap", "ouster", "OS-0-32-U1 (1024x10, RNG19_RFL8_SIG16_NIR16_DUAL)", 7502, 64, "7502: 64 × 8448 B, 7503: 10 × 48 B", "dual", 1, 1, -1},
		{"ouster/os1-64_legacy_2019.pcap", "ouster", "Ouster 64-beam", 7502, 100, "7502: 100 × 12608 B", "single", 3, 1, 58797},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			info, err := pcap.Inspect(sampledata.Shared(t, "lidar-raw/"+c.file))
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			if err := info.WriteText(&sb); err != nil {
				t.Fatal(err)
			}
			t.Log("\n" + sb.String())
			if info.Sensor != c.sensor || !strings.Contains(info.Model, c.model) || info.Port != c.port || info.Packets != c.packets || info.Malformed != 0 {
				t.Errorf("sensor %q model %q on %d: %d packets (%d malformed); want %q %q on %d: %d", info.Sensor, info.Model, info.Port,
					info.Packets, info.Malformed, c.sensor, c.model, c.port, c.packets)
			}
			if !strings.Contains(sb.String(), "udp ports:       "+c.ports+"\n") || !strings.Contains(info.ReturnMode, c.returns) {
				t.Errorf("ports / return mode %q not as expected (%s, %s)", info.ReturnMode, c.ports, c.returns)
			}
			if c.scans >= 0 && (info.Scans != c.scans || info.Complete != c.complet) {
				t.Errorf("%d scans (%d complete), want %d (%d)", info.Scans, info.Complete, c.scans, c.complet)
			}
			if c.median >= 0 && info.PointsMedian != c.median {
				t.Errorf("median %d points per rotation, want %d", info.PointsMedian, c.median)
			}
			if info.DecodeTime <= 0 || info.Duration <= 0 {
				t.Errorf("decode time %v, duration %v", info.DecodeTime, info.Duration)
			}
		})
	}
}
