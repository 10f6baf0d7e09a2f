package lidarinfer

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnxbuild"
)

// Small fusion-shaped test models written with onnxbuild, with seeded
// random weights kept for a float64 reference of their outputs. They have
// the input layout of the real exports (BEVFusion: img [1, 6, 3, H, W],
// voxel features and coords, lidar2image [1, 6, 4, 4]; V2XFusion: images
// [B, 3, H, W], feats [B, V, P, F], coords [B, V, 4], N [B, 1]) and a few
// real ops on each, so that a wrong wiring (a swapped input, a wrong
// layout, a voxel scattered to the wrong cell) changes the outputs.

// fusionCfg sizes both models.
type fusionCfg struct {
	Batch      int // V2X: streams B; BEVFusion: cameras N (batch 1)
	H, W       int // camera tensor
	Stride     int // camera conv kernel = stride
	V, P, F    int // voxels, points per voxel, point features
	NY, NX     int // BEV grid
	Cc, Cl, Cg int // camera, lidar, matrix-embedding channels
	Ch, K      int // head hidden channels, heatmap classes
	Images     bool
	Seed       uint64
}

type fusionModel struct {
	cfg fusionCfg
	wc  []float32 // [Cc, 3, S, S] camera conv
	bc  []float32 // [Cc]
	wv  []float32 // [F, Cl] point embedding
	wg  []float32 // BEVFusion: [Cg, N·Cc + N·16] matrix/camera embedding (Gemm, transB)
	bg  []float32 // [Cg]
	wf  []float32 // [Ch, Cin, 3, 3] fuser conv
	bf  []float32 // [Ch]
	wh  []float32 // [K, Ch] head 1×1
	bh  []float32 // [K]
}

func uniform(r *rand.Rand, n int, a float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32((2*r.Float64() - 1) * a)
	}
	return w
}

func newWeights(c fusionCfg, bev bool) *fusionModel {
	r := rand.New(rand.NewPCG(c.Seed, 0xf00d))
	m := &fusionModel{cfg: c}
	s := c.Stride
	m.wc = uniform(r, c.Cc*3*s*s, 1/math.Sqrt(float64(3*s*s)))
	m.bc = uniform(r, c.Cc, 0.1)
	m.wv = uniform(r, c.F*c.Cl, 0.5)
	cin := c.Cl
	if c.Images {
		cin += c.Cc
	}
	if bev {
		d := c.Batch*c.Cc + c.Batch*16
		m.wg = uniform(r, c.Cg*d, 1e-3) // lidar2image entries reach ~10³
		m.bg = uniform(r, c.Cg, 0.1)
		cin = c.Cl + c.Cg
	}
	m.wf = uniform(r, c.Ch*cin*9, 1/math.Sqrt(float64(cin*9)))
	m.bf = uniform(r, c.Ch, 0.1)
	m.wh = uniform(r, c.K*c.Ch, 1/math.Sqrt(float64(c.Ch)))
	m.bh = uniform(r, c.K, 0.1)
	return m
}

// lidarBranch: voxels [rows·P, F] → MatMul → max over the P points → ReLU
// → [rows, Cl]; coords (y, x) or (b, y, x) scatter-add it into a zero BEV
// canvas (padding voxels carry zero features, so they add nothing).
func (m *fusionModel) lidarBranch(g *onnxbuild.Graph, vox, coords string, b int) string {
	c := m.cfg
	i64 := func(name string, v ...int64) string { return g.Int64(name, nil, v) }
	x := g.Node("Reshape", []string{vox, i64("vox_flat", int64(b*c.V*c.P), int64(c.F))})
	x = g.Node("MatMul", []string{x, g.Float("lidar.embed.weight", []int64{int64(c.F), int64(c.Cl)}, m.wv)})
	x = g.Node("Reshape", []string{x, i64("vox_points", int64(b*c.V), int64(c.P), int64(c.Cl))})
	x = g.Node("ReduceMax", []string{x}, onnxbuild.Ints("axes", 1), onnxbuild.Int("keepdims", 0))
	return g.Node("Relu", []string{x})
}

// cameraBranch: [B·N, 3, H, W] → Conv k=s=Stride + bias → ReLU →
// GlobalAveragePool → [B·N, Cc, 1, 1].
func (m *fusionModel) cameraBranch(g *onnxbuild.Graph, img string) string {
	c := m.cfg
	s := int64(c.Stride)
	x := g.Node("Conv", []string{img, g.Float("camera.conv.weight", []int64{int64(c.Cc), 3, s, s}, m.wc),
		g.Float("camera.conv.bias", []int64{int64(c.Cc)}, m.bc)}, onnxbuild.Ints("kernel_shape", s, s), onnxbuild.Ints("strides", s, s))
	x = g.Node("Relu", []string{x})
	return g.Node("GlobalAveragePool", []string{x})
}

// head: fused BEV [B, Cin, NY, NX] → 3×3 Conv (pad 1) → ReLU → 1×1 Conv →
// heatmap [B, K, NY, NX].
func (m *fusionModel) head(g *onnxbuild.Graph, x string, cin, b int) {
	c := m.cfg
	x = g.Node("Conv", []string{x, g.Float("fuser.weight", []int64{int64(c.Ch), int64(cin), 3, 3}, m.wf),
		g.Float("fuser.bias", []int64{int64(c.Ch)}, m.bf)}, onnxbuild.Ints("kernel_shape", 3, 3), onnxbuild.Ints("pads", 1, 1, 1, 1))
	x = g.Node("Relu", []string{x})
	g.NodeOut("Conv", []string{x, g.Float("head.heatmap.weight", []int64{int64(c.K), int64(c.Ch), 1, 1}, m.wh),
		g.Float("head.heatmap.bias", []int64{int64(c.K)}, m.bh)}, []string{"heatmap"}, onnxbuild.Ints("kernel_shape", 1, 1))
	g.Output("heatmap", onnx.Float, int64(b), int64(c.K), int64(c.NY), int64(c.NX))
}

// bevFusionModel: inputs img [1, N, 3, H, W], voxels [1, V, P, F], coords
// [1, V, 4] int32 (b, z, y, x), lidar2image [1, N, 4, 4]; output heatmap
// [1, K, NY, NX] and camera_feature [1, N·Cc] (the pooled camera branch).
// The matrices and the pooled camera features go through a Gemm to Cg
// channels broadcast over the BEV grid and concatenated to the lidar BEV.
func bevFusionModel(c fusionCfg) ([]byte, *fusionModel, error) {
	m := newWeights(c, true)
	g := onnxbuild.New("bevfusion_shaped", 16)
	N := int64(c.Batch)
	i64 := func(name string, v ...int64) string { return g.Int64(name, nil, v) }
	img := g.Input("img", onnx.Float, 1, N, 3, int64(c.H), int64(c.W))
	vox := g.Input("voxels", onnx.Float, 1, int64(c.V), int64(c.P), int64(c.F))
	coords := g.Input("coords", onnx.Int32, 1, int64(c.V), 4)
	mats := g.Input("lidar2image", onnx.Float, 1, N, 4, 4)

	x := g.Node("Reshape", []string{img, i64("img_bn", N, 3, int64(c.H), int64(c.W))})
	x = m.cameraBranch(g, x)
	g.NodeOut("Reshape", []string{x, i64("cam_flat", 1, N*int64(c.Cc))}, []string{"camera_feature"})
	g.Output("camera_feature", onnx.Float, 1, N*int64(c.Cc))
	mf := g.Node("Reshape", []string{mats, i64("mats_flat", 1, N*16)})
	e := g.Node("Concat", []string{"camera_feature", mf}, onnxbuild.Int("axis", 1))
	e = g.Node("Gemm", []string{e, g.Float("embed.weight", []int64{int64(c.Cg), N*int64(c.Cc) + N*16}, m.wg),
		g.Float("embed.bias", []int64{int64(c.Cg)}, m.bg)}, onnxbuild.Int("transB", 1))
	e = g.Node("Relu", []string{e})
	e = g.Node("Reshape", []string{e, i64("embed_4d", 1, int64(c.Cg), 1, 1)})
	e = g.Node("Expand", []string{e, i64("embed_bev", 1, int64(c.Cg), int64(c.NY), int64(c.NX))})

	l := m.lidarBranch(g, vox, coords, 1)
	co := g.Node("Reshape", []string{coords, i64("coords_2d", int64(c.V), 4)})
	idx := g.Node("Gather", []string{co, i64("coord_yx", 2, 3)}, onnxbuild.Int("axis", 1))
	zero := &onnx.Tensor{DataType: onnx.Float, Dims: []int64{1}, Floats: []float32{0}}
	canvas := g.Node("ConstantOfShape", []string{i64("canvas", int64(c.NY), int64(c.NX), int64(c.Cl))}, onnxbuild.TensorAttr("value", zero))
	l = g.Node("ScatterND", []string{canvas, idx, l}, onnxbuild.Str("reduction", "add"))
	l = g.Node("Transpose", []string{l}, onnxbuild.Ints("perm", 2, 0, 1))
	l = g.Node("Reshape", []string{l, i64("lidar_bev", 1, int64(c.Cl), int64(c.NY), int64(c.NX))})
	f := g.Node("Concat", []string{l, e}, onnxbuild.Int("axis", 1))
	m.head(g, f, c.Cl+c.Cg, 1)
	b, err := g.Build()
	return b, m, err
}

// v2xFusionModel: inputs images [B, 3, H, W] (when cfg.Images), feats
// [B, V, P, F], coords [B, V, 4] int32, N [B, 1] int32; output heatmap
// [B, K, NY, NX]. Voxel v of stream b counts only when v < N[b] (Less on
// an arange, Cast, Mul); the pooled camera features of stream b are
// broadcast over its BEV grid.
func v2xFusionModel(c fusionCfg) ([]byte, *fusionModel, error) {
	m := newWeights(c, false)
	g := onnxbuild.New("v2xfusion_shaped", 16)
	B := int64(c.Batch)
	i64 := func(name string, v ...int64) string { return g.Int64(name, nil, v) }
	var img string
	if c.Images {
		img = g.Input("images", onnx.Float, B, 3, int64(c.H), int64(c.W))
	}
	feats := g.Input("feats", onnx.Float, B, int64(c.V), int64(c.P), int64(c.F))
	coords := g.Input("coords", onnx.Int32, B, int64(c.V), 4)
	num := g.Input("N", onnx.Int32, B, 1)

	l := m.lidarBranch(g, feats, coords, c.Batch)
	l = g.Node("Reshape", []string{l, i64("feats_bv", B, int64(c.V), int64(c.Cl))})
	ar := make([]int64, c.V)
	for i := range ar {
		ar[i] = int64(i)
	}
	n64 := g.Node("Cast", []string{num}, onnxbuild.Int("to", int64(onnx.Int64)))
	mask := g.Node("Less", []string{g.Int64("arange", []int64{1, int64(c.V)}, ar), n64})
	mask = g.Node("Cast", []string{mask}, onnxbuild.Int("to", int64(onnx.Float)))
	mask = g.Node("Reshape", []string{mask, i64("mask_3d", B, int64(c.V), 1)})
	l = g.Node("Mul", []string{l, mask})
	idx := g.Node("Gather", []string{coords, i64("coord_byx", 0, 2, 3)}, onnxbuild.Int("axis", 2))
	zero := &onnx.Tensor{DataType: onnx.Float, Dims: []int64{1}, Floats: []float32{0}}
	canvas := g.Node("ConstantOfShape", []string{i64("canvas", B, int64(c.NY), int64(c.NX), int64(c.Cl))}, onnxbuild.TensorAttr("value", zero))
	l = g.Node("ScatterND", []string{canvas, idx, l}, onnxbuild.Str("reduction", "add"))
	l = g.Node("Transpose", []string{l}, onnxbuild.Ints("perm", 0, 3, 1, 2))
	cin := c.Cl
	if c.Images {
		x := m.cameraBranch(g, img)
		x = g.Node("Expand", []string{x, i64("cam_bev", B, int64(c.Cc), int64(c.NY), int64(c.NX))})
		l = g.Node("Concat", []string{l, x}, onnxbuild.Int("axis", 1))
		cin += c.Cc
	}
	m.head(g, l, cin, c.Batch)
	b, err := g.Build()
	return b, m, err
}

// The float64 reference, from the inputs as the datamap held them.

// refCamera is camera/stream i's pooled camera feature [Cc].
func (m *fusionModel) refCamera(img []float32, i int) []float64 {
	c := m.cfg
	s := c.Stride
	oh, ow := c.H/s, c.W/s
	plane := c.H * c.W
	base := img[i*3*plane:]
	out := make([]float64, c.Cc)
	for o := 0; o < c.Cc; o++ {
		sum := 0.0
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				v := float64(m.bc[o])
				for ch := 0; ch < 3; ch++ {
					for ky := 0; ky < s; ky++ {
						row := base[ch*plane+(y*s+ky)*c.W+x*s:]
						w := m.wc[((o*3+ch)*s+ky)*s:]
						for kx := 0; kx < s; kx++ {
							v += float64(w[kx]) * float64(row[kx])
						}
					}
				}
				sum += math.Max(v, 0)
			}
		}
		out[o] = sum / float64(oh*ow)
	}
	return out
}

// refLidarCell is the lidar BEV [Cl] at (y, x) of stream b: the sum over
// its voxels (among the first nvox) of ReLU(max over points of p·Wv).
func (m *fusionModel) refLidarCell(feats []float32, coords []int32, b, nvox, y, x int) []float64 {
	c := m.cfg
	out := make([]float64, c.Cl)
	for v := 0; v < nvox; v++ {
		co := coords[(b*c.V+v)*4:]
		if int(co[2]) != y || int(co[3]) != x {
			continue
		}
		for ch := 0; ch < c.Cl; ch++ {
			best := math.Inf(-1)
			for p := 0; p < c.P; p++ {
				pt := feats[((b*c.V+v)*c.P+p)*c.F:]
				d := 0.0
				for f := 0; f < c.F; f++ {
					d += float64(pt[f]) * float64(m.wv[f*c.Cl+ch])
				}
				best = math.Max(best, d)
			}
			out[ch] += math.Max(best, 0)
		}
	}
	return out
}

// refHeat is heatmap[k] at (y, x) from the fused BEV channels given per
// cell by cell(yy, xx).
func (m *fusionModel) refHeat(k, y, x, cin int, cell func(yy, xx int) []float64) float64 {
	c := m.cfg
	hk := float64(m.bh[k])
	for h := 0; h < c.Ch; h++ {
		v := float64(m.bf[h])
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				yy, xx := y+dy, x+dx
				if yy < 0 || yy >= c.NY || xx < 0 || xx >= c.NX {
					continue
				}
				f := cell(yy, xx)
				for ci := 0; ci < cin; ci++ {
					v += float64(m.wf[((h*cin+ci)*3+dy+1)*3+dx+1]) * f[ci]
				}
			}
		}
		hk += float64(m.wh[k*c.Ch+h]) * math.Max(v, 0)
	}
	return hk
}

// refEmbed is the BEVFusion model's Gemm embedding [Cg] of the pooled
// camera features and the matrices.
func (m *fusionModel) refEmbed(cam [][]float64, mats []float32) []float64 {
	c := m.cfg
	var in []float64
	for _, f := range cam {
		in = append(in, f...)
	}
	for _, v := range mats[:c.Batch*16] {
		in = append(in, float64(v))
	}
	out := make([]float64, c.Cg)
	for o := range out {
		v := float64(m.bg[o])
		for i, x := range in {
			v += float64(m.wg[o*len(in)+i]) * x
		}
		out[o] = math.Max(v, 0)
	}
	return out
}

// busiestCell returns the BEV cell of stream b (among the first nvox
// voxels) whose 3×3 neighbourhood holds the most voxels, so that the
// checked output depends on the lidar branch.
func busiestCell(coords []int32, V, b, nvox, ny, nx int) (y, x, n int) {
	count := map[[2]int]int{}
	for v := 0; v < nvox; v++ {
		co := coords[(b*V+v)*4:]
		for dy := -1; dy <= 1; dy++ {
			for dx := -1; dx <= 1; dx++ {
				yy, xx := int(co[2])+dy, int(co[3])+dx
				if yy >= 0 && yy < ny && xx >= 0 && xx < nx {
					count[[2]int{yy, xx}]++
				}
			}
		}
	}
	for k, c := range count {
		if c > n || (c == n && fmt.Sprint(k) < fmt.Sprint([2]int{y, x})) {
			y, x, n = k[0], k[1], c
		}
	}
	return y, x, n
}
