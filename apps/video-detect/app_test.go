// Tests of the video-detect app: its config.toml run end to end on
// vtest.avi (MOT15 PETS09-S2L1), the OSD video counted by ffprobe and the
// tracked persons scored against the MOT15 ground truth.
package videodetect_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/moteval"
	_ "github.com/ds3d-go/ds3d-go/core2d/mux"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/core2d/source"
	_ "github.com/ds3d-go/ds3d-go/core2d/track"
	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

type result struct {
	video, json, mot string
	frames           int
	elapsed          time.Duration
}

// runApp runs config.toml on the first frames of vtest.avi, writing into dir.
func runApp(t *testing.T, frames int, dir string) result {
	t.Helper()
	sampledata.Shared(t, "video-vtest/vtest.avi")
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (Debian ffmpeg): vtest.avi is MS-MPEG4v3")
	}
	p, err := config.Load("config.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := result{video: filepath.Join(dir, "osd.mp4"), json: filepath.Join(dir, "frames.jsonl"), mot: filepath.Join(dir, "persons_mot.txt"), frames: frames}
	for _, c := range p.Components {
		switch cfg := c.Config.(type) {
		case *source.Config:
			cfg.MaxFrames = frames
			cfg.URI = filepath.Join(sampledata.SharedDir(t), "video-vtest/vtest.avi")
		case *osd.SinkConfig:
			cfg.Path = ds3d.Path(r.video)
		case *osd.ObjectSinkConfig:
			cfg.JSONPath, cfg.MOTPath = ds3d.Path(r.json), ds3d.Path(r.mot)
		}
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
func score(t *testing.T, predPath string, frames int) (moteval.Metrics, []mot.Row) {
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
	m, err := moteval.Evaluate(first, pred, moteval.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return m, first
}

// TestVideoDetect runs the app on 20 frames: the OSD MP4 holds 20 frames
// (ffprobe), the JSON lines one record per frame, and the tracked persons
// score against the ground truth of frames 1–20 (4–6 walkers a frame,
// well separated): most are found and few are false. Thresholds are set
// below what YOLOX-Nano + SORT reach so a broken link (wrong frame
// alignment, boxes in the wrong pixels, no tracking) fails them.
func TestVideoDetect(t *testing.T) {
	const frames = 20
	r := runApp(t, frames, t.TempDir())
	if n := ffprobeFrames(t, r.video); n != frames {
		t.Errorf("OSD video has %d frames, want %d", n, frames)
	}
	if n := countLines(t, r.json); n != frames {
		t.Errorf("%d JSON records, want %d", n, frames)
	}
	m, _ := score(t, r.mot, frames)
	t.Logf("20 frames: MOTA %.3f IDF1 %.3f recall %.3f precision %.3f switches %d, %.1f fps",
		m.MOTA, m.IDF1, m.Recall, m.Precision, m.NumSwitches, float64(frames)/r.elapsed.Seconds())
	if m.Recall < 0.8 || m.Precision < 0.6 || m.MOTA < 0.4 {
		t.Errorf("persons vs ground truth: recall %.3f precision %.3f MOTA %.3f", m.Recall, m.Precision, m.MOTA)
	}
}

// TestEval200 is the end-to-end evaluation on the first 200 frames
// (`make eval-video`): it writes out/video-detect-eval/ (OSD MP4, JSON
// lines, MOT file and the ground truth of frames 1–200 for `ds3d eval
// mot`) and logs MOTA, IDF1 and fps. It runs when DS3D_EVAL_VIDEO=1.
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
	m, gt := score(t, r.mot, frames)
	var b strings.Builder
	for _, row := range gt {
		fmt.Fprintf(&b, "%d,%d,%g,%g,%g,%g,%g,%g,%g,%g\n", row.Frame, row.ID, row.Left, row.Top, row.Width, row.Height, row.Conf, row.X, row.Y, row.Z)
	}
	if err := os.WriteFile(filepath.Join(dir, "gt_first200.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("PETS09-S2L1 frames 1-200: MOTA %.4f IDF1 %.4f MOTP %.4f recall %.4f precision %.4f FP %d FN %d IDsw %d frag %d; %d frames in %.2fs = %.2f fps end to end",
		m.MOTA, m.IDF1, m.MOTP, m.Recall, m.Precision, m.NumFalsePositives, m.NumMisses, m.NumSwitches, m.NumFragmentations,
		frames, r.elapsed.Seconds(), float64(frames)/r.elapsed.Seconds())
	if m.MOTA < 0.3 {
		t.Errorf("MOTA %.3f", m.MOTA)
	}
}
