package raster_test

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/datasets/kitti"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/render/raster"
	"github.com/ds3d-go/ds3d-go/sensors/lidar"
)

// kittiSample loads the bundled KITTI frame 000000: its points ([N,4]) and
// the frame with labels and calibration.
func kittiSample(t testing.TB) ([]float32, *kitti.Frame) {
	t.Helper()
	velo := sampledata.Sample(t, "kitti/velodyne/000000.bin")
	c, err := lidar.ReadFile(velo, lidar.ReadOptions{ElementSize: 4, ElementStride: 4})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := kitti.Open(filepath.Dir(filepath.Dir(velo)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ds.Frame("000000")
	if err != nil {
		t.Fatal(err)
	}
	return ds3d.AsFloat32(c.Points), f
}

// pix is the BEV pixel of (x, y) by the package doc's formula:
// u = (y_max − y)/res, v = (x_max − x)/res, pixel (⌊u⌋, ⌊v⌋).
func pix(x, y, xMax, yMax, res float64) (int, int) {
	return int(math.Floor((yMax - y) / res)), int(math.Floor((xMax - x) / res))
}

func newImage(o *raster.BEVOptions) *image.RGBA {
	w, h := o.Size()
	return draw.EnsureRGBA(nil, w, h)
}

func at(img *image.RGBA, u, v int) color.RGBA { return img.RGBAAt(u, v) }

// near reports whether c is within r pixels of (u, v).
func near(img *image.RGBA, u, v, r int, c color.RGBA) bool {
	for dv := -r; dv <= r; dv++ {
		for du := -r; du <= r; du++ {
			if at(img, u+du, v+dv) == c {
				return true
			}
		}
	}
	return false
}

func TestBEVKITTI000000(t *testing.T) {
	pts, fr := kittiSample(t)
	boxes := fr.Boxes()
	if len(boxes) == 0 {
		t.Fatal("no labelled objects")
	}
	// More boxes at known places and headings, one with its own colour.
	boxes = append(boxes,
		ds3d.Box3D{CX: 20, CY: 10, CZ: -1, DX: 4.5, DY: 1.9, DZ: 1.6, Yaw: 0.6, ClassID: 0, Label: "Car", TrackID: -1},
		ds3d.Box3D{CX: -15, CY: -12, CZ: -1, DX: 10, DY: 2.5, DZ: 3, Yaw: -2.2, ClassID: 2, Label: "Truck", TrackID: -1},
		ds3d.Box3D{CX: 30, CY: -25, CZ: -1, DX: 4, DY: 2, DZ: 1.5, Yaw: 1.2, ClassID: 0, Color: [4]uint8{250, 0, 250, 255}, TrackID: 7},
	)
	const xMax, yMax, res = 40.0, 40.0, 0.1
	o := raster.DefaultBEVOptions()
	o.Boxes.Labels = false
	o.Ego, o.GridStep = false, 0
	o.Boxes.Thickness = 1
	o.Background = color.RGBA{10, 20, 30, 255}
	w, h := o.Size()
	if w != 800 || h != 800 {
		t.Fatalf("size %dx%d, want 800x800", w, h)
	}
	img := draw.EnsureRGBA(nil, w, h)
	raster.DrawBEV(img, pts, boxes, &o)

	checkFootprints(t, img, boxes, xMax, yMax, res)

	// The pedestrian label of 000000 is 8.41 m ahead in the camera frame,
	// 1.84 m to the right: the BEV centre of its box must be near there.
	ped := boxes[0]
	if math.Abs(float64(ped.CX)-8.7) > 0.5 || math.Abs(float64(ped.CY)+1.8) > 0.5 {
		t.Errorf("pedestrian box at (%v, %v), want about (8.7, −1.8)", ped.CX, ped.CY)
	}

	// Background: a far corner block (x ∈ (38, 40], y ∈ (38, 40]) where no
	// point falls (checked here) keeps the background colour.
	occupied := map[[2]int]bool{}
	for i := 0; i+3 < len(pts); i += 4 {
		u, v := pix(float64(pts[i]), float64(pts[i+1]), xMax, yMax, res)
		occupied[[2]int{u, v}] = true
	}
	empty := 0
	for v := 0; v < 20; v++ {
		for u := 0; u < 20; u++ {
			if occupied[[2]int{u, v}] {
				continue
			}
			empty++
			if got := at(img, u, v); got != o.Background {
				t.Fatalf("empty pixel (%d, %d) = %v, want background %v", u, v, got, o.Background)
			}
		}
	}
	if empty < 200 {
		t.Errorf("only %d of 400 corner pixels empty", empty)
	}
	// Coverage: the cloud touches many pixels, each painted.
	painted := 0
	for p := range occupied {
		if p[0] >= 0 && p[0] < w && p[1] >= 0 && p[1] < h && at(img, p[0], p[1]) != o.Background {
			painted++
		}
	}
	if painted < 10000 {
		t.Errorf("only %d pixels painted by points", painted)
	}
}

// checkFootprints checks, for each box, that the pixel of each footprint
// corner (computed here from centre, size and yaw by the package doc's
// formula) has the box's colour, and that the middle of every edge and of
// the heading line is within one pixel of it.
func checkFootprints(t *testing.T, img *image.RGBA, boxes []ds3d.Box3D, xMax, yMax, res float64) {
	t.Helper()
	magenta := color.RGBA{250, 0, 250, 255}
	palette := map[string]color.RGBA{ // DefaultPalette by KITTI class id
		"Car": {0, 200, 0, 255}, "Van": {0, 220, 220, 255}, "Truck": {255, 140, 0, 255}, "Pedestrian": {255, 40, 40, 255},
		"Cyclist": {255, 230, 0, 255}, "Misc": {200, 160, 120, 255},
	}
	for i, b := range boxes {
		want, ok := palette[b.Label]
		if b.Color != ([4]uint8{}) {
			want, ok = magenta, true
		}
		if !ok {
			t.Fatalf("box %d: no expected colour for %q", i, b.Label)
		}
		// Footprint corners computed here from centre, size and yaw.
		c, s := math.Cos(float64(b.Yaw)), math.Sin(float64(b.Yaw))
		var cu, cv [4]int
		var fx, fy [4]float64
		for k, d := range [4][2]float64{{1, 1}, {-1, 1}, {-1, -1}, {1, -1}} {
			lx, ly := d[0]*float64(b.DX)/2, d[1]*float64(b.DY)/2
			fx[k] = float64(b.CX) + c*lx - s*ly
			fy[k] = float64(b.CY) + s*lx + c*ly
			cu[k], cv[k] = pix(fx[k], fy[k], xMax, yMax, res)
			if got := at(img, cu[k], cv[k]); got != want {
				t.Errorf("box %d (%s) corner %d at (%.2f, %.2f) → pixel (%d, %d) = %v, want %v", i, b.Label, k, fx[k], fy[k], cu[k], cv[k], got, want)
			}
			// The middle of each edge is on the line (within a pixel).
		}
		for k := 0; k < 4; k++ {
			mu, mv := pix((fx[k]+fx[(k+1)%4])/2, (fy[k]+fy[(k+1)%4])/2, xMax, yMax, res)
			if !near(img, mu, mv, 1, want) {
				t.Errorf("box %d edge %d: middle pixel (%d, %d) is not within 1 px of %v", i, k, mu, mv, want)
			}
		}
		// Heading line: halfway between the centre and the front edge's middle.
		hx := float64(b.CX) + c*float64(b.DX)/4
		hy := float64(b.CY) + s*float64(b.DX)/4
		if hu, hv := pix(hx, hy, xMax, yMax, res); !near(img, hu, hv, 1, want) {
			t.Errorf("box %d: heading line misses pixel (%d, %d)", i, hu, hv)
		}
	}

}

// TestBEVKITTIShared draws the labelled boxes of KITTI training frames
// 000000–000004 (cars, a truck, a cyclist, misc) over their clouds.
func TestBEVKITTIShared(t *testing.T) {
	root := sampledata.Shared(t, "kitti-object/training")
	ds, err := kitti.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	o := raster.DefaultBEVOptions()
	o.XRange, o.YRange = [2]float64{-10, 80}, [2]float64{-40, 40}
	o.Boxes.Labels, o.Boxes.Thickness = false, 1
	img := newImage(&o)
	for _, id := range []string{"000000", "000001", "000002", "000003", "000004"} {
		t.Run(id, func(t *testing.T) {
			f, err := ds.Frame(id)
			if err != nil {
				t.Fatal(err)
			}
			c, err := lidar.ReadFile(f.VelodynePath, lidar.ReadOptions{ElementSize: 4, ElementStride: 4})
			if err != nil {
				t.Fatal(err)
			}
			raster.DrawBEV(img, ds3d.AsFloat32(c.Points), f.Boxes(), &o)
			checkFootprints(t, img, f.Boxes(), 80, 40, 0.1)
		})
	}
}

func TestBEVKnownPoint(t *testing.T) {
	pts, _ := kittiSample(t)
	// A point in an empty place: 2.03 m ahead, 0.57 m to the left (inside
	// the car's own blind spot), intensity 0.5.
	const px, py = 2.03, 0.57
	pts = append(pts, px, py, -0.5, 0.5)
	for _, tc := range []struct {
		name               string
		o                  func(*raster.BEVOptions)
		xMax, yMax, ru, rv float64
		want               color.RGBA
		size               int
	}{
		{"fixed", func(o *raster.BEVOptions) {
			o.Points.ColorBy, o.Points.Color = raster.ColorFixed, color.RGBA{1, 2, 3, 255}
		}, 40, 40, 0.1, 0.1, color.RGBA{1, 2, 3, 255}, 1},
		{"intensity", func(o *raster.BEVOptions) {}, 40, 40, 0.1, 0.1, draw.Colormap(0.5), 1},
		{"size3-forward", func(o *raster.BEVOptions) {
			o.XRange, o.YRange, o.Resolution = [2]float64{0, 70.4}, [2]float64{-40, 40}, 0.2
			o.Points.Size, o.Points.ColorBy, o.Points.Color = 3, raster.ColorFixed, color.RGBA{9, 200, 9, 255}
		}, 70.4, 40, 0.2, 0.2, color.RGBA{9, 200, 9, 255}, 3},
		{"width-height", func(o *raster.BEVOptions) {
			o.Resolution, o.Width, o.Height = 0, 640, 480
			o.Points.ColorBy, o.Points.Color = raster.ColorFixed, color.RGBA{200, 1, 1, 255}
		}, 40, 40, 80.0 / 640, 80.0 / 480, color.RGBA{200, 1, 1, 255}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := raster.DefaultBEVOptions()
			o.Ego, o.GridStep = false, 0
			tc.o(&o)
			img := newImage(&o)
			raster.DrawBEV(img, pts, nil, &o)
			u, v := int(math.Floor((tc.yMax-py)/tc.ru)), int(math.Floor((tc.xMax-px)/tc.rv))
			for dv := -(tc.size / 2); dv <= tc.size/2; dv++ {
				for du := -(tc.size / 2); du <= tc.size/2; du++ {
					if got := at(img, u+du, v+dv); got != tc.want {
						t.Errorf("pixel (%d, %d) = %v, want the point's %v", u+du, v+dv, got, tc.want)
					}
				}
			}
			if got := at(img, u+tc.size, v); got != o.Background {
				t.Errorf("pixel right of the point = %v, want background", got)
			}
		})
	}
}

func TestBEVGridEgoAndLabel(t *testing.T) {
	o := raster.DefaultBEVOptions()
	o.GridColor = color.RGBA{60, 61, 62, 255}
	b := ds3d.Box3D{CX: 15, CY: 15, CZ: 0, DX: 4, DY: 2, DZ: 1.5, ClassID: 0, Label: "Car", Score: 0.87, TrackID: 3}
	img := newImage(&o)
	raster.DrawBEV(img, nil, []ds3d.Box3D{b}, &o)
	// Grid line x = 20 m: row ⌊(40 − 20)/0.1⌋ = 200, any column away from the box.
	if got := at(img, 50, 200); got != o.GridColor {
		t.Errorf("grid row 200 = %v", got)
	}
	if got := at(img, 100, 50); got != o.GridColor { // y = 30 m: column 100
		t.Errorf("grid column 100 = %v", got)
	}
	if got := at(img, 400, 397); got != o.EgoColor { // just above the origin's pixel (400, 400)
		t.Errorf("ego marker pixel = %v", got)
	}
	// The label starts right of the footprint: its rightmost corner is at
	// u = (40 − 14)/0.1 = 260, the top at v = (40 − 17)/0.1 = 230.
	green := color.RGBA{0, 200, 0, 255}
	n := 0
	tw := draw.TextWidth("Car 0.87 #3", 1)
	for v := 230; v < 230+draw.GlyphHeight; v++ {
		for u := 262; u < 262+tw+4; u++ {
			if at(img, u, v) == green {
				n++
			}
		}
	}
	if n < 40 {
		t.Errorf("label: %d green pixels in its box, want ≥ 40", n)
	}
}
