package infer2d

import (
	"fmt"
	"image"
	"math"
	"sort"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// YOLOX runs a YOLOX detector (the YOLOX ≥ 0.1.1 export conventions) on
// images:
//
//   - preprocessing: letterbox to the model's square input with the image at
//     the top left, r = min(S/h, S/w), resized to ⌊w·r⌋×⌊h·r⌋ by bilinear
//     interpolation with half-pixel centres, rounded to 8 bits, padded with
//     114, channels BGR, CHW float32 in 0..255 (no mean or scale);
//   - postprocessing: the output [1, A, 5+C] holds per anchor (dx, dy, log w,
//     log h, objectness, C class scores), the last two already sigmoided;
//     anchors run over the stride-8, -16 and -32 grids row by row; centre =
//     (d + grid)·stride, size = exp(log)·stride; score = objectness × best
//     class score; detections at or above ScoreThreshold go through a
//     class-wise greedy NMS (suppress at IoU > NMSThreshold) and are scaled
//     back by 1/r into source pixels.
//
// One YOLOX owns its session and buffers: Detect allocates only its result.
type YOLOX struct {
	Session        *infer.Session
	Classes        []string
	ScoreThreshold float32
	NMSThreshold   float32
	size           int
	in             []float32
	out            []float32
	raw            []Candidate // decodeYOLOX's output, network pixels
	cand           []ds3d.Object2D
}

// NewYOLOX opens a YOLOX ONNX model with a square [1,3,S,S] input.
func NewYOLOX(path string, classes []string, opt infer.Options) (*YOLOX, error) {
	s, err := infer.Open(path, opt)
	if err != nil {
		return nil, err
	}
	in, out := s.Inputs(), s.Outputs()
	if len(in) != 1 || len(out) != 1 || len(in[0].Shape) != 4 || in[0].Shape[1] != 3 || in[0].Shape[2] != in[0].Shape[3] {
		s.Close()
		return nil, fmt.Errorf("yolox %s: want one [1,3,S,S] input and one output, got %v → %v", path, in, out)
	}
	n := 1
	for _, d := range out[0].Shape {
		n *= d
	}
	y := &YOLOX{Session: s, Classes: classes, ScoreThreshold: 0.3, NMSThreshold: 0.45, size: in[0].Shape[2],
		in: make([]float32, 3*in[0].Shape[2]*in[0].Shape[3]), out: make([]float32, n)}
	if d := out[0].Shape; len(d) != 3 || d[2] < 6 || d[1] != anchors(y.size) {
		s.Close()
		return nil, fmt.Errorf("yolox %s: output %v is not [1, %d, 5+classes]", path, d, anchors(y.size))
	}
	return y, nil
}

func anchors(s int) int { return yoloxAnchors(s, s) }

// minScore is decodeYOLOX's threshold: ScoreThreshold for every class.
func (y *YOLOX) minScore(int) float32 { return y.ScoreThreshold }

// Close releases the session.
func (y *YOLOX) Close() error { return y.Session.Close() }

// Letterbox writes the model input for img into dst ([3,S,S] BGR) and
// returns the scale r.
func Letterbox(dst []float32, img image.Image, size int) float64 {
	b := img.Bounds()
	p := yoloxPreprocess(size)
	return p.resample(dst, b.Dx(), b.Dy(), func(x, y int) (r, g, bl float64) {
		rr, gg, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
		return float64(uint8(rr >> 8)), float64(uint8(gg >> 8)), float64(uint8(bb >> 8))
	}).rx
}

// LetterboxRGB is Letterbox for packed 8-bit RGB(A) pixels — rows of pitch
// bytes, bpp (3 or 4) bytes per pixel, red first — such as a ds3d colour
// frame, without the per-pixel interface calls of image.Image.
func LetterboxRGB(dst []float32, pix []byte, w, h, pitch, bpp, size int) float64 {
	p := yoloxPreprocess(size)
	return p.run(dst, pix, w, h, pitch, bpp).rx
}

// Detect runs the model on img and returns its detections in source pixels
// (Left, Top, Width, Height), best first.
func (y *YOLOX) Detect(img image.Image) ([]ds3d.Object2D, error) {
	return y.run(Letterbox(y.in, img, y.size))
}

// DetectRGB is Detect on packed 8-bit RGB(A) pixels (see LetterboxRGB).
func (y *YOLOX) DetectRGB(pix []byte, w, h, pitch, bpp int) ([]ds3d.Object2D, error) {
	return y.run(LetterboxRGB(y.in, pix, w, h, pitch, bpp, y.size))
}

func (y *YOLOX) run(r float64) ([]ds3d.Object2D, error) {
	if err := y.Session.Run([][]float32{y.in}, [][]float32{y.out}); err != nil {
		return nil, err
	}
	return y.decode(r), nil
}

func (y *YOLOX) decode(r float64) []ds3d.Object2D {
	y.raw = decodeYOLOX(y.raw[:0], y.out, len(y.out)/anchors(y.size), y.size, y.size, y.minScore)
	y.cand = y.cand[:0]
	for _, c := range y.raw {
		o := ds3d.Object2D{
			Left: float32(c.Left / r), Top: float32(c.Top / r),
			Width: float32(c.Width / r), Height: float32(c.Height / r),
			ClassID: int32(c.ClassID), Score: c.Score, TrackID: -1,
		}
		if c.ClassID < len(y.Classes) {
			o.Label = y.Classes[c.ClassID]
		}
		y.cand = append(y.cand, o)
	}
	sort.SliceStable(y.cand, func(i, j int) bool { return y.cand[i].Score > y.cand[j].Score })
	var out []ds3d.Object2D
	for i := range y.cand {
		c := &y.cand[i]
		keep := true
		for j := range out {
			if out[j].ClassID == c.ClassID && iou2D(&out[j], c) > float64(y.NMSThreshold) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, *c)
		}
	}
	return out
}

func iou2D(a, b *ds3d.Object2D) float64 {
	x0 := math.Max(float64(a.Left), float64(b.Left))
	y0 := math.Max(float64(a.Top), float64(b.Top))
	x1 := math.Min(float64(a.Left+a.Width), float64(b.Left+b.Width))
	y1 := math.Min(float64(a.Top+a.Height), float64(b.Top+b.Height))
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	in := (x1 - x0) * (y1 - y0)
	return in / (float64(a.Width*a.Height) + float64(b.Width*b.Height) - in)
}
