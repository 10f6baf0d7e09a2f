package lidar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// ReadOptions say how to turn a file into the [N,4] frame. The zero value
// reads x, y, z and the field "intensity" with every other field kept.
type ReadOptions struct {
	// Format forces a registered format by name ("pcd", "ply", "bin",
	// "pcd.bin", "xyz"); empty picks it from the file name's extension,
	// then from the first bytes.
	Format string
	// IntensityField names the field copied into column 3. Empty means
	// "intensity", and a file without it reads as intensity 0; a name
	// given here that the file lacks is an error.
	IntensityField string
	// ElementSize and ElementStride describe raw float files (ds3d's
	// element_size / element_stride): floats used per point (3: x,y,z;
	// 4: x,y,z,intensity) and floats per point in the file (≥ size).
	// Zero takes the format's default: 4/4 for .bin, 4/5 for .pcd.bin.
	ElementSize, ElementStride int
	// SkipFields decodes only the points: Cloud.Fields still lists the
	// fields but holds no Data.
	SkipFields bool
}

func (o *ReadOptions) intensityName() string {
	if o.IntensityField == "" {
		return "intensity"
	}
	return o.IntensityField
}

// DecodeFunc decodes a whole file's bytes into c. The caller has cleared c's
// metadata (keeping its buffers) and name is only for messages. A decoder
// calls c.Resize(n) and fills every value, appends to c.Fields, and sets
// Intensity, Encoding, Width/Height (left 0: N×1) and Viewpoint as the file
// says; the caller sets Format and counts NaNs. Errors should be
// *FormatError.
type DecodeFunc func(c *Cloud, name string, data []byte, opts ReadOptions) error

type format struct {
	name  string
	exts  []string
	sniff func(head []byte) bool
	dec   DecodeFunc
	// readFrame, when set, loads a file straight into a frame without a
	// staging buffer (raw float files).
	readFrame func(dst *ds3d.Frame, name string, f *os.File, size int64, opts ReadOptions) (bool, error)
}

var (
	formatsMu sync.Mutex
	formats   atomic.Pointer[[]*format]
)

// RegisterFormat adds a point-cloud format. Extensions include the dot and
// are matched case-insensitively at the end of the name, longest first
// (".pcd.bin" wins over ".bin"). sniff, which may be nil, recognises the
// format from a file's first bytes for names with no registered extension.
// Formats register in init(); registering a name twice panics, as a
// programming error.
func RegisterFormat(name string, extensions []string, sniff func(head []byte) bool, decode DecodeFunc) {
	register(&format{name: name, exts: extensions, sniff: sniff, dec: decode})
}

func register(f *format) {
	formatsMu.Lock()
	defer formatsMu.Unlock()
	var list []*format
	if p := formats.Load(); p != nil {
		list = append(list, *p...)
	}
	for _, g := range list {
		if g.name == f.name {
			panic("lidar: format " + f.name + " registered twice")
		}
	}
	list = append(list, f)
	formats.Store(&list)
}

func formatList() []*format {
	if p := formats.Load(); p != nil {
		return *p
	}
	return nil
}

// lookup finds a format by forced name, then extension, then sniffing head
// (which may be nil when the bytes are not read yet).
func lookup(forced, name string, head []byte) (*format, error) {
	list := formatList()
	if forced != "" {
		for _, f := range list {
			if f.name == forced {
				return f, nil
			}
		}
		return nil, fmt.Errorf("lidar %s: unknown format %q", name, forced)
	}
	var best *format
	bestLen := 0
	for _, f := range list {
		for _, e := range f.exts {
			if len(e) > bestLen && len(name) >= len(e) && strings.EqualFold(name[len(name)-len(e):], e) {
				best, bestLen = f, len(e)
			}
		}
	}
	if best != nil {
		return best, nil
	}
	if head != nil {
		for _, f := range list {
			if f.sniff != nil && f.sniff(head) {
				return f, nil
			}
		}
	}
	return nil, errUnknownFormat
}

var errUnknownFormat = errors.New("unknown point-cloud format")

func unknownFormat(name string) error {
	var names []string
	for _, f := range formatList() {
		names = append(names, f.name+" "+strings.Join(f.exts, " "))
	}
	return fmt.Errorf("lidar %s: unknown point-cloud format: neither the extension nor the first bytes match a registered one (%s)",
		name, strings.Join(names, "; "))
}

// FormatError is a decode error that says where: the file, and a header
// line (Line > 0) or a byte offset (Offset ≥ 0).
type FormatError struct {
	Format string // "pcd", "ply", ...
	File   string
	Line   int   // 1-based header or text line; 0 when not about a line
	Offset int64 // byte offset in the file; -1 when not about a byte
	Msg    string
}

func (e *FormatError) Error() string {
	var b strings.Builder
	b.WriteString(e.Format)
	b.WriteByte(' ')
	b.WriteString(e.File)
	b.WriteString(": ")
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Offset >= 0 {
		fmt.Fprintf(&b, "byte %d: ", e.Offset)
	}
	b.WriteString(e.Msg)
	return b.String()
}

func lineErr(format, file string, line int, msg string, args ...any) *FormatError {
	return &FormatError{Format: format, File: file, Line: line, Offset: -1, Msg: fmt.Sprintf(msg, args...)}
}

func byteErr(format, file string, off int64, msg string, args ...any) *FormatError {
	return &FormatError{Format: format, File: file, Offset: off, Msg: fmt.Sprintf(msg, args...)}
}

// Decode decodes a file's bytes into c, reusing c's frame and field buffers.
// name picks the format (by extension) and appears in errors.
func Decode(c *Cloud, name string, data []byte, opts ReadOptions) error {
	f, err := lookup(opts.Format, name, data)
	if err == errUnknownFormat {
		return unknownFormat(name)
	} else if err != nil {
		return err
	}
	return decodeWith(f, c, name, data, opts)
}

func decodeWith(f *format, c *Cloud, name string, data []byte, opts ReadOptions) error {
	c.reset()
	if err := f.dec(c, name, data, opts); err != nil {
		return err
	}
	if c.Points == nil {
		c.Resize(0)
	}
	c.Format = f.name
	if c.Width == 0 && c.Height == 0 {
		c.Width, c.Height = c.Len(), 1
	}
	c.NaNs = countNaN(ds3d.AsFloat32(c.Points))
	return nil
}

// scratch holds the clouds that carry DecodeInto's frame through a decoder
// without a heap allocation per call. A buffered channel rather than a
// sync.Pool: the pool may drop items at any GC (and does so on purpose under
// the race detector), which would make steady state allocate.
var scratch = make(chan *Cloud, 16)

func getScratch() *Cloud {
	select {
	case c := <-scratch:
		return c
	default:
		return new(Cloud)
	}
}

func putScratch(c *Cloud) {
	select {
	case scratch <- c:
	default:
	}
}

// DecodeInto decodes a file's bytes into dst, which becomes an [N,4] float32
// lidar frame; its buffer is reused when large enough, so decoding into a
// pooled frame allocates nothing in steady state. Fields other than the
// points are not decoded and NaNs are not counted. After an error dst holds
// no meaningful points.
func DecodeInto(dst *ds3d.Frame, name string, data []byte, opts ReadOptions) error {
	f, err := lookup(opts.Format, name, data)
	if err == errUnknownFormat {
		return unknownFormat(name)
	} else if err != nil {
		return err
	}
	_, err = decodeFrame(f, dst, name, data, opts)
	return err
}

func decodeFrame(f *format, dst *ds3d.Frame, name string, data []byte, opts ReadOptions) ([3]float64, error) {
	c := getScratch()
	c.reset()
	c.Points = dst
	opts.SkipFields = true
	err := f.dec(c, name, data, opts)
	origin := c.Origin
	c.Points = nil
	c.Fields = c.Fields[:0]
	putScratch(c)
	return origin, err
}

// ReadFile reads and decodes a point-cloud file.
func ReadFile(path string, opts ReadOptions) (*Cloud, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := new(Cloud)
	if err := Decode(c, path, data, opts); err != nil {
		return nil, err
	}
	return c, nil
}

var readBufs = sync.Pool{New: func() any { return new([]byte) }}

// ReadFileInto loads a point-cloud file into dst as DecodeInto does. Raw
// float files are read straight into dst's buffer; other formats go through a
// pooled staging buffer, so steady state allocates only what opening a file
// costs.
func ReadFileInto(dst *ds3d.Frame, path string, opts ReadOptions) error {
	_, err := ReadFileOrigin(dst, path, opts)
	return err
}

// ReadFileOrigin is ReadFileInto that also returns the origin the frame's
// coordinates are relative to (Cloud.Origin: zero but for georeferenced
// files whose coordinates float32 cannot hold at their precision).
func ReadFileOrigin(dst *ds3d.Frame, path string, opts ReadOptions) (origin [3]float64, err error) {
	fm, ferr := lookup(opts.Format, path, nil)
	if ferr != nil && ferr != errUnknownFormat {
		return origin, ferr
	}
	fd, err := os.Open(path)
	if err != nil {
		return origin, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return origin, err
	}
	if fm != nil && fm.readFrame != nil {
		if done, err := fm.readFrame(dst, path, fd, st.Size(), opts); done || err != nil {
			return origin, err
		}
	}
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	size := int(st.Size())
	if cap(*bp) < size {
		*bp = make([]byte, size)
	}
	buf := (*bp)[:size]
	if _, err := io.ReadFull(fd, buf); err != nil {
		return origin, fmt.Errorf("lidar %s: %w", path, err)
	}
	if fm == nil {
		if fm, ferr = lookup("", path, buf); ferr != nil {
			return origin, unknownFormat(path)
		}
	}
	return decodeFrame(fm, dst, path, buf, opts)
}
