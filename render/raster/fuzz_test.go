package raster_test

import (
	"encoding/binary"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

var specials = []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, 1e30, -1e30, 1e-30, 3.4e38}

// scene makes points, boxes and options from a seed: ordinary values mixed
// with NaN, ±Inf, huge and tiny numbers, and image sizes down to 0×0.
func drawScene(seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := func() float32 {
		if r.IntN(6) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return float32(r.NormFloat64() * 50)
	}
	pts := make([]float32, r.IntN(200)*4+r.IntN(4)) // a ragged tail too
	for i := range pts {
		pts[i] = f()
	}
	boxes := make([]ds3d.Box3D, r.IntN(8))
	for i := range boxes {
		boxes[i] = ds3d.Box3D{CX: f(), CY: f(), CZ: f(), DX: f(), DY: f(), DZ: f(), Yaw: f(),
			ClassID: int32(r.IntN(20) - 5), Label: string(rune(r.IntN(300))) + "x\xff", Score: f(), TrackID: int64(r.IntN(5) - 2)}
	}
	o := raster.DefaultBEVOptions()
	o.XRange = [2]float64{float64(f()), float64(f())}
	o.YRange = [2]float64{float64(f()), float64(f())}
	o.Resolution = float64(f()) / 50
	o.Width, o.Height = r.IntN(300)-10, r.IntN(300)-10
	o.GridStep = float64(f())
	o.Points.Size = r.IntN(5)
	o.Points.Stride = r.IntN(6)
	o.Points.ColorBy = []raster.ColorMode{"", raster.ColorIntensity, raster.ColorHeight, raster.ColorRange, raster.ColorFixed, "bogus"}[r.IntN(6)]
	o.Points.ValueRange = [2]float64{float64(f()), float64(f())}
	o.Boxes.Thickness = r.IntN(4) - 1
	o.Boxes.LabelScale = r.IntN(4) - 1
	o.EgoSize = r.IntN(30) - 5
	w, h := r.IntN(300), r.IntN(300)
	if r.IntN(4) == 0 {
		w, h = 0, r.IntN(2)
	}
	img := draw.EnsureRGBA(nil, w, h)
	if r.IntN(5) == 0 { // a sub-image with a non-zero origin
		img = img.SubImage(image.Rect(w/3, h/3, w, h)).(*image.RGBA)
	}
	raster.DrawBEV(img, pts, boxes, &o)
	if w, h := o.Size(); w*h <= 1<<20 {
		raster.DrawBEV(newImage(&o), pts, boxes, &o)
	}

	var cam raster.Camera
	cam.Intrinsics = ds3d.Intrinsics{Fx: float64(f()), Fy: float64(f()), Cx: float64(f()), Cy: float64(f()), Skew: float64(f())}
	for i := range cam.LidarToCam {
		cam.LidarToCam[i] = float64(f()) / 50
	}
	co := raster.DefaultCameraOptions()
	co.Near = float64(f())
	co.Points.Size = r.IntN(4)
	raster.DrawCamera(img, pts, boxes, cam, &co)
	draw.Text(img, r.IntN(400)-100, r.IntN(400)-100, "Ab9 ~\x00\xff", r.IntN(4)-1, co.Points.Color)
}

func TestDrawNoPanic(t *testing.T) {
	for seed := uint64(0); seed < 2000; seed++ {
		drawScene(seed)
	}
}

func FuzzDraw(f *testing.F) {
	for s := uint64(0); s < 8; s++ {
		f.Add(binary.LittleEndian.AppendUint64(nil, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s [8]byte
		copy(s[:], b)
		drawScene(binary.LittleEndian.Uint64(s[:]))
	})
}

func TestCopyFrameErrors(t *testing.T) {
	f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 4, 3, 16)
	f.Data[16*2+3*3] = 77 // pixel (3, 2) red channel, padded rows
	img, err := raster.CopyFrame(nil, f)
	if err != nil || img.Rect.Dx() != 4 || img.Rect.Dy() != 3 || img.RGBAAt(3, 2).R != 77 || img.RGBAAt(3, 2).A != 255 {
		t.Fatalf("copy: %v %v", err, img.Rect)
	}
	if _, err := raster.CopyFrame(nil, ds3d.NewLidarFrame(3)); err == nil {
		t.Error("lidar frame accepted as an image")
	}
	f.Data = f.Data[:20]
	if _, err := raster.CopyFrame(nil, f); err == nil {
		t.Error("short frame accepted")
	}
	if _, err := raster.CopyFrame(nil, nil); err == nil {
		t.Error("nil frame accepted")
	}
}
