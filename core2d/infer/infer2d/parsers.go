package infer2d

import (
	"fmt"
	"math"
	"sort"
	"sync"
)

// Tensor is a model output as a parser sees it: row-major float32 data of
// the given shape, valid only during the call.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Candidate is a detection in network-input pixels (the letterboxed image),
// before per-class thresholds and clustering. Coordinates are float64 so
// that mapping back to source pixels rounds once.
type Candidate struct {
	Left, Top, Width, Height float64
	ClassID                  int
	Score                    float32
}

// ParseInfo is what a parser knows besides the tensors.
type ParseInfo struct {
	InputW, InputH int // network input size
	Classes        int // labels in labelfile_path (0 when none)
	// MinScore is the pre-cluster threshold of a class: a parser may drop
	// candidates below it early (the component applies it again).
	MinScore func(class int) float32
}

// ParseFunc turns model outputs into candidates appended to dst (custom
// parsers: nvinfer's parse-bbox-func-name, as a Go function).
type ParseFunc func(dst []Candidate, outputs []Tensor, info ParseInfo) ([]Candidate, error)

// Parser is a registered output parser: Parse, and an optional Check run
// once at load time on the outputs (with empty data) so that a model that
// does not fit fails early.
type Parser struct {
	Parse ParseFunc
	Check func(outputs []Tensor, classes int) error
}

var parsers = struct {
	sync.RWMutex
	m map[string]*Parser
}{m: map[string]*Parser{}}

// RegisterParser makes fn available as infer_2d's parser = name. It panics
// on a duplicate name (a programming error, caught by any test).
func RegisterParser(name string, fn ParseFunc) {
	RegisterParserCheck(name, fn, nil)
}

// RegisterParserCheck is RegisterParser with a load-time check.
func RegisterParserCheck(name string, fn ParseFunc, check func(outputs []Tensor, classes int) error) {
	parsers.Lock()
	defer parsers.Unlock()
	if _, dup := parsers.m[name]; dup || name == "raw" {
		panic(fmt.Sprintf("infer2d.RegisterParser: parser %q registered twice", name))
	}
	parsers.m[name] = &Parser{Parse: fn, Check: check}
}

func lookupParser(name string) *Parser {
	parsers.RLock()
	defer parsers.RUnlock()
	return parsers.m[name]
}

func parserNames() []string {
	parsers.RLock()
	defer parsers.RUnlock()
	var s []string
	for k := range parsers.m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func init() {
	RegisterParserCheck("yolox", ParseYOLOX, checkYOLOX)
	RegisterParserCheck("yolov8", ParseYOLOv8, checkYOLOv8)
	RegisterParserCheck("ssd", ParseSSD, checkSSD)
}

func checkYOLOX(outs []Tensor, _ int) error {
	if len(outs) != 1 || len(outs[0].Shape) != 3 || outs[0].Shape[0] != 1 || outs[0].Shape[2] < 6 {
		return fmt.Errorf("want one [1, A, 5+C] output, got %v", shapes(outs))
	}
	return nil
}

func shapes(outs []Tensor) [][]int {
	var s [][]int
	for _, t := range outs {
		s = append(s, t.Shape)
	}
	return s
}

// ParseYOLOX decodes a YOLOX head [1, A, 5+C] (see decodeYOLOX).
func ParseYOLOX(dst []Candidate, outs []Tensor, info ParseInfo) ([]Candidate, error) {
	t := outs[0]
	if n := yoloxAnchors(info.InputW, info.InputH); n != t.Shape[1] {
		return dst, fmt.Errorf("yolox: %d anchors for a %d×%d input, output has %d", n, info.InputW, info.InputH, t.Shape[1])
	}
	return decodeYOLOX(dst, t.Data, t.Shape[2], info.InputW, info.InputH, info.MinScore), nil
}

// yoloxStrides are the YOLOX head's grid strides, in output order.
var yoloxStrides = [3]int{8, 16, 32}

// yoloxAnchors is the number of anchors of a YOLOX head for a w×h input.
func yoloxAnchors(w, h int) int {
	n := 0
	for _, s := range yoloxStrides {
		n += (h / s) * (w / s)
	}
	return n
}

// decodeYOLOX appends to dst the candidates of a YOLOX head for a w×h
// network input: data holds one row of rowLen = 5+C values per anchor (dx,
// dy, log w, log h, objectness, C class scores, the last two already
// sigmoided); anchors run over the stride-8, -16 and -32 grids, row by row.
// centre = (d + grid)·stride, size = exp(log)·stride, score = objectness ×
// best class score (the first of equal scores); anchors scoring below
// minScore(class) are skipped. data must hold yoloxAnchors(w, h) rows.
func decodeYOLOX(dst []Candidate, data []float32, rowLen, w, h int, minScore func(class int) float32) []Candidate {
	nc := rowLen - 5
	a := 0
	for _, s := range yoloxStrides {
		gw, gh := w/s, h/s
		for gy := 0; gy < gh; gy++ {
			for gx := 0; gx < gw; gx++ {
				row := data[a*rowLen : (a+1)*rowLen]
				a++
				best, bc := float32(-1), 0
				for c := 0; c < nc; c++ {
					if v := row[5+c]; v > best {
						best, bc = v, c
					}
				}
				score := row[4] * best
				if score < minScore(bc) {
					continue
				}
				cx := (float64(row[0]) + float64(gx)) * float64(s)
				cy := (float64(row[1]) + float64(gy)) * float64(s)
				bw := math.Exp(float64(row[2])) * float64(s)
				bh := math.Exp(float64(row[3])) * float64(s)
				dst = append(dst, Candidate{Left: cx - bw/2, Top: cy - bh/2, Width: bw, Height: bh, ClassID: bc, Score: score})
			}
		}
	}
	return dst
}

func checkYOLOv8(outs []Tensor, _ int) error {
	if len(outs) != 1 || len(outs[0].Shape) != 3 || outs[0].Shape[0] != 1 || (outs[0].Shape[1] < 5 && outs[0].Shape[2] < 5) {
		return fmt.Errorf("want one [1, 4+C, N] (or [1, N, 4+C]) output, got %v", shapes(outs))
	}
	return nil
}

// ParseYOLOv8 decodes the raw Ultralytics YOLOv5u/v8/v11 detection head
// [1, 4+C, N]: per anchor n, rows 0..3 are the box centre and size (cx, cy,
// w, h) in network pixels and rows 4.. the class scores (already
// sigmoided; no objectness). A transposed [1, N, 4+C] export is accepted
// when its last dim is the smaller (4 + C ≤ N).
func ParseYOLOv8(dst []Candidate, outs []Tensor, info ParseInfo) ([]Candidate, error) {
	t := outs[0]
	rows, n := t.Shape[1], t.Shape[2]
	at := func(r, i int) float32 { return t.Data[r*n+i] }
	if rows > n { // [1, N, 4+C]
		rows, n = n, rows
		at = func(r, i int) float32 { return t.Data[i*rows+r] }
	}
	nc := rows - 4
	for i := 0; i < n; i++ {
		best, bc := float32(math.Inf(-1)), 0
		for c := 0; c < nc; c++ {
			if v := at(4+c, i); v > best {
				best, bc = v, c
			}
		}
		if best < info.MinScore(bc) {
			continue
		}
		cx, cy, w, h := float64(at(0, i)), float64(at(1, i)), float64(at(2, i)), float64(at(3, i))
		dst = append(dst, Candidate{Left: cx - w/2, Top: cy - h/2, Width: w, Height: h, ClassID: bc, Score: best})
	}
	return dst, nil
}

func checkSSD(outs []Tensor, _ int) error {
	if len(outs) != 2 {
		return fmt.Errorf("want two outputs, boxes [1, N, 4] and scores [1, N, C], got %v", shapes(outs))
	}
	b, s := ssdOrder(outs)
	if len(b.Shape) != 3 || b.Shape[2] != 4 || len(s.Shape) != 3 || s.Shape[1] != b.Shape[1] {
		return fmt.Errorf("want boxes [1, N, 4] and scores [1, N, C], got %v", shapes(outs))
	}
	return nil
}

// ssdOrder picks the boxes tensor (last dim 4) and the scores tensor.
func ssdOrder(outs []Tensor) (boxes, scores Tensor) {
	if len(outs[0].Shape) == 3 && outs[0].Shape[2] == 4 {
		return outs[0], outs[1]
	}
	return outs[1], outs[0]
}

// ParseSSD decodes SSD-style outputs after the box decoding that exports
// usually include: boxes [1, N, 4] as (x1, y1, x2, y2) normalised to the
// network input (0..1), scores [1, N, C] per class; each box takes its best
// class. Exports with a background class should list it in the label file
// and give it a pre-cluster threshold of 1 ([class_attrs.0]).
func ParseSSD(dst []Candidate, outs []Tensor, info ParseInfo) ([]Candidate, error) {
	b, s := ssdOrder(outs)
	n, nc := b.Shape[1], s.Shape[2]
	W, H := float64(info.InputW), float64(info.InputH)
	for i := 0; i < n; i++ {
		sc := s.Data[i*nc : (i+1)*nc]
		best, bc := sc[0], 0
		for c := 1; c < nc; c++ {
			if sc[c] > best {
				best, bc = sc[c], c
			}
		}
		if best < info.MinScore(bc) {
			continue
		}
		bx := b.Data[i*4 : i*4+4]
		x1, y1, x2, y2 := float64(bx[0])*W, float64(bx[1])*H, float64(bx[2])*W, float64(bx[3])*H
		dst = append(dst, Candidate{Left: x1, Top: y1, Width: x2 - x1, Height: y2 - y1, ClassID: bc, Score: best})
	}
	return dst, nil
}
