package raster_test

import (
	"bufio"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/render/raster"
)

// devkitProjection reads P2, R0_rect and Tr_velo_to_cam from a KITTI calib
// file with plain string parsing and returns P2·R0_rect·Tr_velo_to_cam
// (3×4, row-major), the devkit's velodyne→image_2 projection.
func devkitProjection(t testing.TB, path string) [12]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vals := map[string][]float64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		for _, s := range strings.Fields(rest) {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			vals[k] = append(vals[k], v)
		}
	}
	p2, r0, tr := vals["P2"], vals["R0_rect"], vals["Tr_velo_to_cam"]
	// R0 (3×3) padded to 4×4, Tr (3×4) padded to 4×4.
	var R, T [4][4]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			R[r][c] = r0[r*3+c]
		}
		for c := 0; c < 4; c++ {
			T[r][c] = tr[r*4+c]
		}
	}
	R[3][3], T[3][3] = 1, 1
	var RT [4][4]float64
	for r := 0; r < 4; r++ {
		for c := 0; c < 4; c++ {
			for k := 0; k < 4; k++ {
				RT[r][c] += R[r][k] * T[k][c]
			}
		}
	}
	var out [12]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 4; c++ {
			for k := 0; k < 4; k++ {
				out[r*4+c] += p2[r*4+k] * RT[k][c]
			}
		}
	}
	return out
}

func devkitProject(P [12]float64, x, y, z float64) (u, v, w float64) {
	a := P[0]*x + P[1]*y + P[2]*z + P[3]
	b := P[4]*x + P[5]*y + P[6]*z + P[7]
	w = P[8]*x + P[9]*y + P[10]*z + P[11]
	return a / w, b / w, w
}

func loadPNG(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestCameraKITTI000000(t *testing.T) {
	pts, fr := kittiSample(t)
	P := devkitProjection(t, sampledata.Sample(t, "kitti/calib/000000.txt"))
	cam, ok := fr.Rig.Camera("image_2")
	if !ok {
		t.Fatal("no image_2")
	}
	img := raster.CopyImage(nil, loadPNG(t, fr.ImagePath))
	if img.Rect.Dx() != 1224 || img.Rect.Dy() != 370 {
		t.Fatalf("image %v", img.Rect)
	}
	rc := raster.Camera{Intrinsics: cam.Intrinsics, LidarToCam: cam.Extrinsics.Transform}
	o := raster.DefaultCameraOptions()
	o.Boxes.Labels = false
	boxes := fr.Boxes()
	raster.DrawCamera(img, pts, boxes, rc, &o)

	// A synthetic point at each box's 3D centre, drawn alone in a fixed colour.
	mark := color.RGBA{1, 254, 3, 255}
	po := raster.CameraOptions{Points: raster.PointStyle{ColorBy: raster.ColorFixed, Color: mark, Size: 1}}
	for i, b := range boxes {
		raster.DrawCamera(img, []float32{b.CX, b.CY, b.CZ, 1}, nil, rc, &po)
		u, v, w := devkitProject(P, float64(b.CX), float64(b.CY), float64(b.CZ))
		if w <= 0 {
			t.Fatalf("box %d behind the camera", i)
		}
		// Cross-check: the label's own centre (X, Y − H/2, Z) through P2.
		l := fr.Objects[i].Label
		p2 := fr.Calib.P[2]
		a := p2[0]*l.X + p2[1]*(l.Y-l.H/2) + p2[2]*l.Z + p2[3]
		bb := p2[4]*l.X + p2[5]*(l.Y-l.H/2) + p2[6]*l.Z + p2[7]
		c := p2[8]*l.X + p2[9]*(l.Y-l.H/2) + p2[10]*l.Z + p2[11]
		if math.Hypot(a/c-u, bb/c-v) > 0.5 {
			t.Errorf("box %d: lidar centre projects to (%.2f, %.2f), camera centre to (%.2f, %.2f)", i, u, v, a/c, bb/c)
		}
		iu, iv := int(math.Floor(u+0.5)), int(math.Floor(v+0.5))
		if got := at(img, iu, iv); got != mark {
			if near(img, iu, iv, 1, mark) {
				t.Logf("box %d: centre point within 1 px of (%d, %d)", i, iu, iv)
			} else {
				t.Errorf("box %d: centre (%.2f, %.2f) → pixel (%d, %d) = %v, want %v within 1 px", i, u, v, iu, iv, got, mark)
			}
		}
		t.Logf("box %d (%s) centre → pixel (%.2f, %.2f)", i, b.Label, u, v)
		// The wireframe passes through each corner's pixel (devkit projection
		// of the box's corners).
		want := draw.BoxColor(b.Color, b.ClassID, nil)
		for k, q := range b.Corners() {
			cu, cv, cw := devkitProject(P, q.X, q.Y, q.Z)
			iu, iv := int(math.Floor(cu+0.5)), int(math.Floor(cv+0.5))
			if cw <= 0.1 || iu < 1 || iv < 1 || iu >= img.Rect.Dx()-1 || iv >= img.Rect.Dy()-1 {
				continue
			}
			if !near(img, iu, iv, 1, want) {
				t.Errorf("box %d corner %d → (%.1f, %.1f): no %v within 1 px", i, k, cu, cv, want)
			}
		}
	}
	// Points: every lidar point in front and inside, drawn over the photo.
	// Check one far-away point explicitly with depth colours: the test point
	// at 30 m straight ahead is coloured Colormap(1 − depth/60).
	x, y, z := 30.0, 0.0, -1.0
	u, v, w := devkitProject(P, x, y, z)
	raster.DrawCamera(img, []float32{float32(x), float32(y), float32(z), 0}, nil, rc, &raster.CameraOptions{Points: raster.PointStyle{Size: 1}})
	if want := draw.Colormap(1 - w/60); !near(img, int(math.Floor(u+0.5)), int(math.Floor(v+0.5)), 0, want) {
		t.Errorf("depth-coloured point at (%.1f, %.1f) depth %.2f: %v, want %v", u, v, w, at(img, int(math.Floor(u+0.5)), int(math.Floor(v+0.5))), want)
	}
}

// TestCameraClipBehind: a box straddling the camera plane draws only its
// front part; a box entirely behind draws nothing.
func TestCameraClipBehind(t *testing.T) {
	cam := raster.Camera{
		Intrinsics: ds3d.Intrinsics{Fx: 100, Fy: 100, Cx: 50, Cy: 50, Width: 100, Height: 100},
		// lidar x forward → camera z; lidar y left → camera −x; lidar z up → camera −y.
		LidarToCam: ds3d.Mat4{0, -1, 0, 0, 0, 0, -1, 0, 1, 0, 0, 0, 0, 0, 0, 1},
	}
	o := raster.DefaultCameraOptions()
	o.Boxes.Labels = false
	bg := color.RGBA{0, 0, 0, 255}
	img := draw.EnsureRGBA(nil, 100, 100)
	draw.Fill(img, bg)
	raster.DrawCamera(img, nil, []ds3d.Box3D{{CX: -5, DX: 2, DY: 2, DZ: 2, ClassID: 0}}, cam, &o)
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i+1] != 0 {
			t.Fatal("a box behind the camera drew pixels")
		}
	}
	raster.DrawCamera(img, nil, []ds3d.Box3D{{CX: 0.5, DX: 4, DY: 2, DZ: 2, ClassID: 0}}, cam, &o)
	// The far face (x = 2.5 m) has corners at u = 50 ± 100·1/2.5 = 10 and 90.
	green := color.RGBA{0, 200, 0, 255}
	for _, p := range [][2]int{{10, 10}, {90, 10}, {10, 90}, {90, 90}} {
		if !near(img, p[0], p[1], 1, green) {
			t.Errorf("far-face corner (%d, %d) not drawn", p[0], p[1])
		}
	}
}
