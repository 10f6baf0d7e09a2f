package lidar

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// PCD (Point Cloud Library) files: a text header of KEY value lines —
// VERSION, FIELDS, SIZE, TYPE, COUNT, WIDTH, HEIGHT, VIEWPOINT, POINTS,
// DATA — then the points as text lines (ascii), packed records in field
// order (binary) or one LZF block holding every field's column in turn
// (binary_compressed: uint32 compressed size, uint32 uncompressed size,
// stream). Reference: pointclouds.org "The PCD (Point Cloud Data) file
// format" and PCL's pcd_io.cpp. v0.5 files read the same way; a missing
// COUNT means 1, a missing POINTS means WIDTH×HEIGHT, and HEIGHT defaults
// to 1.
func init() {
	RegisterFormat("pcd", []string{".pcd"}, sniffPCD, decodePCD)
}

func sniffPCD(head []byte) bool {
	return bytes.HasPrefix(head, []byte("# .PCD")) || bytes.HasPrefix(head, []byte("VERSION")) ||
		bytes.HasPrefix(head, []byte("FIELDS"))
}

type pcdField struct {
	name  string
	typ   ScalarType
	count int
	off   int // byte offset within a binary record
	role  int // 0..3: x, y, z, intensity column; -1: kept in Cloud.Fields
}

type pcdHeader struct {
	fields        []pcdField
	width, height int
	points        int
	viewpoint     [7]float64
	data          string
	dataOff       int // first byte after the DATA line
	rec           int // bytes per binary record
	pointsLine    int // line that fixed the point count (POINTS, else WIDTH)
	dataLine      int
}

// pcdType maps a TYPE letter and SIZE to a scalar type.
func pcdType(t string, size int) ScalarType {
	switch {
	case t == "F" && size == 4:
		return Float32
	case t == "F" && size == 8:
		return Float64
	case t == "U" && size == 1:
		return Uint8
	case t == "U" && size == 2:
		return Uint16
	case t == "U" && size == 4:
		return Uint32
	case t == "U" && size == 8:
		return Uint64
	case t == "I" && size == 1:
		return Int8
	case t == "I" && size == 2:
		return Int16
	case t == "I" && size == 4:
		return Int32
	case t == "I" && size == 8:
		return Int64
	}
	return 0
}

func pcdTypeLetter(t ScalarType) string {
	switch {
	case t.isFloat():
		return "F"
	case t.isSigned():
		return "I"
	}
	return "U"
}

// Limits that keep a lying header from asking for absurd memory before the
// data is checked against it.
const (
	maxFields    = 4096
	maxCount     = 1 << 20
	maxRecord    = 1 << 24
	maxDimension = 1 << 31
)

// parsePCDHeader reads the header of PCD file name (data: the whole file)
// in four steps: its lines (read), the per-field lines against FIELDS
// (checkFields), WIDTH, HEIGHT and POINTS (checkShape), and the record
// layout with the x, y, z and intensity columns (layout). Errors name the
// file and the line at fault.
func parsePCDHeader(name string, data []byte, intensity string) (*pcdHeader, error) {
	d := pcdDecl{file: name, h: &pcdHeader{height: -1, width: -1, points: -1}}
	if err := d.read(data); err != nil {
		return nil, err
	}
	if err := d.checkFields(); err != nil {
		return nil, err
	}
	if err := d.checkShape(); err != nil {
		return nil, err
	}
	if err := d.layout(intensity); err != nil {
		return nil, err
	}
	return d.h, nil
}

// pcdDecl is a PCD header as its lines declare it, with the line of each
// declaration for errors, while parsePCDHeader checks the lines against
// each other.
type pcdDecl struct {
	file          string
	h             *pcdHeader
	names, types  []string
	sizes, counts []int
	// the line of each declaration (0: none)
	fieldsLine, sizeLine, typeLine, countLine int
	widthLine, heightLine                     int
}

// errAt is an error at line of the file.
func (d *pcdDecl) errAt(line int, msg string, args ...any) error {
	return lineErr("pcd", d.file, line, msg, args...)
}

// read reads the header lines up to and including DATA.
func (d *pcdDecl) read(data []byte) error {
	pos, line := 0, 0
	for d.h.data == "" {
		if pos >= len(data) {
			return d.errAt(line, "header ends without a DATA line")
		}
		line++
		end := bytes.IndexByte(data[pos:], '\n')
		var raw []byte
		if end < 0 {
			raw, pos = data[pos:], len(data)
		} else {
			raw, pos = data[pos:pos+end], pos+end+1
		}
		text := strings.TrimSpace(string(raw))
		if text == "" || text[0] == '#' {
			continue
		}
		if err := d.readLine(line, strings.Fields(text), pos); err != nil {
			return err
		}
	}
	return nil
}

// readLine records one header line, its words, that ends at byte pos.
func (d *pcdDecl) readLine(line int, words []string, pos int) error {
	key, vals := strings.ToUpper(words[0]), words[1:]
	switch key {
	case "VERSION":
	case "FIELDS", "COLUMNS":
		if len(vals) == 0 || len(vals) > maxFields {
			return d.errAt(line, "FIELDS has %d names: expected 1 to %d", len(vals), maxFields)
		}
		d.names, d.fieldsLine = vals, line
	case "SIZE", "COUNT":
		return d.readPerField(line, key, vals)
	case "TYPE":
		d.types, d.typeLine = vals, line
	case "WIDTH", "HEIGHT", "POINTS":
		return d.readDimension(line, key, vals)
	case "VIEWPOINT":
		return d.readViewpoint(line, vals)
	case "DATA":
		if len(vals) != 1 || (vals[0] != "ascii" && vals[0] != "binary" && vals[0] != "binary_compressed") {
			return d.errAt(line, "DATA %q: expected ascii, binary or binary_compressed", strings.Join(vals, " "))
		}
		d.h.data, d.h.dataLine, d.h.dataOff = vals[0], line, pos
	default:
		return d.errAt(line, "unknown header key %q: expected VERSION, FIELDS, SIZE, TYPE, COUNT, WIDTH, HEIGHT, VIEWPOINT, POINTS or DATA", words[0])
	}
	return nil
}

// atoi parses the integer value s of key, which must lie in [lo, hi].
func (d *pcdDecl) atoi(line int, key, s string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, d.errAt(line, "%s value %q: expected an integer in [%d, %d]", key, s, lo, hi)
	}
	return v, nil
}

// readPerField records SIZE or COUNT: one integer per field.
func (d *pcdDecl) readPerField(line int, key string, vals []string) error {
	nums := make([]int, len(vals))
	for i, v := range vals {
		var err error
		if nums[i], err = d.atoi(line, key, v, 1, maxCount); err != nil {
			return err
		}
	}
	if key == "SIZE" {
		d.sizes, d.sizeLine = nums, line
	} else {
		d.counts, d.countLine = nums, line
	}
	return nil
}

// readDimension records WIDTH, HEIGHT or POINTS.
func (d *pcdDecl) readDimension(line int, key string, vals []string) error {
	if len(vals) != 1 {
		return d.errAt(line, "%s has %d values: expected 1", key, len(vals))
	}
	v, err := d.atoi(line, key, vals[0], 0, maxDimension)
	if err != nil {
		return err
	}
	switch key {
	case "WIDTH":
		d.h.width, d.widthLine = v, line
	case "HEIGHT":
		d.h.height, d.heightLine = v, line
	default:
		d.h.points, d.h.pointsLine = v, line
	}
	return nil
}

// readViewpoint records VIEWPOINT: tx ty tz qw qx qy qz.
func (d *pcdDecl) readViewpoint(line int, vals []string) error {
	if len(vals) != 7 {
		return d.errAt(line, "VIEWPOINT has %d values: expected 7 (tx ty tz qw qx qy qz)", len(vals))
	}
	for i, v := range vals {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return d.errAt(line, "VIEWPOINT value %q is not a number", v)
		}
		d.h.viewpoint[i] = f
	}
	return nil
}

// checkFields checks that FIELDS, SIZE and TYPE were given and that SIZE,
// TYPE and COUNT (default: 1 each) have one value per field.
func (d *pcdDecl) checkFields() error {
	line := d.h.dataLine
	if d.names == nil {
		return d.errAt(line, "no FIELDS line before DATA")
	}
	nf := len(d.names)
	if d.sizes == nil {
		return d.errAt(line, "no SIZE line before DATA")
	}
	if d.types == nil {
		return d.errAt(line, "no TYPE line before DATA")
	}
	if len(d.sizes) != nf {
		return d.errAt(d.sizeLine, "FIELDS has %d names but SIZE has %d", nf, len(d.sizes))
	}
	if len(d.types) != nf {
		return d.errAt(d.typeLine, "FIELDS has %d names but TYPE has %d", nf, len(d.types))
	}
	if d.counts == nil {
		d.counts = make([]int, nf)
		for i := range d.counts {
			d.counts[i] = 1
		}
	} else if len(d.counts) != nf {
		return d.errAt(d.countLine, "FIELDS has %d names but COUNT has %d", nf, len(d.counts))
	}
	return nil
}

// checkShape settles WIDTH, HEIGHT and POINTS: WIDTH defaults to POINTS,
// HEIGHT to 1, POINTS to WIDTH×HEIGHT, which it must equal when given.
func (d *pcdDecl) checkShape() error {
	h := d.h
	if h.width < 0 {
		if h.points < 0 {
			return d.errAt(h.dataLine, "neither WIDTH nor POINTS given")
		}
		h.width, d.widthLine = h.points, h.pointsLine
	}
	if h.height < 0 {
		h.height = 1
	}
	if h.width*h.height > maxDimension {
		return d.errAt(d.heightLine, "WIDTH×HEIGHT %d×%d is too large", h.width, h.height)
	}
	if h.points < 0 {
		h.points, h.pointsLine = h.width*h.height, d.widthLine
	} else if h.points != h.width*h.height {
		return d.errAt(h.pointsLine, "POINTS %d but WIDTH×HEIGHT is %d×%d = %d", h.points, h.width, h.height, h.width*h.height)
	}
	return nil
}

// layout types the fields, lays out a binary record (offsets, record
// size) and finds the x, y, z and intensity columns, which must include
// x, y and z.
func (d *pcdDecl) layout(intensity string) error {
	h := d.h
	h.fields = make([]pcdField, len(d.names))
	seen := [4]bool{}
	for i := range h.fields {
		t := pcdType(d.types[i], d.sizes[i])
		if t == 0 {
			return d.errAt(d.typeLine, "field %s has TYPE %s and SIZE %d: expected F with 4 or 8, or I or U with 1, 2, 4 or 8",
				d.names[i], d.types[i], d.sizes[i])
		}
		f := pcdField{name: d.names[i], typ: t, count: d.counts[i], off: h.rec, role: -1}
		for r, rn := range [...]string{"x", "y", "z", intensity} {
			if !seen[r] && f.name == rn {
				f.role, seen[r] = r, true
				break
			}
		}
		h.fields[i] = f
		h.rec += t.Size() * f.count
		if h.rec > maxRecord {
			return d.errAt(d.countLine, "a point takes more than %d bytes", maxRecord)
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return d.errAt(d.fieldsLine, "FIELDS %s lacks x, y or z", strings.Join(d.names, " "))
	}
	return nil
}

func decodePCD(c *Cloud, name string, data []byte, opts ReadOptions) error {
	inten := opts.intensityName()
	h, err := parsePCDHeader(name, data, inten)
	if err != nil {
		return err
	}
	hasI := false
	for i := range h.fields {
		hasI = hasI || h.fields[i].role == 3
	}
	if !hasI && opts.IntensityField != "" {
		return lineErr("pcd", name, h.dataLine, "no field %q to read as intensity", opts.IntensityField)
	}
	c.Encoding = h.data
	c.Width, c.Height = h.width, h.height
	c.Viewpoint = h.viewpoint
	if h.viewpoint == ([7]float64{}) {
		c.Viewpoint = identityViewpoint
	}
	if hasI {
		c.Intensity = inten
	}
	n := h.points
	for i := range h.fields {
		// Data is sized only once the body is known to hold the points.
		f := &h.fields[i]
		c.addField(f.name, f.typ, f.count, 0)
	}
	switch h.data {
	case "ascii":
		return decodePCDASCII(c, name, data, h, opts)
	case "binary":
		body := data[h.dataOff:]
		if n*h.rec > len(body) {
			whole := len(body) / max(h.rec, 1)
			return &FormatError{Format: "pcd", File: name, Line: h.pointsLine, Offset: int64(len(data)),
				Msg: "data ends after " + strconv.Itoa(whole) + " of " + strconv.Itoa(n) + " points: " +
					strconv.Itoa(n) + " points of " + strconv.Itoa(h.rec) + " bytes need " + strconv.Itoa(n*h.rec) +
					" bytes from byte " + strconv.Itoa(h.dataOff)}
		}
		pcdColumns(c, body, h, n, false, opts.SkipFields)
		return nil
	default:
		return decodePCDCompressed(c, name, data, h, opts)
	}
}

// pcdColumns fills the points and the kept fields from binary data, either
// record-major (binary) or column-major (soa: decompressed
// binary_compressed).
func pcdColumns(c *Cloud, body []byte, h *pcdHeader, n int, soa, skip bool) {
	pts := c.Resize(n)
	if !skip {
		// n = 0 leaves empty, non-nil Data: the field is kept, with no values.
		for i := range h.fields {
			f := &h.fields[i]
			if f.role < 0 {
				c.Fields[i].setLen(n * f.count * f.typ.Size())
			}
		}
	}
	// KITTI-like x y z intensity float32 records are the frame's own
	// layout: one copy.
	if !soa && h.rec == 16 && len(h.fields) == 4 && n > 0 {
		same := true
		for i, f := range h.fields {
			same = same && f.role == i && f.typ == Float32 && f.count == 1
		}
		if same {
			copy(c.Points.Data, body[:n*16])
			return
		}
	}
	if n == 0 {
		return
	}
	hasI := false
	colOff := 0
	for i := range h.fields {
		f := &h.fields[i]
		width := f.count * f.typ.Size()
		off, stride := f.off, h.rec
		if soa {
			off, stride = colOff, width
			colOff += n * width
		}
		if f.role >= 0 {
			hasI = hasI || f.role == 3
			gather(pts, f.role, body[off:], stride, n, f.typ, false)
		} else if !skip {
			if soa {
				copy(c.Fields[i].Data, body[off:off+n*width])
			} else {
				gatherRaw(c.Fields[i].Data, body[off:], stride, width, n, f.typ.Size(), false)
			}
		}
	}
	if !hasI {
		for i := 3; i < len(pts); i += 4 {
			pts[i] = 0
		}
	}
}

var lzfBufs = sync.Pool{New: func() any { return new([]byte) }}

// lzfMaxRatio bounds how far an LZF stream can expand (a 3-byte back
// reference yields at most 264 bytes), so a header claiming more is a lie
// found before allocating.
const lzfMaxRatio = 88

func decodePCDCompressed(c *Cloud, name string, data []byte, h *pcdHeader, opts ReadOptions) error {
	off := h.dataOff
	n := h.points
	if off+8 > len(data) {
		return byteErr("pcd", name, int64(off), "binary_compressed data needs 8 bytes of sizes, file ends after %d", len(data)-off)
	}
	csz := int(binary.LittleEndian.Uint32(data[off:]))
	usz := int(binary.LittleEndian.Uint32(data[off+4:]))
	if csz > len(data)-off-8 {
		return byteErr("pcd", name, int64(off), "compressed block of %d bytes passes the end of the file (%d bytes after byte %d)",
			csz, len(data)-off-8, off+8)
	}
	if usz != n*h.rec {
		return &FormatError{Format: "pcd", File: name, Line: h.pointsLine, Offset: int64(off + 4),
			Msg: "binary_compressed holds " + strconv.Itoa(usz) + " bytes uncompressed, but " + strconv.Itoa(n) +
				" points of " + strconv.Itoa(h.rec) + " bytes need " + strconv.Itoa(n*h.rec)}
	}
	if usz > csz*lzfMaxRatio+lzfMaxRatio {
		return byteErr("pcd", name, int64(off), "a %d-byte LZF block cannot hold %d bytes", csz, usz)
	}
	bp := lzfBufs.Get().(*[]byte)
	defer lzfBufs.Put(bp)
	if cap(*bp) < usz {
		*bp = make([]byte, usz)
	}
	buf := (*bp)[:usz]
	if err := lzfDecompress(buf, data[off+8:off+8+csz]); err != nil {
		var at int64 = int64(off + 8)
		if le, ok := err.(*lzfError); ok {
			at += int64(le.off)
		}
		return byteErr("pcd", name, at, "corrupt binary_compressed data: %v", err)
	}
	pcdColumns(c, buf, h, n, true, opts.SkipFields)
	return nil
}

func decodePCDASCII(c *Cloud, name string, data []byte, h *pcdHeader, opts ReadOptions) error {
	n := h.points
	ntok := 0
	for _, f := range h.fields {
		ntok += f.count
	}
	pos := h.dataOff
	// Each value takes at least a character and a separator; a count that
	// cannot fit is refused before the frame is sized for it.
	if n > 0 && (len(data)-pos+1)/(2*ntok) < n {
		return &FormatError{Format: "pcd", File: name, Line: h.pointsLine, Offset: int64(len(data)),
			Msg: "data ends early: " + strconv.Itoa(len(data)-pos) + " bytes of text cannot hold " + strconv.Itoa(n) +
				" points of " + strconv.Itoa(ntok) + " values"}
	}
	pts := c.Resize(n)
	hasI := false
	for i := range h.fields {
		f := &h.fields[i]
		hasI = hasI || f.role == 3
		if f.role < 0 && !opts.SkipFields {
			c.Fields[i].setLen(n * f.count * f.typ.Size())
		}
	}
	line := h.dataLine
	for i := 0; i < n; i++ {
		// Next non-blank line.
		var text []byte
		for {
			if pos >= len(data) {
				return &FormatError{Format: "pcd", File: name, Line: line + 1, Offset: int64(len(data)),
					Msg: "data ends after " + strconv.Itoa(i) + " of " + strconv.Itoa(n) + " points (POINTS/WIDTH on line " +
						strconv.Itoa(h.pointsLine) + ")"}
			}
			line++
			end := bytes.IndexByte(data[pos:], '\n')
			if end < 0 {
				text, pos = data[pos:], len(data)
			} else {
				text, pos = data[pos:pos+end], pos+end+1
			}
			if len(bytes.TrimSpace(text)) > 0 {
				break
			}
		}
		got := 0
		for fi := range h.fields {
			f := &h.fields[fi]
			for k := 0; k < f.count; k++ {
				var tok []byte
				tok, text = nextToken(text)
				if tok == nil {
					return lineErr("pcd", name, line, "point %d has %d values: expected %d", i, got, ntok)
				}
				got++
				if f.role >= 0 {
					if k == 0 {
						v, err := parseCoord(tok, f.typ)
						if err != nil {
							return lineErr("pcd", name, line, "field %s: %q is not a number", f.name, tok)
						}
						pts[i*4+f.role] = float32(v)
					}
					continue
				}
				if opts.SkipFields {
					continue
				}
				sz := f.typ.Size()
				dst := c.Fields[fi].Data[(i*f.count+k)*sz:]
				if err := parseScalar(dst, tok, f.typ); err != nil {
					return lineErr("pcd", name, line, "field %s: %q is not a %s", f.name, tok, f.typ)
				}
			}
		}
		if tok, _ := nextToken(text); tok != nil {
			return lineErr("pcd", name, line, "point %d has more than %d values", i, ntok)
		}
		if !hasI {
			pts[i*4+3] = 0
		}
	}
	return nil
}

// parseCoord parses a text value bound for the float32 frame: float32
// fields are rounded once, straight from the decimal; wider types go
// through float64 as their binary form would.
func parseCoord(tok []byte, t ScalarType) (float64, error) {
	bits := 64
	if t == Float32 {
		bits = 32
	}
	return strconv.ParseFloat(string(tok), bits)
}

// nextToken splits the first whitespace-separated token off b; nil when
// none is left.
func nextToken(b []byte) (tok, rest []byte) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if i == len(b) {
		return nil, nil
	}
	j := i
	for j < len(b) && !isSpace(b[j]) {
		j++
	}
	return b[i:j], b[j:]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

// parseScalar parses a text value of type t into dst, little-endian.
// Integers written as floats ("255.0", as some writers do) are accepted
// when they are whole and in range.
func parseScalar(dst []byte, tok []byte, t ScalarType) error {
	s := string(tok)
	switch t {
	case Float32:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint32(dst, math.Float32bits(float32(v)))
		return nil
	case Float64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(dst, math.Float64bits(v))
		return nil
	}
	bits := t.Size() * 8
	var u uint64
	if t.isSigned() {
		v, err := strconv.ParseInt(s, 10, bits)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || f < -math.Ldexp(1, bits-1) || f >= math.Ldexp(1, bits-1) {
				return err
			}
			v = int64(f)
		}
		u = uint64(v)
	} else {
		v, err := strconv.ParseUint(s, 10, bits)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) || f < 0 || f >= math.Ldexp(1, bits) {
				return err
			}
			v = uint64(f)
		}
		u = v
	}
	putUint(dst, u, t.Size())
	return nil
}

func putUint(dst []byte, u uint64, size int) {
	switch size {
	case 1:
		dst[0] = byte(u)
	case 2:
		binary.LittleEndian.PutUint16(dst, uint16(u))
	case 4:
		binary.LittleEndian.PutUint32(dst, uint32(u))
	case 8:
		binary.LittleEndian.PutUint64(dst, u)
	}
}

// WritePCD writes c as a PCD v0.7 file with DATA encoding "ascii",
// "binary" or "binary_compressed". Fields are written as Cloud.Fields lists
// them, with their own types (see writePlan); WIDTH/HEIGHT keep an organised
// cloud's shape and VIEWPOINT is written as read.
func WritePCD(w io.Writer, c *Cloud, encoding string) error {
	if encoding != "ascii" && encoding != "binary" && encoding != "binary_compressed" {
		return fmt.Errorf("pcd: encoding %q: expected ascii, binary or binary_compressed", encoding)
	}
	fields, n, err := writePlan(c, "pcd")
	if err != nil {
		return err
	}
	var pts []float32
	if c.Points != nil {
		pts = ds3d.AsFloat32(c.Points)
	}
	width, height := c.Width, c.Height
	if width*height != n || height < 1 {
		width, height = n, 1
	}
	vp := c.Viewpoint
	if vp == ([7]float64{}) {
		vp = identityViewpoint
	}
	var hb strings.Builder
	hb.WriteString("# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS")
	for _, f := range fields {
		hb.WriteString(" " + f.name)
	}
	hb.WriteString("\nSIZE")
	for _, f := range fields {
		fmt.Fprintf(&hb, " %d", f.typ.Size())
	}
	hb.WriteString("\nTYPE")
	for _, f := range fields {
		hb.WriteString(" " + pcdTypeLetter(f.typ))
	}
	hb.WriteString("\nCOUNT")
	for _, f := range fields {
		fmt.Fprintf(&hb, " %d", f.count)
	}
	fmt.Fprintf(&hb, "\nWIDTH %d\nHEIGHT %d\nVIEWPOINT", width, height)
	for _, v := range vp {
		hb.WriteString(" " + strconv.FormatFloat(v, 'g', -1, 64))
	}
	fmt.Fprintf(&hb, "\nPOINTS %d\nDATA %s\n", n, encoding)
	if _, err := io.WriteString(w, hb.String()); err != nil {
		return err
	}
	var body []byte
	switch encoding {
	case "ascii":
		bw := bufio.NewWriterSize(w, 64<<10)
		var line []byte
		for i := 0; i < n; i++ {
			line = line[:0]
			for fi := range fields {
				for k := 0; k < fields[fi].count; k++ {
					if len(line) > 0 {
						line = append(line, ' ')
					}
					line = fields[fi].appendText(line, pts, i, k)
				}
			}
			line = append(line, '\n')
			if _, err := bw.Write(line); err != nil {
				return err
			}
		}
		return bw.Flush()
	case "binary":
		for i := 0; i < n; i++ {
			for fi := range fields {
				for k := 0; k < fields[fi].count; k++ {
					body = fields[fi].appendValue(body, pts, i, k)
				}
			}
		}
		_, err = w.Write(body)
		return err
	}
	// binary_compressed: every field's column in turn, then LZF.
	for fi := range fields {
		f := &fields[fi]
		if f.role < 0 {
			body = append(body, f.data...)
			continue
		}
		for i := 0; i < n; i++ {
			for k := 0; k < f.count; k++ {
				body = f.appendValue(body, pts, i, k)
			}
		}
	}
	comp := lzfCompress(make([]byte, 8, 8+len(body)+len(body)/32+16), body)
	if len(body) > math.MaxUint32 || len(comp)-8 > math.MaxUint32 {
		return fmt.Errorf("pcd: %d bytes of points exceed binary_compressed's 4 GiB limit", len(body))
	}
	binary.LittleEndian.PutUint32(comp, uint32(len(comp)-8))
	binary.LittleEndian.PutUint32(comp[4:], uint32(len(body)))
	_, err = w.Write(comp)
	return err
}
