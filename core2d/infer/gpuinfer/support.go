package gpuinfer

import (
	"fmt"
	"sort"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// supportedOps are the op types compiler.node builds (TestSupportedOpsMatchPlanner
// reads them from plan.go, so the two cannot drift apart).
var supportedOps = map[string]bool{
	"Add": true, "Concat": true, "Constant": true, "Conv": true, "Identity": true, "MaxPool": true, "Mul": true,
	"Reshape": true, "Resize": true, "Sigmoid": true, "Slice": true, "Sub": true, "Transpose": true, "Upsample": true,
}

// UnsupportedOps lists the op types of m that the GPU backend has no kernel
// for, as "Op ×count", sorted by op type; nil when it has one for every
// node. Compile stops at the first such node; this names all of them at
// load, so a user sees at once what a model would need. Ops of a custom
// domain are listed as "domain.Op". A supported op may still be refused
// for its attributes (grouped convolutions, ceil_mode pooling, …).
func UnsupportedOps(m *onnx.Model) []string {
	count := map[string]int{}
	for _, n := range m.Graph.Nodes {
		switch {
		case n.Domain != "" && n.Domain != "ai.onnx":
			count[n.Domain+"."+n.OpType]++
		case !supportedOps[n.OpType]:
			count[n.OpType]++
		}
	}
	if len(count) == 0 {
		return nil
	}
	out := make([]string, 0, len(count))
	for op, c := range count {
		out = append(out, fmt.Sprintf("%s ×%d", op, c))
	}
	sort.Strings(out)
	return out
}
