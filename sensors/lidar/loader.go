package lidar

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/framelist"
)

// FileLoaderConfig configures lidar_file_loader, ds3d's
// createLidarFileLoader with the same keys.
type FileLoaderConfig struct {
	DataConfigFile []ds3d.Path `toml:"data_config_file" path:"exists" doc:"lidar list files (TOML, or ds3d YAML), one per source; each source's frame goes under its own key"`
	Files          []ds3d.Path `toml:"files" path:"exists" doc:"glob patterns instead of a list (one source; relative to the config file; frames in lexical order)"`
	RateHz         float64     `toml:"rate_hz" min:">0" unit:"Hz" doc:"frame rate that stamps glob sources: frame k at k/rate_hz s"`
	PointsNum      int         `toml:"points_num" min:"0" doc:"points per frame to allocate up front; 0 sizes frames by the largest file seen"`
	FixedPointsNum bool        `toml:"fixed_points_num" doc:"pad every frame with zero points to points_num (and cut longer clouds), for models with a fixed input size"`
	ElementSize    int         `toml:"element_size" min:"3" max:"4" doc:"raw float files: floats used per point (3: x,y,z; 4: x,y,z,intensity)"`
	ElementStride  int         `toml:"element_stride" min:"0" doc:"raw float files: floats per point in the file (KITTI 4, nuScenes 5); 0 takes the format's default"`
	IntensityField string      `toml:"intensity_field" doc:"PCD/PLY field copied into the intensity column"`
	ExtraFields    []string    `toml:"extra_fields" nonempty:"each" doc:"PCD/PLY fields appended after x, y, z, intensity as named float32 columns: \"ring\" (column named like the field) or \"channel=ring\" (field channel as column ring; ds3d names: ring, time, return); values are converted as stored (integers exact below 2^24, units unchanged); a file without the field is an error; empty: [N,4] frames"`
	Format         string      `toml:"format" enum:"@lidar.format" doc:"force a point-cloud format (bin, pcd.bin, pcd, ply, xyz); empty picks it by extension"`
	FileLoop       bool        `toml:"file_loop" doc:"start again at the first frame after the last (timestamps keep increasing)"`
	MaxFrames      int         `toml:"max_frames" min:"0" doc:"end the stream after this many datamaps (with file_loop: a fixed-length replay for benchmarks); 0 = no limit"`
	SourceID       int         `toml:"source_id" doc:"DS3D::SourceId of the first source; a list's own source_id wins"`
	OutputKey      []string    `toml:"output_datamap_key" doc:"key per source; one key for several sources gets the _N suffix"`
	ds3d.PoolGroup `doc:"frames per source in flight before the loader waits for one to come back"`
}

// Validate checks that sources are given one way and the keys that depend
// on each other.
func (c *FileLoaderConfig) Validate() error {
	switch {
	case len(c.DataConfigFile) == 0 && len(c.Files) == 0:
		return ds3d.ConfigErrorf("data_config_file", "give a list file (or files = [globs])")
	case len(c.DataConfigFile) > 0 && len(c.Files) > 0:
		return ds3d.ConfigErrorf("files", "give data_config_file or files, not both")
	case c.FixedPointsNum && c.PointsNum == 0:
		return ds3d.ConfigErrorf("fixed_points_num", "needs points_num")
	case c.ElementStride != 0 && c.ElementStride < c.ElementSize:
		return ds3d.ConfigErrorf("element_stride", "must be ≥ element_size (%d), got %d", c.ElementSize, c.ElementStride)
	case len(c.OutputKey) > 1 && len(c.OutputKey) != len(c.DataConfigFile):
		return ds3d.ConfigErrorf("output_datamap_key", "has %d keys for %d sources", len(c.OutputKey), len(c.DataConfigFile))
	}
	if _, err := parseExtraFields(c.ExtraFields); err != nil {
		return ds3d.ConfigErrorf("extra_fields", "%v", err)
	}
	return nil
}

// extraField is one extra_fields entry: the file's field and the column
// it becomes.
type extraField struct{ field, col string }

// parseExtraFields reads "field" and "field=column" entries; the columns
// must be distinct and not x, y, z or intensity.
func parseExtraFields(list []string) ([]extraField, error) {
	var out []extraField
	seen := map[string]bool{ds3d.ColX: true, ds3d.ColY: true, ds3d.ColZ: true, ds3d.ColIntensity: true}
	for _, e := range list {
		f, c, renamed := strings.Cut(e, "=")
		f, c = strings.TrimSpace(f), strings.TrimSpace(c)
		if !renamed {
			c = f
		}
		if f == "" || c == "" {
			return nil, fmt.Errorf("entry %q: want \"field\" or \"field=column\"", e)
		}
		if seen[c] {
			return nil, fmt.Errorf("entry %q: column %q is x, y, z, intensity or already listed", e, c)
		}
		seen[c] = true
		out = append(out, extraField{f, c})
	}
	return out, nil
}

// source is one lidar list with its frame pool.
type source struct {
	list *List
	key  ds3d.Key
	id   int
	pool *ds3d.FramePool
}

// FileLoader replays lidar files listed with timestamps. Each Next reads
// frame k of every source into pooled [N,4] frames (x y z intensity; with
// extra_fields [N,4+E], the extra columns named) and emits them in one
// datamap (DS3D::LidarXYZI, or _N keys for several sources) with
// DS3D::Timestamp (of the first source), DS3D::SourceId and
// DS3D::FrameNumber. The stream ends with the shortest source unless
// file_loop is set.
type FileLoader struct {
	cfg     FileLoaderConfig
	opts    ReadOptions
	sources []source
	k       int
	loopOff int64 // timestamp offset added per completed loop
	span    int64
	log     interface{ Warn(string, ...any) }
	warned  bool

	extra []extraField // extra_fields
	names []string     // column names with extra fields
	cloud Cloud        // decode scratch with extra fields
	buf   []byte       // file bytes, reused

	emitted atomic.Uint64 // datamaps emitted, for the metrics' goroutine
}

// NewFileLoader reads the lists (checking that every file exists) and sets up the pools.
func NewFileLoader(cfg *FileLoaderConfig, env *ds3d.Env) (*FileLoader, error) {
	l := &FileLoader{cfg: *cfg, opts: ReadOptions{
		Format: cfg.Format, IntensityField: cfg.IntensityField,
		ElementSize: cfg.ElementSize, ElementStride: cfg.ElementStride,
	}}
	if env != nil && env.Log != nil {
		l.log = env.Log
	}
	extra, err := parseExtraFields(cfg.ExtraFields)
	if err != nil {
		return nil, ds3d.ConfigErrorf("extra_fields", "%v", err)
	}
	if len(extra) > 0 {
		l.extra = extra
		l.names = []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity}
		for _, e := range extra {
			l.names = append(l.names, e.col)
		}
	}
	var lists []*List
	if len(cfg.Files) > 0 {
		pats := make([]string, len(cfg.Files))
		for i, p := range cfg.Files {
			pats[i] = string(p)
			if env != nil && env.ConfigDir != "" && !filepath.IsAbs(pats[i]) {
				pats[i] = filepath.Join(env.ConfigDir, pats[i])
			}
		}
		gl, err := GlobList(pats, cfg.RateHz)
		if err != nil {
			return nil, err
		}
		lists = append(lists, gl)
	}
	for _, p := range cfg.DataConfigFile {
		li, err := ReadList(string(p))
		if err != nil {
			return nil, err
		}
		lists = append(lists, li)
	}
	for i, li := range lists {
		key := ds3d.KeyLidarXYZI
		switch {
		case len(cfg.OutputKey) == len(lists) && len(lists) > 1:
			key = ds3d.Key(cfg.OutputKey[i])
		case len(cfg.OutputKey) == 1:
			key = ds3d.Key(cfg.OutputKey[0])
		}
		if len(lists) > 1 && len(cfg.OutputKey) <= 1 {
			key = key.Sensor(i)
		}
		id := cfg.SourceID + i
		if li.SourceID >= 0 {
			id = li.SourceID
		}
		n := cfg.PointsNum
		pool, err := ds3d.NewFramePool(cfg.MemPoolSize, func() *ds3d.Frame { return ds3d.NewLidarFrame(n) })
		if err != nil {
			return nil, err
		}
		l.sources = append(l.sources, source{list: li, key: key, id: id, pool: pool})
	}
	l.span = framelist.LoopSpan(l.sources[0].list.Entries, cfg.RateHz)
	return l, nil
}

// Len is the number of datamaps the loader emits, or -1 when looping
// without max_frames.
func (l *FileLoader) Len() int {
	n := math.MaxInt
	for _, s := range l.sources {
		n = min(n, len(s.list.Entries))
	}
	return framelist.Count(n, l.cfg.FileLoop, l.cfg.MaxFrames)
}

// Next reads the next frame of every source.
func (l *FileLoader) Next(ctx context.Context) (*ds3d.DataMap, error) {
	if l.cfg.MaxFrames > 0 && l.k >= l.cfg.MaxFrames {
		return nil, io.EOF
	}
	total := l.Len()
	idx := l.k
	if l.cfg.FileLoop {
		n := math.MaxInt
		for _, s := range l.sources {
			n = min(n, len(s.list.Entries))
		}
		idx = l.k % n
		if idx == 0 && l.k > 0 {
			l.loopOff += l.span
		}
	} else if l.k >= total {
		return nil, io.EOF
	}
	m := ds3d.NewDataMap()
	for si := range l.sources {
		s := &l.sources[si]
		e := &s.list.Entries[idx]
		f, err := s.pool.Get(ctx)
		if err != nil {
			m.Release()
			return nil, err
		}
		read := ReadFileOrigin
		if l.extra != nil {
			read = l.readExtra
		}
		origin, err := read(f, e.Path, l.opts)
		if err != nil {
			f.Release()
			m.Release()
			where := e.Path
			if s.list.File != "" {
				where = fmt.Sprintf("%s (list %s line %d)", e.Path, s.list.File, e.Line)
			}
			return nil, fmt.Errorf("frame %d: %s: %w", l.k, where, err)
		}
		if l.cfg.FixedPointsNum {
			l.fix(f, e.Path)
		}
		m.SetFrame(s.key, f)
		if origin != ([3]float64{}) && si == 0 {
			m.Set(ds3d.KeyPointsOrigin, ds3d.Translation(origin))
		}
		if si == 0 {
			m.SetTimestamp(e.TimestampNs + l.loopOff)
			m.SetInt64(ds3d.KeySourceID, int64(s.id))
			if e.EgoPose != nil {
				m.Set(ds3d.KeyEgoPose, ds3d.Mat4(*e.EgoPose))
			}
		}
	}
	m.SetInt64(ds3d.KeyFrameNumber, int64(l.k))
	if l.k == 0 {
		m.SetInt64(ds3d.KeyFirstSourceFrame, 1)
	}
	l.k++
	l.emitted.Add(1)
	return m, nil
}

// PoolStats reports each source's frame pool under its datamap key.
func (l *FileLoader) PoolStats() []ds3d.PoolStat {
	out := make([]ds3d.PoolStat, len(l.sources))
	for i := range l.sources {
		out[i] = l.sources[i].pool.Stat(string(l.sources[i].key))
	}
	return out
}

// SourceCounts reports the datamaps emitted; they carry the first
// source's DS3D::SourceId.
func (l *FileLoader) SourceCounts(fn func(source int64, datamaps uint64)) {
	if len(l.sources) > 0 {
		fn(int64(l.sources[0].id), l.emitted.Load())
	}
}

// fix pads a frame with zero points to points_num, or cuts it there.
func (l *FileLoader) fix(f *ds3d.Frame, path string) {
	n, want, c := f.Points(), l.cfg.PointsNum, f.Stride()
	if n > want && !l.warned && l.log != nil {
		l.log.Warn("cloud longer than points_num: cut", "file", path, "points", n, "points_num", want)
		l.warned = true
	}
	prev := f.Data
	f.Resize(want, c)
	if n < want {
		if len(prev) > 0 && &prev[0] != &f.Data[0] {
			copy(f.Data, prev[:n*c*4]) // Resize grew the buffer without copying
		}
		clear(f.Data[n*c*4:])
	}
}

// readExtra reads the file at path into f as an [N, 4+E] frame: x, y, z,
// intensity, then the extra_fields columns (first value of a field of
// COUNT > 1), named.
func (l *FileLoader) readExtra(f *ds3d.Frame, path string, opts ReadOptions) ([3]float64, error) {
	err := l.readExtraInto(f, path, opts)
	return l.cloud.Origin, err
}

func (l *FileLoader) readExtraInto(f *ds3d.Frame, path string, opts ReadOptions) error {
	fd, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return err
	}
	if cap(l.buf) < int(st.Size()) {
		l.buf = make([]byte, st.Size())
	}
	l.buf = l.buf[:st.Size()]
	if _, err := io.ReadFull(fd, l.buf); err != nil {
		return fmt.Errorf("lidar %s: %w", path, err)
	}
	c := &l.cloud
	if err := Decode(c, path, l.buf, opts); err != nil {
		return err
	}
	n, cols := c.Len(), len(l.names)
	f.DType, f.Type, f.Mem = ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.MemCPU
	f.Resize(n, cols)
	f.SetColumns(l.names...)
	d, p := ds3d.AsFloat32(f), ds3d.AsFloat32(c.Points)
	for i := 0; i < n; i++ {
		copy(d[i*cols:i*cols+4], p[i*4:i*4+4])
	}
	for k, e := range l.extra {
		fld := c.Field(e.field)
		if fld == nil {
			var have []string
			for _, x := range c.Fields {
				have = append(have, x.Name)
			}
			return fmt.Errorf("lidar_file_loader extra_fields: file has no field %q (its fields: %s)", e.field, strings.Join(have, " "))
		}
		col := 4 + k
		if fld.Data == nil { // a coordinate or the intensity field: in Points
			src := map[string]int{"x": 0, "y": 1, "z": 2}[fld.Name]
			if fld.Name == c.Intensity {
				src = 3
			}
			for i := 0; i < n; i++ {
				d[i*cols+col] = p[i*4+src]
			}
			continue
		}
		for i := 0; i < n; i++ {
			d[i*cols+col] = float32(fld.Value(i, 0))
		}
	}
	return nil
}

func init() {
	ds3d.RegisterEnum("lidar.format", func() []string {
		names := []string{""}
		for _, f := range formatList() {
			names = append(names, f.name)
		}
		return names
	})
	ds3d.Register(ds3d.KindLoader, "lidar_file_loader",
		`Replays lidar point-cloud files (KITTI .bin, nuScenes .pcd.bin, PCD, PLY, any registered format) from timestamped lists or glob patterns into pooled [N,4] float32 frames (x y z intensity, plus named extra_fields columns such as ring and time); several lists make several sources in one datamap (DeepStream-3D's createLidarFileLoader).`,
		func() *FileLoaderConfig {
			return &FileLoaderConfig{RateHz: 10, ElementSize: 4, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *FileLoaderConfig, env *ds3d.Env) (any, error) { return NewFileLoader(c, env) })
}
