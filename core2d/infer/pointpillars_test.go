package infer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/filters/pointcloud"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// ppFrame is the real KITTI 000000 frame pillarized by pillar_scatter_prep's
// Pillarizer and padded to the model's MaxPillars rows.
type ppFrame struct {
	feats, coords []float32
	n             int // real pillars
}

// ppSmall is the grid used under -race and -short: a 10.24 m square in
// front of the car, 64×64 pillars, so the whole model stays small.
func ppConfig(small bool) (onnxbuild.PointPillarsConfig, pointcloud.PillarParams) {
	cfg, pp := onnxbuild.DefaultPointPillars(), pointcloud.DefaultPillarParams
	if small {
		cfg.NX, cfg.NY, cfg.MaxPillars = 64, 64, 3000
		pp.Range = [6]float64{0, -5.12, -3, 10.24, 5.12, 1}
		pp.MaxPillars = cfg.MaxPillars
	}
	return cfg, pp
}

func pillarizeKITTI(tb testing.TB, cfg onnxbuild.PointPillarsConfig, pp pointcloud.PillarParams) ppFrame {
	tb.Helper()
	pts := ds3d.NewLidarFrame(0)
	path := filepath.Join(sampledata.RepoRoot(tb), "datasets/samples/kitti/velodyne/000000.bin")
	if err := lidar.ReadFileInto(pts, path, lidar.ReadOptions{}); err != nil {
		tb.Fatal(err)
	}
	z, err := pointcloud.NewPillarizer(pp)
	if err != nil {
		tb.Fatal(err)
	}
	if nx, ny := z.GridSize(); nx != cfg.NX || ny != cfg.NY {
		tb.Fatalf("pillar grid %d×%d, model %d×%d", nx, ny, cfg.NX, cfg.NY)
	}
	feat, coord, num := ds3d.NewTensorFrame(ds3d.DTypeF32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0), ds3d.NewTensorFrame(ds3d.DTypeI32, 0)
	n, err := z.Pillarize(feat, coord, num, pts)
	if err != nil {
		tb.Fatal(err)
	}
	f := ppFrame{n: n, feats: make([]float32, cfg.MaxPillars*cfg.MaxPoints*cfg.Features), coords: make([]float32, cfg.MaxPillars*4)}
	copy(f.feats, ds3d.AsFloat32(feat)[:n*cfg.MaxPoints*cfg.Features])
	for i, v := range ds3d.AsInt32(coord)[:n*4] {
		f.coords[i] = float32(v)
	}
	for p := n; p < cfg.MaxPillars; p++ { // padding rows land in the dropped row y = NY
		f.coords[p*4+2] = float32(cfg.NY)
	}
	return f
}

func ppSession(tb testing.TB, cfg onnxbuild.PointPillarsConfig, threads int) (*Session, *onnx.Model) {
	tb.Helper()
	data, err := onnxbuild.PointPillars(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := onnx.Decode(data, "")
	if err != nil {
		tb.Fatal(err)
	}
	s, err := NewSession(m, Options{Threads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	return s, m
}

// TestPointPillarsKITTI loads the random-weight PointPillars (through its
// .onnx encoding), runs it on the real pillarized KITTI frame and checks
// the architecture's output shapes, and the scattered BEV canvas against
// the PFN computed here in float64 from the model's own initializers.
func TestPointPillarsKITTI(t *testing.T) {
	small := testenv.RaceEnabled || testing.Short()
	cfg, pp := ppConfig(small)
	cfg.SpatialOutput = true
	f := pillarizeKITTI(t, cfg, pp)
	if f.n < 500 {
		t.Fatalf("only %d pillars", f.n)
	}
	s, m := ppSession(t, cfg, 2)
	defer s.Close()
	hy, hx := cfg.NY/2, cfg.NX/2
	want := []IOInfo{{"cls_preds", []int{1, hy, hx, 18}}, {"box_preds", []int{1, hy, hx, 42}}, {"dir_cls_preds", []int{1, hy, hx, 12}},
		{"spatial_features", []int{1, 64, cfg.NY, cfg.NX}}}
	if !small && fmt.Sprint(want[:3]) != "[{cls_preds [1 248 216 18]} {box_preds [1 248 216 42]} {dir_cls_preds [1 248 216 12]}]" {
		t.Fatalf("expected shapes %v", want)
	}
	if got := s.Outputs(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("outputs %v, want %v", got, want)
	}
	var outs [][]float32
	for _, o := range s.Outputs() {
		outs = append(outs, make([]float32, o.Size()))
	}
	if err := s.Run([][]float32{f.feats, f.coords}, outs); err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		for j, v := range o {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("output %d element %d is %v", i, j, v)
			}
		}
	}

	// PFN in float64: relu(bn(W·feat)) maxed over the pillar's points
	init := func(name string) []float32 {
		tt := m.Graph.Initializer("vfe.pfn_layers.0." + name)
		if tt == nil {
			t.Fatalf("no initializer %s", name)
		}
		return tt.Floats
	}
	w, gam, beta, mean, vr := init("linear.weight"), init("norm.weight"), init("norm.bias"), init("norm.running_mean"), init("norm.running_var")
	C, F, T := cfg.PFNChannels, cfg.Features, cfg.MaxPoints
	canvas := outs[3]
	plane := cfg.NY * cfg.NX
	seen := make([]bool, plane)
	for p := 0; p < f.n; p++ {
		y, x := int(f.coords[p*4+2]), int(f.coords[p*4+3])
		seen[y*cfg.NX+x] = true
		for c := 0; c < C; c++ {
			best := math.Inf(-1)
			for tp := 0; tp < T; tp++ {
				z := 0.0
				for k := 0; k < F; k++ {
					z += float64(w[c*F+k]) * float64(f.feats[(p*T+tp)*F+k])
				}
				z = (z-float64(mean[c]))/math.Sqrt(float64(vr[c])+1e-3)*float64(gam[c]) + float64(beta[c])
				best = math.Max(best, math.Max(z, 0))
			}
			if got := float64(canvas[c*plane+y*cfg.NX+x]); math.Abs(got-best) > 1e-4*(1+math.Abs(best)) {
				t.Fatalf("pillar %d (y %d, x %d) channel %d: canvas %v, PFN %v", p, y, x, c, got, best)
			}
		}
	}
	for c := 0; c < C; c++ {
		for i := 0; i < plane; i++ {
			if !seen[i] && canvas[c*plane+i] != 0 {
				t.Fatalf("cell %d (no pillar) channel %d holds %v", i, c, canvas[c*plane+i])
			}
		}
	}
	t.Logf("%d pillars, %d kernels, arena %d MiB", f.n, s.Steps(), s.ArenaBytes()>>20)
}

// BenchmarkPointPillars times the full KITTI model on the real frame.
func BenchmarkPointPillars(b *testing.B) {
	cfg, pp := ppConfig(false)
	f := pillarizeKITTI(b, cfg, pp)
	for _, th := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", th), func(b *testing.B) {
			s, _ := ppSession(b, cfg, th)
			defer s.Close()
			var outs [][]float32
			for _, o := range s.Outputs() {
				outs = append(outs, make([]float32, o.Size()))
			}
			in := [][]float32{f.feats, f.coords}
			if err := s.Run(in, outs); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Run(in, outs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
			if os.Getenv("INFER_PROFILE") != "" {
				b.StopTimer()
				s.EnableProfile()
				const runs = 2
				for i := 0; i < runs; i++ {
					s.Run(in, outs)
				}
				b.Logf("simd=%v threads=%d\n%s", kernels.SIMD, th, FormatProfile(s.Profile(), runs))
			}
		})
	}
}

// TestPointPillarsDump (PP_DUMP=dir) writes the full KITTI model, the real
// frame's inputs (voxels f32, voxel_coords int64, little endian) and our
// outputs (f32) for the onnxruntime peer:
//
//	NODE_PATH=/tmp/peerbench/ortnode/node_modules node core2d/infer/onnxbuild/testdata/pointpillars_ort.js DIR
func TestPointPillarsDump(t *testing.T) {
	dir := os.Getenv("PP_DUMP")
	if dir == "" {
		t.Skip("set PP_DUMP=dir")
	}
	cfg, pp := ppConfig(false)
	f := pillarizeKITTI(t, cfg, pp)
	data, err := onnxbuild.PointPillars(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := ppSession(t, cfg, 2)
	defer s.Close()
	var outs [][]float32
	for _, o := range s.Outputs() {
		outs = append(outs, make([]float32, o.Size()))
	}
	if err := s.Run([][]float32{f.feats, f.coords}, outs); err != nil {
		t.Fatal(err)
	}
	f32 := func(v []float32) []byte {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	i64 := make([]byte, 8*len(f.coords))
	for i, x := range f.coords {
		binary.LittleEndian.PutUint64(i64[8*i:], uint64(int64(x)))
	}
	files := map[string][]byte{"pointpillars.onnx": data, "voxels.bin": f32(f.feats), "voxel_coords.bin": i64}
	for i, o := range s.Outputs() {
		files[o.Name+".go.bin"] = f32(outs[i])
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
