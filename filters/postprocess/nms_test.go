package postprocess

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// peerModules are what testdata/nms_peer.py imports.
var peerModules = []string{"numpy", "cv2"}

func peersDir(t testing.TB) string {
	t.Helper()
	d := sampledata.Peers(t, "bench_nms.py")
	testenv.Python(t, peerModules...)
	return d
}

var bench struct {
	once sync.Once
	path string
	err  error
}

// benchBoxes returns the peers' 2000 NMS boxes (gen_data.py, seed 20240501)
// as Box3D (x, y, z, l, w, h, yaw, score) and the path of the .bin file.
func benchBoxes(t testing.TB) ([]ds3d.Box3D, string) {
	t.Helper()
	pd := peersDir(t)
	bench.once.Do(func() {
		dir, err := os.MkdirTemp("", "postprocess-boxes")
		if err != nil {
			bench.err = err
			return
		}
		bench.path = filepath.Join(dir, "boxes.bin")
		// peersDir checked the interpreter: a failure here is a broken
		// reference, not a missing one.
		if out, err := exec.Command(testenv.PythonPath(), "testdata/nms_peer.py", pd, "gen", bench.path).CombinedOutput(); err != nil {
			bench.err = fmt.Errorf("reference nms_peer.py gen failed: %v\n%s", err, out)
		}
	})
	if bench.err != nil {
		t.Fatal(bench.err)
	}
	b, err := os.ReadFile(bench.path)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	boxes := make([]ds3d.Box3D, len(f)/8)
	for i := range boxes {
		v := f[8*i:]
		boxes[i] = ds3d.Box3D{CX: v[0], CY: v[1], CZ: v[2], DX: v[3], DY: v[4], DZ: v[5], Yaw: v[6], Score: v[7], TrackID: -1}
	}
	return boxes, bench.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.path != "" {
		os.RemoveAll(filepath.Dir(bench.path))
	}
	os.Exit(code)
}

func readI64(t testing.TB, path string) []int32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, len(b)/8)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}

type peerTimes struct {
	NumpyMS float64 `json:"numpy_ms"`
	CV2MS   float64 `json:"cv2_ms"`
}

// runPeers runs numpy's and OpenCV's NMS on the benchmark boxes.
func runPeers(t testing.TB, path string, thr float64, reps int) (numpy, cv2 []int32, times peerTimes) {
	t.Helper()
	dir := t.TempDir()
	out := testenv.RunPython(t, peerModules, "testdata/nms_peer.py", peersDir(t), "nms", path,
		strconv.FormatFloat(thr, 'g', -1, 64), dir, strconv.Itoa(reps))
	if err := json.Unmarshal(out, &times); err != nil {
		t.Fatalf("nms_peer.py output %q: %v", out, err)
	}
	return readI64(t, filepath.Join(dir, "numpy.i64")), readI64(t, filepath.Join(dir, "cv2.i64")), times
}

// TestNMSMatchesPeers: on the benchmark's 2000 boxes, our NMS keeps
// exactly the boxes numpy's (bench_nms.nms_numpy) keeps, in the same
// order, and the same set as cv2.dnn.NMSBoxesRotated, at the OpenPCDet
// KITTI threshold 0.01 and at 0.1, 0.5 and 0.7.
//
// OpenCV takes RotatedRect((x, y), (l, w), degrees(yaw)): its rotation is
// counter-clockwise in a y-up frame, so the footprints are ours; it works
// in float32 and its rotatedRectangleIntersection merges intersection
// points closer than a tolerance, so IoUs differ from ours by ~1e-6: a
// kept set can differ only when an IoU lies that close to the threshold;
// the test logs the smallest |IoU − thr| over the pairs (4.6e-6 at 0.01).
// numpy's float64 cos, sin and arctan2 come from SIMD kernels chosen by
// the CPU (AVX-512 or libm), a few ulps (~1e-15) apart: far inside that
// margin, so the lists are the same on any x86-64.
func TestNMSMatchesPeers(t *testing.T) {
	boxes, path := benchBoxes(t)
	var n NMS
	for _, thr := range []float64{0.01, 0.1, 0.5, 0.7} {
		keep := n.Run(nil, boxes, thr, false)
		wantNP, wantCV, _ := runPeers(t, path, thr, 0)
		if !slices.Equal(keep, wantNP) {
			t.Errorf("thr %v: kept %d boxes, numpy %d; lists differ", thr, len(keep), len(wantNP))
		}
		a, b := slices.Clone(keep), slices.Clone(wantCV)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("thr %v: kept %d boxes, cv2 %d; sets differ", thr, len(keep), len(wantCV))
		}
		// margin: the smallest |IoU − thr| over pairs NMS compared
		margin := math.Inf(1)
		for _, i := range keep {
			for j := range boxes {
				if v := BEVIoU(&boxes[i], &boxes[j]); v > 0 && int32(j) != i {
					margin = math.Min(margin, math.Abs(v-thr))
				}
			}
		}
		t.Logf("thr %v: kept %d of %d (numpy %d, cv2 %d); closest IoU to the threshold is %.3g away", thr, len(keep), len(boxes), len(wantNP), len(wantCV), margin)
	}
}

// TestNMSSpeedVsNumpy times NMS of the 2000 benchmark boxes against numpy in
// the same session (numpy: median of 5 after a warm-up; ours: median of 200).
// Target ≥ 20×; the test fails below 5× (a loaded shared machine).
func TestNMSSpeedVsNumpy(t *testing.T) {
	testenv.SkipUnderRace(t, "timing")
	if testing.Short() {
		t.Skip("timing: not with -short")
	}
	boxes, path := benchBoxes(t)
	_, _, pt := runPeers(t, path, 0.01, 5)
	var n NMS
	keep := make([]int32, 0, len(boxes))
	ts := make([]float64, 200)
	for i := range ts {
		t0 := time.Now()
		keep = n.Run(keep[:0], boxes, 0.01, false)
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	slices.Sort(ts)
	med := ts[len(ts)/2]
	ratio := pt.NumpyMS / med
	t.Logf("NMS 2000 boxes thr 0.01: Go %.4f ms, numpy %.2f ms (%.0f×), cv2 %.2f ms (%.0f×)", med, pt.NumpyMS, ratio, pt.CV2MS, pt.CV2MS/med)
	if ratio < 5 {
		t.Errorf("only %.1f× numpy", ratio)
	}
}

func TestNMSClassAwareAndAllocs(t *testing.T) {
	a := box(0, 0, 0, 4, 2, 2, 0)
	b := box(0.2, 0, 0, 4, 2, 2, 0)
	c := box(0.1, 0.1, 0, 4, 2, 2, 0)
	a.Score, b.Score, c.Score = 0.9, 0.8, 0.7
	b.ClassID = 1
	boxes := []ds3d.Box3D{c, b, a}
	var n NMS
	if k := n.Run(nil, boxes, 0.5, false); !slices.Equal(k, []int32{2}) {
		t.Errorf("agnostic kept %v, want [2]", k)
	}
	if k := n.Run(nil, boxes, 0.5, true); !slices.Equal(k, []int32{2, 1}) {
		t.Errorf("class-aware kept %v, want [2 1]", k)
	}
	out, idx := n.Suppress(nil, boxes, 0.75, 0.5, true, -1, nil)
	if len(out) != 2 || out[0].Score != 0.9 || out[1].Score != 0.8 || len(idx) != 2 {
		t.Errorf("Suppress: %+v", out)
	}
	out, _ = n.Suppress(out[:0], boxes, 0, 0.5, true, 1, idx)
	if len(out) != 1 || out[0].Score != 0.9 {
		t.Errorf("Suppress max 1: %+v", out)
	}
	keep := make([]int32, 0, 8)
	dst := make([]ds3d.Box3D, 0, 8)
	if n := testing.AllocsPerRun(50, func() {
		keep = n.Run(keep[:0], boxes, 0.5, true)
		dst, keep = n.Suppress(dst[:0], boxes, 0.1, 0.5, false, 2, keep)
	}); n != 0 {
		t.Errorf("%v allocations per NMS with scratch", n)
	}
}

func TestScoreThresholdTopK(t *testing.T) {
	var bs []ds3d.Box3D
	for _, s := range []float32{0.3, float32(math.NaN()), 0.9, 0.1, 0.9, 0.5} {
		b := box(0, 0, 0, 1, 1, 1, 0)
		b.Score = s
		bs = append(bs, b)
	}
	f := ScoreThreshold(slices.Clone(bs), 0.3)
	if len(f) != 4 || f[0].Score != 0.3 || f[3].Score != 0.5 {
		t.Errorf("ScoreThreshold: %v", f)
	}
	k := TopK(slices.Clone(bs), 3)
	if len(k) != 3 || k[0].Score != 0.9 || k[1].Score != 0.9 || k[2].Score != 0.5 {
		t.Errorf("TopK: %v", k)
	}
	if k := TopK(slices.Clone(bs), -1); len(k) != 6 || !math.IsNaN(float64(k[5].Score)) {
		t.Errorf("TopK all: NaN not last: %v", k)
	}
}

// TestNMSProperties: random boxes with NaN/Inf/degenerate fields never
// panic; every kept pair of the same class is at or below the threshold;
// every dropped box overlaps a kept box of higher rank above it.
func TestNMSProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, -1}
	var n NMS
	for it := 0; it < 200; it++ {
		boxes := make([]ds3d.Box3D, r.IntN(300))
		for i := range boxes {
			v := [8]float32{float32(r.NormFloat64() * 5), float32(r.NormFloat64() * 5), 0,
				1 + 3*r.Float32(), 1 + 2*r.Float32(), 1.5, float32(r.NormFloat64() * 3), r.Float32()}
			if r.IntN(10) == 0 {
				v[r.IntN(8)] = special[r.IntN(len(special))]
			}
			boxes[i] = ds3d.Box3D{CX: v[0], CY: v[1], CZ: v[2], DX: v[3], DY: v[4], DZ: v[5], Yaw: v[6], Score: v[7], ClassID: int32(r.IntN(2))}
		}
		thr := []float64{0, 0.01, 0.5, 1}[r.IntN(4)]
		aware := r.IntN(2) == 0
		keep := n.Run(nil, boxes, thr, aware)
		kept := map[int32]bool{}
		for _, i := range keep {
			if kept[i] {
				t.Fatalf("box %d kept twice", i)
			}
			kept[i] = true
		}
		for a, i := range keep {
			for _, j := range keep[a+1:] {
				if (!aware || boxes[i].ClassID == boxes[j].ClassID) && BEVIoU(&boxes[i], &boxes[j]) > thr {
					t.Fatalf("kept %d and %d overlap %v > %v", i, j, BEVIoU(&boxes[i], &boxes[j]), thr)
				}
			}
		}
		for j := range boxes {
			if kept[int32(j)] {
				continue
			}
			found := false
			for _, i := range keep {
				if (!aware || boxes[i].ClassID == boxes[int32(j)].ClassID) && BEVIoU(&boxes[i], &boxes[j]) > thr {
					found = true
					break
				}
			}
			if !found {
				t.Fatalf("box %d %+v dropped with no kept box overlapping it", j, boxes[j])
			}
		}
	}
}

func BenchmarkNMS(b *testing.B) {
	boxes, _ := benchBoxes(b)
	var n NMS
	keep := make([]int32, 0, len(boxes))
	b.Run("2000-boxes-thr0.01", func(b *testing.B) {
		for b.Loop() {
			keep = n.Run(keep[:0], boxes, 0.01, false)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}

func BenchmarkBEVIoU(b *testing.B) {
	x, y := box(0, 0, 0, 4, 2, 2, 0.3), box(1, 0.5, 0, 4, 2, 2, -0.4)
	for b.Loop() {
		BEVIoU(&x, &y)
	}
}
