package synth

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestBVHMatchesBruteForce casts random rays through the street and
// compares the BVH's nearest hit with a test of every triangle.
func TestBVHMatchesBruteForce(t *testing.T) {
	testenv.SkipUnderRace(t, "single-goroutine ray casting, 10x slower under the race detector")
	s, err := NewScene(3, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := s.static
	r := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for k := 0; k < 1000; k++ {
		o := vec{uniform(r, -40, 140), uniform(r, -8, 8), uniform(r, 0.3, 3)}
		a, e := uniform(r, -math.Pi, math.Pi), uniform(r, -0.4, 0.3)
		d := vec{math.Cos(e) * math.Cos(a), math.Cos(e) * math.Sin(a), math.Sin(e)}
		ry := newRay(o, d)
		got, tri := b.intersect(&ry, 200)
		want, wtri := 200.0, int32(-1)
		for i := range b.mat {
			if h, ok := hitTri(&ry, &b.v0[i], &b.e1[i], &b.e2[i], want); ok {
				want, wtri = h, int32(i)
			}
		}
		if (tri < 0) != (wtri < 0) || math.Abs(got-want) > 1e-9 {
			t.Fatalf("ray %d from %v dir %v: BVH %v (tri %d), brute force %v (tri %d)", k, o, d, got, tri, want, wtri)
		}
		if tri >= 0 {
			hits++
		}
	}
	if hits < 300 {
		t.Errorf("only %d of 1000 rays hit: the test scene is too empty", hits)
	}
}

// TestDistortionMatchesTwist checks each point against the ego's constant
// twist, derived here in closed form: a point reported at time dt in the
// lidar frame of that time, moved by the lidar's motion from the
// timestamp (yaw ω·dt, translation v/ω·(sin ω·dt, 1 − cos ω·dt)), must be
// its undistorted twin. The road points of the lowest ring must also lie
// on the road plane 1.73 m below the lidar when noise is off.
func TestDistortionMatchesTwist(t *testing.T) {
	const v, w = 20.0, 30 * math.Pi / 180 // the deskew goal's extremes
	s, err := NewScene(4, Options{Speed: v, YawRate: w, Frames: 5})
	if err != nil {
		t.Fatal(err)
	}
	sen, _ := NewSensor("hdl64e")
	var fd FrameData
	NewScanner(sen, LidarOptions{}).Scan(&fd, s, 3)
	p, u := ds3d.AsFloat32(fd.Points), ds3d.AsFloat32(fd.Undistorted)
	maxErr, maxShift := 0.0, 0.0
	onRoad := 0
	for i := 0; i < fd.Points.Points(); i++ {
		q := p[6*i : 6*i+6]
		dt := float64(q[5])
		th := w * dt
		tx, ty := v/w*math.Sin(th), v/w*(1-math.Cos(th))
		x := math.Cos(th)*float64(q[0]) - math.Sin(th)*float64(q[1]) + tx
		y := math.Sin(th)*float64(q[0]) + math.Cos(th)*float64(q[1]) + ty
		e := math.Hypot(x-float64(u[6*i]), y-float64(u[6*i+1])) + math.Abs(float64(q[2]-u[6*i+2]))
		maxErr = math.Max(maxErr, e)
		maxShift = math.Max(maxShift, math.Hypot(float64(q[0]-u[6*i]), float64(q[1]-u[6*i+1])))
		if q[4] == 0 && math.Abs(float64(q[1])) < 3 && math.Abs(float64(q[0])) < 8 {
			onRoad++
			if math.Abs(float64(q[2])+lidarHeight) > 1e-4 {
				t.Fatalf("point %d of ring 0 at z %.5f, road plane at %.2f", i, q[2], -lidarHeight)
			}
		}
	}
	t.Logf("max |undistorted − twist(points)| %.2g m; distortion up to %.2f m; %d road points checked", maxErr, maxShift, onRoad)
	if maxErr > 1e-4 || maxShift < 0.9 || onRoad < 50 {
		t.Errorf("max error %.3g m (want ≤ 1e-4), max shift %.2f m (want ≥ 0.9 at 20 m/s), %d road points (want ≥ 50)", maxErr, maxShift, onRoad)
	}
}

// TestSensors scans one frame with each sensor (the dense one at a tenth
// of its columns to stay fast) and checks the columns' ranges: rings
// 0..beams−1 all present, times within the 0.1 s sweep in firing order,
// intensities in KITTI's 0..1 and ranges within the sensor's.
func TestSensors(t *testing.T) {
	testenv.SkipUnderRace(t, "single-goroutine ray casting, 10x slower under the race detector")
	s, err := NewScene(9, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range SensorNames {
		sen, err := NewSensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "dense" {
			if n := sen.Columns * len(sen.Beams); n < 1_900_000 || n > 2_000_000 {
				t.Errorf("dense: %d rays a frame, want about 2M", n)
			}
			sen.Columns /= 10
		}
		var fd FrameData
		NewScanner(sen, DefaultLidarOptions()).Scan(&fd, s, 1)
		p := ds3d.AsFloat32(fd.Points)
		n := fd.Points.Points()
		seen := make([]bool, len(sen.Beams))
		last := float32(-1)
		for i := 0; i < n; i++ {
			q := p[6*i : 6*i+6]
			r := math.Sqrt(float64(q[0]*q[0] + q[1]*q[1] + q[2]*q[2]))
			ring := int(q[4])
			if ring < 0 || ring >= len(seen) || q[3] < 0 || q[3] > 1 || q[5] < -0.05 || q[5] > 0.05 || q[5] < last ||
				r < sen.MinRange-0.5 || r > sen.MaxRange+0.5 {
				t.Fatalf("%s point %d: %v (range %.2f)", name, i, q, r)
			}
			seen[ring], last = true, q[5]
		}
		for r, ok := range seen {
			if !ok {
				t.Errorf("%s: ring %d has no point", name, r)
			}
		}
		t.Logf("%s: %d points of %d rays", name, n, sen.Columns*len(sen.Beams))
		if n < sen.Columns*len(sen.Beams)/3 {
			t.Errorf("%s: only %d points of %d rays", name, n, sen.Columns*len(sen.Beams))
		}
	}
}

// TestWorkersSamePoints: beams cast on several goroutines give the same
// bytes as on one.
func TestWorkersSamePoints(t *testing.T) {
	s, err := NewScene(11, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sen, _ := NewSensor("vlp32c")
	var a, b FrameData
	NewScanner(sen, DefaultLidarOptions()).Scan(&a, s, 2)
	o := DefaultLidarOptions()
	o.Workers = 3
	NewScanner(sen, o).Scan(&b, s, 2)
	if !bytes.Equal(a.Points.Data, b.Points.Data) || !bytes.Equal(a.Undistorted.Data, b.Undistorted.Data) {
		t.Error("points differ between 1 and 3 workers")
	}
}
