// Tests of the video-detect app: its config.toml run end to end on
// vtest.avi (MOT15 PETS09-S2L1), the OSD video counted by ffprobe and the
// tracked persons scored against the MOT15 ground truth.
package videodetect_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/ds3d-go/ds3d-go/core2d/infer/infer2d"
	_ "github.com/ds3d-go/ds3d-go/core2d/mux"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/core2d/source"
	_ "github.com/ds3d-go/ds3d-go/core2d/track"
	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/fusion/eval"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// streams is the batch size of config.toml: two streams of vtest.avi.
const streams = 2

type result struct {
	video   string
	json    [streams]string
	mot     [streams]string
	frames  int
	elapsed time.Duration
}

// runApp runs config.toml with both streams on the first frames of
// vtest.avi, writing into dir.
func runApp(t *testing.T, frames int, dir string) result {
	t.Helper()
	sampledata.Shared(t, "video-vtest/vtest.avi")
	testenv.Tool(t, "ffmpeg", "apt-get install ffmpeg: vtest.avi is MS-MPEG4v3")
	p, err := config.Load("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := result{video: filepath.Join(dir, "osd.mp4"), frames: frames}
	sinks := 0
	for _, c := range p.Components {
		switch cfg := c.Config.(type) {
		case *source.Config:
			cfg.MaxFrames = frames
			cfg.URI = filepath.Join(sampledata.SharedDir(t), "video-vtest/vtest.avi")
		case *osd.SinkConfig:
			cfg.Path = ds3d.Path(r.video)
		case *osd.ObjectSinkConfig:
			// meta0 writes stream 0, meta1 stream 1 (config order).
			r.json[sinks] = filepath.Join(dir, fmt.Sprintf("frames_%d.jsonl", sinks))
			r.mot[sinks] = filepath.Join(dir, fmt.Sprintf("persons_mot_%d.txt", sinks))
			cfg.JSONPath, cfg.MOTPath = ds3d.Path(r.json[sinks]), ds3d.Path(r.mot[sinks])
			sinks++
		}
	}
	if sinks != streams {
		t.Fatalf("config.toml has %d object_file_sinks, want one per stream (%d)", sinks, streams)
	}
	g, err := pipeline.New(p, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.elapsed = time.Since(start)
	return r
}

func ffprobeFrames(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("ffprobe output %q", out)
	}
	return n
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for s := bufio.NewScanner(f); s.Scan(); {
		n++
	}
	return n
}

// score evaluates the MOT file against PETS09-S2L1's ground truth over
// frames 1..frames (video frame i is MOT frame i+1).
func score(t *testing.T, predPath string, frames int) (eval.MOTMetrics, []mot.Row) {
	t.Helper()
	gt, err := mot.Read(sampledata.Shared(t, "mot15/PETS09-S2L1/gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var first []mot.Row
	for _, r := range gt {
		if r.Frame <= frames {
			first = append(first, r)
		}
	}
	pred, err := mot.Read(predPath)
	if err != nil {
		t.Fatal(err)
	}
	m, err := eval.EvaluateMOT(first, pred, eval.DefaultMOTOptions())
	if err != nil {
		t.Fatal(err)
	}
	return m, first
}

// TestVideoDetect runs the app on 20 frames of two streams (vtest.avi
// twice, batched): the OSD MP4 holds 20 frames (ffprobe), each stream's
// JSON lines one record per frame, and each stream's tracked persons score
// against the ground truth of frames 1–20 (4–6 walkers a frame, well
// separated): most are found and few are false. Thresholds are set below
// what YOLOX-Nano + SORT reach so a broken link (wrong frame alignment,
// boxes in the wrong pixels, no tracking) fails them. The streams carry the
// same frames, so independent tracking (state and ids per stream) must give
// the same MOT file twice, ids counting from 1 in each; a tracker shared
// across the batch would match stream 1's people to stream 0's targets or
// give them new ids.
func TestVideoDetect(t *testing.T) {
	const frames = 20
	r := runApp(t, frames, t.TempDir())
	if n := ffprobeFrames(t, r.video); n != frames {
		t.Errorf("OSD video has %d frames, want %d", n, frames)
	}
	var mots [streams][]mot.Row
	for s := 0; s < streams; s++ {
		if n := countLines(t, r.json[s]); n != frames {
			t.Errorf("stream %d: %d JSON records, want %d", s, n, frames)
		}
		m, _ := score(t, r.mot[s], frames)
		t.Logf("stream %d, 20 frames: MOTA %.3f IDF1 %.3f recall %.3f precision %.3f switches %d, %.1f batches/s",
			s, m.MOTA, m.IDF1, m.Recall, m.Precision, m.NumSwitches, float64(frames)/r.elapsed.Seconds())
		if m.Recall < 0.8 || m.Precision < 0.6 || m.MOTA < 0.4 {
			t.Errorf("stream %d: persons vs ground truth: recall %.3f precision %.3f MOTA %.3f", s, m.Recall, m.Precision, m.MOTA)
		}
		rows, err := mot.Read(r.mot[s])
		if err != nil {
			t.Fatal(err)
		}
		mots[s] = rows
		type key struct {
			frame int
			id    int64
		}
		seen := map[key]bool{}
		minID := int64(1 << 62)
		for _, row := range rows {
			k := key{row.Frame, row.ID}
			if seen[k] {
				t.Errorf("stream %d frame %d: id %d twice", s, row.Frame, row.ID)
			}
			seen[k] = true
			minID = min(minID, row.ID)
		}
		if minID != 1 {
			t.Errorf("stream %d: least id %d, want 1 (ids count per stream)", s, minID)
		}
	}
	// Byte for byte: the rows hold NaN (unused visibility), which == refuses.
	f0, err0 := os.ReadFile(r.mot[0])
	f1, err1 := os.ReadFile(r.mot[1])
	if err0 != nil || err1 != nil {
		t.Fatal(err0, err1)
	}
	if len(mots[0]) == 0 || !bytes.Equal(f0, f1) {
		t.Errorf("the two streams of the same video were tracked differently: %d and %d rows", len(mots[0]), len(mots[1]))
	}
}

// TestEval200 is the end-to-end evaluation on the first 200 frames of
// both streams (`make eval-video`): it writes out/video-detect-eval/ (OSD
// MP4, JSON lines and MOT file per stream, and the ground truth of frames
// 1–200 for `ds3d eval mot`) and logs MOTA, IDF1 and frames per second. It runs when DS3D_EVAL_VIDEO=1.
func TestEval200(t *testing.T) {
	if os.Getenv("DS3D_EVAL_VIDEO") == "" {
		t.Skip("set DS3D_EVAL_VIDEO=1 to run the 200-frame evaluation (make eval-video)")
	}
	const frames = 200
	dir := filepath.Join(sampledata.RepoRoot(t), "out", "video-detect-eval")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := runApp(t, frames, dir)
	if n := ffprobeFrames(t, r.video); n != frames {
		t.Errorf("OSD video has %d frames, want %d", n, frames)
	}
	m, gt := score(t, r.mot[0], frames)
	m1, _ := score(t, r.mot[1], frames)
	var b strings.Builder
	for _, row := range gt {
		fmt.Fprintf(&b, "%d,%d,%g,%g,%g,%g,%g,%g,%g,%g\n", row.Frame, row.ID, row.Left, row.Top, row.Width, row.Height, row.Conf, row.X, row.Y, row.Z)
	}
	if err := os.WriteFile(filepath.Join(dir, "gt_first200.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("PETS09-S2L1 frames 1-200, stream 0: MOTA %.4f IDF1 %.4f MOTP %.4f recall %.4f precision %.4f FP %d FN %d IDsw %d frag %d (stream 1: MOTA %.4f IDF1 %.4f); %d batches of %d in %.2fs = %.2f frames/s end to end",
		m.MOTA, m.IDF1, m.MOTP, m.Recall, m.Precision, m.NumFalsePositives, m.NumMisses, m.NumSwitches, m.NumFragmentations,
		m1.MOTA, m1.IDF1, frames, streams, r.elapsed.Seconds(), float64(streams*frames)/r.elapsed.Seconds())
	if m.MOTA < 0.3 || m1.MOTA < 0.3 {
		t.Errorf("MOTA %.3f and %.3f", m.MOTA, m1.MOTA)
	}
}
