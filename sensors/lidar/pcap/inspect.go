package pcap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// Describer is implemented by packet decoders that can name the sensor
// model and return mode of the packets decoded so far (Inspect prints
// them; without it, Inspect names only the sensor family).
type Describer interface {
	Describe() (model, returnMode string)
}

// PortInfo counts the datagrams sent to one UDP port.
type PortInfo struct {
	Port    uint16 `json:"port"`
	Packets int    `json:"packets"`
	MinSize int    `json:"min_bytes"` // payload bytes
	MaxSize int    `json:"max_bytes"`
}

// Info describes a lidar packet capture: what Inspect found.
type Info struct {
	Path   string     `json:"path"`
	Format Format     `json:"container"`
	Reader Stats      `json:"reader"` // records, datagrams and what was skipped
	Ports  []PortInfo `json:"udp_ports"`
	// Sensor is the registered family that decodes the capture ("" when
	// none does), on UDP Port; Calibration the sidecar file it needed
	// (Ouster: the metadata JSON beside the capture).
	Sensor      string `json:"sensor"`
	Calibration string `json:"calibration,omitempty"`
	Port        int    `json:"port"`
	Model       string `json:"model,omitempty"` // from the decoder (Describer), when it says
	ReturnMode  string `json:"return_mode,omitempty"`
	Packets     int    `json:"packets"`   // datagrams on Port given to the decoder
	Malformed   int    `json:"malformed"` // those it rejected
	// Scans are rotations (or frames, or FOV cuts) the decoder emitted;
	// Complete those that began and ended at a cut.
	Scans    int `json:"scans"`
	Complete int `json:"complete_scans"`
	// PointsMin, PointsMedian and PointsMax are points per complete scan,
	// or per scan when none is complete (PointsOfPartial).
	PointsMin       int            `json:"points_min"`
	PointsMedian    int            `json:"points_median"`
	PointsMax       int            `json:"points_max"`
	PointsOfPartial bool           `json:"points_of_partial_scans"`
	Points          int            `json:"points"` // in all scans
	First           int64          `json:"first_ns"`
	Last            int64          `json:"last_ns"`
	Duration        time.Duration  `json:"duration_ns"` // last − first capture time
	DecodeTime      time.Duration  `json:"decode_ns"`   // reading and decoding the sensor's packets (second pass)
	Counters        map[string]int `json:"counters,omitempty"`
}

// probePackets is how many payloads of a port a family is tried on.
const probePackets = 16

type candidate struct {
	name, calib string
	port        uint16
	ok          int
}

// Inspect reads a capture, finds the registered sensor family that decodes
// its payloads (each family, with and without the sidecar metadata file
// NAME.json, is tried on the first payloads of each port, its default port
// first; the one that decodes them all wins), then decodes the whole
// capture with it and counts scans and points. A capture no family decodes
// is not an error: Sensor stays empty.
func Inspect(path string) (Info, error) {
	info := Info{Path: path}
	rd, c, err := Open(path)
	if err != nil {
		return info, err
	}
	ports := map[uint16]*PortInfo{}
	firsts := map[uint16][][]byte{}
	for {
		p, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			c.Close()
			return info, err
		}
		if len(ports) == 0 {
			info.First = p.Timestamp
		}
		info.Last = p.Timestamp
		pi := ports[p.DstPort]
		if pi == nil {
			pi = &PortInfo{Port: p.DstPort, MinSize: len(p.Payload)}
			ports[p.DstPort] = pi
		}
		pi.Packets++
		pi.MinSize, pi.MaxSize = min(pi.MinSize, len(p.Payload)), max(pi.MaxSize, len(p.Payload))
		if len(firsts[p.DstPort]) < probePackets {
			firsts[p.DstPort] = append(firsts[p.DstPort], bytes.Clone(p.Payload))
		}
	}
	info.Format, info.Reader = rd.Format(), rd.Stats()
	c.Close()
	for _, pi := range ports {
		info.Ports = append(info.Ports, *pi)
	}
	sort.Slice(info.Ports, func(i, j int) bool { return info.Ports[i].Port < info.Ports[j].Port })
	info.Duration = time.Duration(info.Last - info.First)

	best, ok := detect(path, info.Ports, firsts)
	if !ok {
		return info, nil
	}
	info.Sensor, info.Calibration, info.Port = best.name, best.calib, int(best.port)
	return info, decodeCapture(&info)
}

// sensorNames lists the registered families, sorted.
func sensorNames() []string {
	sensorsMu.Lock()
	defer sensorsMu.Unlock()
	names := make([]string, 0, len(sensors))
	for n := range sensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func detect(path string, ports []PortInfo, firsts map[uint16][][]byte) (candidate, bool) {
	calibs := []string{""}
	if side := strings.TrimSuffix(path, filepath.Ext(path)) + ".json"; side != path {
		if _, err := os.Stat(side); err == nil {
			calibs = append(calibs, side)
		}
	}
	var best candidate
	for _, name := range sensorNames() {
		s, err := LookupSensor(name)
		if err != nil {
			continue
		}
		order := make([]PortInfo, len(ports))
		copy(order, ports)
		sort.SliceStable(order, func(i, j int) bool {
			if (int(order[i].Port) == s.Port) != (int(order[j].Port) == s.Port) {
				return int(order[i].Port) == s.Port
			}
			return order[i].Packets > order[j].Packets
		})
		for _, calib := range calibs {
			for _, pi := range order {
				dec, err := s.New(SensorOptions{Calibration: calib})
				if err != nil {
					break
				}
				n := 0
				for _, p := range firsts[pi.Port] {
					if dec.Decode(p, 0, func(Scan) error { return nil }) == nil {
						n++
					}
				}
				if n == len(firsts[pi.Port]) && n > best.ok {
					best = candidate{name, calib, pi.Port, n}
				}
			}
		}
	}
	return best, best.ok > 0
}

func decodeCapture(info *Info) error {
	s, err := LookupSensor(info.Sensor)
	if err != nil {
		return err
	}
	dec, err := s.New(SensorOptions{Calibration: info.Calibration})
	if err != nil {
		return err
	}
	var complete, all []int
	emit := func(sc Scan) error {
		n := len(sc.Points) / 4
		all = append(all, n)
		if sc.Complete {
			complete = append(complete, n)
		}
		info.Points += n
		return nil
	}
	start := time.Now()
	rd, c, err := Open(info.Path)
	if err != nil {
		return err
	}
	defer c.Close()
	for {
		p, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if int(p.DstPort) != info.Port {
			continue
		}
		info.Packets++
		if dec.Decode(p.Payload, p.Timestamp, emit) != nil {
			info.Malformed++
		}
	}
	dec.Flush(emit)
	info.DecodeTime = time.Since(start)
	info.Scans, info.Complete, info.Counters = len(all), len(complete), dec.Counters()
	pts := complete
	if len(pts) == 0 {
		pts, info.PointsOfPartial = all, true
	}
	if len(pts) > 0 {
		slices.Sort(pts)
		info.PointsMin, info.PointsMedian, info.PointsMax = pts[0], pts[len(pts)/2], pts[len(pts)-1]
	}
	if d, ok := dec.(Describer); ok {
		info.Model, info.ReturnMode = d.Describe()
	}
	return nil
}

var linkNames = map[int]string{LinkNull: "BSD loopback", LinkEthernet: "Ethernet", LinkRaw: "raw IP", LinkLinuxSLL: "Linux cooked v1",
	LinkIPv4: "raw IPv4", LinkLinuxSLL2: "Linux cooked v2"}

// WriteText prints the description, one "key: value" line each, keys
// padded to 16 columns like every format `ds3d inspect` describes.
func (i Info) WriteText(w io.Writer) error {
	tw := bufio.NewWriter(w)
	p := func(k, format string, args ...any) {
		fmt.Fprintf(tw, "%-16s "+format+"\n", append([]any{k + ":"}, args...)...)
	}
	p("file", "%s", i.Path)
	container := "pcap " + i.Format.Version
	if i.Format.NG {
		container = "pcapng " + i.Format.Version
	} else if i.Format.Nanos {
		container += " (ns timestamps)"
	}
	link := linkNames[i.Format.LinkType]
	if link == "" {
		link = "unknown"
	}
	p("format", "%s, link type %d (%s)", container, i.Format.LinkType, link)
	r := i.Reader
	p("packets", "%d UDP datagrams in %d records (non-IPv4 %d, non-UDP %d, reassembled %d, malformed %d, truncated %d)",
		r.UDP, r.Records, r.NonIPv4, r.NonUDP, r.Reassembled, r.Malformed, r.Truncated)
	var ports []string
	for _, pi := range i.Ports {
		size := fmt.Sprintf("%d B", pi.MinSize)
		if pi.MaxSize != pi.MinSize {
			size = fmt.Sprintf("%d–%d B", pi.MinSize, pi.MaxSize)
		}
		ports = append(ports, fmt.Sprintf("%d: %d × %s", pi.Port, pi.Packets, size))
	}
	p("udp ports", "%s", strings.Join(ports, ", "))
	p("duration", "%.6f s", i.Duration.Seconds())
	if i.Sensor == "" {
		p("sensor", "not recognised by the registered decoders (%s)", strings.Join(sensorNames(), ", "))
		return tw.Flush()
	}
	model := i.Model
	if model == "" {
		model = i.Sensor
	}
	sensor := fmt.Sprintf("%s — %s on UDP %d", i.Sensor, model, i.Port)
	if i.Calibration != "" {
		sensor += " (metadata " + filepath.Base(i.Calibration) + ")"
	}
	p("sensor", "%s", sensor)
	if i.ReturnMode != "" {
		p("return mode", "%s", i.ReturnMode)
	}
	p("decoded", "%d packets, %d malformed", i.Packets, i.Malformed)
	p("rotations", "%d scans (%d complete)", i.Scans, i.Complete)
	which := "complete scans"
	if i.PointsOfPartial {
		which = "partial scans only"
	}
	p("points/rotation", "min %d / median %d / max %d (%s); %d in all", i.PointsMin, i.PointsMedian, i.PointsMax, which, i.Points)
	rate := ""
	if s := i.DecodeTime.Seconds(); s > 0 {
		rate = fmt.Sprintf(" (%.1f M points/s", float64(i.Points)/s/1e6)
		if i.Duration > 0 {
			rate += fmt.Sprintf(", %.0f× real time", i.Duration.Seconds()/s)
		}
		rate += ")"
	}
	p("decode time", "%v%s", i.DecodeTime.Round(time.Microsecond), rate)
	return tw.Flush()
}
