package voxelize

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

var propParams = Params{Range: [6]float64{-10, -10, -3, 10, 10, 1}, VoxelSize: [3]float64{0.5, 0.5, 4}, MaxPointsPerVoxel: 4, MaxVoxels: 300, Features: 4}

// check verifies what holds for every cloud: counts within the caps, every
// kept point lies in its voxel (by the float32 rule), the voxel's points are
// the first ones of the input that fall in it, padding is zero, and a second
// run gives the same bytes.
func check(t testing.TB, v *Voxelizer, src *ds3d.Frame) {
	p := v.Params()
	feat, coords, num, nv := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0),
		ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	if err := v.Voxelize(feat, coords, num, nv, src); err != nil {
		t.Fatal(err)
	}
	n := int(ds3d.AsInt32(nv)[0])
	P, F := p.MaxPointsPerVoxel, 4
	if n > p.MaxVoxels || feat.Shape.D[1] != n {
		t.Fatalf("%d voxels, shape %s, cap %d", n, feat.Shape, p.MaxVoxels)
	}
	s := ds3d.AsFloat32(src)
	fo, co, no := ds3d.AsFloat32(feat), ds3d.AsInt32(coords), ds3d.AsInt32(num)
	nx, ny, nz := v.GridSize()
	cell := func(q []float32) (int32, int32, int32, bool) {
		var c [3]int32
		g := [3]int{nx, ny, nz}
		for a := 0; a < 3; a++ {
			f := math.Floor(float64((q[a] - float32(p.Range[a])) / float32(p.VoxelSize[a])))
			if !(f >= 0 && f < float64(g[a])) {
				return 0, 0, 0, false
			}
			c[a] = int32(f)
		}
		return c[2], c[1], c[0], true
	}
	// first points per voxel in input order, voxels in first-seen order
	type vox struct{ z, y, x int32 }
	seen := map[vox]int{}
	var want [][]int
	for i := 0; i+4 <= len(s); i += 4 {
		z, y, x, ok := cell(s[i : i+4])
		if !ok {
			continue
		}
		k := vox{z, y, x}
		id, ok := seen[k]
		if !ok {
			if len(want) == p.MaxVoxels {
				continue
			}
			id = len(want)
			seen[k] = id
			want = append(want, nil)
		}
		if len(want[id]) < P {
			want[id] = append(want[id], i)
		}
	}
	if len(want) != n {
		t.Fatalf("%d voxels, want %d", n, len(want))
	}
	for id, pts := range want {
		z, y, x, _ := cell(s[pts[0] : pts[0]+4])
		if co[4*id] != 0 || co[4*id+1] != z || co[4*id+2] != y || co[4*id+3] != x || int(no[id]) != len(pts) {
			t.Fatalf("voxel %d: coords %v num %d, want (0 %d %d %d) %d", id, co[4*id:4*id+4], no[id], z, y, x, len(pts))
		}
		row := fo[id*P*F : (id+1)*P*F]
		for r := 0; r < P; r++ {
			got := row[r*F : r*F+F]
			if r < len(pts) {
				if !bytes.Equal(f32b(got), f32b(s[pts[r]:pts[r]+4])) {
					t.Fatalf("voxel %d slot %d = %v, want point %v", id, r, got, s[pts[r]:pts[r]+4])
				}
			} else if !bytes.Equal(f32b(got), make([]byte, 16)) {
				t.Fatalf("voxel %d pad slot %d = %v", id, r, got)
			}
		}
	}
	again := ds3d.NewTensorFrame(ds3d.DTypeF32, 0)
	if err := v.Voxelize(again, ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), nil, src); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Data, feat.Data) {
		t.Fatal("second run gave other bytes")
	}
}

func f32b(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// randomCloud mixes normal points, NaN/±Inf, −0, huge values and points
// exactly on the range and voxel borders.
func randomCloud(r *rand.Rand, n int) *ds3d.Frame {
	f := ds3d.NewLidarFrame(n)
	s := ds3d.AsFloat32(f)
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)),
		-10, 10, -3, 1, 0.5, -0.5, 9.5, 1e30, -1e30, math.MaxFloat32}
	for i := range s {
		if r.IntN(10) == 0 {
			s[i] = special[r.IntN(len(special))]
		} else {
			s[i] = float32(r.NormFloat64() * 6)
		}
	}
	return f
}

// TestProperties: random clouds (NaN/Inf, borders), the empty cloud, and
// every point in one voxel.
func TestProperties(t *testing.T) {
	v, err := New(propParams)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for it := 0; it < 40; it++ {
		check(t, v, randomCloud(r, r.IntN(4000)))
	}
	check(t, v, ds3d.NewLidarFrame(0))
	one := ds3d.NewLidarFrame(500)
	s := ds3d.AsFloat32(one)
	for i := 0; i < 500; i++ {
		s[4*i], s[4*i+1], s[4*i+2], s[4*i+3] = 0.25+float32(i)*1e-4, -0.25, -1, float32(i)
	}
	check(t, v, one)
	// every point on the max corner: nothing kept; on the min corner: one voxel
	for i := 0; i < 500; i++ {
		s[4*i], s[4*i+1], s[4*i+2] = 10, 10, 1
	}
	check(t, v, one)
	for i := 0; i < 500; i++ {
		s[4*i], s[4*i+1], s[4*i+2] = -10, -10, -3
	}
	check(t, v, one)
}

// FuzzVoxelize feeds arbitrary bytes as an [N,4] cloud, seeded with the
// first points of the real DAIR-V2X-C frame.
func FuzzVoxelize(f *testing.F) {
	f.Add(rawBytes(readCloud(f, dairPCD))[:16*64])
	f.Add([]byte{})
	f.Add(f32b([]float32{-10, -10, -3, 1, 10, 10, 1, 1, float32(math.NaN()), 0, 0, 0}))
	v, err := New(propParams)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n := len(b) / 16
		src := ds3d.NewLidarFrame(n)
		copy(src.Data, b[:16*n])
		check(t, v, src)
	})
}
