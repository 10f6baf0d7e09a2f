package infer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// ModelSummary describes a model: what it computes and how much.
type ModelSummary struct {
	IRVersion int64
	Opset     int64
	Producer  string
	Inputs    []IOInfo
	Outputs   []IOInfo
	Nodes     int
	Ops       []OpCount // node count per op type, most frequent first
	// Params is the number of elements of the float initializers (weights).
	Params int64
	// MACs is the multiply-accumulates of the convolutions (and GEMMs),
	// FLOPs = 2·MACs + one per output element of elementwise ops.
	MACs, FLOPs int64
	ConvMACs    []KernelMACs // by kernel kind (each convolution kind, and matmul for MatMul and Gemm), largest first
	// Unsupported lists op types the engine cannot run (Summary still works
	// on the rest when shapes allow).
	Unsupported []string
}

// OpCount is how many nodes of one op type a graph has.
type OpCount struct {
	Op    string
	Count int
}

// KernelMACs is the work of one kind of convolution kernel.
type KernelMACs struct {
	Kernel string
	Calls  int
	MACs   int64
}

// Summary compiles m (without running it) and reports its op histogram,
// parameter count and FLOPs. Options.InputShapes fixes dynamic inputs.
func Summary(m *onnx.Model, opt Options) (*ModelSummary, error) {
	s := &ModelSummary{IRVersion: m.IRVersion, Opset: m.Opset(), Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion), Nodes: len(m.Graph.Nodes)}
	hist := map[string]int{}
	for _, n := range m.Graph.Nodes {
		hist[n.OpType]++
		if !knownOp(&n) {
			s.Unsupported = append(s.Unsupported, opName(&n))
		}
	}
	for op, n := range hist {
		s.Ops = append(s.Ops, OpCount{op, n})
	}
	sort.Slice(s.Ops, func(i, j int) bool {
		if s.Ops[i].Count != s.Ops[j].Count {
			return s.Ops[i].Count > s.Ops[j].Count
		}
		return s.Ops[i].Op < s.Ops[j].Op
	})
	for _, t := range m.Graph.Initializers {
		if !t.DataType.IsInteger() {
			s.Params += t.NumElements()
		}
	}
	sort.Strings(s.Unsupported)
	s.Unsupported = dedupe(s.Unsupported)
	if len(s.Unsupported) > 0 {
		return s, fmt.Errorf("infer: unsupported ops %v: shapes and FLOPs not computed", s.Unsupported)
	}
	opt.NoFusion = true
	c, err := compile(m, opt)
	if err != nil {
		return s, err
	}
	s.Inputs, s.Outputs = ioInfos(c.inputs), ioInfos(c.outputs)
	kinds := map[string]*KernelMACs{}
	for _, st := range c.steps {
		switch k := st.k.(type) {
		case *convKernel:
			macs := int64(k.N) * int64(k.M) * int64(k.OH*k.OW) * int64(k.C/k.G*k.KH*k.KW)
			s.MACs += macs
			km := kinds[k.kind()]
			if km == nil {
				km = &KernelMACs{Kernel: k.kind()}
				kinds[k.kind()] = km
			}
			km.Calls++
			km.MACs += macs
		case *matmulKernel:
			// MatMul and Gemm (Linear layers, attention): batches × M·N·K.
			macs := int64(max(len(k.aOff), 1)) * int64(k.M) * int64(k.N) * int64(k.K)
			s.MACs += macs
			km := kinds["matmul"]
			if km == nil {
				km = &KernelMACs{Kernel: "matmul"}
				kinds["matmul"] = km
			}
			km.Calls++
			km.MACs += macs
		case *unaryKernel, *binaryKernel, *bnKernel:
			s.FLOPs += int64(st.outs[0].numel())
		}
	}
	s.FLOPs += 2 * s.MACs
	for _, km := range kinds {
		s.ConvMACs = append(s.ConvMACs, *km)
	}
	sort.Slice(s.ConvMACs, func(i, j int) bool { return s.ConvMACs[i].MACs > s.ConvMACs[j].MACs })
	return s, nil
}

func dedupe(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// String renders the summary for a terminal.
func (s *ModelSummary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ir_version %d, opset %d, producer %q\n", s.IRVersion, s.Opset, s.Producer)
	for _, in := range s.Inputs {
		fmt.Fprintf(&b, "input  %s %v\n", in.Name, in.Shape)
	}
	for _, o := range s.Outputs {
		fmt.Fprintf(&b, "output %s %v\n", o.Name, o.Shape)
	}
	fmt.Fprintf(&b, "%d nodes:", s.Nodes)
	for _, o := range s.Ops {
		fmt.Fprintf(&b, " %s %d", o.Op, o.Count)
	}
	fmt.Fprintf(&b, "\nparameters %d (%.2f M)\n", s.Params, float64(s.Params)/1e6)
	fmt.Fprintf(&b, "MACs %d (%.3f G), FLOPs %.3f G\n", s.MACs, float64(s.MACs)/1e9, float64(s.FLOPs)/1e9)
	for _, k := range s.ConvMACs {
		fmt.Fprintf(&b, "  %-30s %4d × %8.3f GMAC (%4.1f%%)\n", k.Kernel, k.Calls, float64(k.MACs)/1e9, 100*float64(k.MACs)/float64(max(s.MACs, 1)))
	}
	if len(s.Unsupported) > 0 {
		fmt.Fprintf(&b, "unsupported ops: %s\n", strings.Join(s.Unsupported, ", "))
	}
	return b.String()
}
