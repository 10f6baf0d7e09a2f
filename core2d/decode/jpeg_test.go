package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// cvDecode writes a Python script that decodes each JPEG with OpenCV's
// cv2.imdecode (Debian's OpenCV links libjpeg-turbo, the accurate integer
// IDCT and fancy upsampling: the TurboJPEG defaults) and returns the RGB
// pixels. The KITTI PNG is first re-encoded to JPEG (quality 90) by
// cv2.imencode, so the test also covers an encoder other than the one that
// made the bundled JPEGs. Without the reference Python and cv2 it skips
// (fails under CI: internal/testenv).
func cvDecode(t *testing.T, jpegs []string, kittiPNG, kittiJPEG string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	script := `import sys, numpy as np, cv2
png, out_jpg = sys.argv[1], sys.argv[2]
ok, enc = cv2.imencode(".jpg", cv2.imread(png, cv2.IMREAD_COLOR), [cv2.IMWRITE_JPEG_QUALITY, 90])
enc.tofile(out_jpg)
for i, p in enumerate(sys.argv[3:]):
    img = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    h, w = img.shape[:2]
    with open(p + ".rgb", "wb") as f:
        f.write(np.array([w, h], "<u4").tobytes()); f.write(np.ascontiguousarray(img[:, :, ::-1]).tobytes())
`
	testenv.Python(t, "numpy", "cv2")
	var copies []string
	for _, p := range append(jpegs, kittiJPEG) {
		if p == kittiJPEG {
			copies = append(copies, p)
			continue
		}
		c := filepath.Join(dir, filepath.Base(p))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(c, b, 0o644)
		copies = append(copies, c)
	}
	args := append([]string{"-c", script, kittiPNG, kittiJPEG}, copies...)
	testenv.RunPython(t, []string{"numpy", "cv2"}, args...)
	ref := map[string][]byte{}
	for i, c := range copies {
		b, err := os.ReadFile(c + ".rgb")
		if err != nil {
			t.Fatal(err)
		}
		key := kittiJPEG
		if i < len(jpegs) {
			key = jpegs[i]
		}
		ref[key] = b
	}
	return ref
}

// TestJPEGMatchesOpenCV decodes real JPEGs (nuScenes and Redwood camera
// images, and the KITTI image re-encoded by OpenCV) into RGB and RGBA
// frames and compares them with OpenCV's decode. libjpeg-turbo with the
// same settings must match exactly (OpenCV decodes with the same system
// libjpeg-turbo, whose accurate integer IDCT and fancy upsampling give the
// same bytes with or without its SIMD: JSIMD_FORCENONE=1 passes too);
// image/jpeg (a different IDCT and chroma upsampling) within a mean of 2
// levels.
func TestJPEGMatchesOpenCV(t *testing.T) {
	root := sampledata.RepoRoot(t)
	jpegs := []string{
		filepath.Join(root, "datasets/samples/nuscenes/n015-2018-07-24-11-22-45+0800__CAM_FRONT__1532402927612460.jpg"),
		filepath.Join(root, "datasets/samples/redwood/color/00000.jpg"),
	}
	kitti := filepath.Join(t.TempDir(), "kitti_000000_q90.jpg")
	ref := cvDecode(t, jpegs, filepath.Join(root, "datasets/samples/kitti/image_2/000000.png"), kitti)
	d, err := NewJPEG()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, p := range append(jpegs, kitti) {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r := ref[p]
		w, h := int(binary.LittleEndian.Uint32(r[0:])), int(binary.LittleEndian.Uint32(r[4:]))
		pix := r[8:]
		if gw, gh, err := d.Size(p, data); err != nil || gw != w || gh != h {
			t.Fatalf("%s: Size %dx%d %v, OpenCV %dx%d", p, gw, gh, err, w, h)
		}
		for _, ft := range []ds3d.FrameType{ds3d.FrameColorRGB, ds3d.FrameColorRGBA} {
			// A padded pitch checks that rows land where the frame says.
			ch := 3
			if ft == ds3d.FrameColorRGBA {
				ch = 4
			}
			f, err := ds3d.NewImageFrame(ft, ds3d.DTypeU8, w, h, w*ch+16)
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Decode(p, data, f); err != nil {
				t.Fatal(err)
			}
			var sum, maxd int
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					o := f.Data[y*f.Plane.Pitch+x*ch:]
					q := pix[(y*w+x)*3:]
					for c := 0; c < 3; c++ {
						dd := int(o[c]) - int(q[c])
						if dd < 0 {
							dd = -dd
						}
						sum += dd
						maxd = max(maxd, dd)
					}
					if ch == 4 && o[3] != 255 {
						t.Fatalf("%s: alpha %d at %d,%d", p, o[3], x, y)
					}
				}
			}
			mean := float64(sum) / float64(w*h*3)
			t.Logf("%s %s %s: mean abs diff %.4f, max %d vs cv2.imdecode", JPEGBackend, filepath.Base(p), ft, mean, maxd)
			if JPEGBackend == "libjpeg-turbo" && maxd != 0 {
				t.Errorf("%s %s: libjpeg-turbo differs from OpenCV's libjpeg-turbo decode: mean %.4f max %d", p, ft, mean, maxd)
			}
			if mean > 2 {
				t.Errorf("%s %s: mean abs diff %.3f > 2 levels", p, ft, mean)
			}
		}
	}
}

func redwoodJPEG(tb testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join(sampledata.RepoRoot(tb), "datasets/samples/redwood/color/00000.jpg"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestJPEGErrors(t *testing.T) {
	data := redwoodJPEG(t)
	d, err := NewJPEG()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 640, 480, 0)
	if err := d.Decode("ok.jpg", data, f); err != nil {
		t.Fatal(err)
	}
	small, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 320, 240, 0)
	depth, _ := ds3d.NewImageFrame(ds3d.FrameDepth, ds3d.DTypeU16, 640, 480, 0)
	garbled := bytes.Clone(data)
	// Overwrite the middle of the entropy-coded data with marker bytes
	// (ff d0..: restart markers where none are declared) — corrupt data.
	for i := len(garbled) / 2; i < len(garbled)/2+4000; i += 2 {
		garbled[i], garbled[i+1] = 0xff, 0xd3
	}
	cases := []struct {
		name string
		data []byte
		dst  *ds3d.Frame
		want string
	}{
		{"half", data[:len(data)/2], f, fmt.Sprintf("jpeg half: offset %d: truncated: no EOI", len(data)/2)},
		{"header", data[:100], f, "jpeg header: offset "},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00"), f, "jpeg png: offset 0: no SOI marker"},
		{"empty", nil, f, "jpeg empty: offset 0: 0 bytes is too short"},
		{"garbled", garbled, f, "jpeg garbled: "},
		{"size", data, small, "image is 640x480, frame is 320x240"},
		{"depth", data, depth, "want u8 rgb or rgba"},
	}
	for _, c := range cases {
		err := d.Decode(c.name, c.data, c.dst)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
			continue
		}
		var je *JPEGError
		if c.dst == f && !errors.As(err, &je) {
			t.Errorf("%s: %T is not a *JPEGError", c.name, err)
		}
		t.Logf("%s: %v", c.name, err)
	}
	// The decoder is still usable after errors.
	if err := d.Decode("again.jpg", data, f); err != nil {
		t.Fatal(err)
	}
}

// TestJPEGNoAllocs: libjpeg-turbo decodes into the frame with one reused
// handle; image/jpeg allocates its planes per image (documented).
func TestJPEGNoAllocs(t *testing.T) {
	if JPEGBackend != "libjpeg-turbo" {
		t.Skip("image/jpeg allocates its YCbCr planes per image; build with -tags turbojpeg")
	}
	data := redwoodJPEG(t)
	d, _ := NewJPEG()
	defer d.Close()
	f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGBA, ds3d.DTypeU8, 640, 480, 0)
	if a := testing.AllocsPerRun(20, func() {
		if err := d.Decode("x.jpg", data, f); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per decode", a)
	}
}

func FuzzJPEG(f *testing.F) {
	data := redwoodJPEG(f)
	f.Add(data)
	f.Add(data[:2000])
	f.Add([]byte{0xff, 0xd8, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9})
	d, _ := NewJPEG()
	dst, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, 640, 480, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, h, err := d.Size("f.jpg", b); err == nil && w == 640 && h == 480 {
			d.Decode("f.jpg", b, dst)
		}
	})
}

// BenchmarkJPEG decodes 1242×375 JPEGs into a pooled RGB frame. With
// JPEG_BENCH_DIR set to the frames of ../shared/peers/gen_data.py
// (frame000.jpg …) it decodes the same files GStreamer's jpegdec does in
// bench_media.py; otherwise the KITTI image re-encoded at quality 90.
func BenchmarkJPEG(b *testing.B) {
	var files [][]byte
	if dir := os.Getenv("JPEG_BENCH_DIR"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "frame*.jpg"))
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				b.Fatal(err)
			}
			files = append(files, data)
		}
	}
	if len(files) == 0 {
		root := sampledata.RepoRoot(b)
		out := filepath.Join(b.TempDir(), "k.jpg")
		testenv.RunPython(b, []string{"cv2"}, "-c", `import sys, cv2
cv2.imwrite(sys.argv[2], cv2.resize(cv2.imread(sys.argv[1]), (1242, 375)), [cv2.IMWRITE_JPEG_QUALITY, 90])`,
			filepath.Join(root, "datasets/samples/kitti/image_2/000000.png"), out)
		data, _ := os.ReadFile(out)
		files = append(files, data)
	}
	d, _ := NewJPEG()
	defer d.Close()
	w, h, err := d.Size("bench", files[0])
	if err != nil {
		b.Fatal(err)
	}
	f, _ := ds3d.NewImageFrame(ds3d.FrameColorRGB, ds3d.DTypeU8, w, h, 0)
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		if err := d.Decode("bench", files[k%len(files)], f); err != nil {
			b.Fatal(err)
		}
		k++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e6/float64(b.N), "ms/frame")
}
