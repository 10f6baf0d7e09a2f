package bag_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
	"github.com/ds3d-go/ds3d-go/sensors/ros2"
	"github.com/ds3d-go/ds3d-go/sensors/ros2/bag"
)

// npmFrame is what bag.mjs write-frames says it wrote for one message.
type npmFrame struct {
	Topic, Type, LogTime           string
	FrameID                        string `json:"frame_id"`
	File, Format, Encoding, Sha256 string
	Width, Height, Bytes           int
}

// nuScenes publishes its camera images at 1600×900.
const nuScenesW, nuScenesH = 1600, 900

// TestReadNPMFrames: bags of the bundled nuScenes and KITTI frames written
// by @mcap/core with Foxglove's CDR writer (chunked lz4 and zstd) read
// here through the typed decoders: the nuScenes LIDAR_TOP cloud becomes a
// frame of columns x, y, z, intensity, ring whose bytes are the .pcd.bin
// bit for bit; each camera JPEG and the KITTI PNG come back as the file's
// bytes (sha256 of the file, and the one npm computed) and decode to the
// image's size (nuScenes' 1600×900, pngjs's for the PNG); the KITTI PNG's
// pixels, decoded by pngjs into an rgb8 Image and by the PNG
// CompressedImage's ToFrame, equal Go's image/png decode of the file.
func TestReadNPMFrames(t *testing.T) {
	node := testenv.Node(t, filepath.Join("testdata", "npm"))
	nus := filepath.Dir(sampledata.Sample(t, "nuscenes/lidar_list.toml"))
	lidars, _ := filepath.Glob(filepath.Join(nus, "*__LIDAR_TOP__*.pcd.bin"))
	jpegs, _ := filepath.Glob(filepath.Join(nus, "*__CAM_*.jpg"))
	if len(lidars) != 1 || len(jpegs) != 6 {
		t.Fatalf("samples: %d LIDAR_TOP sweeps, %d camera JPEGs in %s; want 1 and 6", len(lidars), len(jpegs), nus)
	}
	pngPath := sampledata.Sample(t, "kitti/image_2/000000.png")
	files := map[string][]byte{}
	for _, p := range append([]string{lidars[0], pngPath}, jpegs...) {
		b, err := os.ReadFile(p)
		must(t, err)
		files[filepath.Base(p)] = b
	}
	cloud := files[filepath.Base(lidars[0])]
	goPNG, err := png.Decode(bytes.NewReader(files["000000.png"]))
	must(t, err)
	wantRGB := rgbOf(goPNG)

	for _, comp := range []string{"lz4", "zstd"} {
		t.Run(comp, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "frames.mcap")
			args := append([]string{filepath.Join("testdata", "npm", "bag.mjs"), "write-frames", path, comp, lidars[0], pngPath}, jpegs...)
			out := testenv.Output(t, exec.Command(node, args...))
			var wrote struct{ Messages []npmFrame }
			if err := json.Unmarshal(out, &wrote); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			byTopic := map[string]npmFrame{}
			for _, w := range wrote.Messages {
				byTopic[w.Topic] = w
			}
			if len(byTopic) != 9 || len(wrote.Messages) != 9 {
				t.Fatalf("npm wrote %d messages on %d topics, want 9", len(wrote.Messages), len(byTopic))
			}
			b, err := bag.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			err = b.Messages(bag.Options{}, func(m *bag.Message) error {
				want, ok := byTopic[m.Topic]
				if !ok || seen[m.Topic] {
					return m.Errorf("unexpected or repeated topic")
				}
				seen[m.Topic] = true
				if m.Type != want.Type || fmt.Sprint(m.LogTime) != want.LogTime {
					return m.Errorf("type/time %s %d, npm wrote %+v", m.Type, m.LogTime, want)
				}
				if file, ok := files[want.File]; !ok || (want.Type != ros2.ImageType && sha256Hex(file) != want.Sha256) {
					return m.Errorf("npm's sha256 %s is not that of %s", want.Sha256, want.File)
				}
				return checkNPMFrame(m, want, byTopic["/kitti/image_2/raw"], files[want.File], cloud, wantRGB, comp == "lz4")
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(seen) != len(byTopic) {
				t.Fatalf("read %d of %d topics", len(seen), len(byTopic))
			}
		})
	}
}

// checkNPMFrame checks one message against what npm wrote (want), the
// file it came from, the nuScenes cloud and the KITTI PNG as image/png
// decodes it; pngjs is what npm decoded the PNG into. decode asks for the
// JPEGs and the PNG to be decoded: their bytes are the files' in every bag,
// so decoding them in one bag is enough (and keeps the test short).
func checkNPMFrame(m *bag.Message, want, pngjs npmFrame, file, cloud, wantRGB []byte, decode bool) error {
	stamp := func(h ros2.Header) error {
		if got := fmt.Sprint(h.Nanos()); got != want.LogTime || h.FrameID != want.FrameID {
			return m.Errorf("header %+v, npm wrote stamp %s frame %q", h, want.LogTime, want.FrameID)
		}
		return nil
	}
	switch m.Type {
	case ros2.PointCloud2Type:
		pc, err := ros2.DecodePointCloud2(m.Data)
		if err != nil {
			return m.Errorf("%w", err)
		}
		if err := stamp(pc.Header); err != nil {
			return err
		}
		f, err := pc.ToFrame(nil)
		if err != nil {
			return m.Errorf("%w", err)
		}
		cols := []string{ds3d.ColX, ds3d.ColY, ds3d.ColZ, ds3d.ColIntensity, ds3d.ColRing}
		if !slices.Equal(f.Columns(), cols) || f.Points() != len(cloud)/20 || f.Points() != want.Width {
			return m.Errorf("columns %v, %d points; want %v, %d", f.Columns(), f.Points(), cols, len(cloud)/20)
		}
		if !bytes.Equal(f.Data[:f.Bytes()], cloud) {
			return m.Errorf("points differ from %s", want.File)
		}
	case ros2.CompressedImageType:
		c, err := ros2.DecodeCompressedImage(m.Data)
		if err != nil {
			return m.Errorf("%w", err)
		}
		if err := stamp(c.Header); err != nil {
			return err
		}
		if c.Format != want.Format || sha256Hex(c.Data) != sha256Hex(file) {
			return m.Errorf("format %q, %d bytes: not %s (%q)", c.Format, len(c.Data), want.File, want.Format)
		}
		if !decode {
			return nil
		}
		f, err := c.ToFrame(nil)
		if err != nil {
			return m.Errorf("%w", err)
		}
		w, h := nuScenesW, nuScenesH
		if c.Format == "png" {
			w, h = pngjs.Width, pngjs.Height
		}
		if f.Type != ds3d.FrameColorRGB || f.Plane.Width != w || f.Plane.Height != h {
			return m.Errorf("frame %v %dx%d, want RGB %dx%d", f.Type, f.Plane.Width, f.Plane.Height, w, h)
		}
		if c.Format == "png" && !bytes.Equal(packedRGB(f), wantRGB) {
			return m.Errorf("PNG pixels differ from image/png's")
		}
	case ros2.ImageType:
		im, err := ros2.DecodeImage(m.Data)
		if err != nil {
			return m.Errorf("%w", err)
		}
		if err := stamp(im.Header); err != nil {
			return err
		}
		if im.Encoding != "rgb8" || int(im.Width) != want.Width || int(im.Height) != want.Height {
			return m.Errorf("%s %dx%d, npm wrote %+v", im.Encoding, im.Width, im.Height, want)
		}
		if sha256Hex(im.Data) != want.Sha256 {
			return m.Errorf("data differs from what npm wrote")
		}
		f, err := im.ToFrame(nil)
		if err != nil {
			return m.Errorf("%w", err)
		}
		if !bytes.Equal(packedRGB(f), wantRGB) {
			return m.Errorf("pngjs's pixels differ from image/png's")
		}
	default:
		return m.Errorf("unexpected type")
	}
	return nil
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// rgbOf lays out an opaque image as packed 8-bit RGB.
func rgbOf(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// packedRGB is an RGB u8 frame's pixels without row padding.
func packedRGB(f *ds3d.Frame) []byte {
	w, h, pitch := f.Plane.Width, f.Plane.Height, f.Plane.Pitch
	if pitch == 0 {
		pitch = 3 * w
	}
	out := make([]byte, 0, 3*w*h)
	for y := range h {
		out = append(out, f.Data[y*pitch:y*pitch+3*w]...)
	}
	return out
}

// TestNPMMsgDefinitions: the ros2msg texts bag.mjs registers as schemas
// (testdata/msg, written from the ROS 2 interface definitions) hold the
// fields of the built-in definitions, comments and blank lines aside.
func TestNPMMsgDefinitions(t *testing.T) {
	strip := func(s string) string {
		var lines []string
		for l := range strings.Lines(s) {
			if i := strings.IndexByte(l, '#'); i >= 0 {
				l = l[:i]
			}
			if l = strings.Join(strings.Fields(l), " "); l != "" {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	for _, typ := range []string{ros2.ImageType, ros2.CompressedImageType} {
		want, ok := ros2.Definition(typ)
		if !ok {
			t.Fatalf("%s is not built in", typ)
		}
		if got := msgDef(t, typ); strip(got) != strip(want) {
			t.Errorf("%s: testdata/msg has\n%s\nbuilt in:\n%s", typ, strip(got), strip(want))
		}
	}
}
