package ros2_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/gonum/spatial/r3"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
)

func tfAt(parent, child string, ns int64, xyz [3]float64, q [4]float64) ros2.TransformStamped {
	return ros2.TransformStamped{Header: ros2.HeaderAt(ns, parent), ChildFrameID: child, Transform: ros2.Transform{Translation: xyz, Rotation: q}}
}

func qAxis(ax, ay, az, angle float64) [4]float64 {
	n := math.Sqrt(ax*ax + ay*ay + az*az)
	s := math.Sin(angle / 2)
	return [4]float64{ax / n * s, ay / n * s, az / n * s, math.Cos(angle / 2)}
}

// TestTFTreeHand: a hand-computed chain. lidar sits 1 m ahead of base_link,
// turned 90° about z; base_link is at (10, 0, 0) in map turned 90° about z.
// A point 1 m ahead of the lidar (lidar x) is, in base_link, 1 m along
// base_link's y, at (1, 1, 0); in map that is (10-1, 1, 0) = (9, 1, 0).
func TestTFTreeHand(t *testing.T) {
	tr := ros2.NewTFTree(0)
	tr.Add(tfAt("base_link", "lidar", 0, [3]float64{1, 0, 0}, qAxis(0, 0, 1, math.Pi/2)), true)
	tr.Add(tfAt("map", "base_link", 5e9, [3]float64{10, 0, 0}, qAxis(0, 0, 1, math.Pi/2)), false)
	m, err := tr.Lookup("map", "lidar", 5e9)
	if err != nil {
		t.Fatal(err)
	}
	p := m.Apply(vec(1, 0, 0))
	if math.Abs(p.X-9) > 1e-12 || math.Abs(p.Y-1) > 1e-12 || math.Abs(p.Z) > 1e-12 {
		t.Errorf("point %v, want (9, 1, 0)", p)
	}
	// The inverse direction maps it back.
	inv, err := tr.Lookup("lidar", "map", 5e9)
	if err != nil {
		t.Fatal(err)
	}
	if q := inv.Apply(p); math.Abs(q.X-1) > 1e-12 || math.Abs(q.Y) > 1e-12 {
		t.Errorf("back %v", q)
	}
	// Latest time (0) and identity.
	if _, err := tr.Lookup("map", "lidar", 0); err != nil {
		t.Error(err)
	}
	if id, err := tr.Lookup("lidar", "lidar", 123); err != nil || id != ds3d.Identity4 {
		t.Errorf("identity: %v %v", id, err)
	}
	// Errors: unknown frame, disconnected trees, extrapolation.
	tr.Add(tfAt("world", "camera", 0, [3]float64{}, [4]float64{0, 0, 0, 1}), true)
	for _, c := range []struct {
		target, source string
		ns             int64
		want           string
	}{
		{"map", "nowhere", 5e9, `frame "nowhere" does not exist`},
		{"map", "camera", 5e9, "not connected"},
		{"map", "lidar", 6e9, "extrapolation"},
		{"map", "lidar", 4e9, "extrapolation"},
	} {
		_, err := tr.Lookup(c.target, c.source, c.ns)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s ← %s at %d: %v, want %q", c.target, c.source, c.ns, err, c.want)
		}
	}
	if _, err := tr.Lookup("map", "lidar", 6e9); !errors.Is(err, ros2.ErrTFExtrapolation) {
		t.Errorf("extrapolation error %v does not wrap ErrTFExtrapolation", err)
	}
}

func vec(x, y, z float64) r3.Vec { return r3.Vec{X: x, Y: y, Z: z} }

// TestTFTreeCache: a dynamic edge keeps Cache of history behind its newest
// sample; out-of-order samples are sorted in.
func TestTFTreeCache(t *testing.T) {
	tr := ros2.NewTFTree(2 * time.Second)
	for _, s := range []int64{3, 1, 2, 4, 5} {
		tr.Add(tfAt("odom", "base", s*1e9, [3]float64{float64(s), 0, 0}, [4]float64{0, 0, 0, 1}), false)
	}
	m, err := tr.Lookup("odom", "base", 3_500_000_000)
	if err != nil || math.Abs(m[3]-3.5) > 1e-12 {
		t.Errorf("t=3.5: x %v (%v)", m[3], err)
	}
	if _, err := tr.Lookup("odom", "base", 2_500_000_000); err == nil {
		t.Error("t=2.5 is older than the 2 s cache behind t=5, yet it was found")
	}
}

// TestTFTreeScipy compares interpolated chains with scipy's Slerp and
// rotation composition (testdata/tf_reference.py).
func TestTFTreeScipy(t *testing.T) {
	type sample struct {
		T   int64      `json:"t"`
		XYZ [3]float64 `json:"xyz"`
		Q   [4]float64 `json:"q"`
	}
	type edge struct {
		Parent  string   `json:"parent"`
		Child   string   `json:"child"`
		Static  bool     `json:"static"`
		Samples []sample `json:"samples"`
	}
	type query struct {
		Target string `json:"target"`
		Source string `json:"source"`
		T      int64  `json:"t"`
	}
	const s0 = 1_700_000_000_000_000_000
	edges := []edge{
		{"map", "odom", false, []sample{
			{s0, [3]float64{0, 0, 0}, qAxis(0, 0, 1, 0.1)},
			{s0 + 1e9, [3]float64{1, 0.5, 0}, qAxis(0, 0, 1, 0.4)},
			{s0 + 2e9, [3]float64{1.5, 2, 0.1}, qAxis(0.1, 0, 1, 1.2)},
		}},
		{"odom", "base_link", false, []sample{
			{s0 + 5e8, [3]float64{3, -1, 0}, qAxis(0, 0, 1, -2.9)},
			{s0 + 15e8, [3]float64{4, -1.5, 0.2}, qAxis(0, 0, 1, 3.0)}, // across ±π: the short way
			{s0 + 25e8, [3]float64{6, -2, 0.2}, qAxis(1, 1, 0, 0.5)},
		}},
		{"base_link", "velodyne", true, []sample{{0, [3]float64{0.8, 0, 1.7}, qAxis(0, 0, 1, 0.01)}}},
		{"base_link", "cam2", true, []sample{{0, [3]float64{1.1, 0.06, 1.65}, [4]float64{-0.5, 0.5, -0.5, 0.5}}}},
		{"map", "gps", false, []sample{{s0, [3]float64{5, 5, 5}, qAxis(1, 0, 0, 0.3)}, {s0 + 3e9, [3]float64{7, 5, 5}, qAxis(1, 0, 0, -0.3)}}},
	}
	queries := []query{
		{"cam2", "velodyne", s0 + 7e8}, {"map", "velodyne", s0 + 7e8}, {"map", "velodyne", s0 + 12e8},
		{"velodyne", "map", s0 + 1234567890}, {"gps", "cam2", s0 + 19e8}, {"odom", "base_link", s0 + 10e8},
		{"base_link", "odom", s0 + 5e8}, {"map", "cam2", s0 + 2e9},
	}
	tr := ros2.NewTFTree(0)
	for _, e := range edges {
		for _, s := range e.Samples {
			tr.Add(tfAt(e.Parent, e.Child, s.T, s.XYZ, s.Q), e.Static)
		}
	}
	// Python gets times relative to s0: float64 epoch nanoseconds are only
	// good to 256 ns.
	rel := append([]edge(nil), edges...)
	for i := range rel {
		rel[i].Samples = append([]sample(nil), rel[i].Samples...)
		for j := range rel[i].Samples {
			rel[i].Samples[j].T -= s0
		}
	}
	relq := append([]query(nil), queries...)
	for i := range relq {
		relq[i].T -= s0
	}
	in, _ := json.Marshal(map[string]any{"edges": rel, "queries": relq})
	py := testenv.Python(t, "numpy", "scipy")
	cmd := exec.Command(py, "testdata/tf_reference.py")
	cmd.Stdin = bytes.NewReader(in)
	var want [][16]float64
	if err := json.Unmarshal(testenv.Output(t, cmd), &want); err != nil {
		t.Fatal(err)
	}
	for i, q := range queries {
		got, err := tr.Lookup(q.Target, q.Source, q.T)
		if err != nil {
			t.Fatalf("%s ← %s: %v", q.Target, q.Source, err)
		}
		for k := range got {
			if math.Abs(got[k]-want[i][k]) > 1e-9 {
				t.Errorf("%s ← %s at %d:\n got %v\nwant %v", q.Target, q.Source, q.T, got, want[i])
				break
			}
		}
	}
}

// TestTransformMat4: Mat4 and TransformFromMat4 invert each other.
func TestTransformMat4(t *testing.T) {
	for _, q := range [][4]float64{qAxis(0, 0, 1, 0.3), qAxis(1, 2, 3, 3.1), qAxis(1, 0, 0, math.Pi), {-0.5, 0.5, -0.5, 0.5}} {
		tf := ros2.Transform{Translation: [3]float64{1, -2, 3}, Rotation: q}
		back := ros2.TransformFromMat4(tf.Mat4())
		d := 0.0
		for k := range 4 {
			d += back.Rotation[k] * q[k]
		}
		if math.Abs(math.Abs(d)-1) > 1e-12 || back.Translation != tf.Translation {
			t.Errorf("q %v → %v", q, back)
		}
	}
}

// TestTFTreeConcurrent: Add and Lookup from several goroutines (run with
// -race).
func TestTFTreeConcurrent(t *testing.T) {
	tr := ros2.NewTFTree(time.Second)
	tr.Add(tfAt("base", "lidar", 0, [3]float64{1, 0, 0}, [4]float64{0, 0, 0, 1}), true)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range int64(2000) {
			tr.Add(tfAt("odom", "base", i*1e6, [3]float64{float64(i), 0, 0}, [4]float64{0, 0, 0, 1}), false)
		}
	}()
	for range 2000 {
		if m, err := tr.Lookup("odom", "lidar", 0); err == nil && m[3] < 1 {
			t.Fatalf("x %v", m[3])
		}
	}
	<-done
	m, err := tr.Lookup("odom", "lidar", 0)
	if err != nil || m[3] != 2000 {
		t.Errorf("latest: x %v (%v), want 1999+1", m[3], err)
	}
	if got := strings.Join(tr.Frames(), " "); got != "base lidar odom" {
		t.Errorf("frames %s", got)
	}
}
