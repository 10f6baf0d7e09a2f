package synth

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/sensors/lidar/velodyne"
)

// Beam is one laser of a spinning lidar.
type Beam struct {
	// Elev is the elevation in radians, positive up (vert_correction).
	Elev float64
	// Rot is the azimuth offset in radians (rot_correction): the laser
	// fires at the head's azimuth − Rot, as the ros-drivers velodyne
	// driver applies it.
	Rot float64
	// VertOffset is the laser origin's offset (m) perpendicular to the
	// beam in the vertical plane (vert_offset_correction).
	VertOffset float64
}

// Sensor is a spinning lidar: its beams, columns per revolution, rate and
// range.
type Sensor struct {
	Name    string
	Beams   []Beam
	Columns int
	// RateHz is revolutions per second; one frame is one revolution.
	RateHz             float64
	MinRange, MaxRange float64
	// rings[i] is beam i's ring number: its rank by elevation, 0 lowest
	// (the ROS velodyne driver's ring field).
	rings []uint16
}

// SensorNames lists the names Sensor accepts.
var SensorNames = []string{"hdl64e", "vlp16", "vlp32c", "os1-128", "dense"}

// NewSensor returns a named sensor: "hdl64e" (KITTI's Velodyne HDL-64E,
// per-laser table below), "vlp16" and "vlp32c" (the nominal tables of
// sensors/lidar/velodyne), "os1-128" (128 beams spread uniformly over
// +22.5°..−22.5°, 1024 columns), "dense" (256 beams over +15°..−25°, 7812
// columns: 2.0M rays a frame). Columns can be changed on the result
// (OS1-128 also runs at 2048).
func NewSensor(name string) (*Sensor, error) {
	s := &Sensor{Name: name, RateHz: 10, MinRange: 0.9, MaxRange: 120}
	switch strings.ToLower(name) {
	case "hdl64e":
		s.Beams = hdl64e[:]
		// KITTI's scans are stored ring by ring; neighbouring points of a
		// ring are a median 0.1797° apart: 2000 firings a turn.
		s.Columns = 2000
		s.MinRange = 2.5 // the S2's own housing-to-ground dead zone is larger; KITTI has none below ~2.5 m
	case "vlp16", "vlp32c":
		m := velodyne.VLP16
		if name == "vlp32c" {
			m = velodyne.VLP32C
			s.MaxRange = 200
		} else {
			s.MaxRange = 100
		}
		c, err := velodyne.NominalCalibration(m)
		if err != nil {
			return nil, fmt.Errorf("synth: %s table: %w", name, err)
		}
		for _, l := range c.Lasers {
			s.Beams = append(s.Beams, Beam{Elev: l.VertCorrection, Rot: l.RotCorrection, VertOffset: l.VertOffset})
		}
		s.Columns = 1800 // 0.2° at 10 Hz
		s.MinRange = 0.5
	case "os1-128":
		for i := 0; i < 128; i++ {
			e := 22.5 - 45*float64(i)/127
			s.Beams = append(s.Beams, Beam{Elev: e * math.Pi / 180})
		}
		s.Columns = 1024
		s.MinRange = 0.3
	case "dense":
		for i := 0; i < 256; i++ {
			e := 15 - 40*float64(i)/255
			s.Beams = append(s.Beams, Beam{Elev: e * math.Pi / 180})
		}
		s.Columns = 7812
		s.MaxRange = 150
	default:
		return nil, fmt.Errorf("synth: unknown sensor %q (want one of %s)", name, strings.Join(SensorNames, ", "))
	}
	s.rankRings()
	return s, nil
}

func (s *Sensor) rankRings() {
	idx := make([]int, len(s.Beams))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch ea, eb := s.Beams[a].Elev, s.Beams[b].Elev; {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return 0
	})
	s.rings = make([]uint16, len(s.Beams))
	for r, i := range idx {
		s.rings[i] = uint16(r)
	}
}

// Ring returns beam i's ring number (0 = lowest elevation).
func (s *Sensor) Ring(i int) int { return int(s.rings[i]) }

// hdl64e is the per-laser table of KITTI's Velodyne HDL-64E, lasers 0–63:
// elevation (vert_correction) and azimuth offset (rot_correction) in
// radians and the origin offset (vert_offset_correction) in metres.
//
// Provenance (ros-drivers/velodyne, velodyne_pointcloud/params, BSD-3):
// the angles are 64e_utexas.yaml, an HDL-64E factory table whose upper
// block spans +2.02°..−8.52° in 1/3° steps and lower block −8.87°..−24.71°
// in 1/2° steps — KITTI's published 26.8° field (+2°..−24.8°), and within
// 0.4° rms of the per-ring far-range elevations of the KITTI frames in
// ../shared/data/kitti-object. That table leaves the origin offsets at
// zero, so the offsets are each laser's vert_offset_correction of
// 64e_s2.1-sztaki.yaml (an HDL-64E S2.1 unit: upper block ≈0.20 m, lower
// ≈0.11 m); they lift the elevation of near returns by up to ~1.5°, which
// KITTI's lowest ring shows (−23.7° observed against −24.7° nominal). KITTI
// never published its unit's own table.
var hdl64e = [64]Beam{
	{-0.124932751059532, -0.0698131695389748, 0.19548199},
	{-0.118993431329727, -0.0392699092626572, 0.19601112},
	{0.0055470340885222, 0.0698131695389748, 0.20969539999999998},
	{0.0114863449707627, 0.104719758033752, 0.21031273},
	{-0.113056324422359, 0.013962633907795, 0.19674603999999998},
	{-0.107121199369431, 0.0392699092626572, 0.19740747},
	{-0.148716226220131, 0, 0.19277746},
	{-0.142765983939171, 0.0226892791688442, 0.19342419},
	{-0.101187855005264, 0.0820304751396179, 0.19792192},
	{-0.0952560678124428, 0.113446399569511, 0.19868624000000001},
	{-0.136818811297417, 0.0698131695389748, 0.19412970999999998},
	{-0.130874469876289, 0.104719758033752, 0.19474705},
	{-0.05375986546278, -0.068067841231823, 0.20331627000000002},
	{-0.0478330813348293, -0.0349065847694874, 0.20399239000000002},
	{-0.0893256440758705, -0.0837758108973503, 0.19943586},
	{-0.0833963677287102, -0.0479965545237064, 0.20003851},
	{-0.0419059917330742, 0.00872664619237185, 0.20458033},
	{-0.035978376865387, 0.0392699092626572, 0.20512417},
	{-0.0774680152535439, 0, 0.20065581999999998},
	{-0.0715404152870178, 0.0305432621389627, 0.20133196000000003},
	{-0.0300500374287367, 0.0855211317539215, 0.20585909000000002},
	{-0.024120757356286, 0.109083078801632, 0.20630005},
	{-0.0656133219599724, 0.0698131695389748, 0.20190518999999998},
	{-0.0596865378320217, 0.104719758033752, 0.20256662},
	{0.0174280721694231, -0.0610865242779255, 0.21097416},
	{0.0233724191784859, -0.0349065847694874, 0.21160620000000002},
	{-0.0181903336197138, -0.0785398185253143, 0.20721134},
	{-0.0122585473582149, -0.0471238903701305, 0.20779928000000003},
	{0.0293195936828852, 0.0104719763621688, 0.21222351},
	{0.0352698266506195, 0.0349065847694874, 0.21282616000000001},
	{-0.00632520206272602, -0.00436332309618592, 0.20838722},
	{-0.000390077300835401, 0.0296705979853868, 0.20904865},
	{-0.396850973367691, -0.122173048555851, 0.10812234999999999},
	{-0.387918144464493, -0.0610865242779255, 0.10859233},
	{-0.200955957174301, 0.0959931090474129, 0.12148494},
	{-0.192023113369942, 0.148352980613708, 0.12213274},
	{-0.378992766141891, -0.00872664619237185, 0.10918932},
	{-0.370074152946472, 0.0610865242779255, 0.10991334},
	{-0.43128889799118, -0.0174532923847437, 0.1053787},
	{-0.423701733350754, 0.0349065847694874, 0.10593759000000001},
	{-0.361161530017853, 0.122173048555851, 0.11047223},
	{-0.352254241704941, 0.174532920122147, 0.11138678},
	{-0.414742022752762, 0.104719758033752, 0.10667431000000001},
	{-0.405792057514191, 0.165806278586388, 0.10753805},
	{-0.28999200463295, -0.113446399569511, 0.11568009},
	{-0.281101644039154, -0.0567231997847557, 0.11620087},
	{-0.343351542949677, -0.13962633907795, 0.11205999},
	{-0.334452718496323, -0.0872664600610733, 0.11252997},
	{-0.272210210561752, 0, 0.11669625},
	{-0.26331701874733, 0.0558505356311798, 0.11729325},
	{-0.323895305395126, -0.0174532923847437, 0.11308886},
	{-0.316663861274719, 0.0349065847694874, 0.11369856},
	{-0.254421383142471, 0.122173048555851, 0.11796646000000001},
	{-0.245522528886795, 0.165806278586388, 0.11856346000000001},
	{-0.307772427797318, 0.104719758033752, 0.11424474999999999},
	{-0.298882067203522, 0.157079637050629, 0.11501958000000001},
	{-0.183082059025764, -0.104719758033752, 0.12259002000000001},
	{-0.17413204908371, -0.0610865242779255, 0.12319972},
	{-0.236619830131531, -0.13962633907795, 0.11933828},
	{-0.22771255671978, -0.0785398185253143, 0.11983367},
	{-0.16517236828804, 0, 0.12361888},
	{-0.156202226877213, 0.0436332300305367, 0.12422858},
	{-0.218799933791161, -0.0174532923847437, 0.12046877},
	{-0.209881335496902, 0.0314159244298935, 0.12086253},
}
