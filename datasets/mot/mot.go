// Package mot reads MOTChallenge files: ground truth, detections and
// tracker results (gt.txt, det.txt, results — comma-separated rows of frame,
// id, left, top, width, height, conf and then either world x, y, z as in
// MOT15 or class and visibility as in MOT16/17/20 ground truth) and the
// sequence description seqinfo.ini. Frames are 1-based, boxes in pixels of
// the sequence's images; rows convert to ds3d.Object2D. Errors name the
// file, line and column at fault; both LF and CRLF line endings are read.
package mot

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Row is one line of a MOTChallenge file.
type Row struct {
	Frame int   // 1-based
	ID    int64 // track id; -1 for detections
	// Left, Top, Width, Height: the box in pixels.
	Left, Top, Width, Height float64
	// Conf is the detection confidence, or in ground truth the flag saying
	// whether the row is considered (1) or ignored (0).
	Conf float64
	// X, Y, Z: world coordinates (MOT15 10-column rows; -1 when unused).
	// NaN when the row has no such columns.
	X, Y, Z float64
	// Class and Visibility: MOT16/17/20 ground truth (9 columns); -1 and
	// NaN when the row has no such columns.
	Class      int
	Visibility float64
}

// Object2D returns the row as a ds3d.Object2D: the box, Score = Conf,
// TrackID = ID, ClassID = Class (-1 when unknown).
func (r Row) Object2D() ds3d.Object2D {
	return ds3d.Object2D{
		Left: float32(r.Left), Top: float32(r.Top), Width: float32(r.Width), Height: float32(r.Height),
		ClassID: int32(r.Class), Score: float32(r.Conf), TrackID: r.ID,
	}
}

// Read reads a MOTChallenge file.
func Read(path string) ([]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("mot %s: %w", path, err)
	}
	defer f.Close()
	return Parse(f, path)
}

// maxLine bounds one line.
const maxLine = 1 << 16

var columns = [10]string{"frame", "id", "bb_left", "bb_top", "bb_width", "bb_height", "conf", "x", "y", "z"}

// Parse reads comma-separated MOTChallenge rows; name is used in errors.
// A row has 6 to 10 columns: frame, id, left, top, width, height, then
// optionally conf (default 1), and either class, visibility (9 columns) or
// x, y, z (8 or 10 columns; missing ones are -1). Frames must be ≥ 1 and
// ids integers (written as "-1" or "-1.0"); width and height must not be
// negative; numbers must be finite. Blank lines are skipped; spaces around
// values are ignored.
func Parse(r io.Reader, name string) ([]Row, error) {
	var out []Row
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		f := strings.Split(text, ",")
		if len(f) < 6 || len(f) > 10 {
			return nil, fmt.Errorf("mot %s: line %d: %d columns, want 6 to 10 (frame,id,left,top,width,height[,conf[,x,y,z | class,visibility]])", name, line, len(f))
		}
		var v [10]float64
		for i := range f {
			s := strings.TrimSpace(f[i])
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				col := columns[i]
				if len(f) == 9 && i >= 7 {
					col = [...]string{"class", "visibility"}[i-7]
				}
				return nil, fmt.Errorf("mot %s: line %d: column %d (%s) is %q, want a finite number", name, line, i+1, col, s)
			}
			v[i] = x
		}
		row := Row{Conf: 1, X: -1, Y: -1, Z: -1, Class: -1, Visibility: math.NaN()}
		if v[0] != math.Trunc(v[0]) || v[0] < 1 || v[0] > math.MaxInt32 {
			return nil, fmt.Errorf("mot %s: line %d: frame is %s, want an integer ≥ 1", name, line, strings.TrimSpace(f[0]))
		}
		if v[1] != math.Trunc(v[1]) || math.Abs(v[1]) > 1<<53 {
			return nil, fmt.Errorf("mot %s: line %d: id is %s, want an integer", name, line, strings.TrimSpace(f[1]))
		}
		if v[4] < 0 || v[5] < 0 {
			return nil, fmt.Errorf("mot %s: line %d: box is %gx%g, want a width and height ≥ 0", name, line, v[4], v[5])
		}
		row.Frame, row.ID = int(v[0]), int64(v[1])
		row.Left, row.Top, row.Width, row.Height = v[2], v[3], v[4], v[5]
		if len(f) >= 7 {
			row.Conf = v[6]
		}
		switch len(f) {
		case 9:
			if v[7] != math.Trunc(v[7]) || math.Abs(v[7]) > math.MaxInt32 {
				return nil, fmt.Errorf("mot %s: line %d: class is %s, want an integer", name, line, strings.TrimSpace(f[7]))
			}
			row.Class, row.Visibility = int(v[7]), v[8]
		case 8, 10:
			row.X = v[7]
			if len(f) == 10 {
				row.Y, row.Z = v[8], v[9]
			}
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("mot %s: line %d: longer than %d bytes", name, line+1, maxLine)
		}
		return nil, fmt.Errorf("mot %s: %w", name, err)
	}
	return out, nil
}

// ByFrame groups rows by frame, each frame's rows in file order; frames
// lists the frame numbers that have rows, ascending.
func ByFrame(rows []Row) (frames []int, byFrame map[int][]Row) {
	byFrame = map[int][]Row{}
	for _, r := range rows {
		if _, ok := byFrame[r.Frame]; !ok {
			frames = append(frames, r.Frame)
		}
		byFrame[r.Frame] = append(byFrame[r.Frame], r)
	}
	sort.Ints(frames)
	return frames, byFrame
}

// SeqInfo is a MOTChallenge seqinfo.ini [Sequence] section.
type SeqInfo struct {
	Name      string
	ImDir     string
	FrameRate float64
	SeqLength int
	ImWidth   int
	ImHeight  int
	ImExt     string
}

// ReadSeqInfo reads a seqinfo.ini. Unknown keys are ignored; name,
// frameRate, seqLength, imWidth and imHeight are required.
func ReadSeqInfo(path string) (SeqInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return SeqInfo{}, fmt.Errorf("mot %s: %w", path, err)
	}
	var s SeqInfo
	seen := map[string]bool{}
	section := ""
	for i, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == ';' || l[0] == '#' {
			continue
		}
		if l[0] == '[' {
			section = strings.Trim(l, "[]")
			continue
		}
		if !strings.EqualFold(section, "Sequence") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			return SeqInfo{}, fmt.Errorf("mot %s: line %d: %q is not key=value", path, i+1, l)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		seen[k] = true
		var err error
		switch k {
		case "name":
			s.Name = v
		case "imDir":
			s.ImDir = v
		case "imExt":
			s.ImExt = v
		case "frameRate":
			s.FrameRate, err = strconv.ParseFloat(v, 64)
			if err == nil && !(s.FrameRate > 0 && s.FrameRate < 1e6) {
				err = errors.New("out of range")
			}
		case "seqLength":
			s.SeqLength, err = strconv.Atoi(v)
		case "imWidth":
			s.ImWidth, err = strconv.Atoi(v)
		case "imHeight":
			s.ImHeight, err = strconv.Atoi(v)
		}
		if err != nil {
			return SeqInfo{}, fmt.Errorf("mot %s: line %d: %s is %q, want a number", path, i+1, k, v)
		}
	}
	for _, k := range []string{"name", "frameRate", "seqLength", "imWidth", "imHeight"} {
		if !seen[k] {
			return SeqInfo{}, fmt.Errorf("mot %s: no %s in [Sequence]", path, k)
		}
	}
	return s, nil
}
