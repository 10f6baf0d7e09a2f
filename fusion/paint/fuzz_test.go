package paint

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// fuzzBoxes mixes boxes inside, across and outside the 100×100 image,
// degenerate and non-finite ones, of painting and non-painting labels.
var fuzzBoxes = []ds3d.Object2D{
	{Left: 10, Top: 10, Width: 50, Height: 50, Label: "car", Score: 0.7},
	{Left: -50, Top: -50, Width: 300, Height: 300, Label: "person", Score: 0.4},
	{Left: 200, Top: 200, Width: 50, Height: 50, Label: "car", Score: 0.95},   // outside the image
	{Left: -90, Top: 20, Width: 40, Height: 40, Label: "person", Score: 0.99}, // outside, left
	{Left: 30, Top: 30, Width: -5, Height: 10, Label: "car", Score: 0.9},      // negative width
	{Left: float32(math.NaN()), Top: 0, Width: 10, Height: 10, Label: "car", Score: 0.9},
	{Left: 0, Top: 0, Width: float32(math.Inf(1)), Height: 10, Label: "car", Score: 0.9},
	{Left: 0, Top: 0, Width: 100, Height: 100, Label: "car", Score: float32(math.NaN())},
	{Left: 40, Top: 40, Width: 20, Height: 20, Label: "bus", Score: 0.3},
}

// checkPainted runs point_painting on pts with fuzzBoxes in two cameras and
// checks the properties every output must have: as many rows as points,
// the input columns copied bit for bit, every class channel 0 or the
// score of a finite box of that class, the background in [0, 1].
func checkPainted(t *testing.T, pts []float32) {
	cfg := testConfig(2, true)
	cfg.Classes = []string{"car", "person"}
	f, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	n := len(pts) / 4
	fr := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameLidarXYZI, ds3d.NewShape(n, 4))
	copy(ds3d.AsFloat32(fr), pts)
	m := ds3d.NewDataMap()
	defer m.Release()
	m.SetFrame(ds3d.KeyLidarXYZI, fr)
	for c := 0; c < 2; c++ {
		m.Set(ds3d.KeyObject2DBbox.Sensor(c), fuzzBoxes[c:])
		m.Set(ds3d.KeyCamIntrinsicMatrix.Sensor(c), lookXIntr)
		ext := lookXExt
		ext[3] = float64(c) // camera 1 is shifted 1 m
		m.Set(ds3d.KeyLidarToCamExtrinsic.Sensor(c), ext)
	}
	if err := f.Process(context.Background(), m, func(*ds3d.DataMap) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out, err := m.Frame(KeyLidarPainted)
	if err != nil {
		t.Fatal(err)
	}
	if out.Shape.NumDims != 2 || out.Shape.D[0] != n || out.Shape.D[1] != 7 {
		t.Fatalf("output %s for %d points", out.Shape, n)
	}
	o := ds3d.AsFloat32(out)
	allowed := [2]map[float32]bool{{0: true, 0.7: true}, {0: true, 0.4: true}} // never the scores of the broken or outside boxes
	for i := 0; i < n; i++ {
		row := o[i*7 : i*7+7]
		for c := 0; c < 4; c++ {
			if math.Float32bits(row[c]) != math.Float32bits(pts[4*i+c]) {
				t.Fatalf("point %d column %d: %v, input %v", i, c, row[c], pts[4*i+c])
			}
		}
		for c := 0; c < 2; c++ {
			if !allowed[c][row[4+c]] {
				t.Fatalf("point %d %v: class %d score %v", i, pts[4*i:4*i+3], c, row[4+c])
			}
		}
		if bg := row[6]; !(bg >= 0 && bg <= 1) || bg != 1-max(row[4], row[5]) {
			t.Fatalf("point %d: background %v for %v", i, bg, row[4:6])
		}
	}
}

// TestRandomClouds: clouds of random points around the camera, with NaN
// and ±Inf coordinates mixed in, and the empty cloud.
func TestRandomClouds(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1e30, -1e30, 1e-30}
	checkPainted(t, nil)
	for trial := 0; trial < 50; trial++ {
		pts := make([]float32, 4*rng.Intn(500))
		for i := range pts {
			if rng.Intn(20) == 0 {
				pts[i] = special[rng.Intn(len(special))]
			} else {
				pts[i] = float32(rng.NormFloat64() * 10)
			}
		}
		checkPainted(t, pts)
	}
}

func FuzzPaint(f *testing.F) {
	seed := func(vals ...float32) []byte {
		b := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		return b
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	f.Add([]byte{})
	f.Add(seed(10, 0, 0, 1, 10, 0.8, 0, 1, -10, 0, 0, 1, 0.4, 0, 0, 1))
	f.Add(seed(nan, 0, 0, 1, inf, 0, 0, 1, 10, -inf, 0, 1, 1e-3, 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		pts := make([]float32, len(b)/16*4)
		for i := range pts {
			pts[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		checkPainted(t, pts)
	})
}
