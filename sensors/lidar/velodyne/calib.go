package velodyne

import (
	"embed"
	"fmt"
	"math"
	"os"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Laser is one laser's calibration in the ros-drivers velodyne_pointcloud
// layout: angles in radians, offsets in metres.
type Laser struct {
	ID int `yaml:"laser_id"`
	// RotCorrection is subtracted from the azimuth: the laser points at
	// azimuth − RotCorrection.
	RotCorrection float64 `yaml:"rot_correction"`
	// VertCorrection is the elevation, positive up.
	VertCorrection float64 `yaml:"vert_correction"`
	// DistCorrection is added to every non-zero range.
	DistCorrection float64 `yaml:"dist_correction"`
	// VertOffset and HorizOffset move the laser's origin off the axis.
	VertOffset  float64 `yaml:"vert_offset_correction"`
	HorizOffset float64 `yaml:"horiz_offset_correction"`
	// The two-point distance correction (dist_correction_x/_y,
	// focal_distance/slope) of HDL-64E tables is not applied; the nominal
	// VLP-16 / HDL-32E / VLP-32C tables have it zero.
	DistCorrectionX float64 `yaml:"dist_correction_x"`
	DistCorrectionY float64 `yaml:"dist_correction_y"`
}

// Calibration is a sensor's laser table. Lasers are indexed by laser_id,
// which is the channel order inside a packet's block.
type Calibration struct {
	Lasers []Laser `yaml:"lasers"`
	// DistanceResolution is metres per range unit: 0.002 for VLP-16 and
	// HDL-32E, 0.004 for VLP-32C. Zero in a file means 0.002.
	DistanceResolution float64 `yaml:"distance_resolution"`
	NumLasers          int     `yaml:"num_lasers"`
	// Name is where the table came from (file path or "nominal VLP-16").
	Name string `yaml:"-"`
}

//go:embed calib/*.yaml
var nominal embed.FS

// NominalCalibration returns the model's nominal (not per-unit) table, the
// ros-drivers / nebula files VLP16.yaml, HDL32.yaml and VLP32.yaml
// (Apache-2.0, tier4/nebula).
// The tables are parsed once; callers must not modify the result.
func NominalCalibration(m Model) (*Calibration, error) {
	nominalMu.Lock()
	defer nominalMu.Unlock()
	if c := nominalCache[m]; c != nil {
		return c, nil
	}
	c, err := parseNominal(m)
	if err == nil {
		nominalCache[m] = c
	}
	return c, err
}

var (
	nominalMu    sync.Mutex
	nominalCache = map[Model]*Calibration{}
)

func parseNominal(m Model) (*Calibration, error) {
	file := map[Model]string{VLP16: "VLP16.yaml", HDL32E: "HDL32.yaml", VLP32C: "VLP32.yaml"}[m]
	if file == "" {
		return nil, fmt.Errorf("velodyne: no nominal calibration for model %v", m)
	}
	data, err := nominal.ReadFile("calib/" + file)
	if err != nil {
		return nil, err
	}
	c, err := ParseCalibration(data, "nominal "+m.String())
	if err != nil {
		return nil, err
	}
	return c, nil
}

// LoadCalibration reads a ros-drivers calibration YAML file.
func LoadCalibration(path string) (*Calibration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseCalibration(data, path)
}

// ParseCalibration parses a ros-drivers calibration YAML (lasers[] with
// laser_id, rot_correction, vert_correction, dist_correction,
// vert_offset_correction, horiz_offset_correction; distance_resolution;
// num_lasers). The lasers are returned ordered by laser_id, which must run
// 0..n−1 without gaps.
func ParseCalibration(data []byte, name string) (*Calibration, error) {
	var c Calibration
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("velodyne calibration %s: %w", name, err)
	}
	c.Name = name
	n := len(c.Lasers)
	if n == 0 || n > 128 {
		return nil, fmt.Errorf("velodyne calibration %s: %d lasers (want 1..128)", name, n)
	}
	if c.NumLasers != 0 && c.NumLasers != n {
		return nil, fmt.Errorf("velodyne calibration %s: num_lasers %d but %d lasers listed", name, c.NumLasers, n)
	}
	c.NumLasers = n
	if c.DistanceResolution == 0 {
		c.DistanceResolution = 0.002
	}
	if !(c.DistanceResolution > 0 && c.DistanceResolution < 1) {
		return nil, fmt.Errorf("velodyne calibration %s: distance_resolution %v out of range", name, c.DistanceResolution)
	}
	sorted := make([]Laser, n)
	seen := make([]bool, n)
	for i, l := range c.Lasers {
		if l.ID < 0 || l.ID >= n || seen[l.ID] {
			return nil, fmt.Errorf("velodyne calibration %s: laser %d: laser_id %d is out of 0..%d or repeated", name, i, l.ID, n-1)
		}
		for _, v := range []float64{l.RotCorrection, l.VertCorrection, l.DistCorrection, l.VertOffset, l.HorizOffset} {
			if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 10 {
				return nil, fmt.Errorf("velodyne calibration %s: laser_id %d: value %v out of range", name, l.ID, v)
			}
		}
		if math.Abs(l.RotCorrection) > math.Pi {
			return nil, fmt.Errorf("velodyne calibration %s: laser_id %d: rot_correction %v beyond ±π", name, l.ID, l.RotCorrection)
		}
		seen[l.ID] = true
		sorted[l.ID] = l
	}
	c.Lasers = sorted
	return &c, nil
}
