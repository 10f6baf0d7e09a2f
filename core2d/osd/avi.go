package osd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// AVIWriter writes a Motion-JPEG AVI (RIFF AVI 1.0 with an idx1 index):
// one video stream whose frames are complete JPEG files in '00dc' chunks.
// Sizes and counts in the headers are written at Close, so the file is
// playable only after Close; frames larger than 4 GiB in total are refused
// (AVI 1.0's RIFF limit).
type AVIWriter struct {
	f       *os.File
	w       *bufio.Writer
	path    string
	width   int
	height  int
	fps     int
	frames  int
	maxSize int
	off     int64    // bytes written so far
	moviPos int64    // offset of the movi LIST's type field
	index   []uint32 // per frame: offset from movi type, size
	closed  bool
}

// Byte offsets in the header written by CreateAVI.
const (
	aviRiffSize    = 4
	aviAvihFrames  = 12 + 12 + 8 + 16 // RIFF hdr, LIST hdrl hdr, avih hdr, 4 fields
	aviAvihMaxSize = 12 + 12 + 8 + 4
	aviAvihBufSize = 12 + 12 + 8 + 28
	aviHeaderLen   = 12 + 12 + 8 + 56 + 12 + 8 + 56 + 8 + 40 + 12
	aviStrhLength  = 12 + 12 + 8 + 56 + 12 + 8 + 32
	aviStrhBufSize = aviStrhLength + 4
)

// CreateAVI creates path and writes the AVI headers for width×height
// frames at fps frames per second.
func CreateAVI(path string, width, height, fps int) (*AVIWriter, error) {
	if width <= 0 || height <= 0 || fps <= 0 {
		return nil, fmt.Errorf("avi %s: size %dx%d at %d fps: all must be positive", path, width, height, fps)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("avi: %w", err)
	}
	a := &AVIWriter{f: f, w: bufio.NewWriterSize(f, 1<<16), path: path, width: width, height: height, fps: fps}
	h := make([]byte, 0, aviHeaderLen)
	le := binary.LittleEndian
	u32 := func(v uint32) { h = le.AppendUint32(h, v) }
	u16 := func(v uint16) { h = le.AppendUint16(h, v) }
	id := func(s string) { h = append(h, s...) }
	id("RIFF")
	u32(0) // patched
	id("AVI ")
	id("LIST")
	u32(4 + 8 + 56 + 12 + 8 + 56 + 8 + 40) // hdrl: avih chunk + strl list
	id("hdrl")
	id("avih")
	u32(56)
	u32(uint32(1000000 / fps)) // µs per frame
	u32(0)                     // max bytes per second (patched: unknown)
	u32(0)                     // padding granularity
	u32(0x10)                  // AVIF_HASINDEX
	u32(0)                     // total frames (patched)
	u32(0)                     // initial frames
	u32(1)                     // streams
	u32(0)                     // suggested buffer size (patched)
	u32(uint32(width))
	u32(uint32(height))
	u32(0)
	u32(0)
	u32(0)
	u32(0)
	id("LIST")
	u32(4 + 8 + 56 + 8 + 40)
	id("strl")
	id("strh")
	u32(56)
	id("vids")
	id("MJPG")
	u32(0) // flags
	u16(0) // priority
	u16(0) // language
	u32(0) // initial frames
	u32(1) // scale
	u32(uint32(fps))
	u32(0) // start
	u32(0) // length in frames (patched)
	u32(0) // suggested buffer size (patched)
	u32(0xFFFFFFFF)
	u32(0) // sample size
	u16(0)
	u16(0)
	u16(uint16(width))
	u16(uint16(height))
	id("strf")
	u32(40)
	u32(40) // BITMAPINFOHEADER size
	u32(uint32(width))
	u32(uint32(height))
	u16(1)  // planes
	u16(24) // bits per pixel
	id("MJPG")
	u32(uint32(width * height * 3))
	u32(0)
	u32(0)
	u32(0)
	u32(0)
	id("LIST")
	u32(0) // movi size (patched)
	id("movi")
	if len(h) != aviHeaderLen {
		panic(fmt.Sprintf("avi header is %d bytes, want %d", len(h), aviHeaderLen))
	}
	if _, err := a.w.Write(h); err != nil {
		f.Close()
		return nil, fmt.Errorf("avi %s: %w", path, err)
	}
	a.off = int64(len(h))
	a.moviPos = a.off - 4
	return a, nil
}

// WriteFrame appends one JPEG file as a frame.
func (a *AVIWriter) WriteFrame(jpeg []byte) error {
	if a.closed {
		return fmt.Errorf("avi %s: write after close", a.path)
	}
	n := len(jpeg)
	if a.off+int64(8+n+1)+int64(16*(a.frames+1))+8 > 1<<32-1 {
		return fmt.Errorf("avi %s: frame %d would pass AVI 1.0's 4 GiB limit", a.path, a.frames)
	}
	var hdr [8]byte
	copy(hdr[:4], "00dc")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(n))
	a.index = append(a.index, uint32(a.off-a.moviPos), uint32(n))
	if _, err := a.w.Write(hdr[:]); err != nil {
		return fmt.Errorf("avi %s: %w", a.path, err)
	}
	if _, err := a.w.Write(jpeg); err != nil {
		return fmt.Errorf("avi %s: %w", a.path, err)
	}
	a.off += int64(8 + n)
	if n&1 == 1 { // chunks are word-aligned
		if err := a.w.WriteByte(0); err != nil {
			return fmt.Errorf("avi %s: %w", a.path, err)
		}
		a.off++
	}
	a.frames++
	a.maxSize = max(a.maxSize, n)
	return nil
}

// Frames is the number of frames written.
func (a *AVIWriter) Frames() int { return a.frames }

// Close writes the index and the final sizes and closes the file.
func (a *AVIWriter) Close() error {
	if a.closed {
		return nil
	}
	a.closed = true
	err := a.finish()
	if cerr := a.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("avi %s: %w", a.path, cerr)
	}
	return err
}

func (a *AVIWriter) finish() error {
	le := binary.LittleEndian
	moviSize := a.off - a.moviPos
	idx := make([]byte, 0, 8+16*a.frames)
	idx = append(idx, "idx1"...)
	idx = le.AppendUint32(idx, uint32(16*a.frames))
	for k := 0; k < a.frames; k++ {
		idx = append(idx, "00dc"...)
		idx = le.AppendUint32(idx, 0x10) // AVIIF_KEYFRAME
		idx = le.AppendUint32(idx, a.index[2*k])
		idx = le.AppendUint32(idx, a.index[2*k+1])
	}
	if _, err := a.w.Write(idx); err != nil {
		return fmt.Errorf("avi %s: %w", a.path, err)
	}
	a.off += int64(len(idx))
	if err := a.w.Flush(); err != nil {
		return fmt.Errorf("avi %s: %w", a.path, err)
	}
	patch := func(off int64, v uint32) error {
		var b [4]byte
		le.PutUint32(b[:], v)
		_, err := a.f.WriteAt(b[:], off)
		return err
	}
	buf := uint32(a.maxSize + 8)
	errs := []error{
		patch(aviRiffSize, uint32(a.off-8)),
		patch(aviAvihMaxSize, uint32(int64(a.maxSize)*int64(a.fps))),
		patch(aviAvihFrames, uint32(a.frames)),
		patch(aviAvihBufSize, buf),
		patch(aviStrhLength, uint32(a.frames)),
		patch(aviStrhBufSize, buf),
		patch(a.moviPos-4, uint32(moviSize)),
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("avi %s: %w", a.path, err)
	}
	return nil
}

var _ io.Closer = (*AVIWriter)(nil)
