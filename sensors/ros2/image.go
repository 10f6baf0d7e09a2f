package ros2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"

	"github.com/ds3d-go/ds3d-go/core2d/decode"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Message types of the image codecs.
const (
	ImageType           = "sensor_msgs/msg/Image"
	CompressedImageType = "sensor_msgs/msg/CompressedImage"
)

// MaxImageBytes bounds the pixel data ToFrame accepts (1 GiB).
const MaxImageBytes = 1 << 30

// Image is sensor_msgs/msg/Image. Data aliases the decoded message.
type Image struct {
	Header        Header
	Height, Width uint32
	Encoding      string
	IsBigendian   uint8
	Step          uint32
	Data          []byte
}

// DecodeImage decodes a CDR sensor_msgs/msg/Image (encapsulation header
// included); Data aliases b.
func DecodeImage(b []byte) (*Image, error) {
	im := new(Image)
	if err := im.Unmarshal(b); err != nil {
		return nil, err
	}
	return im, nil
}

// Unmarshal is DecodeImage into im, reusing its strings: decoding a stream
// of images of one encoding and frame allocates nothing.
func (im *Image) Unmarshal(b []byte) error {
	d, err := newDec(b)
	if err != nil {
		return fmt.Errorf("Image: %w", err)
	}
	d.header(&im.Header)
	im.Height = d.u32("height")
	im.Width = d.u32("width")
	d.str(&im.Encoding, "encoding")
	im.IsBigendian = d.u8("is_bigendian")
	im.Step = d.u32("step")
	im.Data = d.bytes("data")
	return d.done("Image")
}

// AppendImage appends im as a CDR message to dst.
func AppendImage(dst []byte, im *Image) []byte {
	w := NewWriter(dst)
	w.Header(&im.Header)
	w.Uint32(im.Height)
	w.Uint32(im.Width)
	w.String(im.Encoding)
	w.Uint8(im.IsBigendian)
	w.Uint32(im.Step)
	w.ByteSeq(im.Data)
	return w.Bytes()
}

// imageLayout is what ToFrame makes of an encoding.
type imageLayout struct {
	ft       ds3d.FrameType
	dt       ds3d.DataType
	srcBytes int // bytes per source pixel
	channels int // channels of the frame
	swapRB   bool
	gray     bool // one source channel replicated into RGB
}

var imageLayouts = map[string]imageLayout{
	"rgb8":   {ds3d.FrameColorRGB, ds3d.DTypeU8, 3, 3, false, false},
	"bgr8":   {ds3d.FrameColorRGB, ds3d.DTypeU8, 3, 3, true, false},
	"rgba8":  {ds3d.FrameColorRGBA, ds3d.DTypeU8, 4, 4, false, false},
	"bgra8":  {ds3d.FrameColorRGBA, ds3d.DTypeU8, 4, 4, true, false},
	"mono8":  {ds3d.FrameColorRGB, ds3d.DTypeU8, 1, 3, false, true},
	"8UC1":   {ds3d.FrameColorRGB, ds3d.DTypeU8, 1, 3, false, true},
	"mono16": {ds3d.FrameDepth, ds3d.DTypeU16, 2, 1, false, false},
	"16UC1":  {ds3d.FrameDepth, ds3d.DTypeU16, 2, 1, false, false},
	"32FC1":  {ds3d.FrameDepth, ds3d.DTypeF32, 4, 1, false, false},
}

// Check verifies that step covers a row of the encoding's pixels (for the
// encodings ToFrame knows) and that data holds step×height bytes.
func (im *Image) Check() error {
	if l, ok := imageLayouts[im.Encoding]; ok {
		if row := uint64(im.Width) * uint64(l.srcBytes); uint64(im.Step) < row {
			return fmt.Errorf("Image: step %d < width %d × %d bytes of %s", im.Step, im.Width, l.srcBytes, im.Encoding)
		}
	}
	if want := uint64(im.Step) * uint64(im.Height); uint64(len(im.Data)) != want {
		return fmt.Errorf("Image: data has %d bytes, step %d × height %d = %d", len(im.Data), im.Step, im.Height, want)
	}
	return nil
}

// ToFrame converts the image into a tightly packed ds3d image frame,
// dropping row padding:
//
//   - rgb8 → FrameColorRGB; bgr8 → FrameColorRGB with the channels swapped
//     into RGB order; rgba8/bgra8 → FrameColorRGBA likewise;
//   - mono8 (8UC1) → FrameColorRGB with the gray value in all three channels,
//     so that colour consumers take it unchanged;
//   - 16UC1 → FrameDepth u16, as the depth sensors (sensors/depth) load
//     their PNGs: REP 118 depth in millimetres, 0 for no reading; mono16
//     (16-bit intensity) → the same u16 frame, since ds3d has no 16-bit gray
//     type;
//   - 32FC1 → FrameDepth f32 (REP 118: metres, NaN for no reading).
//
// Big-endian 16- and 32-bit data are byte-swapped. dst is reused when its
// buffer is large enough (nil allocates); the result is dst or a new frame.
func (im *Image) ToFrame(dst *ds3d.Frame) (*ds3d.Frame, error) {
	l, ok := imageLayouts[im.Encoding]
	if !ok {
		return nil, fmt.Errorf("Image: encoding %q is not supported (rgb8, bgr8, rgba8, bgra8, mono8, mono16, 16UC1, 32FC1)", im.Encoding)
	}
	if err := im.Check(); err != nil {
		return nil, err
	}
	w, h := int(im.Width), int(im.Height)
	if w == 0 || h == 0 {
		return nil, fmt.Errorf("Image: size %dx%d is empty", w, h)
	}
	bpp := l.channels * l.dt.Size()
	n := uint64(w) * uint64(h) * uint64(bpp)
	if n > MaxImageBytes {
		return nil, fmt.Errorf("Image: %dx%d %s makes a %d-byte frame, over the limit of %d", w, h, im.Encoding, n, MaxImageBytes)
	}
	if dst == nil {
		dst = &ds3d.Frame{}
	}
	dst.DType, dst.Type = l.dt, l.ft
	if l.channels == 1 {
		dst.Shape = ds3d.NewShape(h, w)
	} else {
		dst.Shape = ds3d.NewShape(h, w, l.channels)
	}
	dst.Plane = ds3d.Plane{Width: w, Height: h, Pitch: w * bpp, BytesPerPixel: bpp}
	if cap(dst.Data) < int(n) {
		dst.Data = make([]byte, n)
	}
	dst.Data = dst.Data[:n]
	step, row := int(im.Step), w*bpp
	swap := l.dt.Size() > 1 && (im.IsBigendian != 0) == nativeLE
	switch {
	case !l.swapRB && !l.gray && !swap && step == row:
		copy(dst.Data, im.Data)
	case l.gray:
		for y := range h {
			src, out := im.Data[y*step:y*step+w], dst.Data[y*row:(y+1)*row]
			for x, g := range src {
				out[3*x], out[3*x+1], out[3*x+2] = g, g, g
			}
		}
	case l.swapRB:
		for y := range h {
			src, out := im.Data[y*step:y*step+row], dst.Data[y*row:(y+1)*row]
			if l.channels == 3 {
				for x := 0; x+3 <= len(src) && x+3 <= len(out); x += 3 {
					s, o := src[x:x+3:x+3], out[x:x+3:x+3]
					o[0], o[1], o[2] = s[2], s[1], s[0]
				}
				continue
			}
			for x := 0; x+4 <= len(src) && x+4 <= len(out); x += 4 {
				s, o := src[x:x+4:x+4], out[x:x+4:x+4]
				o[0], o[1], o[2], o[3] = s[2], s[1], s[0], s[3]
			}
		}
	case swap:
		for y := range h {
			src, out := im.Data[y*step:y*step+row], dst.Data[y*row:(y+1)*row]
			if l.dt.Size() == 2 {
				for x := 0; x < len(src); x += 2 {
					out[x], out[x+1] = src[x+1], src[x]
				}
			} else {
				for x := 0; x < len(src); x += 4 {
					binary.LittleEndian.PutUint32(out[x:], binary.BigEndian.Uint32(src[x:]))
				}
			}
		}
	default:
		for y := range h {
			copy(dst.Data[y*row:(y+1)*row], im.Data[y*step:y*step+row])
		}
	}
	return dst, nil
}

// ImageFromFrame describes a ds3d image frame (FrameColorRGB → rgb8,
// FrameColorRGBA → rgba8, FrameDepth u16 → 16UC1, f32 → 32FC1) as an
// Image whose Data aliases the frame's bytes (row padding kept in step).
func ImageFromFrame(h Header, f *ds3d.Frame) (*Image, error) {
	var enc string
	switch {
	case f.Type == ds3d.FrameColorRGB && f.DType == ds3d.DTypeU8:
		enc = "rgb8"
	case f.Type == ds3d.FrameColorRGBA && f.DType == ds3d.DTypeU8:
		enc = "rgba8"
	case f.Type == ds3d.FrameDepth && f.DType == ds3d.DTypeU16:
		enc = "16UC1"
	case f.Type == ds3d.FrameDepth && f.DType == ds3d.DTypeF32:
		enc = "32FC1"
	default:
		return nil, fmt.Errorf("Image: no sensor_msgs encoding for a %s frame of %s", f.Type, f.DType)
	}
	p := f.Plane
	if p.Width <= 0 || p.Height <= 0 || p.Pitch < p.Width*p.BytesPerPixel || len(f.Data) < p.Pitch*p.Height {
		return nil, fmt.Errorf("Image: frame plane %+v does not describe its %d bytes", p, len(f.Data))
	}
	var be uint8
	if !nativeLE {
		be = 1
	}
	return &Image{Header: h, Height: uint32(p.Height), Width: uint32(p.Width), Encoding: enc, IsBigendian: be,
		Step: uint32(p.Pitch), Data: f.Data[:p.Pitch*p.Height]}, nil
}

// CompressedImage is sensor_msgs/msg/CompressedImage; Data aliases the
// decoded message. Format is "jpeg", "png" or, from image_transport,
// "bgr8; jpeg compressed bgr8" and the like.
type CompressedImage struct {
	Header Header
	Format string
	Data   []byte
}

// DecodeCompressedImage decodes a CDR sensor_msgs/msg/CompressedImage;
// Data aliases b.
func DecodeCompressedImage(b []byte) (*CompressedImage, error) {
	c := new(CompressedImage)
	if err := c.Unmarshal(b); err != nil {
		return nil, err
	}
	return c, nil
}

// Unmarshal is DecodeCompressedImage into c, reusing its strings.
func (c *CompressedImage) Unmarshal(b []byte) error {
	d, err := newDec(b)
	if err != nil {
		return fmt.Errorf("CompressedImage: %w", err)
	}
	d.header(&c.Header)
	d.str(&c.Format, "format")
	c.Data = d.bytes("data")
	return d.done("CompressedImage")
}

// AppendCompressedImage appends c as a CDR message to dst.
func AppendCompressedImage(dst []byte, c *CompressedImage) []byte {
	w := NewWriter(dst)
	w.Header(&c.Header)
	w.String(c.Format)
	w.ByteSeq(c.Data)
	return w.Bytes()
}

// ToFrame decodes a jpeg or png CompressedImage (image_transport names the
// codec in the format: "jpeg", "png", "bgr8; jpeg compressed bgr8", …) into
// a u8 RGB frame, or RGBA for a PNG with an alpha channel, with
// core2d/decode (the standard library's decoders, which allocate the image
// on every call). dst is reused when it has that size and type. An image
// whose header claims more than decode.MaxPixels pixels is refused before
// decoding.
func (c *CompressedImage) ToFrame(dst *ds3d.Frame) (*ds3d.Frame, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(c.Data))
	if err != nil {
		return nil, fmt.Errorf("CompressedImage %q (format %q): %w", c.Header.FrameID, c.Format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > decode.MaxPixels {
		return nil, fmt.Errorf("CompressedImage %q: %s size %dx%d is not between 1 and %d pixels", c.Header.FrameID, format, cfg.Width, cfg.Height, decode.MaxPixels)
	}
	img, _, err := decode.Decode(c.Data)
	if err != nil {
		return nil, fmt.Errorf("CompressedImage %q (format %q): %w", c.Header.FrameID, c.Format, err)
	}
	b := img.Bounds()
	rgba := false
	switch img.(type) {
	case *image.NRGBA, *image.NRGBA64: // PNGs with an alpha channel
		rgba = true
	}
	ft := ds3d.FrameColorRGB
	if rgba {
		ft = ds3d.FrameColorRGBA
	}
	if dst == nil || dst.Type != ft || dst.DType != ds3d.DTypeU8 || dst.Plane.Width != b.Dx() || dst.Plane.Height != b.Dy() {
		if dst, err = decode.NewColorFrame(b.Dx(), b.Dy(), rgba); err != nil {
			return nil, fmt.Errorf("CompressedImage %q: %w", c.Header.FrameID, err)
		}
	}
	if err := decode.ToFrame(dst, img); err != nil {
		return nil, fmt.Errorf("CompressedImage %q: %w", c.Header.FrameID, err)
	}
	return dst, nil
}
