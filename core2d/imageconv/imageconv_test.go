package imageconv_test

import (
	"image"
	"image/color"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/imageconv"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestToFrameMatchesAt converts a YCbCr JPEG and an RGB PNG (the sample
// files) into RGB and RGBA frames and checks every pixel against the
// image's own At and color.NRGBAModel (the generic path, not the typed
// loops under test); a frame of the wrong size or type is an error.
func TestToFrameMatchesAt(t *testing.T) {
	for _, rel := range []string{"redwood/color/00000.jpg", "kitti/image_2/000000.png"} {
		fh, err := os.Open(sampledata.Sample(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		img, format, err := image.Decode(fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		for _, ft := range []ds3d.FrameType{ds3d.FrameColorRGB, ds3d.FrameColorRGBA} {
			f, err := ds3d.NewImageFrame(ft, ds3d.DTypeU8, b.Dx(), b.Dy(), 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := imageconv.ToFrame(f, img); err != nil {
				t.Fatal(err)
			}
			ch := f.Plane.BytesPerPixel
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
					p := f.Data[y*f.Plane.Pitch+x*ch:]
					if p[0] != c.R || p[1] != c.G || p[2] != c.B || ch == 4 && p[3] != c.A {
						t.Fatalf("%s (%s, %T) %s pixel (%d,%d) = %v, At gives %v", rel, format, img, ft, x, y, p[:ch], c)
					}
				}
			}
		}
		small, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, b.Dx()-1, b.Dy(), 0)
		if err := imageconv.ToFrame(small, img); err == nil {
			t.Errorf("%s: converted into a frame one pixel narrower", rel)
		}
		depth, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, b.Dx(), b.Dy(), 0)
		if err := imageconv.ToFrame(depth, img); err == nil {
			t.Errorf("%s: converted colour into a depth frame", rel)
		}
	}
}

// TestToRGBARoundTrip: ToRGBA of padded RGB and opaque RGBA frames, back
// through ToFrame, gives the same pixels; RGB gets opaque alpha.
func TestToRGBARoundTrip(t *testing.T) {
	for _, tc := range []struct {
		ft  ds3d.FrameType
		bpp int
	}{{ds3d.FrameColorRGB, 3}, {ds3d.FrameColorRGBA, 4}} {
		f, err := ds3d.NewImageFrame(tc.ft, ds3d.DTypeU8, 7, 5, 7*tc.bpp+3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f.Data {
			f.Data[i] = uint8(i * 37)
			if tc.bpp == 4 && i%f.Plane.Pitch < 7*4 && i%f.Plane.Pitch%4 == 3 {
				f.Data[i] = 255 // opaque: RGBA is premultiplied
			}
		}
		img, err := imageconv.ToRGBA(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		if tc.bpp == 3 && img.Pix[3] != 255 {
			t.Errorf("RGB frame: alpha %d, want 255", img.Pix[3])
		}
		back, _ := ds3d.NewImageFrame(tc.ft, ds3d.DTypeU8, 7, 5, 0)
		if err := imageconv.ToFrame(back, img); err != nil {
			t.Fatal(err)
		}
		for y := 0; y < 5; y++ {
			a, b := f.Data[y*f.Plane.Pitch:][:7*tc.bpp], back.Data[y*back.Plane.Pitch:][:7*tc.bpp]
			if string(a) != string(b) {
				t.Fatalf("%s row %d: %v, round trip %v", tc.ft, y, a, b)
			}
		}
		if again, _ := imageconv.ToRGBA(img, f); again != img {
			t.Errorf("%s: ToRGBA did not reuse an image of the right size", tc.ft)
		}
	}
	if _, err := imageconv.ToRGBA(nil, ds3d.NewTensorFrame(ds3d.DTypeF32, 2, 2)); err == nil {
		t.Error("a tensor frame was accepted")
	}
}
