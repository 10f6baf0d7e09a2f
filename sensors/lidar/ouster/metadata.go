package ouster

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Lidar data profiles (udp_profile_lidar) the decoder understands.
const (
	ProfileLegacy = "LEGACY"
	ProfileDual   = "RNG19_RFL8_SIG16_NIR16_DUAL"
)

// Metadata is the part of a sensor's metadata JSON (ouster-sdk's
// sensor_info, as written by the sensor's get_metadata or ouster-cli) that
// the decoder needs. Angles are degrees, lengths millimetres, transforms
// 4×4 row-major homogeneous matrices in millimetres.
type Metadata struct {
	ProdLine string
	// BeamAltitude and BeamAzimuth are per-pixel-row angles, degrees
	// (beam_altitude_angles, beam_azimuth_angles).
	BeamAltitude, BeamAzimuth []float64
	// BeamToLidar is beam_to_lidar_transform; when the JSON has none, it is
	// the identity with BeamToLidar[3] = lidar_origin_to_beam_origin_mm
	// (ouster-sdk's rule for older metadata).
	BeamToLidar [16]float64
	// LidarToSensor is lidar_to_sensor_transform (default: the OS-1's
	// diag(−1, −1, 1) with a 36.18 mm z offset, as in ouster-sdk).
	LidarToSensor [16]float64
	// LidarOriginToBeamOrigin is the distance n, mm, that the sensor's
	// range includes from the lidar origin to the beam origin.
	LidarOriginToBeamOrigin float64
	ColumnsPerFrame         int // from data_format, else lidar_mode ("1024x10")
	ColumnsPerPacket        int // default 16
	PixelsPerColumn         int // default: number of beam angles
	Profile                 string
	Mode                    string // lidar_mode
}

type metaJSON struct {
	ProdLine   string    `json:"prod_line"`
	Alt        []float64 `json:"beam_altitude_angles"`
	Az         []float64 `json:"beam_azimuth_angles"`
	N          *float64  `json:"lidar_origin_to_beam_origin_mm"`
	BeamToL    []float64 `json:"beam_to_lidar_transform"`
	LToS       []float64 `json:"lidar_to_sensor_transform"`
	LidarMode  string    `json:"lidar_mode"`
	DataFormat *struct {
		ColumnsPerFrame  int    `json:"columns_per_frame"`
		ColumnsPerPacket int    `json:"columns_per_packet"`
		PixelsPerColumn  int    `json:"pixels_per_column"`
		Profile          string `json:"udp_profile_lidar"`
	} `json:"data_format"`
	// Newer (ouster-sdk 0.11+) nested layout.
	BeamIntrinsics *struct {
		Alt     []float64 `json:"beam_altitude_angles"`
		Az      []float64 `json:"beam_azimuth_angles"`
		N       *float64  `json:"lidar_origin_to_beam_origin_mm"`
		BeamToL []float64 `json:"beam_to_lidar_transform"`
	} `json:"beam_intrinsics"`
	LidarIntrinsics *struct {
		LToS []float64 `json:"lidar_to_sensor_transform"`
	} `json:"lidar_intrinsics"`
	Config *struct {
		LidarMode string `json:"lidar_mode"`
		Profile   string `json:"udp_profile_lidar"`
	} `json:"config_params"`
	SensorInfo *struct {
		ProdLine string `json:"prod_line"`
	} `json:"sensor_info"`
	LidarDataFormat *struct {
		ColumnsPerFrame  int    `json:"columns_per_frame"`
		ColumnsPerPacket int    `json:"columns_per_packet"`
		PixelsPerColumn  int    `json:"pixels_per_column"`
		Profile          string `json:"udp_profile_lidar"`
	} `json:"lidar_data_format"`
}

// defaultLidarToSensor is ouster-sdk's default lidar_to_sensor_transform.
var defaultLidarToSensor = [16]float64{-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 36.18, 0, 0, 0, 1}

// LoadMetadata reads a sensor metadata JSON file.
func LoadMetadata(path string) (*Metadata, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMetadata(b, path)
}

// ParseMetadata parses sensor metadata JSON (the flat layout of firmware
// 2.x / ouster-sdk ≤ 0.10, the nested one of ouster-sdk 0.11+, and the
// 2019 layout with only beam angles and lidar_mode). name is for errors.
func ParseMetadata(b []byte, name string) (*Metadata, error) {
	var j metaJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("ouster metadata %s: %w", name, err)
	}
	m := &Metadata{ProdLine: j.ProdLine, BeamAltitude: j.Alt, BeamAzimuth: j.Az, Mode: j.LidarMode, LidarToSensor: defaultLidarToSensor}
	n, b2l, l2s := j.N, j.BeamToL, j.LToS
	if bi := j.BeamIntrinsics; bi != nil {
		m.BeamAltitude, m.BeamAzimuth, n, b2l = bi.Alt, bi.Az, bi.N, bi.BeamToL
	}
	if li := j.LidarIntrinsics; li != nil {
		l2s = li.LToS
	}
	if j.SensorInfo != nil && m.ProdLine == "" {
		m.ProdLine = j.SensorInfo.ProdLine
	}
	df := j.DataFormat
	if df == nil {
		df = j.LidarDataFormat
	}
	if df != nil {
		m.ColumnsPerFrame, m.ColumnsPerPacket, m.PixelsPerColumn, m.Profile = df.ColumnsPerFrame, df.ColumnsPerPacket, df.PixelsPerColumn, df.Profile
	}
	if c := j.Config; c != nil {
		if m.Mode == "" {
			m.Mode = c.LidarMode
		}
		if m.Profile == "" {
			m.Profile = c.Profile
		}
	}
	errf := func(format string, args ...any) error {
		return fmt.Errorf("ouster metadata %s: "+format, append([]any{name}, args...)...)
	}
	h := len(m.BeamAltitude)
	switch {
	case h == 0:
		return nil, errf("no beam_altitude_angles")
	case len(m.BeamAzimuth) != h:
		return nil, errf("%d beam_azimuth_angles for %d beam_altitude_angles", len(m.BeamAzimuth), h)
	}
	for i := range h {
		if a, z := m.BeamAltitude[i], m.BeamAzimuth[i]; math.IsNaN(a+z) || math.Abs(a) > 90 || math.Abs(z) > 45 {
			return nil, errf("beam %d: altitude %v° / azimuth %v° out of range", i, a, z)
		}
	}
	if m.PixelsPerColumn == 0 {
		m.PixelsPerColumn = h
	}
	if m.PixelsPerColumn != h {
		return nil, errf("pixels_per_column %d but %d beam angles", m.PixelsPerColumn, h)
	}
	if m.ColumnsPerPacket == 0 {
		m.ColumnsPerPacket = 16
	}
	if m.ColumnsPerFrame == 0 && m.Mode != "" {
		w, _, ok := strings.Cut(m.Mode, "x")
		if c, err := strconv.Atoi(w); ok && err == nil {
			m.ColumnsPerFrame = c
		}
	}
	switch {
	case m.ColumnsPerFrame <= 0 || m.ColumnsPerFrame > 4096:
		return nil, errf("columns_per_frame %d (lidar_mode %q): want 1…4096", m.ColumnsPerFrame, m.Mode)
	case m.ColumnsPerPacket <= 0 || m.ColumnsPerPacket > m.ColumnsPerFrame:
		return nil, errf("columns_per_packet %d", m.ColumnsPerPacket)
	case m.PixelsPerColumn > 256:
		return nil, errf("pixels_per_column %d", m.PixelsPerColumn)
	}
	if m.Profile == "" {
		m.Profile = ProfileLegacy
	}
	if m.Profile != ProfileLegacy && m.Profile != ProfileDual {
		return nil, errf("udp_profile_lidar %q not supported (want %s or %s)", m.Profile, ProfileLegacy, ProfileDual)
	}
	switch {
	case len(b2l) == 16:
		copy(m.BeamToLidar[:], b2l)
		m.LidarOriginToBeamOrigin = math.Hypot(b2l[3], b2l[11])
		if n != nil {
			m.LidarOriginToBeamOrigin = *n
		}
	case len(b2l) != 0:
		return nil, errf("beam_to_lidar_transform has %d values, want 16", len(b2l))
	default:
		m.BeamToLidar = [16]float64{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}
		m.LidarOriginToBeamOrigin = 12.163 // ouster-sdk's default (OS-1)
		if n != nil {
			m.LidarOriginToBeamOrigin = *n
		}
		m.BeamToLidar[3] = m.LidarOriginToBeamOrigin
	}
	switch len(l2s) {
	case 0:
	case 16:
		copy(m.LidarToSensor[:], l2s)
	default:
		return nil, errf("lidar_to_sensor_transform has %d values, want 16", len(l2s))
	}
	return m, nil
}

// ColumnBytes is the size of one column in a lidar packet.
func (m *Metadata) ColumnBytes() int {
	if m.Profile == ProfileLegacy {
		return 16 + 12*m.PixelsPerColumn + 4 // header, pixels, status
	}
	return 12 + 16*m.PixelsPerColumn
}

// PacketBytes is the size of a lidar packet of the metadata's profile.
func (m *Metadata) PacketBytes() int {
	if m.Profile == ProfileLegacy {
		return m.ColumnsPerPacket * m.ColumnBytes()
	}
	return 32 + m.ColumnsPerPacket*m.ColumnBytes() + 32 // packet header, columns, footer
}
