package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"os"
)

// AVI is an open Motion-JPEG AVI file: its video stream's geometry and rate
// and the byte ranges of its frames.
type AVI struct {
	Path          string
	Width, Height int
	// MicroSecPerFrame is the frame period from the main header; Rate/Scale
	// from the stream header give the same as a fraction (frames per second
	// = Rate/Scale).
	MicroSecPerFrame int
	Rate, Scale      uint32
	Codec            string // the stream's handler FourCC, e.g. "MJPG"
	frames           []span
	r                io.ReaderAt
	f                *os.File
}

type span struct{ off, n int64 }

// FormatError is a malformed AVI: what was expected at which byte offset.
type FormatError struct {
	Path   string
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("avi %s: offset %d: %s", e.Path, e.Offset, e.Msg)
}

// OpenAVI opens an AVI file and indexes its frames.
func OpenAVI(path string) (*AVI, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, err := ReadAVI(path, f, st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	a.f = f
	return a, nil
}

// ReadAVI indexes an AVI held by r (size bytes); name is for messages.
func ReadAVI(name string, r io.ReaderAt, size int64) (*AVI, error) {
	a := &AVI{Path: name, r: r}
	bad := func(off int64, format string, args ...any) error {
		return &FormatError{Path: name, Offset: off, Msg: fmt.Sprintf(format, args...)}
	}
	var hdr [12]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, bad(0, "file shorter than the 12-byte RIFF header")
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "AVI " {
		return nil, bad(0, "not a RIFF AVI file (starts %q, form %q)", hdr[0:4], hdr[8:12])
	}
	end := min(int64(binary.LittleEndian.Uint32(hdr[4:8]))+8, size)
	videoStream := -1
	stream := -1
	var walk func(off, end int64, depth int) error
	walk = func(off, end int64, depth int) error {
		if depth > 8 {
			return bad(off, "lists nested deeper than 8")
		}
		for off+8 <= end {
			var ch [12]byte
			if _, err := r.ReadAt(ch[:8], off); err != nil {
				return bad(off, "truncated chunk header")
			}
			id := string(ch[0:4])
			n := int64(binary.LittleEndian.Uint32(ch[4:8]))
			body := off + 8
			if body+n > end {
				// A last chunk cut short (a truncated capture) ends the walk
				// inside movi; elsewhere it is an error.
				return bad(off, "chunk %q of %d bytes runs past the end of its list at %d", id, n, end)
			}
			switch {
			case id == "LIST":
				if n < 4 {
					return bad(off, "LIST of %d bytes has no type", n)
				}
				if _, err := r.ReadAt(ch[8:12], body); err != nil {
					return bad(body, "truncated LIST type")
				}
				typ := string(ch[8:12])
				if typ == "strl" {
					stream++
				}
				if err := walk(body+4, body+n, depth+1); err != nil {
					return err
				}
			case id == "avih" && n >= 40:
				var h [40]byte
				if _, err := r.ReadAt(h[:], body); err != nil {
					return bad(body, "truncated avih")
				}
				a.MicroSecPerFrame = int(binary.LittleEndian.Uint32(h[0:4]))
				a.Width = int(binary.LittleEndian.Uint32(h[32:36]))
				a.Height = int(binary.LittleEndian.Uint32(h[36:40]))
			case id == "strh" && n >= 28:
				var h [28]byte
				if _, err := r.ReadAt(h[:], body); err != nil {
					return bad(body, "truncated strh")
				}
				if string(h[0:4]) == "vids" && videoStream < 0 {
					videoStream = stream
					a.Codec = string(bytes.TrimRight(h[4:8], "\x00 "))
					a.Scale = binary.LittleEndian.Uint32(h[20:24])
					a.Rate = binary.LittleEndian.Uint32(h[24:28])
				}
			case len(id) == 4 && (id[2:] == "dc" || id[2:] == "db") && isDigit(id[0]) && isDigit(id[1]):
				if int((id[0]-'0')*10+(id[1]-'0')) == videoStream && n > 0 {
					a.frames = append(a.frames, span{body, n})
				}
			}
			off = body + n + n&1 // chunks are word-aligned
		}
		return nil
	}
	if err := walk(12, end, 0); err != nil {
		return nil, err
	}
	if videoStream < 0 {
		return nil, bad(12, "no video stream (strh of type vids)")
	}
	if a.Codec != "MJPG" && a.Codec != "mjpg" && a.Codec != "MJPEG" {
		return nil, bad(12, "video codec %q: only Motion-JPEG AVI is read in pure Go (other codecs go through ffmpeg)", a.Codec)
	}
	if len(a.frames) == 0 {
		return nil, bad(12, "no frames in the movi list")
	}
	return a, nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// Frames is the number of frames.
func (a *AVI) Frames() int { return len(a.frames) }

// FrameNs is frame k's presentation time in nanoseconds.
func (a *AVI) FrameNs(k int) int64 {
	if a.Rate > 0 && a.Scale > 0 {
		return int64(k) * int64(a.Scale) * 1e9 / int64(a.Rate)
	}
	return int64(k) * int64(a.MicroSecPerFrame) * 1000
}

// FrameJPEG reads frame k's JPEG bytes into buf (grown as needed).
func (a *AVI) FrameJPEG(k int, buf []byte) ([]byte, error) {
	if k < 0 || k >= len(a.frames) {
		return nil, fmt.Errorf("avi %s: frame %d of %d", a.Path, k, len(a.frames))
	}
	s := a.frames[k]
	if int64(cap(buf)) < s.n {
		buf = make([]byte, s.n)
	}
	buf = buf[:s.n]
	if _, err := a.r.ReadAt(buf, s.off); err != nil {
		return nil, &FormatError{Path: a.Path, Offset: s.off, Msg: fmt.Sprintf("frame %d: %v", k, err)}
	}
	return buf, nil
}

// Frame decodes frame k.
func (a *AVI) Frame(k int, buf []byte) (image.Image, []byte, error) {
	b, err := a.FrameJPEG(k, buf)
	if err != nil {
		return nil, buf, err
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, b, &FormatError{Path: a.Path, Offset: a.frames[k].off, Msg: fmt.Sprintf("frame %d: %v", k, err)}
	}
	return img, b, nil
}

// Close closes the file OpenAVI opened.
func (a *AVI) Close() error {
	if a.f != nil {
		return a.f.Close()
	}
	return nil
}
