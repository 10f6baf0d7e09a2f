package synth

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// TestSectorsMatchWholeTree scans frames twice, once with each ray
// searching only the moving objects of its azimuth sector and once with
// every ray searching the objects' whole BVH, and compares the points byte
// for byte: the sector lists must never drop an object a ray can hit, for
// a turning, fast ego (the sweep's origin moves 2 m) and sensors with and
// without laser origin offsets.
func TestSectorsMatchWholeTree(t *testing.T) {
	testenv.SkipUnderRace(t, "single-goroutine ray casting, 10x slower under the race detector")
	s, err := NewScene(5, Options{Speed: 20, YawRate: 0.5, Frames: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hdl64e", "vlp16"} {
		sen, _ := NewSensor(name)
		fast, ref := NewScanner(sen, DefaultLidarOptions()), NewScanner(sen, DefaultLidarOptions())
		ref.wholeTree = true
		var a, b FrameData
		for _, i := range []int{0, 7, 19} {
			fast.Scan(&a, s, i)
			ref.Scan(&b, s, i)
			if len(fast.dyn.objs) < 10 {
				t.Fatalf("%s frame %d: %d moving objects in reach, want a busy street", name, i, len(fast.dyn.objs))
			}
			pa, pb := ds3d.AsFloat32(a.Points), ds3d.AsFloat32(b.Points)
			if len(pa) != len(pb) {
				t.Fatalf("%s frame %d: %d points with sectors, %d with the whole tree", name, i, len(pa)/6, len(pb)/6)
			}
			for k := range pa {
				if math.Float32bits(pa[k]) != math.Float32bits(pb[k]) {
					t.Fatalf("%s frame %d: point %d column %d is %v with sectors, %v with the whole tree", name, i, k/6, k%6, pa[k], pb[k])
				}
			}
			if !bytes.Equal(f32bytes(ds3d.AsFloat32(a.Undistorted)), f32bytes(ds3d.AsFloat32(b.Undistorted))) {
				t.Fatalf("%s frame %d: undistorted points differ", name, i)
			}
		}
	}
}

func f32bytes(v []float32) []byte {
	out := make([]byte, 0, 4*len(v))
	for _, x := range v {
		u := math.Float32bits(x)
		out = append(out, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return out
}

// TestGroupBVHMatchesBruteForce casts rays from around the ego through the
// moving objects' BVH (built with a subtree per object) and compares the
// nearest hit, from the root and from each object's own root, with a test
// of every triangle.
func TestGroupBVHMatchesBruteForce(t *testing.T) {
	testenv.SkipUnderRace(t, "single-goroutine ray casting, 10x slower under the race detector")
	s, err := NewScene(2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var d dynScratch
	p := s.EgoPose(0.4)
	b := s.dynamic(0.4, p, 125, &d)
	if len(d.objs) < 10 {
		t.Fatalf("%d moving objects in reach, want a busy street", len(d.objs))
	}
	r := rand.New(rand.NewPCG(3, 4))
	hits := 0
	for k := 0; k < 2000; k++ {
		o := vec{p.X + uniform(r, -1, 1), p.Y + uniform(r, -1, 1), uniform(r, 0.5, 2.5)}
		a, e := uniform(r, -math.Pi, math.Pi), uniform(r, -0.3, 0.1)
		if k%2 == 0 {
			// Aimed at an object's centre, give or take its size.
			g := &d.objs[r.IntN(len(d.objs))]
			a = math.Atan2(g.cy+uniform(r, -g.r, g.r)-o.Y, g.cx+uniform(r, -g.r, g.r)-o.X)
			e = math.Atan2(uniform(r, 0.2, 1.5)-o.Z, math.Hypot(g.cx-o.X, g.cy-o.Y))
		}
		dir := vec{math.Cos(e) * math.Cos(a), math.Cos(e) * math.Sin(a), math.Sin(e)}
		ry := newRay(o, dir)
		want, wtri := 200.0, int32(-1)
		for i := range b.mat {
			if h, ok := hitTri(&ry, &b.v0[i], &b.e1[i], &b.e2[i], want); ok {
				want, wtri = h, int32(i)
			}
		}
		got, tri := b.intersect(&ry, 200)
		got2, tri2 := 200.0, int32(-1)
		for _, g := range d.objs {
			if h, i := b.intersectAt(&ry, got2, g.root); i >= 0 {
				got2, tri2 = h, i
			}
		}
		if (tri < 0) != (wtri < 0) || math.Abs(got-want) > 1e-9 || (tri2 < 0) != (wtri < 0) || math.Abs(got2-want) > 1e-9 {
			t.Fatalf("ray %d from %v dir %v: root %v (tri %d), object roots %v (tri %d), brute force %v (tri %d)", k, o, dir, got, tri, got2, tri2, want, wtri)
		}
		if tri >= 0 {
			hits++
		}
	}
	if hits < 600 {
		t.Errorf("only %d of 2000 rays hit an object: the test street is too empty", hits)
	}
}
