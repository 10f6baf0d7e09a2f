package smartrecord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/bagrecord"
)

// Scheduled is a recording the component starts by itself when the stream
// reaches a time, for fixed-time captures, demos and tests.
type Scheduled struct {
	ID       string        `toml:"id" nonempty:"true" doc:"recording id (letters, digits, '.', '_', '-'; it names the output files)"`
	At       time.Duration `toml:"at" min:"0s" doc:"stream time after the first datamap's timestamp; the first datamap stamped at or after it is T"`
	Before   time.Duration `toml:"before" min:"0s" doc:"record from T − before (what the cache still holds)"`
	Duration time.Duration `toml:"duration" min:"0s" doc:"record up to T + duration; 0: default_duration"`
}

// Config configures smart_record.
type Config struct {
	OutputDir     ds3d.Path         `toml:"output_dir" required:"true" nonempty:"true" doc:"folder of the recordings: each writes the bag folder <id>_<T in UTC> and, with video_key, <id>_<T in UTC>.mp4"`
	CacheSeconds  float64           `toml:"cache_seconds" min:">0" max:"86400" unit:"s" doc:"how much stream time (by DS3D::Timestamp) the in-memory cache keeps: the longest useful 'before'"`
	CacheMaxBytes int64             `toml:"cache_max_bytes" min:"1" unit:"bytes" doc:"bound of the cache's copied data (oldest datamaps go first); also the bound of each recording's backlog waiting for the writer, beyond which datamaps are dropped and counted"`
	Overwrite     bool              `toml:"overwrite" doc:"replace a recording of the same name (bag folder and MP4) left by an earlier run; false: write beside it under <name>-2, -3 …"`
	MaxRecordings int               `toml:"max_recordings" min:"1" doc:"recordings open at once (being filled or finished); a start beyond it is refused"`
	DefaultDur    time.Duration     `toml:"default_duration" min:">0s" doc:"duration of a recording started with duration 0"`
	Topics        map[string]string `toml:"topics" doc:"datamap key → bag topic, as mcap_writer's topics (\"DS3D::LidarXYZI\" = \"/ds3d/points\"); empty: no bag, only video"`
	FrameIDs      map[string]string `toml:"frame_ids" doc:"datamap key → frame_id of its messages, as mcap_writer's frame_ids"`
	Compression   string            `toml:"compression" enum:"none|lz4|zstd" doc:"MCAP chunk compression of the bags"`
	FrameID       string            `toml:"frame_id" nonempty:"true" doc:"frame_id of points, boxes and the lidar end of extrinsics"`
	CameraFrameID string            `toml:"camera_frame_id" nonempty:"true" doc:"frame_id of images and camera info; a key's sensor suffix _N is appended"`
	WorldFrameID  string            `toml:"world_frame_id" nonempty:"true" doc:"parent frame of the ego pose on /tf"`
	ImageFormat   string            `toml:"image_format" enum:"jpeg|png" doc:"CompressedImage codec of colour frames in the bag"`
	JPEGQuality   int               `toml:"jpeg_quality" min:"1" max:"100" doc:"JPEG quality of colour frames in the bag"`
	Markers       bool              `toml:"markers" doc:"also write each []Box3D topic as visualization_msgs/MarkerArray on <topic>/markers"`
	VideoKey      string            `toml:"video_key" doc:"key of an RGB/RGBA u8 colour frame written as H.264 MP4 beside the bag; empty: no video"`
	VideoFPS      int               `toml:"video_fps" min:"1" max:"1000" doc:"frame rate written into the MP4 (frames are written one per datamap that holds video_key)"`
	CRF           int               `toml:"crf" min:"0" max:"51" doc:"MP4: x264 constant rate factor (0 lossless … 51)"`
	Preset        string            `toml:"preset" nonempty:"true" doc:"MP4: x264 preset (ultrafast … veryslow)"`
	FFmpeg        string            `toml:"ffmpeg" nonempty:"true" doc:"MP4: the ffmpeg executable"`
	CloseTimeout  time.Duration     `toml:"close_timeout" min:">0s" doc:"how long Close waits for the writer to finish open recordings before it kills ffmpeg (a hung encoder must not hang the pipeline's end); bags are finished regardless"`
	Schedule      []Scheduled       `toml:"schedule" doc:"recordings started by the component itself at stream times"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() *Config {
	return &Config{
		CacheSeconds: 10, CacheMaxBytes: 512 << 20, MaxRecordings: 4, DefaultDur: 10 * time.Second,
		Compression: "lz4", FrameID: "lidar", CameraFrameID: "camera", WorldFrameID: "map",
		ImageFormat: "jpeg", JPEGQuality: 90, Markers: true,
		VideoFPS: 10, CRF: 23, Preset: "veryfast", FFmpeg: "ffmpeg", CloseTimeout: time.Minute,
	}
}

// Validate checks what ties keys together: something to record, the topic
// names (mcap_writer's rules) and the schedule's ids.
func (c *Config) Validate() error {
	if len(c.Topics) == 0 && c.VideoKey == "" {
		return ds3d.ConfigErrorf("topics", "nothing to record: give topics, video_key or both")
	}
	bc := bagrecord.Config{Topics: c.Topics}
	if err := bc.Validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, s := range c.Schedule {
		if err := checkID(s.ID); err != nil {
			return ds3d.ConfigErrorf(fmt.Sprintf("schedule[%d].id", i), "%v", err)
		}
		if seen[s.ID] {
			return ds3d.ConfigErrorf(fmt.Sprintf("schedule[%d].id", i), "id %q is used twice", s.ID)
		}
		seen[s.ID] = true
	}
	return nil
}

// checkID accepts ids that are safe as a file name on every system.
func checkID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("recording id %q: want 1 to 64 characters", id)
	}
	if id[0] == '.' {
		return fmt.Errorf("recording id %q: must not start with '.'", id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("recording id %q: %q is not a letter, digit, '.', '_' or '-'", id, r)
		}
	}
	return nil
}

// entry is one cached datamap: copies of the recorded keys, never a pooled
// frame. Entries are read-only while held, so the cache and any number of
// recordings share them; the last holder to let go puts the entry on the
// free list, whose frames' buffers the next copy reuses, so a steady
// stream allocates no frame memory.
type entry struct {
	m      *ds3d.DataMap
	ts     int64
	bytes  int64
	refs   int           // holders: the cache, recordings' backlogs, the writer's batch (under Component.mu)
	frames []*ds3d.Frame // the copy of each recorded key's frame, by index in Component.keys; nil slots unused
}

// maxFree bounds the free list: the steady state evicts one entry per
// datamap, so a few cover it.
const maxFree = 4

// Result describes a finished recording.
type Result struct {
	ID string
	// Bag is the bag folder, Video the MP4; empty when none was made (no
	// topics or no video_key, nothing recorded, or a failure to create it).
	Bag, Video string
	// T is the request's reference time; From and To bound the window
	// asked for (To is earlier when StopRecording ended it).
	T, From, To int64
	// First and Last are the stamps of the first and last datamap written.
	First, Last int64
	DataMaps    int // datamaps written
	VideoFrames int // frames written into the MP4
	Dropped     int // datamaps lost because the writer's backlog was full
	Err         error
}

// recording is one recording in progress. Fields above the blank line are
// guarded by Component.mu (name is set with T; once the writer owns the
// output it may add a suffix), w belongs to the writer goroutine.
type recording struct {
	id           string
	before, dur  int64
	t            int64
	tSet         bool
	pending      []*entry
	pendingBytes int64
	ended        bool // no entry will be added any more
	stoppedAt    int64
	dropped      int
	name         string // <id>_<T>

	w recWriter // the writer goroutine's own
}

// Component is the smart_record component.
type Component struct {
	cfg   Config
	log   *slog.Logger
	keys  []ds3d.Key
	video ds3d.Key
	cache time.Duration

	mu      sync.Mutex
	cond    *sync.Cond // the writer waits on it for work
	entries []*entry   // oldest first
	free    []*entry   // entries no one holds, for reuse
	head    int        // entries[head:] are live
	bytes   int64
	seen    bool
	first   int64
	latest  int64
	active  map[string]*recording // filling (may end by time)
	open    []*recording          // filling or being finished by the writer
	fired   []bool                // per Schedule entry
	closed  bool
	running bool // the writer goroutine
	results []Result
	errs    []error
	done    chan struct{}
	ctx     context.Context // of the ffmpeg subprocesses
	cancel  context.CancelFunc
	dropped atomic.Uint64
}

// New builds a smart_record from a checked config. No goroutine runs until
// the first recording starts.
func New(cfg *Config, log *slog.Logger) (*Component, error) {
	if err := ds3d.CheckConfig(cfg); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Component{cfg: *cfg, log: log, video: ds3d.Key(cfg.VideoKey),
		cache:  time.Duration(cfg.CacheSeconds * float64(time.Second)),
		active: map[string]*recording{}, fired: make([]bool, len(cfg.Schedule)), done: make(chan struct{})}
	c.cond = sync.NewCond(&c.mu)
	for k := range cfg.Topics {
		c.keys = append(c.keys, ds3d.Key(k))
	}
	if c.video != "" && cfg.Topics[cfg.VideoKey] == "" {
		c.keys = append(c.keys, c.video)
	}
	slices.Sort(c.keys)
	return c, nil
}

// Dropped counts datamaps that a recording lost because its backlog held
// cache_max_bytes already (the pipeline's drops metric reads it).
func (c *Component) Dropped() uint64 { return c.dropped.Load() }

// Results returns the recordings finished so far, oldest first (the last
// 64).
func (c *Component) Results() []Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.results)
}

// Render copies the recorded keys of in into the cache and hands it to the
// recordings whose window it falls in. It does no disk I/O and holds no
// reference to in's frames.
func (c *Component) Render(_ context.Context, in *ds3d.DataMap) error {
	ts, ok := in.Timestamp()
	if !ok {
		// Without a stamp the arrival time is the only clock there is.
		ts = time.Now().UnixNano()
	}
	c.mu.Lock()
	var e *entry
	if n := len(c.free); n > 0 {
		e, c.free[n-1] = c.free[n-1], nil
		c.free = c.free[:n-1]
	}
	c.mu.Unlock()
	// The copy is made without the lock: commands and the writer never
	// wait for it.
	e, err := c.snapshot(e, in, ts)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("smart_record: Render after Close")
	}
	if !c.seen {
		c.seen, c.first = true, ts
	}
	c.latest = ts
	c.push(e)
	woke := false
	for id, r := range c.active {
		if !r.tSet {
			c.setT(r, ts)
		}
		if ts > r.t+r.dur {
			r.ended = true
			delete(c.active, id)
			woke = true
			continue
		}
		if ts >= r.t-r.before {
			c.add(r, e)
			woke = true
		}
	}
	for i, s := range c.cfg.Schedule {
		if !c.fired[i] && ts >= c.first+int64(s.At) {
			c.fired[i], woke = true, true
			if err := c.startLocked(s.ID, s.Before, s.Duration); err != nil {
				c.log.Warn("scheduled recording not started", "id", s.ID, "err", err)
			}
		}
	}
	if woke {
		c.cond.Broadcast()
	}
	return nil
}

// push appends e to the cache and evicts what is older than cache_seconds
// before the newest stamp or beyond cache_max_bytes (the newest entry
// always stays).
func (c *Component) push(e *entry) {
	e.refs = 1
	c.entries = append(c.entries, e)
	c.bytes += e.bytes
	for c.head < len(c.entries)-1 {
		o := c.entries[c.head]
		if o.ts >= e.ts-int64(c.cache) && c.bytes <= c.cfg.CacheMaxBytes {
			break
		}
		c.bytes -= o.bytes
		c.release(o)
		c.entries[c.head] = nil
		c.head++
	}
	// Compact once half the slice is dead, so it stays within twice the
	// live count without a move per datamap.
	if c.head > 0 && c.head*2 >= len(c.entries) {
		n := copy(c.entries, c.entries[c.head:])
		clear(c.entries[n:])
		c.entries = c.entries[:n]
		c.head = 0
	}
}

// add queues e for r's writer, or drops it when r's backlog is full.
func (c *Component) add(r *recording, e *entry) {
	if r.pendingBytes+e.bytes > c.cfg.CacheMaxBytes && len(r.pending) > 0 {
		r.dropped++
		c.dropped.Add(1)
		return
	}
	r.pending = append(r.pending, e)
	r.pendingBytes += e.bytes
	e.refs++
}

// release drops a hold on e; the last one frees it for reuse.
func (c *Component) release(e *entry) {
	if e.refs--; e.refs == 0 && len(c.free) < maxFree && !c.closed {
		c.free = append(c.free, e)
	}
}

func (c *Component) setT(r *recording, t int64) {
	r.t, r.tSet = t, true
	r.name = r.id + "_" + time.Unix(0, t).UTC().Format("20060102T150405.000Z")
}

// StartRecording starts recording id: from T − before to T + duration,
// T being the timestamp of the latest datamap seen (or, before the first,
// of the first to come). duration 0 takes default_duration. It fails for
// an id in use or unsafe as a file name, a negative time, or when
// max_recordings are open. It returns at once; the writing happens on the
// component's writer goroutine.
func (c *Component) StartRecording(id string, before, duration time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.startLocked(id, before, duration); err != nil {
		return fmt.Errorf("smart_record: %w", err)
	}
	c.cond.Broadcast()
	return nil
}

func (c *Component) startLocked(id string, before, duration time.Duration) error {
	if err := checkID(id); err != nil {
		return err
	}
	if before < 0 || duration < 0 {
		return fmt.Errorf("recording %q: before %v and duration %v must not be negative", id, before, duration)
	}
	if c.closed {
		return fmt.Errorf("recording %q: the component is closed", id)
	}
	if _, dup := c.active[id]; dup {
		return fmt.Errorf("recording %q is already running", id)
	}
	if len(c.open) >= c.cfg.MaxRecordings {
		return fmt.Errorf("recording %q: %d recordings are open (max_recordings)", id, len(c.open))
	}
	if duration == 0 {
		duration = c.cfg.DefaultDur
	}
	r := &recording{id: id, before: int64(before), dur: int64(duration), stoppedAt: math.MaxInt64}
	if c.seen {
		c.setT(r, c.latest)
		for _, e := range c.entries[c.head:] {
			if e.ts >= r.t-r.before && e.ts <= r.t {
				c.add(r, e)
			}
		}
	}
	c.active[id] = r
	c.open = append(c.open, r)
	if !c.running {
		c.running = true
		c.ctx, c.cancel = context.WithCancel(context.Background())
		go c.writeLoop()
	}
	c.log.Info("recording started", "id", id, "before", before, "duration", duration, "T", r.t, "cached", len(r.pending))
	return nil
}

// StopRecording ends recording id before its duration is over: datamaps
// already handed to it are written, no later one is. Unknown or finished
// ids are an error.
func (c *Component) StopRecording(id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.active[id]
	if !ok {
		return fmt.Errorf("smart_record: no recording %q is running", id)
	}
	r.ended = true
	r.stoppedAt = c.latest
	delete(c.active, id)
	c.cond.Broadcast()
	return nil
}

// Close ends every recording at the data it has, waits until the writer
// has finished their bags (metadata.yaml written) and videos — after
// close_timeout it kills ffmpeg, so the videos fail but the bags finish —
// and returns the errors of recordings that failed.
func (c *Component) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	for id, r := range c.active {
		r.ended = true
		r.stoppedAt = c.latest
		delete(c.active, id)
	}
	c.entries, c.head, c.bytes, c.free = nil, 0, 0, nil
	running := c.running
	c.cond.Broadcast()
	c.mu.Unlock()
	if running {
		t := time.NewTimer(c.cfg.CloseTimeout)
		select {
		case <-c.done:
		case <-t.C:
			c.log.Warn("recordings still being written at close_timeout: stopping ffmpeg", "close_timeout", c.cfg.CloseTimeout)
			c.cancel()
			<-c.done
		}
		t.Stop()
		c.cancel()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return errors.Join(c.errs...)
}

// snapshot copies the recorded keys of m into e (a free entry, or nil for
// a new one): frames byte for byte (pooled frames go back to their loaders
// as soon as Render returns), box and object slices element for element,
// other values as they are (matrices and intrinsics are values).
func (c *Component) snapshot(e *entry, m *ds3d.DataMap, ts int64) (*entry, error) {
	if e == nil {
		e = &entry{m: &ds3d.DataMap{}, frames: make([]*ds3d.Frame, len(c.keys))}
	}
	e.m.Reset() // the copies are unpooled: Reset drops them without freeing
	e.ts, e.bytes = ts, 64
	e.m.SetTimestamp(ts)
	for i, k := range c.keys {
		v, ok := m.Value(k)
		if !ok {
			continue
		}
		switch x := v.(type) {
		case *ds3d.Frame:
			if x.Mem == ds3d.MemGPU {
				return nil, fmt.Errorf("smart_record: %s is a GPU frame; the cache copies host frames", k)
			}
			if e.frames[i] == nil {
				e.frames[i] = new(ds3d.Frame)
			}
			f := e.frames[i]
			copyFrame(f, x)
			e.bytes += int64(len(f.Data))
			v = f
		case []ds3d.Box3D:
			v = slices.Clone(x)
			e.bytes += int64(len(x)) * int64(unsafe.Sizeof(ds3d.Box3D{}))
		case []ds3d.Object2D:
			v = slices.Clone(x)
			e.bytes += int64(len(x)) * int64(unsafe.Sizeof(ds3d.Object2D{}))
		}
		e.m.Set(k, v)
	}
	return e, nil
}

// copyFrame makes dst an unpooled host copy of src with its column names,
// reusing dst's buffers.
func copyFrame(dst, src *ds3d.Frame) {
	n := min(src.Bytes(), len(src.Data))
	if cap(dst.Data) < n {
		dst.Data = make([]byte, n)
	}
	dst.Data = dst.Data[:n]
	copy(dst.Data, src.Data)
	dst.DType, dst.Type, dst.Mem, dst.Device, dst.Shape, dst.Plane = src.DType, src.Type, ds3d.MemCPU, 0, src.Shape, src.Plane
	dst.SetColumns(src.Columns()...)
}

// outputDir creates the output folder once a recording writes.
func (c *Component) outputDir() (string, error) {
	d := string(c.cfg.OutputDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("smart_record output_dir: %w", err)
	}
	return d, nil
}

// bagConfig is mcap_writer's config for one recording's bag.
func (c *Component) bagConfig(dir string) *bagrecord.Config {
	return &bagrecord.Config{
		Path: ds3d.Path(dir), Topics: c.cfg.Topics, FrameIDs: c.cfg.FrameIDs,
		Compression: c.cfg.Compression, FrameID: c.cfg.FrameID, CameraFrameID: c.cfg.CameraFrameID,
		WorldFrameID: c.cfg.WorldFrameID, ImageFormat: c.cfg.ImageFormat, JPEGQuality: c.cfg.JPEGQuality,
		Markers: c.cfg.Markers, Overwrite: c.cfg.Overwrite,
	}
}

func init() {
	ds3d.Register(ds3d.KindRender, "smart_record",
		`Smart Record: keeps the last cache_seconds of datamaps in memory and, on StartRecording (a cloud-to-device command) or a schedule, writes T − before … T + duration as a rosbag2 MCAP bag (mcap_writer's topics and types) and, with video_key, as an H.264 MP4 through ffmpeg; overlapping recordings allowed, Close finishes them.`,
		DefaultConfig,
		func(c *Config, env *ds3d.Env) (any, error) { return New(c, env.Log) })
}
