package track

import (
	"fmt"
	"math"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Embedder gives the DeepSORT-style tracker an appearance feature per
// detection: a ReID network, or the bundled HistogramEmbedder. Features
// are compared by cosine distance (the tracker normalises them), so only
// their direction matters.
type Embedder interface {
	// Dim is the length of one feature.
	Dim() int
	// Embed writes the features of dets, seen in frame, into out
	// (len(dets)·Dim() values, one feature after another).
	Embed(frame *ds3d.Frame, dets []ds3d.Object2D, out []float32) error
}

// HistogramEmbedder is an appearance feature that needs no model: per box,
// a 16-bin histogram of each RGB channel over the upper and over the lower
// half of the crop (a person's upper and lower clothing), 10 % trimmed at
// the left and right to keep background out: 96 values. Each histogram is
// normalised to sum 1 and square-rooted, so the cosine similarity of two
// features is the mean Bhattacharyya coefficient of their histograms.
// Large boxes are sampled on a grid of at most about 64×128 pixels.
type HistogramEmbedder struct{}

const histBins = 16

// Dim is 2 halves × 3 channels × 16 bins.
func (HistogramEmbedder) Dim() int { return 2 * 3 * histBins }

// Embed computes the histograms from a u8 RGB or RGBA frame. A box outside
// the frame gets a zero feature (no appearance information).
func (e HistogramEmbedder) Embed(frame *ds3d.Frame, dets []ds3d.Object2D, out []float32) error {
	dim := e.Dim()
	if len(out) < len(dets)*dim {
		return fmt.Errorf("track: histogram features: out holds %d values, want %d", len(out), len(dets)*dim)
	}
	ch := frame.Plane.BytesPerPixel
	if frame.DType != ds3d.DTypeU8 || !(frame.Type == ds3d.FrameColorRGB && ch == 3 || frame.Type == ds3d.FrameColorRGBA && ch == 4) || frame.Mem == ds3d.MemGPU {
		return fmt.Errorf("track: histogram features need a CPU u8 rgb or rgba frame, got %s %s with %d bytes per pixel", frame.Type, frame.DType, ch)
	}
	W, H, pitch := frame.Plane.Width, frame.Plane.Height, frame.Plane.Pitch
	for i := range dets {
		f := out[i*dim : (i+1)*dim]
		clear(f)
		d := &dets[i]
		l, t, w, h := float64(d.Left), float64(d.Top), float64(d.Width), float64(d.Height)
		if !(w > 0 && h > 0) || math.IsInf(w+h+l+t, 0) || math.IsNaN(l+t) {
			continue
		}
		// Clamp in floating point first: a wild box must not overflow int.
		clamp := func(v, hi float64) int { return int(math.Max(0, math.Min(hi, v))) }
		x0, x1 := clamp(math.Floor(l+0.1*w), float64(W)), clamp(math.Ceil(l+0.9*w), float64(W))
		y0, y1 := clamp(math.Floor(t), float64(H)), clamp(math.Ceil(t+h), float64(H))
		if x1 <= x0 || y1 <= y0 {
			continue
		}
		mid := clamp(t+h/2, float64(H))
		sx := max(1, (x1-x0)/64)
		sy := max(1, (y1-y0)/128)
		// Integer counts: a float increment waits on the previous one's
		// latency whenever neighbouring pixels fall in the same bin.
		var cnt [2][3 * histBins]uint32
		var n [2]uint32
		for y := y0; y < y1; y += sy {
			half := 0
			if y >= mid {
				half = 1
			}
			hist := &cnt[half]
			row := frame.Data[y*pitch+x0*ch : y*pitch+x1*ch]
			k := 0
			for x := x0; x < x1; x += sx {
				p := row[k : k+3 : k+3]
				hist[int(p[0])*histBins>>8]++
				hist[histBins+int(p[1])*histBins>>8]++
				hist[2*histBins+int(p[2])*histBins>>8]++
				n[half]++
				k += sx * ch
			}
		}
		for half := 0; half < 2; half++ {
			if n[half] == 0 {
				continue
			}
			hist := f[half*3*histBins : (half+1)*3*histBins]
			for k := range hist {
				hist[k] = float32(math.Sqrt(float64(float32(cnt[half][k]) / float32(n[half]))))
			}
		}
	}
	return nil
}
