package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// BoxFrame is one line of a json_box_writer file.
type BoxFrame struct {
	Frame       int64
	TimestampNS int64
	SourceID    int64
	Boxes       []ds3d.Box3D
}

type jsonBox struct {
	Center   []*float64 `json:"center"`
	Size     []*float64 `json:"size"`
	Yaw      *float64   `json:"yaw"`
	ClassID  int32      `json:"class_id"`
	Label    string     `json:"label"`
	Score    *float64   `json:"score"`
	TrackID  *int64     `json:"track_id"`
	Velocity []*float64 `json:"velocity"`
}

// ReadBoxFile reads a JSON-lines box file as render/writer's
// json_box_writer writes it (one {"frame", "timestamp_ns", "source_id",
// "boxes": [{"center", "size", "yaw", "class_id", "label", "score",
// "track_id", "velocity"}]} per line). Errors name the file and line.
// A missing track_id reads as −1, a missing score as 1 (ground truth).
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
		var raw struct {
			Frame    *int64    `json:"frame"`
			TS       int64     `json:"timestamp_ns"`
			SourceID *int64    `json:"source_id"`
			Boxes    []jsonBox `json:"boxes"`
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("eval %s: line %d: %v", path, line, err)
		}
		f := BoxFrame{Frame: -1, TimestampNS: raw.TS, SourceID: -1}
		if raw.Frame != nil {
			f.Frame = *raw.Frame
		}
		if raw.SourceID != nil {
			f.SourceID = *raw.SourceID
		}
		for i, jb := range raw.Boxes {
			where := func(what string) error {
				return fmt.Errorf("eval %s: line %d: box %d: %s", path, line, i, what)
			}
			if len(jb.Center) != 3 || len(jb.Size) != 3 {
				return nil, where("center and size need 3 numbers each")
			}
			var v [6]float64
			for k := 0; k < 3; k++ {
				if jb.Center[k] == nil || jb.Size[k] == nil {
					return nil, where("center or size holds null")
				}
				v[k], v[k+3] = *jb.Center[k], *jb.Size[k]
			}
			for _, x := range v {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					return nil, where("center or size is not finite")
				}
			}
			bx := ds3d.Box3D{CX: float32(v[0]), CY: float32(v[1]), CZ: float32(v[2]), DX: float32(v[3]), DY: float32(v[4]), DZ: float32(v[5]),
				ClassID: jb.ClassID, Label: jb.Label, Score: 1, TrackID: -1}
			if jb.Yaw != nil {
				bx.Yaw = float32(*jb.Yaw)
			}
			if jb.Score != nil {
				bx.Score = float32(*jb.Score)
			}
			if jb.TrackID != nil {
				bx.TrackID = *jb.TrackID
			}
			if len(jb.Velocity) == 2 && jb.Velocity[0] != nil && jb.Velocity[1] != nil {
				bx.VX, bx.VY = float32(*jb.Velocity[0]), float32(*jb.Velocity[1])
			}
			f.Boxes = append(f.Boxes, bx)
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
