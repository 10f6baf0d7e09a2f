package raster

import (
	"image"
	"testing"
)

// TestKeepPreviewAllocs: the preview costs the render path no allocation
// when nobody watches, nor between two copies while someone does.
func TestKeepPreviewAllocs(t *testing.T) {
	r, err := NewRenderer(NewRenderConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r.img = image.NewRGBA(image.Rect(0, 0, 32, 32))
	if a := testing.AllocsPerRun(100, r.keepPreview); a != 0 || r.latest.Load() != nil {
		t.Fatalf("unwatched: %v allocs per frame, copy %v", a, r.latest.Load() != nil)
	}
	r.LatestImage()
	r.keepPreview() // the first copy
	if r.latest.Load() == nil {
		t.Fatal("watched, yet no copy")
	}
	if a := testing.AllocsPerRun(100, r.keepPreview); a != 0 {
		t.Fatalf("watched, between copies: %v allocs per frame", a)
	}
}

// BenchmarkKeepPreview is the render path's cost of one preview copy of
// an 800×800 BEV (made at most every 200 ms while watched).
func BenchmarkKeepPreview(b *testing.B) {
	r, err := NewRenderer(NewRenderConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	r.img = image.NewRGBA(image.Rect(0, 0, 800, 800))
	r.LatestImage()
	b.ReportAllocs()
	for b.Loop() {
		r.copied = 0
		r.keepPreview()
	}
}
