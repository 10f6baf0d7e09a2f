// Package imagetensor is the image_tensor ds3d filter, the role
// DeepStream's nvdspreprocess plays for ds3d's fusion samples: it turns N
// colour frames of a datamap (the cameras of one rig, or of one batch) into
// the single f32 camera tensor a fusion model takes — [1, N, 3, H, W]
// (BEVFusion's img) or [N, 3, H, W] (V2XFusion's images) — by a bilinear
// resize, a crop and per-channel mean/std normalisation in RGB or BGR order,
// and optionally writes the N cameras' 4×4 lidar→image matrices as one
// [1, N, 4, 4] f32 tensor (BEVFusion's lidar2image), with the resize and crop
// folded in so that the matrices map lidar points onto the tensor's pixels.
//
// # Geometry
//
// With resize_scale s > 0 the source W×H image is resized to
// Wr = ⌊W·s⌋ × Hr = ⌊H·s⌋ and the output is the window of width×height
// starting at crop = [x0, y0] of the resized image (CUDA-BEVFusion's
// 1600×900 → 768×432 → crop (32, 176) → 704×256 with s = 0.48; an empty
// crop takes that rule: x0 = (Wr − width)/2, y0 = Hr − height). With
// resize_scale 0 the image is stretched to width×height (Wr = width,
// Hr = height, no crop). Output pixel (x, y) samples the source at
// u = (x + x0 + 0.5)·W/Wr − 0.5, v = (y + y0 + 0.5)·H/Hr − 0.5 (half-pixel
// centres, clamped to the image as OpenCV's INTER_LINEAR does), the
// bilinear value is rounded to 8 bits (as OpenCV's cv2.resize on uint8 and
// CUDA-BEVFusion's kernel produce), then y = (v·pixel_scale − mean[c]) /
// std[c] through a 256-entry table per channel.
//
// The lidar→image matrix of camera i is F·K₄·E with K₄ the intrinsics
// padded to 4×4 and E the lidar→camera extrinsic: [u·d, v·d, d, 1] =
// K₄·E·[x, y, z, 1] gives pixel (u, v) at depth d. BEVFusion applies its
// img_aug_matrix A = [[Wr/W, 0, 0, −x0], [0, Hr/H, 0, −y0], [0, 0, 1, 0],
// [0, 0, 0, 1]] to (u, v, d, 1) after the division by d, so folding it into
// the homogeneous matrix moves the crop into the depth column:
// F = [[Wr/W, 0, −x0, 0], [0, Hr/H, −y0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
// (F = I without fold_augmentation). aug_matrices_key writes A itself.
// Matrices are computed in float64 and rounded to float32 once.
//
// Frames are pooled and the per-pixel tables are built at start: a datamap
// allocates nothing.
package imagetensor

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// KeyVideoPreprocessTensor is ds3d's key for the preprocessed camera
// tensor (its V2XFusion config reads imagesFrom: DS3D::VideoPreprocessTensor+0).
const KeyVideoPreprocessTensor ds3d.Key = "DS3D::VideoPreprocessTensor"

// KeyLidarToImageTensor is the default key of the [1, N, 4, 4] lidar→image
// matrices (ds3d has none; named after BEVFusion's lidar2image input).
const KeyLidarToImageTensor ds3d.Key = "DS3D::LidarToImageTensor"

// Config configures image_tensor.
type Config struct {
	InputKey         string   `toml:"input_datamap_key" doc:"base key of the colour frames: camera i is read from its Sensor(i) key (DS3D::ColorFrame+1 → DS3D::ColorFrame_i+1); used when input_datamap_keys is empty"`
	Cameras          int      `toml:"cameras" min:"1" max:"64" doc:"number of cameras N read through input_datamap_key"`
	InputKeys        []string `toml:"input_datamap_keys" len:"<=64" nonempty:"each" doc:"explicit keys of the N colour frames, in tensor order (overrides input_datamap_key/cameras)"`
	ds3d.OutputGroup `doc:"key of the f32 camera tensor"`
	Width            int       `toml:"width" min:"1" max:"16384" doc:"output width W of the tensor (BEVFusion 704)"`
	Height           int       `toml:"height" min:"1" max:"16384" doc:"output height H of the tensor (BEVFusion 256)"`
	ResizeScale      float64   `toml:"resize_scale" min:"0" max:"64" doc:"resize factor s before the crop (BEVFusion resize_lim 0.48: 1600×900 → 768×432); 0: stretch the image to width×height, no crop"`
	Crop             []int     `toml:"crop" len:"2" min:"0" doc:"[x0, y0] top-left of the width×height window in the resized image; empty: BEVFusion's ((Wr − width)/2, Hr − height)"`
	Mean             []float64 `toml:"mean" nonempty:"true" len:"3" finite:"true" doc:"per-channel mean subtracted after pixel_scale, in the tensor's channel order"`
	Std              []float64 `toml:"std" nonempty:"true" len:"3" finite:"true" nonzero:"true" doc:"per-channel standard deviation divided by, in the tensor's channel order"`
	PixelScale       float64   `toml:"pixel_scale" finite:"true" nonzero:"true" doc:"factor applied to the 8-bit value before the mean (1/255 for ImageNet statistics in [0, 1]; 1 for statistics in 0–255)"`
	ChannelOrder     string    `toml:"channel_order" enum:"RGB|BGR|rgb|bgr" doc:"RGB or BGR: channel order of the tensor"`
	BatchDim         bool      `toml:"batch_dim" doc:"true: [1, N, 3, H, W] (BEVFusion img); false: [N, 3, H, W] (V2XFusion images)"`
	MatricesKey      string    `toml:"camera_matrices_key" doc:"key of the [1, N, 4, 4] f32 lidar→image matrices ([N, 4, 4] without batch_dim); empty: not written"`
	IntrinsicsKey    string    `toml:"intrinsics_key" doc:"camera_matrices: base key of the ds3d.Intrinsics values (lidar_alignment_filter's DS3D::CamN_IntrinsicMatrix), read for calib_indices"`
	ExtrinsicsKey    string    `toml:"extrinsics_key" doc:"camera_matrices: base key of the lidar→camera ds3d.Mat4 values (DS3D::LidarToCamN_ExtrinsicMatrix)"`
	CalibIndices     []int     `toml:"calib_indices" min:"0" doc:"camera_matrices: calibration index (the N of DS3D::CamN_…) of each tensor camera; empty: 0 … N−1"`
	FoldAugment      bool      `toml:"fold_augmentation" doc:"camera_matrices: fold the resize and crop into the matrices (they then map lidar points to tensor pixels); false: BEVFusion's lidar2image of the original image"`
	AugMatricesKey   string    `toml:"aug_matrices_key" doc:"key of the [1, N, 4, 4] f32 resize/crop matrices alone (BEVFusion img_aug_matrix); empty: not written"`
	ds3d.PoolGroup   `doc:"output tensors in flight before the filter waits for one to come back"`
}

func defaultConfig() *Config {
	return &Config{
		InputKey: string(ds3d.KeyColorFrame), Cameras: 6, OutputGroup: ds3d.OutputGroup{OutputKey: string(KeyVideoPreprocessTensor)},
		Width: 704, Height: 256, ResizeScale: 0.48,
		Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}, PixelScale: 1.0 / 255,
		ChannelOrder: "RGB", BatchDim: true,
		IntrinsicsKey: string(ds3d.KeyCamIntrinsicMatrix), ExtrinsicsKey: string(ds3d.KeyLidarToCamExtrinsic),
		FoldAugment: true, PoolGroup: ds3d.PoolGroup{MemPoolSize: 4},
	}
}

// keys returns the N input keys.
func (c *Config) keys() []ds3d.Key {
	var out []ds3d.Key
	if len(c.InputKeys) > 0 {
		for _, k := range c.InputKeys {
			out = append(out, ds3d.Key(k))
		}
		return out
	}
	for i := 0; i < c.Cameras; i++ {
		out = append(out, ds3d.Key(c.InputKey).Sensor(i))
	}
	return out
}

// Validate checks the rules that tie keys together (the tags check each
// key alone).
func (c *Config) Validate() error {
	switch {
	case len(c.InputKeys) == 0 && c.InputKey == "":
		return ds3d.ConfigErrorf("input_datamap_key", "give input_datamap_key or input_datamap_keys")
	case len(c.Crop) == 2 && c.ResizeScale == 0:
		return ds3d.ConfigErrorf("crop", "needs resize_scale > 0 (resize_scale 0 stretches without a crop)")
	}
	if c.MatricesKey != "" {
		n := len(c.keys())
		switch {
		case c.IntrinsicsKey == "" || c.ExtrinsicsKey == "":
			return ds3d.ConfigErrorf("intrinsics_key", "camera_matrices_key needs intrinsics_key and extrinsics_key")
		case len(c.CalibIndices) != 0 && len(c.CalibIndices) != n:
			return ds3d.ConfigErrorf("calib_indices", "has %d entries for %d cameras", len(c.CalibIndices), n)
		}
	}
	return nil
}

// Geometry is the resize and crop of one source image size.
type Geometry struct {
	SrcW, SrcH int // source image
	ResW, ResH int // resized image (Wr, Hr)
	X0, Y0     int // crop origin in the resized image
	W, H       int // output
}

// NewGeometry computes the resize and crop for a srcW×srcH image: scale 0
// stretches to w×h; crop nil takes BEVFusion's rule. It fails when the
// window leaves the resized image.
func NewGeometry(srcW, srcH, w, h int, scale float64, crop []int) (Geometry, error) {
	g := Geometry{SrcW: srcW, SrcH: srcH, W: w, H: h, ResW: w, ResH: h}
	if srcW < 1 || srcH < 1 {
		return g, fmt.Errorf("image %d×%d is empty", srcW, srcH)
	}
	if scale > 0 {
		// 1e-9 absorbs 0.48·1600 = 767.9999… in binary
		g.ResW, g.ResH = int(math.Floor(float64(srcW)*scale+1e-9)), int(math.Floor(float64(srcH)*scale+1e-9))
		if len(crop) == 2 {
			g.X0, g.Y0 = crop[0], crop[1]
		} else {
			g.X0, g.Y0 = (g.ResW-w)/2, g.ResH-h
		}
	}
	if g.ResW < 1 || g.ResH < 1 || g.X0 < 0 || g.Y0 < 0 || g.X0+w > g.ResW || g.Y0+h > g.ResH {
		return g, fmt.Errorf("the %d×%d window at (%d, %d) does not fit the %d×%d image resized to %d×%d",
			w, h, g.X0, g.Y0, srcW, srcH, g.ResW, g.ResH)
	}
	return g, nil
}

// Aug is the 4×4 transform of the resize and crop on (u, v, depth, 1)
// after the perspective division (BEVFusion's img_aug_matrix): source pixel
// → output pixel.
func (g Geometry) Aug() ds3d.Mat4 {
	a := ds3d.Identity4
	a[0] = float64(g.ResW) / float64(g.SrcW)
	a[5] = float64(g.ResH) / float64(g.SrcH)
	a[3], a[7] = -float64(g.X0), -float64(g.Y0)
	return a
}

// Fold is Aug for homogeneous image points (u·d, v·d, d, 1), before the
// division: the crop scales with the depth.
func (g Geometry) Fold() ds3d.Mat4 {
	a := g.Aug()
	a[2], a[6] = a[3], a[7]
	a[3], a[7] = 0, 0
	return a
}

// taps are the precomputed bilinear taps along one axis.
type taps struct {
	i0, i1 []int32   // source indices
	w      []float32 // weight of i1
}

func makeTaps(n, off, src, res int) taps {
	t := taps{i0: make([]int32, n), i1: make([]int32, n), w: make([]float32, n)}
	s := float64(src) / float64(res)
	for x := 0; x < n; x++ {
		f := (float64(x+off)+0.5)*s - 0.5
		f = math.Max(0, math.Min(f, float64(src-1)))
		i := int(f)
		t.i0[x], t.i1[x] = int32(i), int32(min(i+1, src-1))
		t.w[x] = float32(f - float64(i))
	}
	return t
}

// camState is the sampling plan of one camera, rebuilt when its size changes.
type camState struct {
	key        ds3d.Key
	geo        Geometry
	tx, ty     taps
	kIntr, kEx ds3d.Key
}

// Filter is the image_tensor component.
type Filter struct {
	c         Config
	cams      []camState
	lut       [3][256]float32 // per tensor channel
	srcCh     [3]int          // source channel (0 R, 1 G, 2 B) of each tensor channel
	pool      *ds3d.FramePool
	mats      *ds3d.FramePool
	augs      *ds3d.FramePool
	out, mKey ds3d.Key
	aKey      ds3d.Key
	row       [3][]float32 // one interpolated row per channel
}

// New builds image_tensor from a validated config.
func New(c *Config) (*Filter, error) {
	f := &Filter{c: *c, out: ds3d.Key(c.OutputKey), mKey: ds3d.Key(c.MatricesKey), aKey: ds3d.Key(c.AugMatricesKey)}
	f.srcCh = [3]int{0, 1, 2}
	if strings.ToUpper(c.ChannelOrder) == "BGR" {
		f.srcCh = [3]int{2, 1, 0}
	}
	for ch := 0; ch < 3; ch++ {
		for v := 0; v < 256; v++ {
			f.lut[ch][v] = float32((float64(v)*c.PixelScale - c.Mean[ch]) / c.Std[ch])
		}
		f.row[ch] = make([]float32, c.Width)
	}
	keys := c.keys()
	for i, k := range keys {
		idx := i
		if len(c.CalibIndices) > 0 {
			idx = c.CalibIndices[i]
		}
		f.cams = append(f.cams, camState{key: k,
			kIntr: ds3d.Key(c.IntrinsicsKey).Sensor(idx), kEx: ds3d.Key(c.ExtrinsicsKey).Sensor(idx)})
	}
	n := len(keys)
	shape := []int{n, 3, c.Height, c.Width}
	mshape := []int{n, 4, 4}
	if c.BatchDim {
		shape = append([]int{1}, shape...)
		mshape = append([]int{1}, mshape...)
	}
	var err error
	if f.pool, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, shape...) }); err != nil {
		return nil, err
	}
	if c.MatricesKey != "" {
		if f.mats, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, mshape...) }); err != nil {
			return nil, err
		}
	}
	if c.AugMatricesKey != "" {
		if f.augs, err = ds3d.NewFramePool(c.MemPoolSize, func() *ds3d.Frame { return ds3d.NewTensorFrame(ds3d.DTypeF32, mshape...) }); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// plan (re)builds camera i's taps for a srcW×srcH image.
func (f *Filter) plan(i, srcW, srcH int) error {
	cs := &f.cams[i]
	if cs.geo.SrcW == srcW && cs.geo.SrcH == srcH && cs.tx.w != nil {
		return nil
	}
	g, err := NewGeometry(srcW, srcH, f.c.Width, f.c.Height, f.c.ResizeScale, f.c.Crop)
	if err != nil {
		return err
	}
	cs.geo = g
	cs.tx = makeTaps(g.W, g.X0, g.SrcW, g.ResW)
	cs.ty = makeTaps(g.H, g.Y0, g.SrcH, g.ResH)
	return nil
}

// Geometry returns camera i's resize and crop as last planned (zero before
// its first frame).
func (f *Filter) Geometry(i int) Geometry { return f.cams[i].geo }

// Process writes the camera tensor (and the matrices) of one datamap.
func (f *Filter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	out, err := f.pool.Get(ctx)
	if err != nil {
		return err
	}
	dst := ds3d.AsFloat32(out)
	plane := f.c.Width * f.c.Height
	for i := range f.cams {
		cs := &f.cams[i]
		fr, err := m.Frame(cs.key)
		if err != nil {
			out.Release()
			return fmt.Errorf("camera %d: %w", i, err)
		}
		if err := checkImage(fr); err != nil {
			out.Release()
			return fmt.Errorf("camera %d (%s): %w", i, cs.key, err)
		}
		if err := f.plan(i, fr.Plane.Width, fr.Plane.Height); err != nil {
			out.Release()
			return fmt.Errorf("camera %d (%s): %w", i, cs.key, err)
		}
		f.convert(dst[i*3*plane:(i+1)*3*plane], fr, cs)
	}
	if f.mats != nil || f.augs != nil {
		if err := f.matrices(ctx, m); err != nil {
			out.Release()
			return err
		}
	}
	m.SetFrame(f.out, out)
	return emit(m)
}

func checkImage(fr *ds3d.Frame) error {
	p := fr.Plane
	switch {
	case fr.Mem != ds3d.MemCPU:
		return fmt.Errorf("frame is in %s memory; image_tensor reads CPU frames", fr.Mem)
	case fr.DType != ds3d.DTypeU8 || (fr.Type != ds3d.FrameColorRGB && fr.Type != ds3d.FrameColorRGBA):
		return fmt.Errorf("frame is %s %s, want an 8-bit rgb or rgba image", fr.Type, fr.DType)
	case p.Width < 1 || p.Height < 1 || p.BytesPerPixel < 3 || p.Pitch < p.Width*p.BytesPerPixel || len(fr.Data) < p.Pitch*(p.Height-1)+p.Width*p.BytesPerPixel:
		return fmt.Errorf("image plane %+v does not fit its %d bytes", p, len(fr.Data))
	}
	return nil
}

// convert resamples one camera into its [3, H, W] slice of the tensor.
func (f *Filter) convert(dst []float32, fr *ds3d.Frame, cs *camState) {
	W, H := f.c.Width, f.c.Height
	plane := W * H
	pix := fr.Data
	pitch, bpp := fr.Plane.Pitch, fr.Plane.BytesPerPixel
	tx, ty := &cs.tx, &cs.ty
	for y := 0; y < H; y++ {
		r0 := pix[int(ty.i0[y])*pitch:]
		r1 := pix[int(ty.i1[y])*pitch:]
		wy := ty.w[y]
		for ch := 0; ch < 3; ch++ {
			sc := f.srcCh[ch]
			lut := &f.lut[ch]
			o := dst[ch*plane+y*W : ch*plane+(y+1)*W]
			for x := range o {
				a, b := int(tx.i0[x])*bpp+sc, int(tx.i1[x])*bpp+sc
				wx := tx.w[x]
				top := float32(r0[a]) + wx*(float32(r0[b])-float32(r0[a]))
				bot := float32(r1[a]) + wx*(float32(r1[b])-float32(r1[a]))
				v := top + wy*(bot-top)
				o[x] = lut[uint8(v+0.5)] // v ∈ [0, 255]: +0.5 and truncation round half up
			}
		}
	}
}

// matrices writes the lidar→image (and augmentation) matrices of the
// cameras planned by this datamap's frames.
func (f *Filter) matrices(ctx context.Context, m *ds3d.DataMap) error {
	var mf, af *ds3d.Frame
	var err error
	release := func() {
		if mf != nil {
			mf.Release()
		}
		if af != nil {
			af.Release()
		}
	}
	if f.mats != nil {
		if mf, err = f.mats.Get(ctx); err != nil {
			return err
		}
	}
	if f.augs != nil {
		if af, err = f.augs.Get(ctx); err != nil {
			release()
			return err
		}
	}
	for i := range f.cams {
		cs := &f.cams[i]
		aug := cs.geo.Aug()
		if af != nil {
			put(ds3d.AsFloat32(af)[16*i:], aug)
		}
		if mf == nil {
			continue
		}
		in, err := ds3d.Get[ds3d.Intrinsics](m, cs.kIntr)
		if err != nil {
			release()
			return fmt.Errorf("camera_matrices of camera %d: %w", i, err)
		}
		ex, err := ds3d.Get[ds3d.Mat4](m, cs.kEx)
		if err != nil {
			release()
			return fmt.Errorf("camera_matrices of camera %d: %w", i, err)
		}
		p := LidarToImage(in, ex)
		if f.c.FoldAugment {
			p = cs.geo.Fold().Mul(p)
		}
		put(ds3d.AsFloat32(mf)[16*i:], p)
	}
	if mf != nil {
		m.SetFrame(f.mKey, mf)
	}
	if af != nil {
		m.SetFrame(f.aKey, af)
	}
	return nil
}

func put(dst []float32, m ds3d.Mat4) {
	for j, v := range m {
		dst[j] = float32(v)
	}
}

// LidarToImage is K₄·E: the intrinsics padded to 4×4 times the lidar→camera
// extrinsic (BEVFusion's lidar2image = camera_intrinsics · lidar2camera).
func LidarToImage(in ds3d.Intrinsics, ex ds3d.Mat4) ds3d.Mat4 {
	k := ds3d.Mat4{in.Fx, in.Skew, in.Cx, 0, 0, in.Fy, in.Cy, 0, 0, 0, 1, 0, 0, 0, 0, 1}
	return k.Mul(ex)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "image_tensor",
		`Camera tensor preprocessing (nvdspreprocess for ds3d fusion models): N colour frames → one f32 tensor [1, N, 3, H, W] or [N, 3, H, W] by bilinear resize + crop (BEVFusion resize_lim/crop) and per-channel (v·pixel_scale − mean)/std in RGB or BGR; optionally the N lidar→image 4×4 matrices (K·[R|t], resize/crop folded in) as [1, N, 4, 4] from DS3D::CamN_IntrinsicMatrix / DS3D::LidarToCamN_ExtrinsicMatrix.`,
		defaultConfig,
		func(c *Config, _ *ds3d.Env) (any, error) { return New(c) })
}

// PoolStats reports the tensor pool and, when made, the matrix and
// augmentation pools (for the metrics).
func (f *Filter) PoolStats() []ds3d.PoolStat {
	out := []ds3d.PoolStat{f.pool.Stat(string(f.out))}
	if f.mats != nil {
		out = append(out, f.mats.Stat(string(f.mKey)))
	}
	if f.augs != nil {
		out = append(out, f.augs.Stat(string(f.aKey)))
	}
	return out
}
