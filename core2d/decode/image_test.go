package decode_test

import (
	"bytes"
	"image"
	"image/draw"
	"os"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestToFrameMatchesDraw checks the hand-written conversion loops against
// image/draw's for every pixel of real files of each kind the decoders
// return: YCbCr JPEGs of two subsampling layouts, RGB PNGs (*image.RGBA),
// and a 16-bit gray PNG.
func TestToFrameMatchesDraw(t *testing.T) {
	nus := sampledata.Shared(t, "nuscenes-mini-sample")
	files := []string{
		filepath.Join(nus, "n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"),
		sampledata.Sample(t, "redwood/color/00000.jpg"),
		sampledata.Sample(t, "kitti/image_2/000000.png"),
		sampledata.Sample(t, "redwood/depth/00000.png"),
	}
	ratios := map[image.YCbCrSubsampleRatio]bool{}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			img, _, err := decode.DecodeFile(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if y, ok := img.(*image.YCbCr); ok {
				ratios[y.SubsampleRatio] = true
			}
			b := img.Bounds()
			want := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
			draw.Draw(want, want.Rect, img, b.Min, draw.Src)
			for _, rgba := range []bool{false, true} {
				f, err := decode.NewColorFrame(b.Dx(), b.Dy(), rgba)
				if err != nil {
					t.Fatal(err)
				}
				if err := decode.ToFrame(f, img); err != nil {
					t.Fatal(err)
				}
				ch := f.Plane.BytesPerPixel
				for i := 0; i < b.Dx()*b.Dy(); i++ {
					if !bytes.Equal(f.Data[i*ch:i*ch+3], want.Pix[i*4:i*4+3]) || ch == 4 && f.Data[i*4+3] != want.Pix[i*4+3] {
						t.Fatalf("%T rgba=%v pixel %d: %v, image/draw %v", img, rgba, i, f.Data[i*ch:i*ch+ch], want.Pix[i*4:i*4+4])
					}
				}
			}
		})
	}
	t.Logf("JPEG subsampling layouts covered: %v", ratios)
}

// TestToFrameDepthHighByte reads the Redwood depth PNG as colour: 16-bit
// gray keeps its high byte. PROVENANCE.md: centre (320,240) = 2195 mm.
func TestToFrameDepthHighByte(t *testing.T) {
	img, _, err := decode.DecodeFile(sampledata.Sample(t, "redwood/depth/00000.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := decode.NewColorFrame(640, 480, false)
	if err := decode.ToFrame(f, img); err != nil {
		t.Fatal(err)
	}
	if got := f.Data[(240*640+320)*3]; got != 2195>>8 {
		t.Errorf("centre = %d, want %d", got, 2195>>8)
	}
}

func TestToFrameRejects(t *testing.T) {
	img, _, err := decode.DecodeFile(sampledata.Sample(t, "kitti/image_2/000000.png"), nil)
	if err != nil {
		t.Fatal(err)
	}
	small, _ := decode.NewColorFrame(1242, 375, false)
	if err := decode.ToFrame(small, img); err == nil || err.Error() != "camera: image is 1224x370, frame is 1242x375" {
		t.Errorf("size mismatch: %v", err)
	}
	depth, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 1224, 370, 0)
	if err := decode.ToFrame(depth, img); err == nil {
		t.Error("converted colour into a depth frame")
	}
}

func TestDecodeFileErrors(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := decode.DecodeFile(filepath.Join(dir, "none.png"), nil); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := decode.DecodeFile(dir, nil); err == nil {
		t.Error("decoded a folder")
	}
	if _, _, err := decode.ImageSize(filepath.Join(dir, "none.png")); err == nil {
		t.Error("sized a missing file")
	}
}
