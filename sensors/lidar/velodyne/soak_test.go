package velodyne_test

import (
	"context"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/pcap"
	"github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// soak replays the dual-return VLP-16 capture (exactly 4.000 rotations,
// so that it loops without a seam) over UDP loopback into velodyne_udp at
// 1× real time for d — paced by the pcap timestamps, the file's packets
// repeated with timestamps shifted by the file's period — and checks: no
// packet lost (sent == received, none malformed, no scan dropped), scans
// per second at the rotation rate, and a flat heap.
func soak(t *testing.T, d time.Duration) {
	ps, ts := packets(t, "vlp16_dual_nebula.DERIVED.pcap")
	step := (ts[len(ts)-1] - ts[0]) / int64(len(ts)-1)
	period := time.Duration(ts[len(ts)-1] - ts[0] + step) // one loop of the file
	const rotationsPerLoop = 4.0
	rate := rotationsPerLoop / period.Seconds() // rotations per second (~10 Hz)

	cfg := &velodyne.UDPConfig{Address: "127.0.0.1:0", ListenerGroup: pcap.ListenerGroup{IdleTimeout: 500 * time.Millisecond, ReadBuffer: 8 << 20,
		OutputKey: string(ds3d.KeyLidarXYZI), MemPoolSize: 4}}
	if err := ds3d.CheckConfig(cfg); err != nil {
		t.Fatal(err)
	}
	l, err := velodyne.NewUDPLoader(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	if err := l.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	var sent int64
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() { // the sensor
		defer wg.Done()
		conn, err := net.Dial("udp", l.Addr().String())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		for k := 0; ; k++ {
			for i, p := range ps {
				at := start.Add(time.Duration(ts[i]-ts[0]) + time.Duration(k)*period)
				if at.Sub(start) >= d {
					return
				}
				if w := time.Until(at); w > 0 {
					time.Sleep(w)
				}
				if _, err := conn.Write(p); err != nil {
					t.Error(err)
					return
				}
				sent++
			}
		}
	}()

	// The consumer: release every frame, sample the heap once a second.
	var heap []uint64
	var ms runtime.MemStats
	next := start.Add(time.Second)
	scans := 0
	for {
		m, err := l.Next(ctx)
		if err != nil {
			break
		}
		m.Release()
		scans++
		if time.Now().After(next) {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap = append(heap, ms.HeapAlloc)
			next = next.Add(time.Second)
		}
	}
	wg.Wait()
	elapsed := d
	st := l.Stats()
	t.Logf("%v at 1× real time: sent %d, stats %+v; %.2f scans/s (rotation rate %.2f Hz); heap samples %v", d, sent, st,
		float64(st.Scans)/elapsed.Seconds(), rate, heap)
	if st.Received != sent || st.Malformed != 0 || st.Dropped != 0 {
		t.Errorf("sent %d, received %d, malformed %d, dropped scans %d", sent, st.Received, st.Malformed, st.Dropped)
	}
	// Scans: one per rotation, ± the partial ones at both ends.
	if want := rate * elapsed.Seconds(); math.Abs(float64(st.Scans)-want) > 2+0.02*want {
		t.Errorf("%d scans in %v, want %.1f (%.2f Hz)", st.Scans, elapsed, want, rate)
	}
	// Flat memory: after the first sample (pools and buffers warmed up),
	// the live heap grows by less than 4 MiB.
	if len(heap) >= 2 {
		lo, hi := heap[0], heap[0]
		for _, h := range heap[1:] {
			hi = max(hi, h)
		}
		if hi-lo > 4<<20 && hi > lo {
			t.Errorf("heap grew from %d to %d bytes", lo, hi)
		}
	}
}

// TestSoakShort is the always-on 2-second UDP soak.
func TestSoakShort(t *testing.T) {
	soak(t, 2*time.Second)
}

// TestSoak runs for DS3D_SOAK (a Go duration, e.g. 60s); skipped when unset
// (`make soak` sets it).
func TestSoak(t *testing.T) {
	s := os.Getenv("DS3D_SOAK")
	if s == "" {
		t.Skip("set DS3D_SOAK=60s to run the long UDP soak")
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("DS3D_SOAK=%q: want a duration such as 60s", s)
	}
	soak(t, d)
}
