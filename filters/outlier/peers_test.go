package outlier

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/cputime"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func readCloud(t testing.TB, path string) *ds3d.Frame {
	t.Helper()
	f := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(f, path, lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func kitti(t testing.TB, i int) (*ds3d.Frame, string) {
	p := sampledata.Shared(t, fmt.Sprintf("kitti-object/training/velodyne/%06d.bin", i))
	return readCloud(t, p), p
}

// pclOutlier runs pcl-tools' pcl_outlier_removal on src with args and
// returns its output cloud.
func pclOutlier(t *testing.T, src *ds3d.Frame, args ...string) *ds3d.Frame {
	t.Helper()
	tool := testenv.Tool(t, "pcl_outlier_removal", "apt-get install pcl-tools")
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcd"), filepath.Join(dir, "out.pcd")
	if err := lidar.WriteFile(in, &lidar.Cloud{Points: src}, "binary"); err != nil {
		t.Fatal(err)
	}
	testenv.Output(t, exec.Command(tool, append([]string{in, out}, args...)...))
	return readCloud(t, out)
}

func sameCloud(t *testing.T, what string, got, want *ds3d.Frame) {
	t.Helper()
	if got.Points() != want.Points() {
		t.Errorf("%s: kept %d points, PCL %d", what, got.Points(), want.Points())
		return
	}
	if !bytes.Equal(got.Data[:got.Bytes()], want.Data[:want.Bytes()]) {
		t.Errorf("%s: same count %d but points differ from PCL's", what, got.Points())
	}
}

// TestStatisticalMatchesPCL: the kept points (and their order) equal
// pcl_outlier_removal -method statistical on KITTI 000000–000004. Exact on
// any CPU: Debian's PCL filters and k-d tree are built for baseline x86-64
// (no AVX code, no run-time dispatch), and our distance kernels (AVX-512,
// AVX2 or scalar) round the same float32 sums.
func TestStatisticalMatchesPCL(t *testing.T) {
	frames := []int{0, 1, 2, 3, 4}
	if testing.Short() {
		frames = frames[:1]
	} else if testenv.RaceEnabled {
		frames = []int{0, 3} // -race slows the search ~10×: two frames there, all five without
	}
	for _, i := range frames {
		t.Run(fmt.Sprintf("kitti-%06d", i), func(t *testing.T) {
			src, _ := kitti(t, i)
			for _, p := range []struct {
				k   int
				std float64
			}{{16, 1.0}, {8, 0.5}} {
				want := pclOutlier(t, src, "-method", "statistical", "-mean_k", strconv.Itoa(p.k), "-std_dev_mul", strconv.FormatFloat(p.std, 'g', -1, 64))
				s := Statistical{MeanK: p.k, StdMul: p.std}
				dst := ds3d.NewLidarFrame(0)
				s.Filter(dst, src)
				sameCloud(t, fmt.Sprintf("k=%d std=%v", p.k, p.std), dst, want)
				t.Logf("k=%d std=%v: kept %d of %d (PCL %d); threshold %.6f", p.k, p.std, dst.Points(), src.Points(), want.Points(), s.Stats.Threshold)
			}
		})
	}
}

// TestRadiusMatchesPCL: pcl_outlier_removal -method radius on KITTI 000000.
func TestRadiusMatchesPCL(t *testing.T) {
	src, _ := kitti(t, 0)
	for _, p := range []struct {
		r float64
		m int
	}{{0.5, 3}, {0.3, 1}, {1.0, 8}} {
		want := pclOutlier(t, src, "-method", "radius", "-radius", strconv.FormatFloat(p.r, 'g', -1, 64), "-min_pts", strconv.Itoa(p.m))
		r := Radius{Radius: p.r, MinNeighbors: p.m}
		dst := ds3d.NewLidarFrame(0)
		r.Filter(dst, src)
		sameCloud(t, fmt.Sprintf("r=%v min=%d", p.r, p.m), dst, want)
		t.Logf("r=%v min_pts=%d: kept %d of %d (PCL %d)", p.r, p.m, dst.Points(), src.Points(), want.Points())
	}
}

type sorPeer struct {
	Open3DMS  float64 `json:"open3d_ms"`
	Open3DCPU float64 `json:"open3d_cpu_ms"`
	ScipyMS   float64 `json:"scipy_ms"`
	Open3DK   int     `json:"open3d_kept"`
	ScipyK    int     `json:"scipy_kept"`
}

func runSORPeer(t *testing.T, path string, threads int) sorPeer {
	t.Helper()
	py := testenv.Python(t, "numpy", "scipy", "open3d")
	cmd := exec.Command(py, "testdata/sor_peer.py", path, "5")
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads))
	out := testenv.Output(t, cmd)
	var pt sorPeer
	if err := json.Unmarshal(out, &pt); err != nil || pt.ScipyK == 0 || pt.Open3DK == 0 {
		t.Fatalf("sor_peer.py printed %q: %v", out, err)
	}
	return pt
}

// timeSOR returns the median wall time of 7 runs, the median CPU time of
// the calling thread (Workers 1 only; 0 where unavailable) and the kept
// count.
func timeSOR(src *ds3d.Frame, workers int) (wall, cpu float64, kept int) {
	s := Statistical{MeanK: 16, StdMul: 1, Workers: workers}
	dst := ds3d.NewLidarFrame(0)
	ts, cs := make([]float64, 7), make([]float64, 7)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for i := range ts {
		t0, c0 := time.Now(), cputime.Thread()
		s.Filter(dst, src)
		ts[i] = float64(time.Since(t0).Microseconds()) / 1e3
		cs[i] = float64((cputime.Thread() - c0).Microseconds()) / 1e3
	}
	slices.Sort(ts)
	slices.Sort(cs)
	return ts[len(ts)/2], cs[len(cs)/2], dst.Points()
}

// TestStatisticalSpeedVsOpen3D times SOR k=16 std 1.0 on KITTI 000000
// against Open3D's remove_statistical_outlier and scipy cKDTree in the
// same session, one thread each (OMP_NUM_THREADS=1, workers=1) and two
// (Open3D OMP_NUM_THREADS=2, ours Workers=2). The target (≥ 2× Open3D) is
// recorded in docs/PERF.md from a quiet run; the test only checks a loose
// sanity bound (not slower than Open3D), and only on a machine that is
// not loaded: on a shared 2-core CI runner the two timings come from
// different moments and their ratio is noise. It is skipped with -race
// and -short.
func TestStatisticalSpeedVsOpen3D(t *testing.T) {
	testenv.SkipUnderRace(t, "timing")
	if testing.Short() {
		t.Skip("timing: not with -short")
	}
	src, path := kitti(t, 0)
	p1 := runSORPeer(t, path, 1)
	g1, c1, kept := timeSOR(src, 1)
	p2 := runSORPeer(t, path, 2)
	g2, _, _ := timeSOR(src, 2)
	load := loadAverage()
	t.Logf("SOR k=16 std=1 on %d points, kept %d (scipy/PCL semantics %d, Open3D %d: its k includes the point)", src.Points(), kept, p1.ScipyK, p1.Open3DK)
	t.Logf("1 thread:  Go %.1f ms, Open3D %.1f ms (%.2f×), scipy cKDTree %.1f ms (%.2f×)", g1, p1.Open3DMS, p1.Open3DMS/g1, p1.ScipyMS, p1.ScipyMS/g1)
	t.Logf("2 threads: Go %.1f ms, Open3D %.1f ms (%.2f×); Go 2 workers vs Open3D 1 thread %.2f×", g2, p2.Open3DMS, p2.Open3DMS/g2, p1.Open3DMS/g2)
	if c1 > 0 && p1.Open3DCPU > 0 {
		t.Logf("1 thread, CPU time: Go %.1f ms, Open3D %.1f ms (%.2f×)", c1, p1.Open3DCPU, p1.Open3DCPU/c1)
	}
	t.Logf("load average %.2f on %d CPUs", load, runtime.NumCPU())
	if p1.ScipyK != kept {
		t.Errorf("scipy (PCL semantics) kept %d, we kept %d", p1.ScipyK, kept)
	}
	if loaded := !(load < 0.75*float64(runtime.NumCPU())); loaded {
		t.Logf("machine loaded (or load unknown): ratio not asserted")
		return
	}
	if p1.Open3DMS/g1 < 1 {
		t.Errorf("one thread: %.2f× Open3D, slower than the peer", p1.Open3DMS/g1)
	}
}

// loadAverage is the 1-minute load average (NaN where /proc/loadavg is
// unreadable).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}
