package pcap

import (
	"fmt"
	"strings"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Scan is a decoded rotation (or the points between two cuts) handed from
// a packet decoder to its user. Points (x, y, z, intensity per point, in
// the lidar frame: x forward, y left, z up, metres) is owned by the
// decoder and valid only during the call that receives it.
type Scan struct {
	Points    []float32
	Timestamp int64 // ns: capture or arrival time of the scan's first packet
	Complete  bool  // began and ended at a cut (not at the start/end of the stream)
	// Extra holds further per-point columns (each of len(Points)/4 values:
	// ring, time, return …) that follow intensity; Columns names all of
	// them, x y z intensity first (nil when Extra is empty).
	Extra   [][]float32
	Columns []string
}

// PacketDecoder turns one sensor's UDP payloads into scans.
type PacketDecoder interface {
	// Decode decodes a payload captured at ts (ns) and calls emit for
	// every scan it completes. A malformed payload is an error that
	// changes nothing; the caller counts it and goes on.
	Decode(payload []byte, ts int64, emit func(Scan) error) error
	// Flush emits the scan in progress at the end of the stream.
	Flush(emit func(Scan) error) error
	// Counters reports named counts (packets, malformed, …) for logs.
	Counters() map[string]int
}

// SensorOptions are the decoder settings shared by pcap_file_loader and
// the live UDP drivers; each sensor family reads what applies to it and
// rejects what does not.
type SensorOptions struct {
	Model         string    // "" = from the packets
	Calibration   string    // calibration / metadata file (resolved path)
	ReturnMode    string    // "", "strongest", "last", "dual"
	CutAngle      float64   // degrees
	FOV           []float64 // [start, end] degrees, clockwise; empty = full
	MinRange      float64   // metres
	MaxRange      float64   // metres, 0 = none
	Interpolation string    // sensor specific ("firing", "nebula", "block" for Velodyne)
}

// Sensor is a registered sensor family.
type Sensor struct {
	// Port is the default UDP destination port of its data packets.
	Port int
	// New makes a decoder.
	New func(SensorOptions) (PacketDecoder, error)
}

var (
	sensorsMu sync.Mutex
	sensors   = map[string]Sensor{}
)

// RegisterSensor adds a sensor family ("velodyne", "ouster", "hesai") for
// pcap_file_loader. Packages register in init(); a name registered twice
// panics.
func RegisterSensor(name string, s Sensor) {
	sensorsMu.Lock()
	defer sensorsMu.Unlock()
	if _, dup := sensors[name]; dup {
		panic("pcap: sensor " + name + " registered twice")
	}
	sensors[name] = s
}

// LookupSensor finds a registered sensor family.
func LookupSensor(name string) (Sensor, error) {
	sensorsMu.Lock()
	s, ok := sensors[name]
	sensorsMu.Unlock()
	if ok {
		return s, nil
	}
	return Sensor{}, fmt.Errorf("pcap: unknown sensor %q (registered: %s; import its package)", name, strings.Join(sensorNames(), ", "))
}

// FillScan copies a scan into an [N, 4+len(Extra)] f32 lidar frame whose
// columns are x y z intensity then the scan's extra columns by name.
func FillScan(f *ds3d.Frame, s Scan) {
	if len(s.Extra) == 0 {
		FillFrame(f, s.Points)
		return
	}
	n, c := len(s.Points)/4, 4+len(s.Extra)
	f.DType, f.Type = ds3d.DTypeF32, ds3d.FrameLidarXYZI
	f.Resize(n, c)
	dst := ds3d.AsFloat32(f)[:n*c]
	for i := 0; i < n; i++ {
		d, p := dst[i*c:i*c+4:i*c+4], s.Points[4*i:4*i+4:4*i+4] // not copy(): a call per point
		d[0], d[1], d[2], d[3] = p[0], p[1], p[2], p[3]
	}
	for k, col := range s.Extra {
		col = col[:n]
		for i, v := range col {
			dst[i*c+4+k] = v
		}
	}
	f.SetColumns(s.Columns...)
}

// FillFrame copies a scan's points into an [N,4] f32 lidar frame, reusing
// its buffer when large enough.
func FillFrame(f *ds3d.Frame, pts []float32) {
	n := len(pts) / 4
	f.DType, f.Type = ds3d.DTypeF32, ds3d.FrameLidarXYZI
	f.Resize(n, 4)
	copy(ds3d.AsFloat32(f), pts[:4*n])
}
