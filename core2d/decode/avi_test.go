package decode

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// TestMJPEGAVI reads vtest_5s_mjpeg.avi: video-vtest/PROVENANCE.md says 50
// frames (ffprobe -count_frames), 768×576, 10 fps, MJPEG.
func TestMJPEGAVI(t *testing.T) {
	a, err := OpenAVI(sampledata.Shared(t, "video-vtest/vtest_5s_mjpeg.avi"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Frames() != 50 || a.Width != 768 || a.Height != 576 || a.Codec != "MJPG" {
		t.Fatalf("%d frames %dx%d %q", a.Frames(), a.Width, a.Height, a.Codec)
	}
	if got := a.FrameNs(10); got != 1e9 {
		t.Errorf("frame 10 at %d ns, want 1 s (10 fps)", got)
	}
	var buf []byte
	for k := 0; k < a.Frames(); k++ {
		img, b, err := a.Frame(k, buf)
		if err != nil {
			t.Fatal(err)
		}
		buf = b
		if r := img.Bounds(); r.Dx() != 768 || r.Dy() != 576 {
			t.Fatalf("frame %d is %v", k, r)
		}
	}
}

func TestAVIErrors(t *testing.T) {
	data, err := os.ReadFile(sampledata.Shared(t, "video-vtest/vtest_5s_mjpeg.avi"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"not riff", []byte("RIFX\x00\x00\x00\x00AVI "), "offset 0: not a RIFF AVI"},
		{"short", data[:5], "shorter than the 12-byte RIFF header"},
		{"cut in the headers", data[:300], "runs past the end"},
		{"other codec", bytes.Replace(data, []byte("MJPG"), []byte("DIV3"), -1), `video codec "DIV3"`},
	}
	for _, c := range cases {
		_, err := ReadAVI("x.avi", bytes.NewReader(c.data), int64(len(c.data)))
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "avi x.avi: offset ") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A corrupt frame is an error naming the frame, not a panic.
	a, err := ReadAVI("x.avi", bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	broken := append([]byte(nil), data...)
	s := a.frames[3]
	for i := s.off + 20; i < s.off+s.n-2; i++ {
		broken[i] = 0
	}
	b, _ := ReadAVI("x.avi", bytes.NewReader(broken), int64(len(broken)))
	if _, _, err := b.Frame(3, nil); err == nil || !strings.Contains(err.Error(), "frame 3") {
		t.Errorf("corrupt frame: %v", err)
	}
}

func FuzzReadAVI(f *testing.F) {
	if data, err := os.ReadFile(sampledata.Shared(f, "video-vtest/vtest_5s_mjpeg.avi")); err == nil {
		f.Add(data[:min(len(data), 16<<10)])
	}
	f.Add([]byte("RIFF\x10\x00\x00\x00AVI LIST\x04\x00\x00\x00hdrl"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ReadAVI("f.avi", bytes.NewReader(data), int64(len(data)))
		if err == nil {
			for k := 0; k < min(a.Frames(), 3); k++ {
				a.Frame(k, nil)
			}
		}
	})
}

func BenchmarkMJPEGFrame(b *testing.B) {
	a, err := OpenAVI(sampledata.Shared(b, "video-vtest/vtest_5s_mjpeg.avi"))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	var buf []byte
	k := 0
	for b.Loop() {
		_, buf, _ = a.Frame(k%a.Frames(), buf)
		k++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
