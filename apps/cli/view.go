package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	glview "github.com/ds3d-go/ds3d-go/render/gl"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// cmdView is `ds3d view [--out DIR] FILE...`.
func cmdView(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "render headless into this folder (frame_%06d.png) instead of opening a window")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d view [--out DIR] FILE...\n\nShows point-cloud files (any registered format) in the OpenGL viewer, with KITTI label boxes when\nlabel_2/ and calib/ sit beside a velodyne file. N or → steps, R resets the view, S saves a screenshot,\nEsc closes. With --out it renders headless to PNG files (needs an X server, e.g. Xvfb).")
	}
	if code, ok := parseArgs(fs, args); !ok {
		return code
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := viewFiles(ctx, fs.Args(), viewOptions{OutDir: *out, Log: log}); err != nil {
		fmt.Fprintln(stderr, "ds3d view:", err)
		return 1
	}
	if *out != "" {
		fmt.Fprintf(stdout, "wrote %d frame(s) to %s\n", fs.NArg(), *out)
	}
	return 0
}

// viewOptions configure viewFiles.
type viewOptions struct {
	// Config is the renderer's config (view, colours, camera…); nil takes
	// glview.NewConfig(). viewFiles sets its headless, output and pause keys.
	Config *glview.Config
	// OutDir, when set, renders offscreen (still under an X server such as
	// Xvfb) and writes frame_%06d.png there, numbered by file index;
	// otherwise a window shows each file in turn: N or → goes to the next,
	// the window stays on the last one until closed (Esc).
	OutDir string
	// Read are the options for lidar.ReadFile (format, element_size and
	// element_stride of raw float files, intensity field).
	Read lidar.ReadOptions
	// Log receives warnings; nil is slog.Default().
	Log *slog.Logger
}

// viewFiles shows point-cloud files (any format lidar.ReadFile reads) with
// gl_render. A KITTI velodyne file (…/velodyne/ID.bin beside
// …/label_2/ID.txt and …/calib/ID.txt) is shown with its label boxes. It
// is the body of `ds3d view FILE...`; closing the window ends it without
// error.
func viewFiles(ctx context.Context, files []string, opts viewOptions) error {
	if len(files) == 0 {
		return errors.New("view: no files")
	}
	c := glview.NewConfig()
	if opts.Config != nil {
		cc := *opts.Config
		c = &cc
	}
	if opts.OutDir != "" {
		c.Headless, c.OutputDir, c.Filename = true, ds3d.Path(opts.OutDir), "frame_%06d.png"
	} else {
		c.Headless, c.StartPaused, c.HoldOnEOS = false, true, true
	}
	if err := ds3d.CheckConfig(c); err != nil {
		return fmt.Errorf("view: %w", err)
	}
	r, err := glview.NewRenderer(c, &ds3d.Env{Name: "view", Log: opts.Log})
	if err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	defer r.Close()
	for i, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		cloud, err := lidar.ReadFile(path, opts.Read)
		if err != nil {
			return fmt.Errorf("view: %w", err)
		}
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.Key(c.LidarKey), cloud.Points)
		m.SetInt64(ds3d.KeyFrameNumber, int64(i))
		boxes, err := kittiBoxes(path)
		if err != nil {
			m.Release()
			return fmt.Errorf("view: %w", err)
		}
		if c.BoxKey != "" {
			m.Set(ds3d.Key(c.BoxKey), boxes) // an empty list: no "missing key" warning
		}
		err = r.Render(ctx, m)
		m.Release()
		if errors.Is(err, glview.ErrWindowClosed) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// kittiBoxes returns the label boxes (lidar frame) of a KITTI velodyne
// file, or nil when path is not one or has no label_2/calib siblings.
func kittiBoxes(path string) ([]ds3d.Box3D, error) {
	dir := filepath.Dir(path)
	if filepath.Base(dir) != "velodyne" || filepath.Ext(path) != ".bin" {
		return nil, nil
	}
	root, id := filepath.Dir(dir), strings.TrimSuffix(filepath.Base(path), ".bin")
	for _, sib := range []string{filepath.Join(root, "label_2", id+".txt"), filepath.Join(root, "calib", id+".txt")} {
		if _, err := os.Stat(sib); err != nil {
			return nil, nil
		}
	}
	ds, err := kitti.Open(root)
	if err != nil {
		return nil, err
	}
	f, err := ds.Frame(id)
	if err != nil {
		return nil, err
	}
	return f.Boxes(), nil
}
