package align

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/calib"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

type kittiFrame struct {
	cloud     *ds3d.Frame
	velo, cal string
	cam       Camera
}

func loadKITTI(t testing.TB, i int) kittiFrame {
	t.Helper()
	velo := sampledata.Shared(t, fmt.Sprintf("kitti-object/training/velodyne/%06d.bin", i))
	cal := sampledata.Shared(t, fmt.Sprintf("kitti-object/training/calib/%06d.txt", i))
	f := ds3d.NewLidarFrame(0)
	if err := lidar.ReadFileInto(f, velo, lidar.ReadOptions{}); err != nil {
		t.Fatal(err)
	}
	k, err := calib.ReadKITTI(cal)
	if err != nil {
		t.Fatal(err)
	}
	cam, err := KITTICamera(k, 2, 1242, 375)
	if err != nil {
		t.Fatal(err)
	}
	return kittiFrame{f, velo, cal, cam}
}

// runPeer runs testdata/depth_peer.py (bench_numpy.project_depth with its
// products in a fixed order); reps > 0 also times bench_numpy.project_depth.
func runPeer(t testing.TB, kf kittiFrame, reps int) (dir string, ms float64, blasDiffer int) {
	t.Helper()
	peers := sampledata.Peers(t, "bench_numpy.py")
	dir = t.TempDir()
	out := testenv.RunPython(t, []string{"numpy"}, "testdata/depth_peer.py", peers, kf.velo, kf.cal, dir, strconv.Itoa(reps))
	var r struct {
		MS     float64 `json:"numpy_ms"`
		Differ *int    `json:"blas_points_differ"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.Differ == nil {
		t.Fatalf("depth_peer.py printed %q: %v", out, err)
	}
	return dir, r.MS, *r.Differ
}

// TestDepthMatchesNumpy: on KITTI 000000–000004 the float32 projection
// matrix, every point's (u, v, w) and the 1242×375 depth map equal
// bench_numpy.py's project_depth bit for bit, with the reference's matrix
// products written as numpy element-wise operations in our order
// (testdata/depth_peer.py): numpy's own `pts @ M.T` goes through BLAS, whose
// kernel — and so the last bit of about 55,000 points a frame — depends on
// the CPU and OPENBLAS_CORETYPE, while element-wise float32 products and
// sums are single correctly rounded IEEE operations on every x86-64.
func TestDepthMatchesNumpy(t *testing.T) {
	frames := []int{0, 1, 2, 3, 4}
	if testing.Short() {
		frames = frames[:1]
	}
	for _, i := range frames {
		t.Run(fmt.Sprintf("kitti-%06d", i), func(t *testing.T) {
			kf := loadKITTI(t, i)
			dir, _, blas := runPeer(t, kf, 0)
			wm := readF32(t, filepath.Join(dir, "M.f32"))
			if !slices.Equal(wm, kf.cam.M[:]) {
				t.Fatalf("M = %v, numpy %v", kf.cam.M, wm)
			}
			pts := ds3d.AsFloat32(kf.cloud)
			uvw := readF32(t, filepath.Join(dir, "uvw.f32"))
			bad := 0
			for p := 0; p < kf.cloud.Points(); p++ {
				u, v, w := project(&kf.cam.M, pts[4*p], pts[4*p+1], pts[4*p+2])
				if math.Float32bits(u) != math.Float32bits(uvw[3*p]) || math.Float32bits(v) != math.Float32bits(uvw[3*p+1]) || math.Float32bits(w) != math.Float32bits(uvw[3*p+2]) {
					if bad < 3 {
						t.Errorf("point %d: (%v %v %v), numpy (%v %v %v)", p, u, v, w, uvw[3*p], uvw[3*p+1], uvw[3*p+2])
					}
					bad++
				}
			}
			want := readF32(t, filepath.Join(dir, "depth.f32"))
			got := make([]float32, 1242*375)
			n := kf.cam.DepthMap(got, 1242, pts, 4)
			diff, px := 0, 0
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
					diff++
				}
				if want[j] > 0 {
					px++
				}
			}
			if bad > 0 || diff > 0 {
				t.Errorf("%d points project differently, %d pixels differ", bad, diff)
			}
			t.Logf("%d points in the image, %d pixels (numpy %d): depth map equal bit for bit; numpy's BLAS `@` on this CPU differs in %d points", n, px, px, blas)
		})
	}
}

// TestDepthSpeedVsNumpy times the depth map of KITTI 000000 against
// bench_numpy.py's project_depth in the same session (numpy: median of 20;
// ours: median of 200). Target ≥ 8×; the test fails below 3× (a loaded
// shared machine).
func TestDepthSpeedVsNumpy(t *testing.T) {
	testenv.SkipUnderRace(t, "timing")
	if testing.Short() {
		t.Skip("timing: not with -short")
	}
	kf := loadKITTI(t, 0)
	_, npMS, _ := runPeer(t, kf, 20)
	depth := make([]float32, 1242*375)
	pts := ds3d.AsFloat32(kf.cloud)
	ts := make([]float64, 200)
	for i := range ts {
		t0 := time.Now()
		kf.cam.DepthMap(depth, 1242, pts, 4)
		ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
	}
	slices.Sort(ts)
	med := ts[len(ts)/2]
	t.Logf("depth map 1242×375 of %d points: Go %.3f ms, numpy %.2f ms (%.1f×)", kf.cloud.Points(), med, npMS, npMS/med)
	if npMS/med < 3 {
		t.Errorf("only %.1f× numpy", npMS/med)
	}
}
