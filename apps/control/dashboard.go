package control

import (
	"bytes"
	"embed"
	"image"
	"image/png"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// static is the dashboard page: plain HTML, CSS and JavaScript, no build
// step and nothing fetched from elsewhere, so it works offline.
//
//go:embed static
var static embed.FS

// Previewer is a component that shows a recent picture of what it draws
// (raster_render): the dashboard serves it as a PNG. LatestImage must be
// cheap and safe from any goroutine and return an image nobody modifies
// afterwards, or nil when there is none yet.
type Previewer interface {
	LatestImage() image.Image
}

// dashboard is the state the page's routes share: the last PNG encoded
// per previewing component, so that any number of open pages cost one
// encoding per new picture.
type dashboard struct {
	mu    sync.Mutex // one encoding at a time
	cache map[string]encoded
	start time.Time
}

type encoded struct {
	img image.Image
	png []byte
}

func (s *Server) routeDashboard() {
	s.dash = dashboard{cache: map[string]encoded{}, start: time.Now()}
	sub, _ := fs.Sub(static, "static")
	files := http.FileServerFS(sub)
	s.route("/{$}", read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, sub, "index.html")
	})))
	s.route("/static/", read(http.StripPrefix("/static/", files)))
	s.route("/ui/live", read(http.HandlerFunc(s.live)))
	s.route("/ui/logs", read(http.HandlerFunc(s.logs)))
	s.route("/ui/preview/{name}", read(http.HandlerFunc(s.preview)))
}

// liveDoc is /ui/live's body: what the page redraws every second.
type liveDoc struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Error      string     `json:"error,omitempty"`
	TimeMs     int64      `json:"time_ms"` // server clock, for rates between two polls
	UptimeS    float64    `json:"uptime_s"`
	SinkFrames uint64     `json:"sink_frames"`
	Sources    int        `json:"sources"`
	Started    int        `json:"sources_started"`
	Components []liveComp `json:"components"`
	PerSource  []liveSrc  `json:"per_source"`
	Previews   []string   `json:"previews"`
	Logs       bool       `json:"logs"`
}

type liveComp struct {
	Name     string     `json:"name"`
	Impl     string     `json:"impl"`
	Kind     string     `json:"kind"`
	LinkTo   []string   `json:"link_to"`
	In       uint64     `json:"frames_in"`
	Out      uint64     `json:"frames_out"`
	Drops    uint64     `json:"drops"`
	FPS      float64    `json:"fps_avg"`
	P50Ms    float64    `json:"p50_ms"`
	P99Ms    float64    `json:"p99_ms"`
	Queued   int        `json:"queued"`
	QueueCap int        `json:"queue_capacity"`
	Pools    []livePool `json:"pools,omitempty"`
}

type livePool struct {
	Name  string `json:"name"`
	Size  int    `json:"size"`
	InUse int    `json:"in_use"`
}

type liveSrc struct {
	Component string `json:"component"`
	Kind      string `json:"kind"`
	Source    string `json:"source"` // the id, or "other"
	Datamaps  uint64 `json:"datamaps"`
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	st := s.g.Status()
	now := time.Now()
	doc := liveDoc{Name: pipelineName(s.p), State: string(st.State), TimeMs: now.UnixMilli(),
		UptimeS: now.Sub(s.dash.start).Seconds(), SinkFrames: s.g.SinkFrames(),
		Sources: st.Sources, Started: st.SourcesStarted, Components: []liveComp{}, PerSource: []liveSrc{},
		Previews: []string{}, Logs: s.opts.Logs != nil}
	if st.Err != nil {
		doc.Error = st.Err.Error()
	}
	pools := map[string][]livePool{}
	for _, cp := range s.g.Pools() {
		for _, p := range cp.Pools {
			pools[cp.Component] = append(pools[cp.Component], livePool{Name: p.Name, Size: p.Size, InUse: p.InUse})
		}
	}
	ms := s.g.Metrics()
	for i, c := range s.p.Components {
		m := ms[i]
		lc := liveComp{Name: c.Name, Impl: c.Impl, Kind: m.Kind, LinkTo: []string{}, In: m.In, Out: m.Out, Drops: m.Drops,
			FPS: m.FPS, P50Ms: float64(m.P50) / 1e6, P99Ms: float64(m.P99) / 1e6, Queued: m.Queued, QueueCap: m.QueueCap,
			Pools: pools[c.Name]}
		for _, e := range s.p.Edges {
			if e.From == c {
				lc.LinkTo = append(lc.LinkTo, e.To.Name)
			}
		}
		doc.Components = append(doc.Components, lc)
		if _, ok := s.g.Component(c.Name).(Previewer); ok {
			doc.Previews = append(doc.Previews, c.Name)
		}
	}
	for _, sc := range s.g.SourceCounts() {
		src := strconv.FormatInt(sc.Source, 10)
		if sc.Other {
			src = "other"
		}
		doc.PerSource = append(doc.PerSource, liveSrc{Component: sc.Component, Kind: sc.Kind, Source: src, Datamaps: sc.Datamaps})
	}
	writeJSON(w, http.StatusOK, doc)
}

// logsDoc is /ui/logs's body.
type logsDoc struct {
	Lines []LogLine `json:"lines"`
	Next  uint64    `json:"next"`
}

// logs answers the tail's lines from ?after=SEQ on (all it keeps without).
func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	if s.opts.Logs == nil {
		writeJSON(w, http.StatusOK, logsDoc{Lines: []LogLine{}})
		return
	}
	var from uint64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", "after="+strconv.Quote(v)+": want the next sequence number a previous answer gave")
			return
		}
		from = n
	}
	lines, next := s.opts.Logs.Since(from)
	writeJSON(w, http.StatusOK, logsDoc{Lines: lines, Next: next})
}

var previewEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

// preview answers the latest picture of a previewing component as a PNG;
// 204 until it has drawn one.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var p Previewer
	for _, c := range s.p.Components {
		if c.Name == name {
			p, _ = s.g.Component(name).(Previewer)
		}
	}
	if p == nil {
		writeError(w, http.StatusNotFound, "not_found", "no component "+strconv.Quote(name)+" with a live preview (raster_render has one)")
		return
	}
	img := p.LatestImage()
	if img == nil {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := s.dash.encode(name, img)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "encoding the preview: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// encode returns img as PNG, encoding it only when it is not the picture
// encoded last for name (pictures are never modified once handed out).
func (d *dashboard) encode(name string, img image.Image) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.cache[name]; ok && e.img == img {
		return e.png, nil
	}
	var buf bytes.Buffer
	if err := previewEncoder.Encode(&buf, img); err != nil {
		return nil, err
	}
	d.cache[name] = encoded{img: img, png: buf.Bytes()}
	return buf.Bytes(), nil
}
