package gpuinfer

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// Expected binary16 bits from numpy's float32→float16 cast.
func TestToHalf(t *testing.T) {
	for _, c := range []struct {
		f float32
		h uint16
	}{
		{1.0, 0x3c00}, {0.10000000149011612, 0x2e66}, {-2.499999936844688e-05, 0x81a3}, {65504.0, 0x7bff},
		{65520.0, 0x7c00}, {9.99999993922529e-09, 0x0000}, {3.1415927410125732, 0x4248}, {6.0999998822808266e-05, 0x03ff},
		{2049.0, 0x6800}, {2051.0, 0x6802},
	} {
		if got := toHalf(c.f); got != c.h {
			t.Errorf("toHalf(%g) = %#04x, numpy says %#04x", c.f, got, c.h)
		}
	}
}

func loadYOLOX(t *testing.T) *onnx.Model {
	t.Helper()
	m, err := onnx.Load(filepath.Join(sampledata.Shared(t, "models-2d/yolox-nano"), "yolox_nano.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCompileYOLOX checks the plan of YOLOX-Nano: every one of the 113
// convolutions is a launch, the fusions the graph allows happened (104
// SiLU = Conv·Sigmoid(Conv), 6 head Sigmoids, 7 residual Adds: counted
// from the ONNX file's nodes), and no two
// buffers that are live at the same launch overlap in the arena.
func TestCompileYOLOX(t *testing.T) {
	m := loadYOLOX(t)
	for _, prec := range []string{"fp32", "tf32", "tf32-fast", "fp16"} {
		for _, b := range []int{1, 16} {
			p, err := Compile(m, Options{Precision: prec, Batch: b})
			if err != nil {
				t.Fatal(err)
			}
			t.Log(p.Summary())
			convs := 0
			for _, l := range p.Launches {
				if strings.HasPrefix(l.Kernel, "conv_") || strings.HasPrefix(l.Kernel, "dwconv") {
					convs++
				}
			}
			if convs != 113 || p.Fused.SiLU != 104 || p.Fused.Sigmoid != 6 || p.Fused.Residual != 7 {
				t.Errorf("%s b%d: %d conv launches, fused SiLU %d Sigmoid %d residual %d; want 113, 104, 6, 7",
					prec, b, convs, p.Fused.SiLU, p.Fused.Sigmoid, p.Fused.Residual)
			}
			// Focus: 4 × (Slice rows, Slice columns) into one Concat.
			if p.Fused.SliceChain != 4 || p.Fused.GatherMerged != 4 {
				t.Errorf("%s b%d: Slice chains %d, gathers merged %d; want 4 and 4", prec, b, p.Fused.SliceChain, p.Fused.GatherMerged)
			}
			if !equalShape(p.OutShape, []int{b, 3549, 85}) || !equalShape(p.InputShape, []int{b, 3, 416, 416}) {
				t.Errorf("shapes %v → %v", p.InputShape, p.OutShape)
			}
			checkArena(t, p)
			checkTiles(t, p, prec)
		}
	}
	if _, err := Compile(m, Options{Precision: "bf16"}); err == nil {
		t.Error("precision bf16 accepted")
	}
}

// checkArena: for every launch, the regions it touches through different
// buffers are disjoint, and every buffer live across the launch (first
// touch ≤ i ≤ last touch) is disjoint from every other live one.
func checkArena(t *testing.T, p *Plan) {
	t.Helper()
	type span struct{ lo, hi int64 }
	bufs := map[*buffer]span{}
	for _, l := range p.Launches {
		for _, a := range l.args {
			if a.kind == argPtr {
				b := a.t.buf
				bufs[b] = span{b.off, b.off + b.perImage*int64(p.Batch)}
				if b.off+b.perImage*int64(p.Batch) > p.ArenaBytes {
					t.Fatalf("%s: buffer beyond the arena", l.Node)
				}
			}
		}
	}
	var list []*buffer
	for b := range bufs {
		list = append(list, b)
	}
	for i, a := range list {
		for _, b := range list[i+1:] {
			if a.def <= b.last && b.def <= a.last { // both live at some launch
				sa, sb := bufs[a], bufs[b]
				if sa.lo < sb.hi && sb.lo < sa.hi {
					t.Fatalf("buffers live over launches %d–%d and %d–%d overlap: %v %v", a.def, a.last, b.def, b.last, sa, sb)
				}
			}
		}
	}
}

// checkTiles: the tile shape follows each layer's Cout (read back from the
// launch arguments): the stem (12→16, 3×3) is conv_direct, 1×1 layers use
// the smallest of 16/32/64 rows holding Cout, and the grid covers M and N.
func checkTiles(t *testing.T, p *Plan, prec string) {
	t.Helper()
	direct := 0
	for i, l := range p.Launches {
		if !strings.HasPrefix(l.Kernel, "conv_") {
			continue
		}
		v := p.Args(i, 0, 0)
		cout, kh, ncols := int(int32(v[11])), int(int32(v[14])), int(int32(v[20]))
		if strings.HasPrefix(l.Kernel, "conv_direct") {
			direct++
			if l.Kernel != "conv_direct3" || kh != 3 || cout != 16 || l.Grid[1] != 1 || l.Grid[2] != p.Batch || l.Grid[0]*512 < 208*208 {
				t.Errorf("%s: conv_direct for Cout %d, %d×, grid %v", l.Node, cout, kh, l.Grid)
			}
			continue
		}
		want := 64
		if strings.Contains(l.Kernel, "_pw_") && cout <= 16 {
			want = 16
		} else if strings.Contains(l.Kernel, "_pw_") && cout <= 32 {
			want = 32
		}
		pre := map[string]string{"fp32": "conv_f32_", "tf32": "conv_tf32_", "tf32-fast": "conv_tf32fast_", "fp16": "conv_f16_"}[prec]
		if !strings.HasPrefix(l.Kernel, pre) || !strings.HasSuffix(l.Kernel, fmt.Sprintf("_m%d", want)) {
			t.Errorf("%s: Cout %d runs %s; want %s…_m%d", l.Node, cout, l.Kernel, pre, want)
		}
		if mt := (cout + want - 1) / want; l.Grid[0] != (ncols+63)/64*mt || l.Grid[1] != 1 {
			t.Errorf("%s: grid %v for Cout %d, %d columns, BM %d", l.Node, l.Grid, cout, ncols, want)
		}
	}
	if direct != 1 {
		t.Errorf("%d conv_direct launches; want 1 (the stem)", direct)
	}
}
