package infer

import (
	"fmt"
	"sort"
	"sync"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Custom operators are what TensorRT plugins are to DeepStream: a model
// exported with an op the engine does not know (a PointPillars scatter, a
// voxel generator, a vendor's fused layer) runs once a Go kernel for its
// (domain, op type) is registered with RegisterOp. The registry is global,
// like database/sql's drivers, so a package can register its ops in init
// and every Session compiled afterwards uses them.

// OpFactory builds the kernel of one node of a custom op. It runs at
// compile time (NewSession, Summary), once per node, and sees the node's
// attributes and input shapes; it returns the output shapes and the
// function that computes them.
type OpFactory func(n *CustomNode) (*CustomKernel, error)

// CustomNode is a node of a custom op as its OpFactory sees it.
type CustomNode struct {
	Name, OpType, Domain string
	Attrs                []onnx.Attribute
	// Inputs in node order; an omitted optional input has an empty Name
	// and a nil Shape.
	Inputs []CustomInput
	// NumOutputs is how many outputs the node declares; the kernel must
	// give a shape for each.
	NumOutputs int
}

// CustomInput is one input of a custom node.
type CustomInput struct {
	Name  string
	Shape []int
	// DType is the ONNX element type. Integer tensors computed at run time
	// (graph inputs such as pillar coordinates) reach Run as exact
	// float32 values, like everywhere in the engine.
	DType onnx.DataType
	// Const holds a constant float input's values, Ints a constant
	// integer input's (Run then gets nil for that input); both are nil
	// for a tensor computed at run time.
	Const []float32
	Ints  []int64
}

// Attr returns the node's attribute name, if present.
func (n *CustomNode) Attr(name string) (onnx.Attribute, bool) {
	for _, a := range n.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return onnx.Attribute{}, false
}

// CustomKernel is a compiled custom node.
type CustomKernel struct {
	// OutputShapes gives the shape of every output (float32).
	OutputShapes [][]int
	// Run computes the outputs on every Session.Run, on the Run's
	// goroutine. ins[i] holds input i (row-major, nil for an omitted or
	// integer-constant input), outs[i] output i, sized by OutputShapes and
	// not cleared between runs. Run must not keep the slices, and to keep
	// Session.Run allocation-free it should not allocate.
	Run func(ins, outs [][]float32)
}

type opKey struct{ domain, opType string }

var (
	customMu  sync.RWMutex
	customOps = map[opKey]OpFactory{}
)

// RegisterOp registers the kernel factory of the op opType in domain
// (the node's domain attribute, e.g. "ds3d"; "" and "ai.onnx" are the
// standard domain, whose ops the engine's own kernels run and which cannot
// be replaced). Registering a (domain, opType) twice is an error.
func RegisterOp(domain, opType string, f OpFactory) error {
	if f == nil || opType == "" {
		return fmt.Errorf("infer: RegisterOp(%q, %q): needs an op type and a factory", domain, opType)
	}
	if domain == "" || domain == "ai.onnx" {
		return fmt.Errorf("infer: RegisterOp(%q, %q): the standard ONNX domain is the engine's own; give the op a custom domain", domain, opType)
	}
	customMu.Lock()
	defer customMu.Unlock()
	k := opKey{domain, opType}
	if _, dup := customOps[k]; dup {
		return fmt.Errorf("infer: RegisterOp: %s.%s is already registered", domain, opType)
	}
	customOps[k] = f
	return nil
}

// RegisteredOps lists the registered custom ops as "domain.OpType", sorted.
func RegisteredOps() []string {
	customMu.RLock()
	defer customMu.RUnlock()
	var s []string
	for k := range customOps {
		s = append(s, k.domain+"."+k.opType)
	}
	sort.Strings(s)
	return s
}

// customFactory returns the registered factory of n's (domain, op type).
func customFactory(n *onnx.Node) OpFactory {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return nil
	}
	customMu.RLock()
	defer customMu.RUnlock()
	return customOps[opKey{n.Domain, n.OpType}]
}

// knownOp reports whether the engine can build n: a standard op with a
// kernel of its own, or a registered custom op.
func knownOp(n *onnx.Node) bool {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		_, ok := ops[n.OpType]
		return ok
	}
	return customFactory(n) != nil
}

// opName is the op type, prefixed with the domain for a custom domain.
func opName(n *onnx.Node) string {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return n.OpType
	}
	return n.Domain + "." + n.OpType
}

// customKernel runs a CustomKernel on the buffers of its values.
type customKernel struct {
	fn      func(ins, outs [][]float32)
	in, out []*value
	ib, ob  [][]float32 // reused argument slices: no allocation per run
}

func (k *customKernel) run(*engine) {
	for i, v := range k.in {
		if v != nil && !v.isInt {
			k.ib[i] = v.data
		}
	}
	for i, v := range k.out {
		k.ob[i] = v.data
	}
	k.fn(k.ib, k.ob)
}

// buildCustom compiles a node of a registered custom op (b.in and b.out
// are set up) and appends its step. It returns handled=false for any other
// node, which the engine's own ops build.
func (c *compiler) buildCustom(b *bctx) (handled bool, err error) {
	f := customFactory(b.n.Node)
	if f == nil {
		return false, nil
	}
	n := b.n
	cn := &CustomNode{Name: n.Name, OpType: n.OpType, Domain: n.Domain, Attrs: n.Attrs, NumOutputs: len(b.out)}
	for i, v := range b.in {
		if v == nil {
			cn.Inputs = append(cn.Inputs, CustomInput{})
			continue
		}
		ci := CustomInput{Name: n.Inputs[i], Shape: append([]int(nil), v.shape...), DType: onnx.Float}
		switch {
		case v.isInt:
			ci.DType, ci.Ints = onnx.Int64, v.ints
		case v.dtype != onnx.Undefined:
			ci.DType = v.dtype
		}
		if v.konst && !v.isInt {
			ci.Const = v.data
		}
		cn.Inputs = append(cn.Inputs, ci)
	}
	ck, err := f(cn)
	if err != nil {
		return true, fmt.Errorf("infer: node %s (custom op %s.%s): %w", n.Label(), n.Domain, n.OpType, err)
	}
	if ck == nil || ck.Run == nil || len(ck.OutputShapes) != len(b.out) {
		nOut := 0
		if ck != nil {
			nOut = len(ck.OutputShapes)
		}
		return true, fmt.Errorf("infer: node %s (custom op %s.%s): the factory gave %d output shapes (and a Run: %v) for %d outputs",
			n.Label(), n.Domain, n.OpType, nOut, ck != nil && ck.Run != nil, len(b.out))
	}
	for i, sh := range ck.OutputShapes {
		for _, d := range sh {
			if d < 0 {
				return true, fmt.Errorf("infer: node %s (custom op %s.%s): output %d has shape %v", n.Label(), n.Domain, n.OpType, i, sh)
			}
		}
		b.out[i].shape = append([]int(nil), sh...)
	}
	k := &customKernel{fn: ck.Run, in: b.in, out: b.out, ib: make([][]float32, len(b.in)), ob: make([][]float32, len(b.out))}
	idx := len(c.steps)
	for i, v := range b.out {
		v.producer = idx
		if n.out[i] != "" {
			c.vals[n.out[i]] = v
		}
	}
	c.steps = append(c.steps, step{label: n.Label(), op: n.Domain + "." + n.OpType, k: k, ins: b.in, outs: b.out})
	c.opsRun[n.Domain+"."+n.OpType]++
	return true, nil
}
