package mux

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// loadRGB reads a PNG into an RGB frame.
func loadRGB(t testing.TB, path string) *ds3d.Frame {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	f, err := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, b.Dx(), b.Dy(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*f.Plane.Pitch + x*3
			f.Data[i], f.Data[i+1], f.Data[i+2] = uint8(r>>8), uint8(g>>8), uint8(bl>>8)
		}
	}
	return f
}

// TestResizeMatchesOpenCV resamples the first vtest frame (768×576) down
// and up and compares every byte with OpenCV's cv2.resize INTER_LINEAR run
// on the same PNG: both use the same pixel-centre mapping and 11-bit
// weights, so no byte may differ by more than one level. (OpenCV's 8-bit
// INTER_LINEAR is its fixed-point "bit-exact" resize: the same bytes with
// or without its AVX2/AVX-512 paths.)
func TestResizeMatchesOpenCV(t *testing.T) {
	src := sampledata.Shared(t, "video-vtest/vtest_frame0000.png")
	testenv.Python(t, "numpy", "cv2")
	in := loadRGB(t, src)
	for _, sz := range [][2]int{{640, 384}, {416, 416}, {1000, 700}, {97, 53}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			w, h := sz[0], sz[1]
			raw := filepath.Join(t.TempDir(), "cv.raw")
			testenv.RunPython(t, []string{"numpy", "cv2"}, "testdata/cv_resize.py", src, fmt.Sprint(w), fmt.Sprint(h), raw)
			want, err := os.ReadFile(raw)
			if err != nil {
				t.Fatal(err)
			}
			rz, err := NewResizer(in.Plane.Width, in.Plane.Height, w, h, 3)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, w*h*3)
			rz.Resize(got, w*3, in.Data, in.Plane.Pitch)
			if len(want) != len(got) {
				t.Fatalf("peer wrote %d bytes, want %d", len(want), len(got))
			}
			worst, off := 0, 0
			for i := range got {
				d := int(got[i]) - int(want[i])
				if d < 0 {
					d = -d
				}
				if d > 0 {
					off++
				}
				worst = max(worst, d)
			}
			t.Logf("%d of %d bytes differ from OpenCV by one level", off, len(got))
			if worst > 1 {
				t.Errorf("largest difference from OpenCV: %d levels", worst)
			}
		})
	}
}

// TestLetterbox scales a 100×50 frame into 64×64 with padding: the picture
// is 64×32 at rows 16..47 (hand-computed: scale min(64/100, 64/50) = 0.64,
// 50·0.64 = 32, (64−32)/2 = 16), the borders take the padding colour, and
// the transform maps source corners onto the picture's.
func TestLetterbox(t *testing.T) {
	in, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 100, 50, 0)
	for i := range in.Data {
		in.Data[i] = 200
	}
	cfg := DefaultConfig()
	cfg.Width, cfg.Height, cfg.EnablePadding, cfg.PaddingColor = 64, 64, true, [3]uint8{1, 2, 3}
	sh := newShaper(cfg)
	out, tr, err := sh.scale(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	px := func(x, y int) [3]byte {
		i := y*out.Plane.Pitch + x*3
		return [3]byte(out.Data[i : i+3])
	}
	for _, c := range []struct {
		x, y int
		want [3]byte
	}{
		{0, 0, [3]byte{1, 2, 3}}, {63, 15, [3]byte{1, 2, 3}}, {0, 16, [3]byte{200, 200, 200}},
		{63, 47, [3]byte{200, 200, 200}}, {10, 48, [3]byte{1, 2, 3}}, {63, 63, [3]byte{1, 2, 3}},
	} {
		if got := px(c.x, c.y); got != c.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	if tr != (Transform{ScaleX: 0.64, ScaleY: 0.64, OffsetX: 0, OffsetY: 16}) {
		t.Errorf("transform %+v", tr)
	}
	back := tr.ToSource(ds3d.Object2D{Left: 0, Top: 16, Width: 64, Height: 32})
	if back.Left != 0 || back.Top != 0 || back.Width != 100 || back.Height != 50 {
		t.Errorf("ToSource of the picture = %+v, want the whole 100×50 source", back)
	}
}

// BenchmarkResize scales a vtest frame 768×576 → 640×384 and 416×416 RGB
// (the OpenCV peer: `testdata/cv_resize.py --bench 768 576 640 384 200`;
// docs/PERF.md, "Stream mux, resize, OSD, video-detect").
func BenchmarkResize(b *testing.B) {
	in := loadRGB(b, sampledata.Shared(b, "video-vtest/vtest_frame0000.png"))
	vec := hvecAvailable
	defer func() { hvecAvailable = vec }()
	for _, sz := range []image.Point{{640, 384}, {416, 416}, {1280, 960}} {
		for _, scalar := range []bool{false, true} {
			name := fmt.Sprintf("768x576-%dx%d", sz.X, sz.Y)
			if scalar {
				// the scalar horizontal passes (and the pass order chosen for them)
				name += "-scalar-h"
			}
			b.Run(name, func(b *testing.B) {
				hvecAvailable = vec && !scalar
				rz, err := NewResizer(768, 576, sz.X, sz.Y, 3)
				if err != nil {
					b.Fatal(err)
				}
				dst := make([]byte, sz.X*sz.Y*3)
				b.ReportAllocs()
				for b.Loop() {
					rz.Resize(dst, sz.X*3, in.Data, in.Plane.Pitch)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/frame")
			})
		}
	}
}

// BenchmarkMuxBatch measures the Go API per batch: 2 sources, batch 2,
// scaling 768×576 → 640×384; allocs/op must stay 0 in steady state.
func BenchmarkMuxBatch(b *testing.B) {
	src := loadRGB(b, sampledata.Shared(b, "video-vtest/vtest_frame0000.png"))
	pool, _ := ds3d.NewFramePool(8, func() *ds3d.Frame {
		f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 768, 576, 0)
		copy(f.Data, src.Data)
		return f
	})
	cfg := DefaultConfig()
	cfg.BatchSize, cfg.Width, cfg.Height = 2, 640, 384
	m, _ := New(cfg)
	m.AddSource(0)
	m.AddSource(1)
	ctx := context.Background()
	go m.Run(ctx)
	go func() {
		for k := range int64(b.N + 16) {
			for s := range int32(2) {
				f, _ := pool.Get(ctx)
				if m.Push(ctx, s, Input{Image: f, PTS: k, FrameNum: k}) != nil {
					return
				}
			}
		}
	}()
	for range 8 { // warm the pools
		(<-m.Out()).Release()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		(<-m.Out()).Release()
	}
	b.StopTimer()
	m.EOS(0)
	m.EOS(1)
	m.Close()
	for bt := range m.Out() {
		bt.Release()
	}
}

// TestResizeVectorMatchesScalar: the vector horizontal pass computes the
// scalar pass's products, so with it the output is byte-identical to the
// scalar passes in the same pass order, for down- and upscales, 3 and 4
// channels, widths that leave a scalar tail, and downscales too steep for
// a 64-byte window (scalar from there on). The pass order that vector
// cost picks is checked the same way against the other order's scalar run
// (both orders round once, so they agree exactly too). No allocation.
func TestResizeVectorMatchesScalar(t *testing.T) {
	if !hvecAvailable {
		t.Skip("no vector horizontal pass in this build or on this CPU")
	}
	in := loadRGB(t, sampledata.Shared(t, "video-vtest/vtest_frame0000.png"))
	rgba := make([]byte, 768*576*4)
	for i := range 768 * 576 {
		copy(rgba[i*4:i*4+3], in.Data[i*3:i*3+3])
		rgba[i*4+3] = byte(i * 13)
	}
	for _, c := range []struct{ sw, sh, dw, dh, ch int }{
		{768, 576, 640, 384, 3}, {768, 576, 416, 416, 3}, {768, 576, 1280, 960, 3}, {768, 576, 97, 53, 3},
		{768, 576, 200, 150, 3}, {768, 576, 641, 383, 4}, {768, 576, 1001, 700, 4}, {300, 200, 299, 201, 3},
	} {
		t.Run(fmt.Sprintf("%dx%d-%dx%dx%d", c.sw, c.sh, c.dw, c.dh, c.ch), func(t *testing.T) {
			src, pitch := in.Data, in.Plane.Pitch
			if c.ch == 4 {
				src, pitch = rgba, 768*4
			}
			n := c.dw * c.ch
			vec, _ := NewResizer(c.sw, c.sh, c.dw, c.dh, c.ch)
			got := make([]byte, n*c.dh)
			vec.Resize(got, n, src, pitch)
			if a := testing.AllocsPerRun(3, func() { vec.Resize(got, n, src, pitch) }); a != 0 {
				t.Errorf("%v allocations per resize", a)
			}
			for _, vfirst := range []bool{false, true} {
				sc, _ := NewResizer(c.sw, c.sh, c.dw, c.dh, c.ch)
				sc.hvec = 0 // scalar horizontal pass
				sc.vfirst = vfirst
				if vfirst && sc.vrow == nil {
					sc.vrow = make([]int32, c.sw*c.ch)
				}
				want := make([]byte, n*c.dh)
				sc.Resize(want, n, src, pitch)
				if !bytes.Equal(got, want) {
					i := 0
					for got[i] == want[i] {
						i++
					}
					t.Fatalf("byte %d (row %d): vector %d, scalar (vertical first %v) %d", i, i/n, got[i], vfirst, want[i])
				}
			}
			t.Logf("%d of %d values per row vectorised, vertical first: %v", vec.hvec, n, vec.vfirst)
		})
	}
}
