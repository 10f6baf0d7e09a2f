package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestConfigsFresh: the configs in apps/scale-bench are what `configs`
// writes, and each loads and builds.
func TestConfigsFresh(t *testing.T) {
	dir := filepath.Join(sampledata.RepoRoot(t), appDir)
	tmp := t.TempDir()
	if err := cmdConfigs([]string{"-dir", tmp}); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(tmp, "*.toml"))
	if len(names) != 3 {
		t.Fatalf("configs wrote %d files, want 3", len(names))
	}
	for _, p := range names {
		name := filepath.Base(p)
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s/%s is stale or missing (%v): run go run ./apps/scale-bench/cmd/scalebench configs", appDir, name, err)
			continue
		}
		pl, err := config.Load(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !pl.Realtime && name != VideoConfigName(8) {
			t.Errorf("%s: pipeline.realtime is off: the streams would not be paced", name)
		}
	}
}

// TestStageSmoke runs three stages and the tracker on small inputs: the
// harness builds them from their registered specs and every run is timed.
func TestStageSmoke(t *testing.T) {
	p, err := LoadPool(filepath.Join(sampledata.RepoRoot(t), bundledKITTI))
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Cloud(2*p.Len()+7, 1); c.Points() != 2*p.Len()+7 {
		t.Fatalf("cloud has %d points, want %d", c.Points(), 2*p.Len()+7)
	}
	tm := Timing{MinRuns: 3, MaxRuns: 3}
	for _, st := range Stages() {
		if st.Impl != "roi_crop" && st.Impl != "voxel_downsample" && st.Impl != "model_free_detector" {
			continue
		}
		cv, err := MeasureStage(context.Background(), st, p, []int{5000, 20000}, tm)
		if err != nil {
			t.Fatal(err)
		}
		for _, pt := range cv.Points {
			if len(pt.Runs) != 3 || !(pt.Median > 0) || pt.Median > 1 {
				t.Errorf("%s at %d points: runs %v", st.Name, pt.N, pt.Runs)
			}
		}
	}
	cv, err := MeasureTracker([]int{5, 20}, tm)
	if err != nil {
		t.Fatal(err)
	}
	if cv.Unit != "boxes" || len(cv.Points) != 2 {
		t.Errorf("tracker curve %+v", cv)
	}
}

// TestE2EPacedTwoStreams runs two lidar streams through the detection
// chain and the mixer for 10 s at 10 Hz: every frame must reach the sink
// (no queue drops, no frame lost in the mixer), and pacing must hold the
// run to sensor time (100 frames per stream at 10 Hz take 9.9 s).
func TestE2EPacedTwoStreams(t *testing.T) {
	testenv.E2E(t)
	registerProbe()
	dir := filepath.Join(sampledata.RepoRoot(t), appDir)
	const frames = 100
	r, err := RunPaced(context.Background(), "lidar", dir, LidarStreams(2, lidarGlob(dir), 10, frames, true), 2, 2*frames, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	printRun(testWriter{t}, r)
	if r.Drops != 0 || r.Delivered != r.Expected {
		t.Errorf("%d of %d frames delivered, %d dropped; want all, none", r.Delivered, r.Expected, r.Drops)
	}
	if r.Wall < 9900*time.Millisecond {
		t.Errorf("run took %s: the loaders were not paced at 10 Hz", r.Wall)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// TestPipelineBuilds builds (without running) the 16-stream graph this
// program measures, probes and app_sink included.
func TestPipelineBuilds(t *testing.T) {
	registerProbe()
	dir := filepath.Join(sampledata.RepoRoot(t), appDir)
	p, err := config.Parse("lidar.toml", dir, []byte(LidarStreams(16, lidarFiles, 10, 10, true)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.New(p, pipeline.Options{Realtime: true}); err != nil {
		t.Fatal(err)
	}
}
