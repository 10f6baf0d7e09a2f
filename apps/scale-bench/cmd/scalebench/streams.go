package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/meta"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/appio"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// LidarStreams writes the TOML of n lidar streams, each its own
// lidar-inference detection chain (lidar_file_loader → roi_crop →
// voxel_downsample → model_free_detector → tracker_3d) paced at rateHz by
// pipeline.realtime, all ending in one sink of impl sink (counting_sink for
// `ds3d run`, app_sink when this program measures). files is the loader's
// glob, relative to the config's folder; frames is each stream's length.
//
// With probe set, a scalebench_probe follows each source and the sink is
// app_sink: the variant this program runs to time each datamap.
func LidarStreams(n int, files string, rateHz float64, frames int, probe bool) string {
	sink := "counting_sink"
	if probe {
		sink = "app_sink"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# %d lidar streams at %g Hz through lidar-inference's detection chain, each
# stream its own chain (the 3D tracker keeps one tracker per DS3D::SourceId
# either way), paced at sensor rate. Written by
#   go run ./apps/scale-bench/cmd/scalebench configs
# and measured by `+"`make bench-scale`"+` (docs/PERF.md, "Cost curves and streams").
#
#   ds3d run apps/scale-bench/%s
#
# The crop's input queue holds 2 datamaps and drops the oldest when full, as
# a sensor driver does when its consumer lags: frames that cannot be
# processed in time show up as drops instead of as growing latency.
[pipeline]
name = "scale-lidar-%d"
realtime = true
`, n, rateHz, LidarConfigName(n), n)
	for i := range n {
		next, after := fmt.Sprintf("crop%d", i), fmt.Sprintf("mix.sink_%d", i)
		if probe {
			writeProbe(&b, "probe", i, "source", next)
			writeProbe(&b, "end", i, "end", after)
			next, after = fmt.Sprintf("probe%d", i), fmt.Sprintf("end%d", i)
		}
		fmt.Fprintf(&b, `
[[component]]
name = "lidar%[1]d"
type = "ds3d::dataloader"
impl = "lidar_file_loader"
link_to = %[5]q
[component.config]
files = [%[2]q]
rate_hz = %[3]g
file_loop = true
max_frames = %[4]d
source_id = %[1]d
points_num = 130000
mem_pool_size = 4

[[component]]
name = "crop%[1]d"
type = "ds3d::datafilter"
impl = "roi_crop"
link_to = "voxel%[1]d"
queue_size = 2
leaky = "downstream"
[component.config]
x_range = [0.0, 70.4]
y_range = [-40.0, 40.0]
z_range = [-3.0, 1.0]

[[component]]
name = "voxel%[1]d"
type = "ds3d::datafilter"
impl = "voxel_downsample"
link_to = "detect%[1]d"
[component.config]
leaf_size = [0.2]

[[component]]
name = "detect%[1]d"
type = "ds3d::datafilter"
impl = "model_free_detector"
link_to = "track%[1]d"
[component.config]
fov_deg = 80.0

[[component]]
name = "track%[1]d"
type = "ds3d::datafilter"
impl = "tracker_3d"
link_to = %[6]q
`, i, files, rateHz, frames, next, after)
	}
	fmt.Fprintf(&b, `
# One datamap per 100 ms tick with every stream's tracked boxes
# (DS3D::Lidar3DBboxRawData+N), as a server fusing several sensors takes them.
[[component]]
name = "mix"
type = "ds3d::datamixer"
impl = "multisensor_mixer"
link_to = "sink"
[component.config]
policy = "approximate_time"
max_interval_ms = %g
keep_timestamp_per_port = true

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = %q
`, 500/rateHz, sink)
	return b.String()
}

func writeProbe(b *strings.Builder, name string, i int, role, next string) {
	fmt.Fprintf(b, `
[[component]]
name = "%s%d"
type = "ds3d::datafilter"
impl = %q
link_to = %q
[component.config]
role = %q
`, name, i, probeImpl, next, role)
}

// LidarConfigName is the file name of the n-stream lidar config.
func LidarConfigName(n int) string { return fmt.Sprintf("lidar-%d.toml", n) }

// VideoConfigName is the file name of the n-stream video config.
func VideoConfigName(n int) string { return fmt.Sprintf("video-%d.toml", n) }

// VideoStreams writes the TOML of n video streams through video-detect's
// chain: n × uri_source (looping clip, paced at fps) → stream_mux (batch n,
// live sources: a full source queue drops its oldest frame) → infer_2d
// (YOLOX-Nano) → nvtracker_2d → one sink of impl sink.
func VideoStreams(n int, uri, model, labels string, fps float64, frames int, probe bool) string {
	sink := "counting_sink"
	if probe {
		sink = "app_sink"
	}
	var b strings.Builder
	fmt.Fprintf(&b, `# %d video streams at %g frames/s through video-detect's chain: uri_source ×%d →
# stream_mux (batch %d, full batches in timestamp order, live sources: a
# source whose queue is full loses its oldest frame) → infer_2d (YOLOX-Nano, pure Go) →
# nvtracker_2d. Written by
#   go run ./apps/scale-bench/cmd/scalebench configs
# and measured by `+"`make bench-scale`"+` (docs/PERF.md, "Cost curves and streams").
#
#   ds3d run apps/scale-bench/%s
[pipeline]
name = "scale-video-%d"
`, n, fps, n, n, VideoConfigName(n), n)
	for i := range n {
		next := fmt.Sprintf("mux.sink_%d", i)
		if probe {
			writeProbe(&b, "probe", i, "source", next)
			next = fmt.Sprintf("probe%d", i)
		}
		fmt.Fprintf(&b, `
[[component]]
name = "source%[1]d"
type = "ds3d::dataloader"
impl = "uri_source"
link_to = %[5]q
[component.config]
uri = %[2]q
loop = true
frame_rate = %[3]g
max_frames = %[4]d
source_id = %[1]d
mem_pool_size = 4
`, i, uri, fps, frames, next)
	}
	// infer_2d reads DS3D::ColorFrame_N for N cameras but the bare key for
	// one; the mux names slot 0 DS3D::ColorFrame_0 either way.
	in, out := "DS3D::ColorFrame", "DS3D::Object2DBboxKey"
	if n == 1 {
		in, out = in+"_0", out+"_0"
	}
	fmt.Fprintf(&b, `
[[component]]
name = "mux"
type = "ds3d::datamixer"
impl = "stream_mux"
link_to = "detector"
[component.config]
batch_size = %[1]d
batched_push_timeout = -1
sync_inputs = true
live_source = true

# A batch that finds the detector busy waits in a queue of one; a newer
# batch replaces it (dropped and counted), so latency stays bounded.
[[component]]
name = "detector"
type = "ds3d::datafilter"
impl = "infer_2d"
link_to = "tracker"
queue_size = 1
leaky = "downstream"
[component.config]
model = %[2]q
labelfile_path = %[3]q
parser = "yolox"
cameras = %[1]d
input_datamap_key = %[5]q
output_datamap_key = %[6]q
pre_cluster_threshold = 0.3
nms_iou_threshold = 0.45

[[component]]
name = "tracker"
type = "ds3d::datafilter"
impl = "nvtracker_2d"
link_to = "sink"

[[component]]
name = "sink"
type = "ds3d::datarender"
impl = %[4]q
`, n, model, labels, sink, in, out)
	return b.String()
}

// StreamResult is one paced run.
type StreamResult struct {
	Kind      string        `json:"kind"` // lidar or video
	Streams   int           `json:"streams"`
	RateHz    float64       `json:"rate_hz"`
	Wall      time.Duration `json:"wall_ns"`
	Expected  int           `json:"frames_expected"` // frames the sources were asked for
	Delivered int           `json:"frames_delivered"`
	Sets      int           `json:"sets"`  // datamaps at the sink: mixer sets or video batches
	Drops     uint64        `json:"drops"` // counted by the queues, the mixer and the mux
	Late      int           `json:"late"`  // delivered more than one period after their schedule
	FPS       float64       `json:"fps"`
	P50       time.Duration `json:"latency_p50_ns"`
	P99       time.Duration `json:"latency_p99_ns"`
	Max       time.Duration `json:"latency_max_ns"`
	// Stage latencies (process time per datamap, the run's metrics table):
	// the median over the streams' instances of each stage's p50, and the
	// largest p99.
	Stages    []StageLatency `json:"stages"`
	HeapStart uint64         `json:"heap_inuse_start"`
	HeapPeak  uint64         `json:"heap_inuse_peak"`
	HeapEnd   uint64         `json:"heap_inuse_end"`
	RSSPeak   uint64         `json:"rss_peak"`
	RSSEnd    uint64         `json:"rss_end"`
	// Mem is the heap and RSS every 5 s, to show whether memory stays flat.
	Mem        []MemSample `json:"mem"`
	Load1Start float64     `json:"load1_start"`
	Load1End   float64     `json:"load1_end"`
}

// MemSample is the memory at one time of a run.
type MemSample struct {
	T    time.Duration `json:"t_ns"`
	Heap uint64        `json:"heap_inuse"`
	RSS  uint64        `json:"rss"`
}

// StageLatency summarises one stage over the streams.
type StageLatency struct {
	Impl string        `json:"impl"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	FPS  float64       `json:"fps"`
}

// RunPaced runs a config text (made with probe set: its sink an app_sink
// named "sink") from dir and measures end-to-end latency: a datamap's
// schedule is the time its source's first datamap passed the source probe
// plus its timestamp's distance from that one's (the pacer's own
// schedule); its latency is the time from its schedule to the end probe
// after its stream's tracker (lidar) or to the sink (video batches), so a
// source that falls behind its schedule shows as latency too. period is the
// sensor period, the bound past which a frame counts as late.
func RunPaced(ctx context.Context, kind, dir, doc string, streams, expected int, period time.Duration) (*StreamResult, error) {
	p, err := config.Parse(kind+".toml", dir, []byte(doc))
	if err != nil {
		return nil, err
	}
	g, err := pipeline.New(p, pipeline.Options{Realtime: true})
	if err != nil {
		return nil, err
	}
	sink, err := appio.SinkOf(g, "sink")
	if err != nil {
		return nil, err
	}
	current.reset(expected)
	var sets atomic.Int64
	sink.Handle(func(_ context.Context, m *ds3d.DataMap) error {
		sets.Add(1)
		bm, err := ds3d.Get[*meta.BatchMeta](m, ds3d.KeyBatchMeta)
		if err != nil {
			return nil // a mixer's set: its streams' latencies were taken by the end probes
		}
		// A video batch: each frame's latency from its source's schedule.
		now := time.Now()
		current.mu.Lock()
		defer current.mu.Unlock()
		for i := range bm.Frames {
			f := &bm.Frames[i]
			w, ok := current.wall[int64(f.SourceID)]
			if !ok {
				return fmt.Errorf("source %d reached the sink without passing a %s", f.SourceID, probeImpl)
			}
			current.lat = append(current.lat, now.Sub(w.Add(time.Duration(f.PTS-current.stamp[int64(f.SourceID)]))))
		}
		return nil
	})
	res := &StreamResult{Kind: kind, Streams: streams, RateHz: float64(time.Second) / float64(period), Expected: expected, Load1Start: load1()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapStart = ms.HeapInuse
	wg.Add(1)
	go func() { // the memory sampler; it ends when the run does
		defer wg.Done()
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		t0 := time.Now()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			case <-tk.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				r := rss()
				res.HeapPeak = max(res.HeapPeak, ms.HeapInuse)
				res.RSSPeak = max(res.RSSPeak, r)
				if i%10 == 0 {
					res.Mem = append(res.Mem, MemSample{T: time.Since(t0), Heap: ms.HeapInuse, RSS: r})
				}
			}
		}
	}()
	base := time.Now()
	err = g.Run(ctx)
	res.Wall = time.Since(base)
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	res.HeapEnd, res.RSSEnd = ms.HeapInuse, rss()
	res.Load1End = load1()
	if err != nil {
		return res, fmt.Errorf("run %s: %w", kind, err)
	}
	current.mu.Lock()
	defer current.mu.Unlock()
	if current.err != nil {
		return res, current.err
	}
	lat := current.lat
	res.Sets = int(sets.Load())
	res.Delivered = len(lat)
	res.FPS = float64(len(lat)) / res.Wall.Seconds()
	slices.Sort(lat)
	if len(lat) > 0 {
		res.P50, res.P99, res.Max = quantile(lat, 0.5), quantile(lat, 0.99), lat[len(lat)-1]
		for _, d := range lat {
			if d > period {
				res.Late++
			}
		}
	}
	byImpl := map[string][]pipeline.Metrics{}
	var order []string
	for _, m := range g.Metrics() {
		res.Drops += m.Drops
		if _, ok := byImpl[m.Impl]; !ok {
			order = append(order, m.Impl)
		}
		byImpl[m.Impl] = append(byImpl[m.Impl], m)
	}
	for _, impl := range order {
		ms := byImpl[impl]
		var p50s []time.Duration
		sl := StageLatency{Impl: impl}
		for _, m := range ms {
			p50s = append(p50s, m.P50)
			sl.P99 = max(sl.P99, m.P99)
			sl.FPS += m.FPS
		}
		slices.Sort(p50s)
		sl.P50 = p50s[len(p50s)/2]
		res.Stages = append(res.Stages, sl)
	}
	return res, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// rss is the process's resident set in bytes (Linux /proc; 0 elsewhere).
func rss() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// load1 is the 1-minute load average (Linux /proc; 0 elsewhere).
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
