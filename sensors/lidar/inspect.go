package lidar

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Info summarises a point-cloud file, for `ds3d inspect FILE`.
type Info struct {
	Path     string  `json:"path"`
	Bytes    int64   `json:"bytes"`
	Format   string  `json:"format"`
	Encoding string  `json:"encoding"`
	Points   int     `json:"points"`
	Fields   []Field `json:"fields"` // names, types and counts; no Data
	// Intensity names the field read as intensity ("" when none).
	Intensity string     `json:"intensity_field"`
	Width     int        `json:"width"`
	Height    int        `json:"height"`
	Viewpoint [7]float64 `json:"viewpoint"`
	NaNs      int        `json:"nan_points"`
	// Origin is what Min and Max (and the decoded points) are relative to
	// (Cloud.Origin); zero for most files.
	Origin [3]float64 `json:"origin"`
	// Min and Max bound x, y, z over the finite points (zero when none).
	Min [3]float32 `json:"min"`
	Max [3]float32 `json:"max"`
	// IntensityMin and IntensityMax bound intensity over the same points.
	IntensityMin float32 `json:"intensity_min"`
	IntensityMax float32 `json:"intensity_max"`
	// Decode is the time to decode the file's bytes, reading excluded.
	Decode time.Duration `json:"decode_ns"`
}

// Inspect reads and decodes a file and describes it.
func Inspect(path string) (Info, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Info{}, err
	}
	var c Cloud
	t0 := time.Now()
	if err := Decode(&c, path, data, ReadOptions{}); err != nil {
		return Info{}, err
	}
	info := Info{
		Path: path, Bytes: int64(len(data)), Format: c.Format, Encoding: c.Encoding,
		Points: c.Len(), Intensity: c.Intensity, Width: c.Width, Height: c.Height,
		Viewpoint: c.Viewpoint, NaNs: c.NaNs, Origin: c.Origin, Decode: time.Since(t0),
	}
	for _, f := range c.Fields {
		info.Fields = append(info.Fields, Field{Name: f.Name, Type: f.Type, Count: f.Count})
	}
	info.Min, info.Max, info.IntensityMin, info.IntensityMax = bounds(ds3d.AsFloat32(c.Points)[:4*c.Len()])
	return info, nil
}

// bounds is the box of the points whose x, y and z are all finite, and the
// range of their intensity.
func bounds(pts []float32) (lo, hi [3]float32, ilo, ihi float32) {
	inf := float32(math.Inf(1))
	lo = [3]float32{inf, inf, inf}
	hi = [3]float32{-inf, -inf, -inf}
	ilo, ihi = inf, -inf
	found := false
	for i := 0; i+3 < len(pts); i += 4 {
		p := pts[i : i+4 : i+4]
		if !finite(p[0]) || !finite(p[1]) || !finite(p[2]) {
			continue
		}
		found = true
		for k := 0; k < 3; k++ {
			lo[k] = min(lo[k], p[k])
			hi[k] = max(hi[k], p[k])
		}
		if p[3] == p[3] {
			ilo = min(ilo, p[3])
			ihi = max(ihi, p[3])
		}
	}
	if !found {
		return [3]float32{}, [3]float32{}, 0, 0
	}
	if ilo > ihi {
		ilo, ihi = 0, 0
	}
	return lo, hi, ilo, ihi
}

func finite(v float32) bool { return v-v == 0 }

// WriteText prints the summary, one "key: value" fact per line, keys
// padded to 16 columns: the layout `ds3d inspect` uses for every format
// (pcap captures and rosbag2 bags too).
func (in Info) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(key, format string, args ...any) {
		fmt.Fprintf(&b, "%-16s "+format+"\n", append([]any{key + ":"}, args...)...)
	}
	line("file", "%s (%d bytes)", in.Path, in.Bytes)
	line("format", "%s %s", in.Format, in.Encoding)
	if in.Height > 1 {
		line("points", "%d (organised %d×%d)", in.Points, in.Width, in.Height)
	} else {
		line("points", "%d", in.Points)
	}
	var fields strings.Builder
	for i, f := range in.Fields {
		if i > 0 {
			fields.WriteByte(' ')
		}
		fmt.Fprintf(&fields, "%s:%s", f.Name, f.Type)
		if f.Count != 1 {
			fmt.Fprintf(&fields, "×%d", f.Count)
		}
	}
	line("fields", "%s", fields.String())
	if in.Origin != ([3]float64{}) {
		line("origin", "%.3f %.3f %.3f (x, y, z below are relative to it: float32 cannot hold the file's coordinates)", in.Origin[0], in.Origin[1], in.Origin[2])
	}
	for k, a := range [...]string{"x", "y", "z"} {
		line(a, "[%.4f, %.4f]", in.Min[k], in.Max[k])
	}
	if in.Intensity != "" {
		line("intensity", "[%g, %g] (field %s)", in.IntensityMin, in.IntensityMax, in.Intensity)
	} else {
		line("intensity", "none (0)")
	}
	line("nan points", "%d", in.NaNs)
	if in.Viewpoint != identityViewpoint && in.Viewpoint != ([7]float64{}) {
		line("viewpoint", "t=(%g, %g, %g) q=(%g, %g, %g, %g)", in.Viewpoint[0], in.Viewpoint[1],
			in.Viewpoint[2], in.Viewpoint[3], in.Viewpoint[4], in.Viewpoint[5], in.Viewpoint[6])
	}
	line("decode", "%v", in.Decode.Round(time.Microsecond))
	_, err := io.WriteString(w, b.String())
	return err
}
