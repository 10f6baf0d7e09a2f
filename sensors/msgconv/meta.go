package msgconv

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"

	"github.com/ds3d-go/ds3d-go/internal/framelist"
	"github.com/pelletier/go-toml/v2"
)

// Location is a geographic position: WGS 84 latitude and longitude in
// degrees, altitude in metres.
type Location struct{ Lat, Lon, Alt float64 }

// Coordinate is a position in metres in a site's own Cartesian frame.
type Coordinate struct{ X, Y, Z float64 }

// Sensor is DeepStream's "sensor" object: who saw it.
type Sensor struct {
	ID, Type, Description string
	Location              Location
	Coordinate            Coordinate
}

// Place is DeepStream's "place" object: where it happened. SubFields are
// DeepStream's place-sub-field1..3, whose meaning the event type picks: an
// aisle's (id, name, level) for moving and stopped objects and vehicles at
// entry or exit, a parking spot's (id, type, level) for parked and empty,
// an entrance's (name, lane, level) for other objects at entry or exit.
// Coordinate belongs to that sub-object.
type Place struct {
	ID, Name, Type string
	Location       Location
	Coordinate     Coordinate
	SubFields      [3]string
}

// Analytics is DeepStream's "analyticsModule" object: what produced it.
type Analytics struct{ ID, Description, Source, Version string }

// SensorMeta is the static metadata of one source.
type SensorMeta struct {
	Sensor    Sensor
	Place     Place
	Analytics Analytics
}

// Metadata maps ds3d source ids (DS3D::SourceId) to their metadata.
type Metadata map[int]*SensorMeta

// For returns the metadata of source id, or a default whose sensor id is
// the source id in decimal, so a source without an entry still sends
// well-formed messages. Defaults are made once per id and shared: the
// result is read-only.
func (m Metadata) For(sourceID int) *SensorMeta {
	if s, ok := m[sourceID]; ok {
		return s
	}
	return defaultMeta(sourceID)
}

// defaults holds the default metadata of the source ids asked for so far,
// up to maxDefaults of them (a pipeline has a few sources; beyond the
// bound each call makes its own, as before).
var defaults struct {
	sync.RWMutex
	m map[int]*SensorMeta
}

const maxDefaults = 4096

func defaultMeta(id int) *SensorMeta {
	defaults.RLock()
	d, ok := defaults.m[id]
	defaults.RUnlock()
	if ok {
		return d
	}
	d = &SensorMeta{Sensor: Sensor{ID: strconv.Itoa(id)}}
	defaults.Lock()
	defer defaults.Unlock()
	if old, ok := defaults.m[id]; ok {
		return old
	}
	if defaults.m == nil {
		defaults.m = map[int]*SensorMeta{}
	}
	if len(defaults.m) < maxDefaults {
		defaults.m[id] = d
	}
	return d
}

// The TOML form: one [sensor.N] table per source id N, with optional
// [sensor.N.place] and [sensor.N.analytics] tables. Named types keep
// go-toml's type errors short ("sensor.ID of type string").
type metaFile struct {
	Sensor map[string]sensor `toml:"sensor"`
}

type sensor struct {
	ID          string     `toml:"id"`
	Type        string     `toml:"type"`
	Description string     `toml:"description"`
	Location    []float64  `toml:"location"`
	Coordinate  []float64  `toml:"coordinate"`
	Place       *place     `toml:"place"`
	Analytics   *analytics `toml:"analytics"`
}

type place struct {
	ID         string    `toml:"id"`
	Name       string    `toml:"name"`
	Type       string    `toml:"type"`
	Location   []float64 `toml:"location"`
	Coordinate []float64 `toml:"coordinate"`
	SubFields  []string  `toml:"sub_fields"`
}

type analytics struct {
	ID          string `toml:"id"`
	Description string `toml:"description"`
	Source      string `toml:"source"`
	Version     string `toml:"version"`
}

// LoadMetadata reads a metadata file (see ParseMetadata).
func LoadMetadata(path string) (Metadata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("msgconv metadata: %w", err)
	}
	return ParseMetadata(path, data)
}

// ParseMetadata parses a metadata file's bytes; name appears in errors,
// which give the line. Unknown keys are errors, as are source ids that are
// not non-negative integers and location/coordinate lists without exactly
// three numbers:
//
//	[sensor.0]
//	id = "CAMERA_ID"
//	type = "Camera"
//	description = "Entrance of Garage Right Lane"
//	location = [45.293701447, -75.8303914499, 48.1557479338]  # lat, lon, alt
//	coordinate = [5.2, 10.1, 11.2]                            # x, y, z
//	[sensor.0.place]
//	id = "1"
//	name = "XYZ"
//	type = "garage"
//	location = [30.32, -40.55, 100.0]
//	coordinate = [1.0, 2.0, 3.0]
//	sub_fields = ["walsh", "lane1", "P2"]
//	[sensor.0.analytics]
//	id = "XYZ"
//	description = "Vehicle Detection and License Plate Recognition"
//	source = "OpenALR"
//	version = "1.0"
func ParseMetadata(name string, data []byte) (Metadata, error) {
	var f metaFile
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("msgconv metadata %s: %w", name, framelist.TOMLLine(err))
	}
	keys := make([]string, 0, len(f.Sensor))
	for k := range f.Sensor {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m := make(Metadata, len(f.Sensor))
	for _, k := range keys {
		s := f.Sensor[k]
		fail := func(table, format string, args ...any) error {
			hdr := "[sensor." + k + table + "]"
			return fmt.Errorf("msgconv metadata %s: line %d: %s: %s", name, headerLine(data, hdr), hdr, fmt.Sprintf(format, args...))
		}
		id, err := strconv.Atoi(k)
		if err != nil || id < 0 {
			return nil, fail("", "the table name must be a source id (a non-negative integer)")
		}
		sm := &SensorMeta{Sensor: Sensor{ID: s.ID, Type: s.Type, Description: s.Description}}
		if sm.Sensor.ID == "" {
			sm.Sensor.ID = k
		}
		if sm.Sensor.Location, err = location(s.Location); err != nil {
			return nil, fail("", "location: %v", err)
		}
		if sm.Sensor.Coordinate, err = coordinate(s.Coordinate); err != nil {
			return nil, fail("", "coordinate: %v", err)
		}
		if p := s.Place; p != nil {
			sm.Place = Place{ID: p.ID, Name: p.Name, Type: p.Type}
			if sm.Place.Location, err = location(p.Location); err != nil {
				return nil, fail(".place", "location: %v", err)
			}
			if sm.Place.Coordinate, err = coordinate(p.Coordinate); err != nil {
				return nil, fail(".place", "coordinate: %v", err)
			}
			if len(p.SubFields) > 3 {
				return nil, fail(".place", "sub_fields: %d values, at most 3", len(p.SubFields))
			}
			copy(sm.Place.SubFields[:], p.SubFields)
		}
		if a := s.Analytics; a != nil {
			sm.Analytics = Analytics{ID: a.ID, Description: a.Description, Source: a.Source, Version: a.Version}
		}
		m[id] = sm
	}
	return m, nil
}

func location(v []float64) (Location, error) {
	if v == nil {
		return Location{}, nil
	}
	if len(v) != 3 {
		return Location{}, fmt.Errorf("%d numbers, want 3 (lat, lon, alt)", len(v))
	}
	return Location{v[0], v[1], v[2]}, nil
}

func coordinate(v []float64) (Coordinate, error) {
	if v == nil {
		return Coordinate{}, nil
	}
	if len(v) != 3 {
		return Coordinate{}, fmt.Errorf("%d numbers, want 3 (x, y, z)", len(v))
	}
	return Coordinate{v[0], v[1], v[2]}, nil
}

// headerLine returns the 1-based line of a table header, or 0; typed TOML
// decoding forgets positions.
func headerLine(data []byte, hdr string) int {
	for i, line := range bytes.Split(data, []byte("\n")) {
		if bytes.HasPrefix(bytes.TrimSpace(line), []byte(hdr)) {
			return i + 1
		}
	}
	return 0
}
