package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// BoxFrame is one line of a box file.
type BoxFrame struct {
	Frame       int64 // frame number; −1 when unknown
	TimestampNS int64 // 0 when an old-format line has none
	SourceID    int64 // −1 when unknown
	SensorID    string
	FrameID     string // coordinate frame of the boxes; "" in the old format
	Boxes       []ds3d.Box3D
	// World holds each box's world position (NaN where a box has none), or
	// is nil when the line carries none.
	World [][3]float64
}

type jsonBox struct {
	Center   []*float64      `json:"center"`
	Size     []*float64      `json:"size"`
	Yaw      json.RawMessage `json:"yaw"`
	ClassID  int32           `json:"class_id"`
	Label    string          `json:"label"`
	Score    json.RawMessage `json:"score"`
	TrackID  *int64          `json:"track_id"`
	Velocity []*float64      `json:"velocity"`
	World    []*float64      `json:"world_position"`
}

// boxLine holds the members of both formats; which are present tells them
// apart.
type boxLine struct {
	Version     *string   `json:"version"`
	FrameNumber *int64    `json:"frame_number"`
	Frame       *int64    `json:"frame"`
	TS          *int64    `json:"timestamp_ns"`
	SourceID    *int64    `json:"source_id"`
	SensorID    string    `json:"sensor_id"`
	FrameID     string    `json:"frame_id"`
	Objects     []jsonBox `json:"objects"`
	Boxes       []jsonBox `json:"boxes"`
}

// ReadBoxFile reads a JSON-lines box file: json_box_writer's output, one
// ds3d detection3d 1.x document per line (docs/PAYLOADS.md: "version",
// "sensor_id", "source_id", "frame_number", "frame_id", "timestamp",
// "timestamp_ns", "objects": [{"track_id", "class_id", "label", "score",
// "center", "size", "yaw", "velocity", "world_position"}]). It decodes
// the documented schema itself, since fusion/eval may not import
// sensors/msgconv. Lines of the writer's earlier format ({"frame",
// "timestamp_ns", "source_id", "boxes": [...]} with the same box members)
// are read too, told apart by "version" and "boxes"; a file may mix them.
//
// Errors name the file and line. A missing track_id reads as −1, a
// missing score as 1 (ground truth); a null score, yaw or velocity (a
// value that was not finite) reads as NaN, while a centre or size must be
// three finite numbers.
func ReadBoxFile(path string) ([]BoxFrame, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	var out []BoxFrame
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<28)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		f, err := parseBoxLine(b)
		if err != nil {
			return nil, fmt.Errorf("eval %s: line %d: %v", path, line, err)
		}
		out = append(out, f)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("eval %s: line %d: %w", path, line+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("eval %s: no box lines", path)
	}
	return out, nil
}

func parseBoxLine(b []byte) (BoxFrame, error) {
	var raw boxLine
	if err := json.Unmarshal(b, &raw); err != nil {
		return BoxFrame{}, err
	}
	f := BoxFrame{Frame: -1, SourceID: -1, SensorID: raw.SensorID, FrameID: raw.FrameID}
	if raw.SourceID != nil {
		f.SourceID = *raw.SourceID
	}
	if raw.TS != nil {
		f.TimestampNS = *raw.TS
	}
	var boxes []jsonBox
	if raw.Version != nil {
		if err := checkDetection3DVersion(*raw.Version); err != nil {
			return f, err
		}
		if raw.Objects == nil {
			return f, fmt.Errorf(`detection3d %s: no "objects" array`, *raw.Version)
		}
		if raw.TS == nil {
			return f, fmt.Errorf(`detection3d %s: no "timestamp_ns"`, *raw.Version)
		}
		if raw.FrameNumber != nil {
			f.Frame = *raw.FrameNumber
		}
		boxes = raw.Objects
	} else {
		if raw.Boxes == nil {
			return f, fmt.Errorf(`neither a detection3d document ("version", "objects") nor an old json_box_writer line ("boxes")`)
		}
		if raw.Frame != nil {
			f.Frame = *raw.Frame
		}
		boxes = raw.Boxes
	}
	f.Boxes = make([]ds3d.Box3D, 0, len(boxes))
	for i := range boxes {
		bx, w, err := boxOf(&boxes[i])
		if err != nil {
			return f, fmt.Errorf("box %d: %v", i, err)
		}
		if w != nil {
			if f.World == nil {
				f.World = make([][3]float64, len(boxes))
				for k := range f.World {
					f.World[k] = [3]float64{math.NaN(), math.NaN(), math.NaN()}
				}
			}
			f.World[i] = *w
		}
		f.Boxes = append(f.Boxes, bx)
	}
	return f, nil
}

func boxOf(jb *jsonBox) (ds3d.Box3D, *[3]float64, error) {
	if len(jb.Center) != 3 || len(jb.Size) != 3 {
		return ds3d.Box3D{}, nil, fmt.Errorf("center and size need 3 numbers each")
	}
	var v [6]float64
	for k := 0; k < 3; k++ {
		if jb.Center[k] == nil || jb.Size[k] == nil {
			return ds3d.Box3D{}, nil, fmt.Errorf("center or size holds null")
		}
		v[k], v[k+3] = *jb.Center[k], *jb.Size[k]
	}
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return ds3d.Box3D{}, nil, fmt.Errorf("center or size is not finite")
		}
	}
	bx := ds3d.Box3D{CX: float32(v[0]), CY: float32(v[1]), CZ: float32(v[2]), DX: float32(v[3]), DY: float32(v[4]), DZ: float32(v[5]),
		ClassID: jb.ClassID, Label: jb.Label, Score: 1, TrackID: -1}
	var err error
	if bx.Yaw, err = nullableNum(jb.Yaw, 0); err != nil {
		return bx, nil, fmt.Errorf("yaw: %v", err)
	}
	if bx.Score, err = nullableNum(jb.Score, 1); err != nil {
		return bx, nil, fmt.Errorf("score: %v", err)
	}
	if jb.TrackID != nil {
		bx.TrackID = *jb.TrackID
	}
	if len(jb.Velocity) == 2 {
		bx.VX, bx.VY = numOrNaN(jb.Velocity[0]), numOrNaN(jb.Velocity[1])
	}
	if jb.World == nil {
		return bx, nil, nil
	}
	if len(jb.World) != 3 {
		return bx, nil, fmt.Errorf("world_position needs 3 numbers")
	}
	w := [3]float64{num64(jb.World[0]), num64(jb.World[1]), num64(jb.World[2])}
	return bx, &w, nil
}

// nullableNum reads a number member: absent gives def, null NaN.
func nullableNum(raw json.RawMessage, def float32) (float32, error) {
	if raw == nil {
		return def, nil
	}
	if string(raw) == "null" {
		return float32(math.NaN()), nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	return float32(v), nil
}

func numOrNaN(p *float64) float32 { return float32(num64(p)) }

// num64 reads a nullable number: null (not finite when written) is NaN.
func num64(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// checkDetection3DVersion accepts every 1.x, as the schema's versioning
// rule asks of readers (minor versions only add optional members).
func checkDetection3DVersion(v string) error {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major != "1" {
		return fmt.Errorf("detection3d version %q: this reader knows 1.x", v)
	}
	if _, err := strconv.ParseUint(minor, 10, 32); err != nil {
		return fmt.Errorf("detection3d version %q: want major.minor", v)
	}
	return nil
}
