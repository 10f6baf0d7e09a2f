package postprocess

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// AnchorClass is one class of an anchor head: OpenPCDet's ANCHOR_GENERATOR_CONFIG
// entry with one anchor size and one bottom height (the KITTI configs).
type AnchorClass struct {
	Name string
	// Size is the anchor's (length dx, width dy, height dz) in metres.
	Size [3]float32
	// Rotations are the anchor headings in radians (OpenPCDet: [0, 1.57]).
	Rotations []float32
	// BottomHeight is the z of the anchor's bottom face; its centre is at
	// BottomHeight + Size[2]/2.
	BottomHeight float32
}

// AnchorHead decodes the three output tensors of a PointPillars / SECOND
// anchor head (OpenPCDet AnchorHeadSingle, pcdet/models/dense_heads/
// anchor_head_single.py with ResidualCoder and AnchorGenerator) into boxes.
//
// Anchors (pcdet/models/dense_heads/target_assigner/anchor_generator.py):
// the feature map has NX×NY cells over Range's x and y. Without
// AlignCenter, the anchor centres of column i and row j are
//
//	x_i = x0 + i·(x1 − x0)/(NX − 1),  y_j = y0 + j·(y1 − y0)/(NY − 1)
//
// (the first and last centres on the range border); with AlignCenter they
// are x0 + (i + ½)·(x1 − x0)/NX (and likewise y). z = BottomHeight +
// dz/2. Each cell holds A = Σ_class len(Rotations) anchors, class-major then
// rotation: anchor a of cell (j, i) has flat index (j·NX + i)·A + a.
//
// Tensors are channels-last (NHWC, batch 1; OpenPCDet permutes the conv
// outputs to this layout, as CUDA-PointPillars' ONNX export does):
//
//	cls [NY, NX, A·C]  logits, C = len(Classes); sigmoid gives the scores
//	box [NY, NX, A·7]  residuals (xt, yt, zt, dxt, dyt, dzt, rt)
//	dir [NY, NX, A·B]  direction-bin logits, B = NumDirBins (may be nil)
//
// ResidualCoder (pcdet/utils/box_coder_utils.py, encode_angle_by_sincos
// off), for anchor (xa, ya, za, dxa, dya, dza, ra) and d = √(dxa² + dya²):
//
//	x = xt·d + xa   y = yt·d + ya   z = zt·dza + za
//	dx = exp(dxt)·dxa   dy = exp(dyt)·dya   dz = exp(dzt)·dza   r = rt + ra
//
// Direction classifier (anchor_head_template.py generate_predicted_boxes):
// with period p = 2π/B and bin b = argmax of the direction logits (the
// first on ties),
//
//	yaw = limit_period(r − DirOffset, DirLimitOffset, p) + DirOffset + p·b
//	limit_period(v, o, p) = v − floor(v/p + o)·p
//
// and the result is wrapped to [−π, π) (OpenPCDet leaves it unwrapped).
// OpenPCDet's box frame is ds3d's lidar frame (x forward, y left, z up,
// z at the centre, yaw counter-clockwise from +x), so boxes need no
// conversion. The score of an anchor is the sigmoid of its largest class
// logit and ClassID its index in Classes (OpenPCDet's label − 1), as in
// post_processing with MULTI_CLASSES_NMS off.
type AnchorHead struct {
	// Range is the anchor range (x0, y0, z0, x1, y1, z1): OpenPCDet's
	// POINT_CLOUD_RANGE.
	Range [6]float32
	// NX, NY is the feature map size: the voxel grid over the feature
	// map stride (KITTI PointPillars: 432×496 / 2 = 216×248).
	NX, NY int
	// Classes in the order of the class logits.
	Classes []AnchorClass
	// AlignCenter puts the anchors at the cell centres (see above).
	AlignCenter bool
	// DirOffset, DirLimitOffset and NumDirBins are OpenPCDet's DIR_OFFSET
	// (0.78539), DIR_LIMIT_OFFSET (0.0) and NUM_DIR_BINS (2). NumDirBins 0
	// means no direction classifier (yaw = r).
	DirOffset, DirLimitOffset float32
	NumDirBins                int

	anchors []float32 // [NY·NX·A, 7], made by Anchors
}

// KITTIPointPillars returns the head of OpenPCDet's
// tools/cfgs/kitti_models/pointpillar.yaml: range [0, −39.68, −3, 69.12,
// 39.68, 1], 216×248 feature map, Car 3.9×1.6×1.56 at −1.78, Pedestrian
// 0.8×0.6×1.73 at −0.6, Cyclist 1.76×0.6×1.73 at −0.6, rotations 0 and
// 1.57, direction offset 0.78539 with 2 bins.
func KITTIPointPillars() *AnchorHead {
	rot := []float32{0, 1.57}
	return &AnchorHead{
		Range: [6]float32{0, -39.68, -3, 69.12, 39.68, 1},
		NX:    216, NY: 248,
		Classes: []AnchorClass{
			{Name: "Car", Size: [3]float32{3.9, 1.6, 1.56}, Rotations: rot, BottomHeight: -1.78},
			{Name: "Pedestrian", Size: [3]float32{0.8, 0.6, 1.73}, Rotations: rot, BottomHeight: -0.6},
			{Name: "Cyclist", Size: [3]float32{1.76, 0.6, 1.73}, Rotations: rot, BottomHeight: -0.6},
		},
		DirOffset: 0.78539, NumDirBins: 2,
	}
}

// PerCell returns A, the number of anchors per feature-map cell.
func (h *AnchorHead) PerCell() int {
	a := 0
	for _, c := range h.Classes {
		a += len(c.Rotations)
	}
	return a
}

// Check validates the head's shape.
func (h *AnchorHead) Check() error {
	switch {
	case h.NX < 2 || h.NY < 2:
		return fmt.Errorf("anchor head: feature map %d×%d, need at least 2×2", h.NX, h.NY)
	case len(h.Classes) == 0 || h.PerCell() == 0:
		return fmt.Errorf("anchor head: no classes or no rotations")
	case h.NumDirBins < 0:
		return fmt.Errorf("anchor head: %d direction bins", h.NumDirBins)
	case !(h.Range[3] > h.Range[0]) || !(h.Range[4] > h.Range[1]):
		return fmt.Errorf("anchor head: empty range %v", h.Range)
	}
	return nil
}

// Anchors returns the anchors as [NY·NX·A, 7] float32 (x, y, z, dx, dy, dz,
// r), made once (the layout and centres of the AnchorHead doc; centres are
// computed in float64 and rounded to float32).
func (h *AnchorHead) Anchors() []float32 {
	A := h.PerCell()
	if len(h.anchors) == h.NX*h.NY*A*7 {
		return h.anchors
	}
	x0, y0 := float64(h.Range[0]), float64(h.Range[1])
	sx := (float64(h.Range[3]) - x0) / float64(h.NX-1)
	sy := (float64(h.Range[4]) - y0) / float64(h.NY-1)
	ox, oy := 0.0, 0.0
	if h.AlignCenter {
		sx = (float64(h.Range[3]) - x0) / float64(h.NX)
		sy = (float64(h.Range[4]) - y0) / float64(h.NY)
		ox, oy = sx/2, sy/2
	}
	out := make([]float32, 0, h.NX*h.NY*A*7)
	for j := 0; j < h.NY; j++ {
		y := float32(y0 + oy + float64(j)*sy)
		for i := 0; i < h.NX; i++ {
			x := float32(x0 + ox + float64(i)*sx)
			for _, c := range h.Classes {
				z := c.BottomHeight + c.Size[2]/2
				for _, r := range c.Rotations {
					out = append(out, x, y, z, c.Size[0], c.Size[1], c.Size[2], r)
				}
			}
		}
	}
	h.anchors = out
	return out
}

// EncodeResidual is ResidualCoder.encode_torch: the residuals that decode
// to box b on anchor a (both x, y, z, dx, dy, dz, r). It is the inverse of
// DecodeResidual (up to float32 rounding) and serves tests and training
// targets.
func EncodeResidual(b, a [7]float32) [7]float32 {
	d := math.Hypot(float64(a[3]), float64(a[4]))
	return [7]float32{
		float32((float64(b[0]) - float64(a[0])) / d),
		float32((float64(b[1]) - float64(a[1])) / d),
		float32((float64(b[2]) - float64(a[2])) / float64(a[5])),
		float32(math.Log(float64(b[3]) / float64(a[3]))),
		float32(math.Log(float64(b[4]) / float64(a[4]))),
		float32(math.Log(float64(b[5]) / float64(a[5]))),
		b[6] - a[6],
	}
}

// DecodeResidual is ResidualCoder.decode_torch (AnchorHead doc), in
// float32 as OpenPCDet computes it.
func DecodeResidual(t, a [7]float32) [7]float32 {
	d := float32(math.Sqrt(float64(a[3]*a[3] + a[4]*a[4])))
	return [7]float32{
		t[0]*d + a[0], t[1]*d + a[1], t[2]*a[5] + a[2],
		float32(math.Exp(float64(t[3]))) * a[3],
		float32(math.Exp(float64(t[4]))) * a[4],
		float32(math.Exp(float64(t[5]))) * a[5],
		t[6] + a[6],
	}
}

// limitPeriod is OpenPCDet's common_utils.limit_period.
func limitPeriod(v, offset, period float64) float64 {
	return v - math.Floor(v/period+offset)*period
}

// DirectionBin is OpenPCDet's direction target (get_direction_target with
// one_hot off) of heading yaw: floor(limit_period(yaw − DirOffset, 0, 2π) /
// (2π/B)), clamped to [0, B−1].
func (h *AnchorHead) DirectionBin(yaw float32) int {
	if h.NumDirBins <= 0 {
		return 0
	}
	p := 2 * math.Pi / float64(h.NumDirBins)
	b := int(math.Floor(limitPeriod(float64(yaw)-float64(h.DirOffset), 0, 2*math.Pi) / p))
	return min(max(b, 0), h.NumDirBins-1)
}

// Decode appends to dst the decoded box of every anchor whose score
// (sigmoid of its largest class logit) is ≥ scoreThr, in anchor order, and
// returns it. Tensors are as the AnchorHead doc describes; dir may be nil
// when NumDirBins is 0. It allocates only when dst grows (and once for
// the anchors). Box labels are the class names; TrackID is −1.
func (h *AnchorHead) Decode(dst []ds3d.Box3D, cls, box, dir []float32, scoreThr float32) ([]ds3d.Box3D, error) {
	if err := h.Check(); err != nil {
		return dst, err
	}
	A, C, B := h.PerCell(), len(h.Classes), h.NumDirBins
	n := h.NX * h.NY * A
	switch {
	case len(cls) != n*C:
		return dst, fmt.Errorf("anchor head: cls has %d values, want %d×%d×%d×%d", len(cls), h.NY, h.NX, A, C)
	case len(box) != n*7:
		return dst, fmt.Errorf("anchor head: box has %d values, want %d×%d×%d×7", len(box), h.NY, h.NX, A)
	case B > 0 && len(dir) != n*B:
		return dst, fmt.Errorf("anchor head: dir has %d values, want %d×%d×%d×%d", len(dir), h.NY, h.NX, A, B)
	}
	anchors := h.Anchors()
	// sigmoid(l) ≥ thr ⇔ l ≥ logit(thr): compare logits, take exp only for hits.
	var lthr float32
	switch {
	case !(scoreThr > 0):
		lthr = float32(math.Inf(-1))
	case scoreThr >= 1:
		lthr = float32(math.Inf(1))
	default:
		lthr = float32(math.Log(float64(scoreThr) / (1 - float64(scoreThr))))
	}
	period := 0.0
	if B > 0 {
		period = 2 * math.Pi / float64(B)
	}
	for k := 0; k < n; k++ {
		lg := cls[k*C : k*C+C]
		best, bl := 0, lg[0]
		for c := 1; c < C; c++ {
			if lg[c] > bl {
				best, bl = c, lg[c]
			}
		}
		if !(bl >= lthr) {
			continue
		}
		score := float32(1 / (1 + math.Exp(-float64(bl))))
		if score < scoreThr {
			continue
		}
		var t, a [7]float32
		copy(t[:], box[k*7:k*7+7])
		copy(a[:], anchors[k*7:k*7+7])
		g := DecodeResidual(t, a)
		yaw := float64(g[6])
		if B > 0 {
			d := dir[k*B : k*B+B]
			bin, bv := 0, d[0]
			for i := 1; i < B; i++ {
				if d[i] > bv {
					bin, bv = i, d[i]
				}
			}
			off := float64(h.DirOffset)
			yaw = limitPeriod(yaw-off, float64(h.DirLimitOffset), period) + off + period*float64(bin)
		}
		dst = append(dst, ds3d.Box3D{
			CX: g[0], CY: g[1], CZ: g[2], DX: g[3], DY: g[4], DZ: g[5],
			Yaw:     float32(wrapAngle(yaw)),
			ClassID: int32(best), Label: h.Classes[best].Name, Score: score, TrackID: -1,
		})
	}
	return dst, nil
}
