package gl_test

import (
	"image/jpeg"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	gl "github.com/ds3d-go/ds3d-go/render/gl"
)

// TestRGBColors: with color_by = "rgb" each point takes the colour of the
// colour image (the Redwood sample's) at its DS3D::PointColorCoord, in
// normalised ((u + ½)/W, (v + ½)/H) or pixel units; the expected colours
// are the JPEG's pixels as image/jpeg decodes them.
func TestRGBColors(t *testing.T) {
	needDisplay(t)
	fh, err := os.Open(sampledata.Sample(t, "redwood/color/00000.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := jpeg.Decode(fh)
	fh.Close()
	if err != nil {
		t.Fatal(err)
	}
	W, H := src.Bounds().Dx(), src.Bounds().Dy()
	pix := [][2]int{{10, 12}, {320, 240}, {600, 50}, {77, 400}, {500, 470}, {201, 133}}
	for _, units := range []string{"normalized", "pixels"} {
		c := kittiConfig()
		c.ColorBy, c.ColorCoordUnits, c.PointSize, c.HUD = gl.ColorRGB, units, 5, true
		c.LidarKey = string(ds3d.KeyPointXYZ)
		pts := ds3d.NewPointFrame(len(pix))
		tc := ds3d.NewFrame(ds3d.DTypeF32, ds3d.FrameCustom, ds3d.NewShape(len(pix), 2))
		var want [][3]float64
		for i, p := range pix {
			q := [3]float64{10 + 2*float64(i), -4 + 1.5*float64(i), 3} // above the (absent) ground, apart on screen
			copy(ds3d.AsFloat32(pts)[i*3:], []float32{float32(q[0]), float32(q[1]), float32(q[2])})
			u, v := float32(p[0]), float32(p[1])
			if units == "normalized" {
				u, v = (u+0.5)/float32(W), (v+0.5)/float32(H)
			}
			copy(ds3d.AsFloat32(tc)[i*2:], []float32{u, v})
			want = append(want, q)
		}
		cf, err := decode.NewColorFrame(W, H, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := decode.ToFrame(cf, src); err != nil {
			t.Fatal(err)
		}
		m := ds3d.NewDataMap()
		m.SetFrame(ds3d.KeyPointXYZ, pts)
		m.SetFrame(ds3d.KeyPointColorCoord, tc)
		m.SetFrame(ds3d.KeyColorFrame, cf)
		m.Set(ds3d.KeyLidar3DBboxRawData, []ds3d.Box3D{})
		img := render(t, c, m)[0]
		m.Release()
		for i, q := range want {
			xw, yw, ok := clipPoint(c, q)
			if !ok {
				t.Fatal("point behind the camera")
			}
			u, v := pixelOf(c, xw, yw)
			r, g, b, _ := src.At(pix[i][0], pix[i][1]).RGBA()
			exp := rgb([3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)})
			if got := img.RGBAAt(u, v); got != exp {
				t.Errorf("%s: point %d at (%d, %d) = %v, want image pixel %v = %v", units, i, u, v, got, pix[i], exp)
			}
		}
		// The HUD line sits at the bottom left in white.
		white := 0
		for y := c.WindowHeight - 12; y < c.WindowHeight; y++ {
			for x := 0; x < 200; x++ {
				if img.RGBAAt(x, y) == rgb([3]uint8{255, 255, 255}) {
					white++
				}
			}
		}
		if white < 50 {
			t.Errorf("%s: %d white HUD pixels at the bottom left", units, white)
		}
	}
}
