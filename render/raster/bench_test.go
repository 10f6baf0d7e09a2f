package raster_test

import (
	"image/png"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/render/raster"
)

// BenchmarkBEV draws KITTI 000000 (115,384 points) and its boxes plus 20
// more into a reused 800×800 image.
func BenchmarkBEV(b *testing.B) {
	pts, fr := kittiSample(b)
	boxes := fr.Boxes()
	for i := 0; i < 20; i++ {
		bx := boxes[0]
		bx.CX, bx.CY, bx.Label, bx.ClassID = float32(5+i*2), float32(i%5*3-6), "Car", 0
		boxes = append(boxes, bx)
	}
	o := raster.DefaultBEVOptions()
	img := newImage(&o)
	b.Run("kitti-000000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raster.DrawBEV(img, pts, boxes, &o)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		b.ReportMetric(float64(b.N)*float64(len(pts)/4)/b.Elapsed().Seconds()/1e6, "Mpoints/s")
	})
}

// BenchmarkCameraProjection projects KITTI 000000 into image_2 (1224×370)
// over a copy of the photo, as raster_render does per frame.
func BenchmarkCameraProjection(b *testing.B) {
	pts, fr := kittiSample(b)
	cam, _ := fr.Rig.Camera("image_2")
	f, err := os.Open(fr.ImagePath)
	if err != nil {
		b.Fatal(err)
	}
	photo, err := png.Decode(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	base := raster.CopyImage(nil, photo)
	img := raster.CopyImage(nil, photo)
	rc := raster.Camera{Intrinsics: cam.Intrinsics, LidarToCam: cam.Extrinsics.Transform}
	o := raster.DefaultCameraOptions()
	boxes := fr.Boxes()
	b.Run("kitti-000000", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(img.Pix, base.Pix)
			raster.DrawCamera(img, pts, boxes, rc, &o)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	})
}
