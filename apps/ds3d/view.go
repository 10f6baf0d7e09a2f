package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	glview "github.com/ds3d-go/ds3d-go/render/gl"
)

func cmdView(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("view", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "render headless into this folder (frame_%06d.png) instead of opening a window")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ds3d view [--out DIR] FILE...\n\nShows point-cloud files (any registered format) in the OpenGL viewer, with KITTI label boxes when\nlabel_2/ and calib/ sit beside a velodyne file. N or → steps, R resets the view, S saves a screenshot,\nEsc closes. With --out it renders headless to PNG files (needs an X server, e.g. Xvfb).")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if err := glview.View(ctx, fs.Args(), glview.ViewOptions{OutDir: *out, Log: log}); err != nil {
		fmt.Fprintln(stderr, "ds3d view:", err)
		return 1
	}
	if *out != "" {
		fmt.Fprintf(stdout, "wrote %d frame(s) to %s\n", fs.NArg(), *out)
	}
	return 0
}
