package cli

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/apps/control"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/xvfb"
	"github.com/pelletier/go-toml/v2"
)

// defaultConfig is what `ds3d run` runs with no argument. Its relative paths
// resolve against apps/cli of the checkout (see defaultDir), as if it were
// read from its file there.
//
//go:embed default.toml
var defaultConfig []byte

func cmdRun(args []string, stdout, stderr io.Writer) int {
	// The logger, the progress line and the signal handler write stderr from
	// their own goroutines; one lock keeps their lines whole (and a
	// bytes.Buffer stderr race-free).
	lw := &lockedWriter{w: stderr}
	stderr = lw
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("quiet", false, "print no progress and no metrics table")
	asJSON := fs.Bool("json", false, "print the metrics as JSON instead of a table")
	realtime := fs.Bool("realtime", false, "replay sources at their sensor timestamps")
	headless := fs.Bool("headless", false, "renderers open no window: they draw offscreen and write their files")
	verbose := fs.Bool("v", false, "log component messages at debug level")
	var sets setFlags
	fs.Var(&sets, "set", "change a key of a component's config: `COMPONENT.KEY=VALUE` (repeatable, applied in order; KEY may be dotted into nested tables); VALUE is read as a TOML value (3, 0.5, true, \"x\", [1, 2]), and one that is not TOML is a string, so a shell's stripped quotes do no harm. It is checked as the file's value is, and relative paths resolve as the file's do")
	outDir := fs.String("out", "", "`DIR` the relative output paths go to instead of the config's folder (created when missing): "+outputKeysDoc())
	httpAddr := fs.String("http", "", "serve the control plane (metrics, health, REST API) on `ADDR`; a port or \":PORT\" binds 127.0.0.1 only, \"0.0.0.0:PORT\" every interface (docs/OPERATIONS.md)")
	tokenFile := fs.String("http-token-file", "", "`FILE` holding the bearer token that --http requests changing state (config, drain, stop) must carry; without it they are refused")
	pprofOn := fs.Bool("pprof", false, "also serve /debug/pprof/ on the --http address")
	tlsCert := fs.String("http-tls-cert", "", "PEM `FILE` of the certificate (chain) that --http serves HTTPS with; needs --http-tls-key")
	tlsKey := fs.String("http-tls-key", "", "PEM `FILE` of the private key of --http-tls-cert")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d run [flags] [CONFIG]\n\nRuns a TOML pipeline; without CONFIG, the bundled default pipeline.\n\nflags:")
		fs.PrintDefaults()
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() > 1 {
		fmt.Fprintf(stderr, "ds3d run: one config at a time (got %s and %s)\n", fs.Arg(0), strings.Join(fs.Args()[1:], " "))
		return 2
	}
	if fs.NArg() == 1 {
		if err := yamlPipeline(fs.Arg(0)); err != nil {
			fmt.Fprintln(stderr, "ds3d run:", err)
			return 1
		}
	}
	var (
		p   *config.Pipeline
		err error
	)
	if fs.NArg() == 1 {
		p, err = config.Load(fs.Arg(0))
	} else {
		dir, ok := defaultDir()
		if !ok {
			fmt.Fprintln(stderr, "ds3d run: no CONFIG given, and the default pipeline needs the bundled samples of a ds3d-go checkout (datasets/samples), which are not in this folder or above it:\n  run it inside the checkout, or give a config: ds3d run path/to/pipeline.toml")
			return 2
		}
		p, err = config.Parse("(default pipeline)", dir, defaultConfig)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := applyOverrides(p, fs.NArg() == 0, sets, *outDir); err != nil {
		fmt.Fprintln(stderr, "ds3d run:", err)
		return 1
	}
	if *httpAddr == "" && (*tokenFile != "" || *pprofOn || *tlsCert != "" || *tlsKey != "") {
		fmt.Fprintln(stderr, "ds3d run: --http-token-file, --http-tls-cert, --http-tls-key and --pprof need --http ADDR")
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "ds3d run: --http-tls-cert and --http-tls-key go together")
		return 2
	}
	var token []byte
	if *tokenFile != "" {
		if token, err = control.ReadToken(*tokenFile); err != nil {
			fmt.Fprintln(stderr, "ds3d run:", err)
			return 1
		}
	}
	// --headless without an X server: OpenGL renderers still need one, so
	// start a private Xvfb for the run when one is installed.
	if *headless && os.Getenv("DISPLAY") == "" && usesGL(p) {
		stop, err := xvfb.Start()
		if err != nil {
			fmt.Fprintln(stderr, "ds3d run: --headless with gl_render needs an X server:", err)
			return 1
		}
		defer stop()
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	if *quiet {
		level = slog.LevelWarn
	}
	var logHandler slog.Handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	var logTail *control.LogTail // the dashboard's log tail, beside stderr
	if *httpAddr != "" {
		logTail = control.NewLogTail(control.DefaultLogLines)
		logHandler = slog.NewMultiHandler(logHandler, logTail.Handler(level))
	}
	log := slog.New(dedupAttrs(logHandler))
	g, err := pipeline.New(p, pipeline.Options{Realtime: *realtime, Headless: *headless, Log: log})
	if err != nil {
		fmt.Fprintln(stderr, "ds3d run:", err)
		return 1
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if *httpAddr != "" {
		srv, err := control.New(g, p, control.Options{Addr: *httpAddr, Token: token, Pprof: *pprofOn,
			Version: versionString(), Stop: func() { cancel(errAPIStop) }, Log: log,
			TLSCert: *tlsCert, TLSKey: *tlsKey, Logs: logTail})
		if err == nil {
			err = srv.Start()
		}
		if err != nil {
			fmt.Fprintln(stderr, "ds3d run:", err)
			return 1
		}
		defer func() {
			sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer scancel()
			_ = srv.Close(sctx)
		}()
	}
	// First Ctrl-C drains (sources stop, outputs flush); the second aborts.
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-sig:
			fmt.Fprintln(stderr, "ds3d: draining (Ctrl-C again to abort)")
			g.Drain()
		case <-done:
			return
		}
		select {
		case <-sig:
			cancel(nil)
		case <-done:
		}
	}()
	if !*quiet {
		wg.Add(1)
		go func() { defer wg.Done(); progress(g, lw, done, progressEvery) }()
	}
	start := time.Now()
	err = g.Run(ctx)
	close(done)
	wg.Wait()
	elapsed := time.Since(start)

	name := p.Name
	if name == "" {
		name = filepath.Base(p.File)
	}
	if *asJSON {
		_ = pipeline.WriteJSON(stdout, g.Metrics())
	} else if !*quiet {
		var made uint64
		for _, m := range g.Metrics() {
			if m.Kind == "ds3d::dataloader" {
				made += m.Out
			}
		}
		fmt.Fprintf(stdout, "pipeline %s: %d datamaps from the sources, %d arrivals at the sinks, in %s\n", name, made, g.SinkFrames(), elapsed.Round(time.Millisecond))
		_ = pipeline.WriteTable(stdout, g.Metrics())
	}
	if err != nil {
		if errors.Is(err, errAPIStop) {
			fmt.Fprintln(stderr, "ds3d run:", err)
			return 1
		}
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "ds3d run: aborted")
			return 130
		}
		fmt.Fprintln(stderr, "ds3d run:", err)
		return 1
	}
	return 0
}

// errAPIStop is the cause of a run ended by POST /api/v1/pipeline/stop.
var errAPIStop = errors.New("stopped through the control API (POST /api/v1/pipeline/stop)")

// usesGL reports whether a pipeline has an OpenGL renderer.
func usesGL(p *config.Pipeline) bool {
	for _, c := range p.Components {
		if c.Impl == "gl_render" {
			return true
		}
	}
	return false
}

// progressEvery is the progress line's period (tests shorten it).
var progressEvery = time.Second

// progress shows the datamaps the loaders have produced (of the total when
// they know it) and their rate, every period after the first. Loader output
// is what a run is made of: counting arrivals at the sinks would count a
// fanned-out datamap once per sink and a mixer's sets not at all. The line
// lives in w's status, which log lines clear and redraw.
func progress(g *pipeline.Graph, w *lockedWriter, done <-chan struct{}, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	start := time.Now()
	total := g.Total()
	for {
		select {
		case <-done:
			w.endStatus()
			return
		case now := <-t.C:
			n := loaderOut(g.Metrics())
			rate := float64(n) / now.Sub(start).Seconds()
			if total > 0 {
				w.setStatus(fmt.Sprintf("ds3d: %d/%d datamaps (%.0f%%), %.1f/s", n, total, 100*float64(n)/float64(total), rate))
			} else {
				w.setStatus(fmt.Sprintf("ds3d: %d datamaps, %.1f/s", n, rate))
			}
		}
	}
}

// loaderOut is the number of datamaps the loaders have produced.
func loaderOut(ms []pipeline.Metrics) uint64 {
	var n uint64
	for _, m := range ms {
		if m.Kind == string(ds3d.KindLoader) {
			n += m.Out
		}
	}
	return n
}

// defaultDir is where the default pipeline's relative paths point: apps/cli
// of the checkout holding the working directory (found upwards by its
// bundled samples); ok is false outside a checkout.
func defaultDir() (dir string, ok bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "datasets", "samples")); err == nil {
			return filepath.Join(dir, "apps", "cli"), true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// lockedWriter serialises writes to w, and keeps a status line (the
// progress) at the bottom: a write clears it first and redraws it after a
// whole line, so log text is never glued onto it.
type lockedWriter struct {
	mu     sync.Mutex
	w      io.Writer
	status string // the status line on screen, "" when none
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status == "" {
		return l.w.Write(p)
	}
	l.clear(len(l.status))
	n, err := l.w.Write(p)
	if err == nil && len(p) > 0 && p[len(p)-1] == '\n' {
		_, err = io.WriteString(l.w, l.status)
	} else {
		l.status = "" // a partial line: the status goes on the next tick
	}
	return n, err
}

// clear blanks the current line of width n characters: carriage return,
// spaces, carriage return, which a terminal and a log file both take.
func (l *lockedWriter) clear(n int) {
	io.WriteString(l.w, "\r"+strings.Repeat(" ", n)+"\r")
}

// setStatus replaces the status line.
func (l *lockedWriter) setStatus(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != "" {
		l.clear(len(l.status))
	}
	io.WriteString(l.w, s)
	l.status = s
}

// endStatus leaves the last status line on screen, ended by a newline.
func (l *lockedWriter) endStatus() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status != "" {
		io.WriteString(l.w, "\n")
		l.status = ""
	}
}

// setFlags collects repeated --set flags.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, " ") }

func (s *setFlags) Set(v string) error {
	target, _, ok := strings.Cut(v, "=")
	comp, key, dotted := strings.Cut(target, ".")
	if !ok || !dotted || comp == "" || key == "" {
		return fmt.Errorf("want COMPONENT.KEY=VALUE, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

// parseValue reads a --set value as TOML; text that is not a TOML value is
// taken as a string.
func parseValue(text string) any {
	var doc map[string]any
	if err := toml.Unmarshal([]byte("v = "+text), &doc); err == nil {
		if v, ok := doc["v"]; ok {
			return v
		}
	}
	return text
}

// applyOverrides applies --set and --out to a loaded pipeline (builtin: it
// is the bundled default pipeline, whose text is defaultConfig).
func applyOverrides(p *config.Pipeline, builtin bool, sets []string, out string) error {
	given := map[string]any{} // "component.key" → the value as written on the command line
	for _, s := range sets {
		target, text, _ := strings.Cut(s, "=")
		comp, key, _ := strings.Cut(target, ".")
		val := parseValue(text)
		if err := p.Set("--set "+s, comp, key, val); err != nil {
			return err
		}
		given[target] = val
	}
	if out == "" {
		return nil
	}
	data := defaultConfig
	if !builtin {
		var err error
		if data, err = os.ReadFile(p.File); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	var raw struct {
		Component []struct {
			Config map[string]any `toml:"config"`
		} `toml:"component"`
	}
	if err := toml.Unmarshal(data, &raw); err != nil || len(raw.Component) != len(p.Components) {
		return fmt.Errorf("--out: rereading %s: %v", p.File, err)
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	for i, c := range p.Components {
		if c.Kind != ds3d.KindRender || c.Config == nil {
			continue
		}
		cfg := reflect.ValueOf(c.Config).Elem()
		eachOutputKey(c.Impl, c.Spec.Fields, "", cfg, func(key string, v reflect.Value) {
			written := v.String() // a default: never resolved
			if x, ok := given[c.Name+"."+key]; ok {
				written, _ = x.(string)
			} else if x, ok := lookupRaw(raw.Component[i].Config, key); ok {
				written, _ = x.(string)
			}
			if written != "" && written != "-" && !filepath.IsAbs(written) && !strings.Contains(written, "://") {
				v.SetString(filepath.Join(abs, written))
			}
		})
	}
	return nil
}

// notOutputs are path keys of sinks that --out leaves alone although they
// are written: the spool must outlive the run's output folder, or the next
// run could not send what this one spooled.
var notOutputs = map[string]bool{"msgbroker.spool.dir": true}

// eachOutputKey calls fn with every output path key of a sink's config
// (dotted into nested tables) and its field in cfg: the keys of type path
// that are not inputs, i.e. not tagged path:"exists".
func eachOutputKey(impl string, fields []ds3d.Field, prefix string, cfg reflect.Value, fn func(key string, v reflect.Value)) {
	for _, f := range fields {
		key := prefix + f.Name
		switch {
		case f.Type == "path" && !f.PathExists && !notOutputs[impl+"."+key]:
			fn(key, cfg.FieldByIndex(f.Index))
		case f.Type == "table" && len(f.Fields) > 0:
			if sub := cfg.FieldByIndex(f.Index); sub.Kind() == reflect.Struct {
				eachOutputKey(impl, f.Fields, key+".", sub, fn)
			}
		}
	}
}

// lookupRaw finds a dotted key in a decoded TOML table.
func lookupRaw(tbl map[string]any, key string) (any, bool) {
	parts := strings.Split(key, ".")
	for _, k := range parts[:len(parts)-1] {
		next, ok := tbl[k].(map[string]any)
		if !ok {
			return nil, false
		}
		tbl = next
	}
	v, ok := tbl[parts[len(parts)-1]]
	return v, ok
}

// outputKeysDoc lists, for --help, the keys --out applies to.
func outputKeysDoc() string {
	var keys []string
	for _, s := range ds3d.Specs() {
		if s.Kind != ds3d.KindRender {
			continue
		}
		v := reflect.ValueOf(s.NewConfig()).Elem()
		eachOutputKey(s.Impl, s.Fields, "", v, func(key string, _ reflect.Value) { keys = append(keys, s.Impl+"."+key) })
	}
	if len(keys) == 0 {
		return "no sink of this build has an output path"
	}
	return "the sinks' " + strings.Join(keys, ", ") + " (values given on --set too)"
}

// dedupAttrs drops attributes whose key a log record already has, from the
// logger's With or earlier in the record: components are handed a logger
// that says component=NAME and some say it again, and a counter can be
// both an argument and a decoder's counter. The first value stays.
func dedupAttrs(h slog.Handler) slog.Handler { return &dedupHandler{h: h} }

type dedupHandler struct {
	h       slog.Handler
	keys    map[string]bool // top-level keys added by WithAttrs
	grouped bool            // inside WithGroup: keys are the group's, checked per record only
}

func (d *dedupHandler) Enabled(ctx context.Context, l slog.Level) bool { return d.h.Enabled(ctx, l) }

func (d *dedupHandler) WithAttrs(as []slog.Attr) slog.Handler {
	keys := make(map[string]bool, len(d.keys)+len(as))
	for k := range d.keys {
		keys[k] = true
	}
	kept := make([]slog.Attr, 0, len(as))
	for _, a := range as {
		if !d.grouped && keys[a.Key] {
			continue
		}
		keys[a.Key] = true
		kept = append(kept, a)
	}
	return &dedupHandler{h: d.h.WithAttrs(kept), keys: keys, grouped: d.grouped}
}

func (d *dedupHandler) WithGroup(name string) slog.Handler {
	return &dedupHandler{h: d.h.WithGroup(name), grouped: true}
}

func (d *dedupHandler) Handle(ctx context.Context, r slog.Record) error {
	seen := make(map[string]bool, len(d.keys)+r.NumAttrs())
	if !d.grouped {
		for k := range d.keys {
			seen[k] = true
		}
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !seen[a.Key] {
			seen[a.Key] = true
			out.AddAttrs(a)
		}
		return true
	})
	return d.h.Handle(ctx, out)
}
