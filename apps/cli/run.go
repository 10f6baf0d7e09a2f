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
	"strings"
	"sync"
	"time"

	"github.com/ds3d-go/ds3d-go/apps/control"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/xvfb"
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
	stderr = &lockedWriter{w: stderr}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("quiet", false, "print no progress and no metrics table")
	asJSON := fs.Bool("json", false, "print the metrics as JSON instead of a table")
	realtime := fs.Bool("realtime", false, "replay sources at their sensor timestamps")
	headless := fs.Bool("headless", false, "renderers open no window: they draw offscreen and write their files")
	verbose := fs.Bool("v", false, "log component messages at debug level")
	httpAddr := fs.String("http", "", "serve the control plane (metrics, health, REST API) on `ADDR`; a port or \":PORT\" binds 127.0.0.1 only, \"0.0.0.0:PORT\" every interface (docs/OPERATIONS.md)")
	tokenFile := fs.String("http-token-file", "", "`FILE` holding the bearer token that --http requests changing state (config, drain, stop) must carry; without it they are refused")
	pprofOn := fs.Bool("pprof", false, "also serve /debug/pprof/ on the --http address")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d run [flags] [CONFIG]\n\nRuns a TOML pipeline; without CONFIG, the bundled default pipeline.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// Flags may also follow the config (ds3d run CONFIG --headless): the
	// flag package stops at the first operand, so parse what comes after it.
	if fs.NArg() > 1 {
		cfgArg := fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "ds3d run: one config at a time (got %s and %s)\n", cfgArg, strings.Join(fs.Args(), " "))
			return 2
		}
		args = []string{cfgArg}
		fs.Parse(args)
	}
	var (
		p   *config.Pipeline
		err error
	)
	if fs.NArg() == 1 {
		p, err = config.Load(fs.Arg(0))
	} else {
		p, err = config.Parse("(default pipeline)", defaultDir(), defaultConfig)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *httpAddr == "" && (*tokenFile != "" || *pprofOn) {
		fmt.Fprintln(stderr, "ds3d run: --http-token-file and --pprof need --http ADDR")
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	g, err := pipeline.New(p, pipeline.Options{Realtime: *realtime, Headless: *headless, Log: log})
	if err != nil {
		fmt.Fprintln(stderr, "ds3d run:", err)
		return 1
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if *httpAddr != "" {
		srv, err := control.New(g, p, control.Options{Addr: *httpAddr, Token: token, Pprof: *pprofOn,
			Version: versionString(), Stop: func() { cancel(errAPIStop) }, Log: log})
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
		go func() { defer wg.Done(); progress(g, stderr, done) }()
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

// progress prints frames done (of the total when the sources know it) and
// the rate, once a second, after the first second.
func progress(g *pipeline.Graph, w io.Writer, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start := time.Now()
	total := g.Total()
	printed := false
	for {
		select {
		case <-done:
			if printed {
				fmt.Fprintln(w)
			}
			return
		case now := <-t.C:
			n := g.SinkFrames()
			rate := float64(n) / now.Sub(start).Seconds()
			if total > 0 {
				fmt.Fprintf(w, "\rds3d: %d/%d datamaps (%.0f%%), %.1f/s", n, total, 100*float64(n)/float64(total), rate)
			} else {
				fmt.Fprintf(w, "\rds3d: %d datamaps, %.1f/s", n, rate)
			}
			printed = true
		}
	}
}

// defaultDir is where the default pipeline's relative paths point: apps/cli
// of the checkout holding the working directory (found upwards by its
// bundled samples), else the working directory.
func defaultDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "datasets", "samples")); err == nil {
			return filepath.Join(dir, "apps", "cli")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return wd
		}
		dir = parent
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
