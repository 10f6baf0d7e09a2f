package onnxbuild

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// PointPillarsConfig sizes a PointPillars-architecture model (OpenPCDet's
// tools/cfgs/kitti_models/pointpillar.yaml by default). The weights are
// random (seeded): the model is for testing loaders, engines and
// pipelines, not for detecting anything.
type PointPillarsConfig struct {
	MaxPillars  int // P: pillars per frame (input rows; OpenPCDet MAX_NUMBER_OF_VOXELS)
	MaxPoints   int // points per pillar (MAX_POINTS_PER_VOXEL)
	Features    int // per-point features (PillarVFE: 10)
	NX, NY      int // pillar grid (KITTI: 432 × 496)
	PFNChannels int // PillarVFE NUM_FILTERS (64)

	LayerNums, LayerStrides, Filters [3]int // BACKBONE_2D blocks
	UpStrides, UpFilters             [3]int // BACKBONE_2D deblocks

	Classes, RotationsPerClass, DirBins int // AnchorHeadSingle: 3 classes × 2 rotations, 2 direction bins

	// SpatialOutput also exposes the scattered BEV canvas [1, C, NY, NX]
	// as the output "spatial_features" (for tests of the scatter).
	SpatialOutput bool
	Seed          uint64
}

// DefaultPointPillars is OpenPCDet's KITTI PointPillars: 12000 pillars of
// ≤ 32 points × 10 features on a 432×496 grid, PFN 10→64, backbone blocks
// [3, 5, 5] convs with strides [2, 2, 2] and [64, 128, 256] filters,
// deblocks with strides [1, 2, 4] to 128 channels each (384 concatenated),
// and a head of 3 classes × 2 rotations with 2 direction bins.
func DefaultPointPillars() PointPillarsConfig {
	return PointPillarsConfig{
		MaxPillars: 12000, MaxPoints: 32, Features: 10, NX: 432, NY: 496, PFNChannels: 64,
		LayerNums: [3]int{3, 5, 5}, LayerStrides: [3]int{2, 2, 2}, Filters: [3]int{64, 128, 256},
		UpStrides: [3]int{1, 2, 4}, UpFilters: [3]int{128, 128, 128},
		Classes: 3, RotationsPerClass: 2, DirBins: 2, Seed: 1,
	}
}

// HeadSize returns the head's feature map (NY/stride × NX/stride) and the
// channels of the three outputs.
func (c PointPillarsConfig) HeadSize() (ny, nx, cls, box, dir int) {
	s := c.LayerStrides[0] / c.UpStrides[0]
	a := c.Classes * c.RotationsPerClass
	return c.NY / s, c.NX / s, a * c.Classes, a * 7, a * c.DirBins
}

// PointPillars builds a PointPillars-architecture ONNX model (opset 13)
// with seeded random weights:
//
//	inputs   voxels        float32 [P, MaxPoints, Features]  pillar_scatter_prep's features
//	         voxel_coords  int64   [P, 4]  (batch, z, y, x), OpenPCDet's voxel_coords
//	PFN      Transpose → [1, F, MaxPoints, P], 1×1 Conv F→C (the Linear) +
//	         BatchNorm + ReLU, MaxPool over the points → [P, C]
//	scatter  ScatterND of the pillar features into a zero canvas
//	         [1, NY+1, NX, C] at (batch, y, x), Slice to NY rows, Transpose
//	         → [1, C, NY, NX]. Rows past the real pillars are padding: give
//	         them y = NY, the extra row that the Slice drops.
//	backbone OpenPCDet BaseBEVBackbone: per block a 3×3 stride-s Conv then
//	         LayerNums 3×3 Convs (each + BatchNorm + ReLU); per block a
//	         ConvTranspose (kernel = stride = UpStride) + BatchNorm + ReLU;
//	         Concat of the three.
//	head     1×1 Convs to cls_preds, box_preds, dir_cls_preds, each
//	         transposed to NHWC as OpenPCDet's AnchorHeadSingle does:
//	         [1, NY/2, NX/2, A·Classes], [1, …, A·7], [1, …, A·DirBins]
//	         with A = Classes·RotationsPerClass (KITTI: 18, 42, 12 channels
//	         on 248×216), the layout filters/postprocess.AnchorHead decodes.
//
// Initializer names follow OpenPCDet's state dict (vfe.pfn_layers.0.linear.weight,
// backbone_2d.blocks.0.1.weight, dense_head.conv_cls.bias, …).
func PointPillars(cfg PointPillarsConfig) ([]byte, error) {
	m, err := PointPillarsModel(cfg)
	if err != nil {
		return nil, err
	}
	return onnx.Encode(m)
}

// PointPillarsModel is PointPillars without the encoding step.
func PointPillarsModel(cfg PointPillarsConfig) (*onnx.Model, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	b := &ppBuilder{g: New("pointpillars", 13), rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed))}
	g := b.g
	P, T, F, C := int64(cfg.MaxPillars), int64(cfg.MaxPoints), int64(cfg.Features), int64(cfg.PFNChannels)
	NX, NY := int64(cfg.NX), int64(cfg.NY)
	vox := g.Input("voxels", onnx.Float, P, T, F)
	coords := g.Input("voxel_coords", onnx.Int64, P, 4)

	// PFN: the Linear as a 1×1 convolution over [1, F, T, P] (points
	// along H so that the max runs over whole contiguous rows)
	x := g.Node("Transpose", []string{vox}, Ints("perm", 2, 1, 0))
	x = g.Node("Reshape", []string{x, g.Int64("pfn_in_shape", nil, []int64{1, F, T, P})})
	x = b.convBNReLU("vfe.pfn_layers.0", x, int(F), int(C), 1, 1, 0, true)
	x = g.Node("MaxPool", []string{x}, Ints("kernel_shape", T, 1))
	x = g.Node("Reshape", []string{x, g.Int64("pfn_out_shape", nil, []int64{C, P})})
	pillars := g.Node("Transpose", []string{x}, Ints("perm", 1, 0))

	// scatter to the BEV canvas
	idx := g.Node("Gather", []string{coords, g.Int64("coord_byx", nil, []int64{0, 2, 3})}, Int("axis", 1))
	zero := &onnx.Tensor{DataType: onnx.Float, Dims: []int64{1}, Floats: []float32{0}}
	canvas := g.Node("ConstantOfShape", []string{g.Int64("canvas_shape", nil, []int64{1, NY + 1, NX, C})}, TensorAttr("value", zero))
	x = g.Node("ScatterND", []string{canvas, idx, pillars})
	x = g.Node("Slice", []string{x, g.Int64("crop_start", nil, []int64{0}), g.Int64("crop_end", nil, []int64{NY}), g.Int64("crop_axis", nil, []int64{1})})
	spatial := "spatial_features"
	g.NodeOut("Transpose", []string{x}, []string{spatial}, Ints("perm", 0, 3, 1, 2))

	// backbone
	x = spatial
	in := int(C)
	var ups []string
	for i := 0; i < 3; i++ {
		p := fmt.Sprintf("backbone_2d.blocks.%d", i)
		x = b.convBNReLU(p+".1", x, in, cfg.Filters[i], 3, cfg.LayerStrides[i], 1, false)
		for j := 0; j < cfg.LayerNums[i]; j++ {
			x = b.convBNReLU(fmt.Sprintf("%s.%d", p, 4+3*j), x, cfg.Filters[i], cfg.Filters[i], 3, 1, 1, false)
		}
		in = cfg.Filters[i]
		ups = append(ups, b.deconvBNReLU(fmt.Sprintf("backbone_2d.deblocks.%d", i), x, in, cfg.UpFilters[i], cfg.UpStrides[i]))
	}
	feat := g.Node("Concat", ups, Int("axis", 1))
	up := cfg.UpFilters[0] + cfg.UpFilters[1] + cfg.UpFilters[2]

	// head
	hy, hx, nc, nb, nd := cfg.HeadSize()
	prior := float32(-math.Log((1 - 0.01) / 0.01)) // OpenPCDet's conv_cls bias init
	for _, h := range []struct {
		name, out string
		ch        int
		bias      float32
	}{{"dense_head.conv_cls", "cls_preds", nc, prior}, {"dense_head.conv_box", "box_preds", nb, 0}, {"dense_head.conv_dir_cls", "dir_cls_preds", nd, 0}} {
		w := g.Float(h.name+".weight", []int64{int64(h.ch), int64(up), 1, 1}, b.uniform(h.ch*up, 1/math.Sqrt(float64(up))))
		bias := make([]float32, h.ch)
		for i := range bias {
			bias[i] = h.bias + float32(b.rng.Float64()*0.2-0.1)
		}
		y := g.Node("Conv", []string{feat, w, g.Float(h.name+".bias", []int64{int64(h.ch)}, bias)}, Ints("kernel_shape", 1, 1))
		g.NodeOut("Transpose", []string{y}, []string{h.out}, Ints("perm", 0, 2, 3, 1))
		g.Output(h.out, onnx.Float, 1, int64(hy), int64(hx), int64(h.ch))
	}
	if cfg.SpatialOutput {
		g.Output(spatial, onnx.Float, 1, C, NY, NX)
	}
	return g.Model()
}

func (c PointPillarsConfig) check() error {
	pos := []int{c.MaxPillars, c.MaxPoints, c.Features, c.NX, c.NY, c.PFNChannels, c.Classes, c.RotationsPerClass, c.DirBins}
	for i := 0; i < 3; i++ {
		pos = append(pos, c.LayerNums[i]+1, c.LayerStrides[i], c.Filters[i], c.UpStrides[i], c.UpFilters[i])
	}
	for _, v := range pos {
		if v <= 0 {
			return fmt.Errorf("onnxbuild: PointPillars config %+v: sizes must be positive", c)
		}
	}
	s := 1
	var heads [3]int
	for i := 0; i < 3; i++ {
		s *= c.LayerStrides[i]
		if c.NX%s != 0 || c.NY%s != 0 || s%c.UpStrides[i] != 0 {
			return fmt.Errorf("onnxbuild: PointPillars grid %d×%d does not divide into block %d's stride %d and upsample %d", c.NX, c.NY, i, s, c.UpStrides[i])
		}
		heads[i] = s / c.UpStrides[i]
	}
	if heads[0] != heads[1] || heads[1] != heads[2] {
		return fmt.Errorf("onnxbuild: PointPillars deblocks end at strides %v; they must agree", heads)
	}
	return nil
}

type ppBuilder struct {
	g   *Graph
	rng *rand.Rand
}

// uniform draws n weights in (−a, a).
func (b *ppBuilder) uniform(n int, a float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32((2*b.rng.Float64() - 1) * a)
	}
	return w
}

// bn adds a BatchNormalization with random but well-conditioned statistics
// (scale ∈ [0.5, 1.5), var ∈ [0.5, 1.5), mean and shift ∈ [−0.1, 0.1)).
func (b *ppBuilder) bn(prefix, x string, ch int) string {
	g := b.g
	p := func(name string, lo, hi float64) string {
		v := make([]float32, ch)
		for i := range v {
			v[i] = float32(lo + (hi-lo)*b.rng.Float64())
		}
		return g.Float(prefix+"."+name, []int64{int64(ch)}, v)
	}
	return g.Node("BatchNormalization", []string{x, p("weight", 0.5, 1.5), p("bias", -0.1, 0.1), p("running_mean", -0.1, 0.1), p("running_var", 0.5, 1.5)},
		F("epsilon", 1e-3))
}

// convBNReLU adds Conv (He-uniform weights, no bias) + BatchNorm + ReLU.
// pfn names the parameters as PillarVFE does (linear, norm).
func (b *ppBuilder) convBNReLU(prefix, x string, in, out, k, stride, pad int, pfn bool) string {
	wName, bnName := prefix+".weight", fmt.Sprintf("%s.bn", prefix)
	if pfn {
		wName, bnName = prefix+".linear.weight", prefix+".norm"
	}
	fan := in * k * k
	w := b.g.Float(wName, []int64{int64(out), int64(in), int64(k), int64(k)}, b.uniform(out*fan, math.Sqrt(6/float64(fan))))
	y := b.g.Node("Conv", []string{x, w}, Ints("kernel_shape", int64(k), int64(k)), Ints("strides", int64(stride), int64(stride)),
		Ints("pads", int64(pad), int64(pad), int64(pad), int64(pad)))
	return b.g.Node("Relu", []string{b.bn(bnName, y, out)})
}

// deconvBNReLU adds ConvTranspose (kernel = stride) + BatchNorm + ReLU.
func (b *ppBuilder) deconvBNReLU(prefix, x string, in, out, stride int) string {
	s := int64(stride)
	fan := in
	w := b.g.Float(prefix+".0.weight", []int64{int64(in), int64(out), s, s}, b.uniform(in*out*stride*stride, math.Sqrt(6/float64(fan))))
	y := b.g.Node("ConvTranspose", []string{x, w}, Ints("kernel_shape", s, s), Ints("strides", s, s))
	return b.g.Node("Relu", []string{b.bn(prefix+".1", y, out)})
}
