package infer

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// gnode is a graph node after fusion: the ONNX node plus what was fused
// into it.
type gnode struct {
	*onnx.Node
	act kernels.Activation // Conv: fused activation
	bn  *onnx.Node         // Conv: fused BatchNormalization
	out []string           // outputs after fusion (the last fused node's)
	// actOnly: the node (with the ones fused before it) is the element-wise
	// activation act of actIn, e.g. x·HardSigmoid(x) → HardSwish
	actOnly bool
	actIn   string
	// ln: the node ends a LayerNorm chain over the last axis (fuseLayerNorm)
	ln *lnChain
	// mmBias: MatMul: the constant bias of the Add fused after it
	// (fuseMatMul); act is then the activation after that Add
	mmBias string
}

// lnChain is a fused LayerNorm: input x, epsilon, and the constant gamma
// and beta tensors ("" when the chain has no Mul or Add after the Div).
type lnChain struct {
	x, gamma, beta string
	eps            float32
}

type compileStats struct {
	fusedSiLU, fusedSigmoid, fusedBN, folded int
	fusedPiecewise                           int // Relu, LeakyRelu, Clip, HardSigmoid, HardSwish
	fusedChains                              int // element-wise chains made one kernel (fuseChains)
	macs                                     int64
}

type compiler struct {
	opt     Options
	opset   int64
	vals    map[string]*value
	inputs  []*value
	outputs []*value
	steps   []step
	stats   compileStats
	scratch scratchNeed
	macs    int64 // multiply-adds of conv/gemm kernels (for Summary)
	opsRun  map[string]int
	fold    *engine
	graph   *onnx.Graph
}

func (c *compiler) foldEngine() *engine {
	if c.fold == nil {
		c.fold = newEngine(1, scratchNeed{})
	}
	return c.fold
}

// bctx is what an op builder sees: the node, its input values (nil for an
// omitted optional input) and fresh output values whose shapes it sets.
type bctx struct {
	c   *compiler
	n   *gnode
	in  []*value
	out []*value
}

func (b *bctx) errf(format string, args ...any) error {
	return fmt.Errorf("infer: node %s (%s): %s", b.n.Label(), b.n.OpType, fmt.Sprintf(format, args...))
}

// opDef builds a kernel for a node. A builder may instead make its outputs
// constant (set konst and data/ints) and return a nil kernel.
type opDef struct {
	build func(b *bctx) (kernel, error)
}

var ops = map[string]opDef{}

func register(name string, build func(b *bctx) (kernel, error)) {
	ops[name] = opDef{build: build}
}

// SupportedOps lists the ONNX op types the engine runs, sorted.
func SupportedOps() []string {
	var s []string
	for k := range ops {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

func compile(m *onnx.Model, opt Options) (*compiler, error) {
	if opt.Batch < 0 {
		return nil, fmt.Errorf("infer: Options.Batch is %d, must be ≥ 0", opt.Batch)
	}
	c := &compiler{opt: opt, opset: m.Opset(), vals: map[string]*value{}, opsRun: map[string]int{}, graph: &m.Graph}
	g := &m.Graph
	for _, t := range g.Initializers {
		v, err := constFromTensor(t)
		if err != nil {
			return nil, fmt.Errorf("infer: initializer: %w", err)
		}
		c.vals[t.Name] = v
	}
	for _, in := range g.Inputs {
		if _, ok := c.vals[in.Name]; ok {
			continue // an initializer listed as input (IR < 4): a constant
		}
		// Integer inputs (PointPillars' pillar coordinates, index tensors)
		// are carried as float32 values, exact below 2²⁴: Run takes
		// float32 slices, and the ops that read indices at run time
		// (ScatterND) convert them back.
		if in.ElemType != onnx.Float && !intInput(in.ElemType) {
			return nil, fmt.Errorf("infer: input %q is %s; only float32 and integer inputs are supported", in.Name, in.ElemType)
		}
		fixed := opt.InputShapes[in.Name]
		if fixed == nil && opt.Batch > 0 && in.HasShape && len(in.Dims) > 0 && (in.Dims[0].Value == 1 || in.Dims[0].Value < 0) {
			batched := in // the leading dim (1 or dynamic) becomes the batch
			batched.Dims = append([]onnx.Dim{{Value: int64(opt.Batch)}}, in.Dims[1:]...)
			in = batched
		}
		shape, err := inputShape(in, fixed)
		if err != nil {
			return nil, err
		}
		v := &value{name: in.Name, shape: shape, producer: -1, lastUse: -1, buf: -1, input: true}
		if in.ElemType != onnx.Float {
			v.dtype = in.ElemType
		}
		c.vals[in.Name] = v
		c.inputs = append(c.inputs, v)
	}
	order, err := c.sortAndCheck(g)
	if err != nil {
		return nil, err
	}
	nodes := c.fuse(g, order)
	for _, n := range nodes {
		if err := c.buildNode(n); err != nil {
			return nil, err
		}
	}
	for _, o := range g.Outputs {
		v := c.vals[o.Name]
		if v == nil {
			return nil, fmt.Errorf("infer: graph output %q is not produced by any node", o.Name)
		}
		if v.isInt { // a folded integer (e.g. Shape): delivered as exact float32 values
			if !v.konst {
				return nil, fmt.Errorf("infer: graph output %q is a non-constant integer tensor; only float32 outputs are supported", o.Name)
			}
			v.data = make([]float32, len(v.ints))
			for i, x := range v.ints {
				if x >= 1<<24 || x <= -1<<24 {
					return nil, fmt.Errorf("infer: graph output %q: integer %d is not exact in float32", o.Name, x)
				}
				v.data[i] = float32(x)
			}
		}
		v.output = true
		c.outputs = append(c.outputs, v)
	}
	return c, nil
}

func inputShape(in onnx.ValueInfo, fixed []int) ([]int, error) {
	if fixed != nil {
		if in.HasShape && len(fixed) != len(in.Dims) {
			return nil, fmt.Errorf("infer: input %q: InputShapes gives %v, the model's rank is %d", in.Name, fixed, len(in.Dims))
		}
		for i, d := range fixed {
			if d <= 0 || (in.HasShape && in.Dims[i].Value >= 0 && int64(d) != in.Dims[i].Value) {
				return nil, fmt.Errorf("infer: input %q: InputShapes gives %v, the model says %v", in.Name, fixed, in)
			}
		}
		return append([]int(nil), fixed...), nil
	}
	if !in.HasShape {
		return nil, fmt.Errorf("infer: input %q has no shape; give it in Options.InputShapes", in.Name)
	}
	shape := make([]int, len(in.Dims))
	for i, d := range in.Dims {
		if d.Value < 0 {
			return nil, fmt.Errorf("infer: input %q has dynamic dim %d (%s); fix it in Options.InputShapes", in.Name, i, d)
		}
		shape[i] = int(d.Value)
	}
	return shape, nil
}

// sortAndCheck orders the nodes topologically and reports, all at once,
// unsupported ops and inputs that nothing provides.
func (c *compiler) sortAndCheck(g *onnx.Graph) ([]int, error) {
	producer := map[string]int{}
	var problems []string
	unsupported := map[string][]string{}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if !knownOp(n) { // custom.go: the engine's ops and registered custom ops
			key := n.OpType
			if n.Domain != "" && n.Domain != "ai.onnx" {
				key = n.Domain + "." + n.OpType
			}
			unsupported[key] = append(unsupported[key], n.Label())
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				problems = append(problems, fmt.Sprintf("tensor %q is produced by both %s and %s", o, g.Nodes[j].Label(), n.Label()))
			}
			if _, isConst := c.vals[o]; isConst {
				problems = append(problems, fmt.Sprintf("node %s overwrites initializer or input %q", n.Label(), o))
			}
			producer[o] = i
		}
	}
	if len(unsupported) > 0 {
		var keys []string
		for k := range unsupported {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			names := unsupported[k]
			list := strings.Join(names, ", ")
			if len(names) > 5 {
				list = strings.Join(names[:5], ", ") + fmt.Sprintf(", … %d more", len(names)-5)
			}
			parts = append(parts, fmt.Sprintf("%s (%d: %s)", k, len(names), list))
		}
		return nil, fmt.Errorf("infer: unsupported ops: %s", strings.Join(parts, "; "))
	}
	// Kahn's algorithm, stable in file order.
	indeg := make([]int, len(g.Nodes))
	users := make([][]int, len(g.Nodes))
	for i := range g.Nodes {
		n := &g.Nodes[i]
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			if p, ok := producer[in]; ok {
				indeg[i]++
				users[p] = append(users[p], i)
			} else if _, ok := c.vals[in]; !ok {
				problems = append(problems, fmt.Sprintf("node %s: input %q is not an initializer, a graph input or any node's output (missing initializer?)", n.Label(), in))
			}
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("infer: %s", strings.Join(problems, "; "))
	}
	var order, ready []int
	for i := range indeg {
		if indeg[i] == 0 {
			ready = append(ready, i)
		}
	}
	for len(ready) > 0 {
		sort.Ints(ready)
		i := ready[0]
		ready = ready[1:]
		order = append(order, i)
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	if len(order) != len(g.Nodes) {
		var stuck []string
		for i := range indeg {
			if indeg[i] > 0 {
				stuck = append(stuck, g.Nodes[i].Label())
			}
		}
		return nil, fmt.Errorf("infer: graph has a cycle through %s", strings.Join(stuck, ", "))
	}
	return order, nil
}

// fuse turns Conv→BatchNormalization, Conv→Sigmoid→Mul (SiLU),
// Conv→Sigmoid, Conv→Relu, Conv→LeakyRelu and Conv→Clip (constant bounds,
// e.g. Relu6) into single Conv nodes, and does the same for ConvTranspose
// (BatchNormalization needs its weights and bias constant there). A fused
// node's intermediate tensors must have no other reader and not be graph
// outputs.
func (c *compiler) fuse(g *onnx.Graph, order []int) []*gnode {
	consumers := map[string][]int{}
	producer := map[string]int{}
	for i := range g.Nodes {
		for _, in := range g.Nodes[i].Inputs {
			consumers[in] = append(consumers[in], i)
		}
		for _, o := range g.Nodes[i].Outputs {
			producer[o] = i
		}
	}
	isOut := map[string]bool{}
	for _, o := range g.Outputs {
		isOut[o.Name] = true
	}
	dead := make([]bool, len(g.Nodes))
	gn := make([]*gnode, len(g.Nodes))
	for i := range g.Nodes {
		gn[i] = &gnode{Node: &g.Nodes[i], out: g.Nodes[i].Outputs}
	}
	only := func(t string) (int, bool) {
		cs := consumers[t]
		if len(cs) != 1 || isOut[t] {
			return 0, false
		}
		return cs[0], true
	}
	if !c.opt.NoFusion {
		for _, i := range order {
			n := gn[i]
			if (n.OpType != "Conv" && n.OpType != "ConvTranspose") || len(n.Outputs) != 1 {
				continue
			}
			y := n.Outputs[0]
			if j, ok := only(y); ok && g.Nodes[j].OpType == "BatchNormalization" && len(g.Nodes[j].Outputs) >= 1 &&
				bnConst(c, &g.Nodes[j]) && (n.OpType == "Conv" || c.convTConst(n.Node)) {
				n.bn = &g.Nodes[j]
				dead[j] = true
				y = g.Nodes[j].Outputs[0]
				n.out = []string{y}
				c.stats.fusedBN++
			}
			if j, ok := only(y); ok && len(g.Nodes[j].Outputs) == 1 {
				if act, ok := c.piecewiseAct(&g.Nodes[j], producer); ok {
					n.act = act
					n.out = []string{g.Nodes[j].Outputs[0]}
					dead[j] = true
					c.stats.fusedPiecewise++
					continue
				}
			}
			cs := consumers[y]
			if isOut[y] || len(cs) == 0 || len(cs) > 2 {
				continue
			}
			var sig, mul = -1, -1
			for _, j := range cs {
				switch g.Nodes[j].OpType {
				case "Sigmoid", "HardSigmoid":
					sig = j
				case "Mul":
					mul = j
				}
			}
			if sig < 0 || isOut[g.Nodes[sig].Outputs[0]] {
				continue
			}
			s := g.Nodes[sig].Outputs[0]
			if len(cs) == 1 && g.Nodes[sig].OpType == "Sigmoid" { // Conv → Sigmoid
				n.act = kernels.ActSigmoid
				n.out = []string{s}
				dead[sig] = true
				c.stats.fusedSigmoid++
				continue
			}
			if mul < 0 {
				continue
			}
			mi := g.Nodes[mul].Inputs
			if k, ok := only(s); !ok || k != mul || len(mi) != 2 || !((mi[0] == y && mi[1] == s) || (mi[0] == s && mi[1] == y)) {
				continue
			}
			n.act = kernels.ActSiLU
			if g.Nodes[sig].OpType == "HardSigmoid" {
				n.act = hardSwishAct(&g.Nodes[sig])
			}
			n.out = []string{g.Nodes[mul].Outputs[0]}
			dead[sig], dead[mul] = true, true
			c.stats.fusedSiLU++
		}
		c.fuseGates(g, gn, dead, consumers, isOut)
		c.fuseGELU(g, gn, dead, consumers, isOut, producer)
		c.fuseLayerNorm(g, gn, dead, consumers, isOut, producer)
		c.fuseMatMul(g, gn, dead, consumers, isOut, producer)
	}
	var out []*gnode
	for _, i := range order {
		if !dead[i] {
			out = append(out, gn[i])
		}
	}
	return out
}

// fuseMatMul makes MatMul → Add(bias) → activation one kernel, the bias
// and activation applied to each GEMM tile while it is in cache (a
// Linear layer's bias and the GELU or Relu after it). B must be a constant
// matrix and the bias a constant vector of its N columns; the activation
// is a piecewise one or a GELU chain fuseGELU has already made one node.
// Every intermediate must have one live reader and not be a graph output.
func (c *compiler) fuseMatMul(g *onnx.Graph, gn []*gnode, dead []bool, consumers map[string][]int, isOut map[string]bool, producer map[string]int) {
	konst := func(name string) *value {
		if v := c.vals[name]; v != nil && !v.input && !v.isInt {
			return v
		}
		return nil
	}
	// reader returns the single live reader of t: a live consumer, or a
	// kernel fused from dead nodes that reads t (actIn, a LayerNorm's x).
	reader := func(t string) (int, bool) {
		if isOut[t] {
			return 0, false
		}
		r := -1
		for _, j := range consumers[t] {
			if !dead[j] {
				if r >= 0 {
					return 0, false
				}
				r = j
			}
		}
		for j, n := range gn {
			if !dead[j] && ((n.actOnly && n.actIn == t) || (n.ln != nil && n.ln.x == t)) {
				if r >= 0 && r != j {
					return 0, false
				}
				r = j
			}
		}
		return r, r >= 0
	}
	for i := range g.Nodes {
		n := gn[i]
		if dead[i] || n.OpType != "MatMul" || len(n.Inputs) != 2 || len(n.Outputs) != 1 {
			continue
		}
		w := konst(n.Inputs[1])
		if w == nil || len(w.shape) != 2 {
			continue
		}
		y := n.Outputs[0]
		j, ok := reader(y)
		if !ok || gn[j].actOnly || gn[j].ln != nil || g.Nodes[j].OpType != "Add" || len(g.Nodes[j].Inputs) != 2 || len(g.Nodes[j].Outputs) != 1 {
			continue
		}
		ai := g.Nodes[j].Inputs
		bias := ai[1]
		if ai[1] == y {
			bias = ai[0]
		}
		if bv := konst(bias); bv == nil || bias == y || len(bv.shape) != 1 || bv.shape[0] != w.shape[1] {
			continue
		}
		n.mmBias, n.out = bias, g.Nodes[j].Outputs
		dead[j] = true
		c.stats.fusedChains++
		z := n.out[0]
		a, ok := reader(z)
		if !ok {
			continue
		}
		switch an := gn[a]; {
		case an.actOnly && an.act == kernels.ActGELU:
			n.act, n.out = an.act, an.out
		case !an.actOnly && an.ln == nil && len(an.Outputs) == 1:
			act, ok := c.piecewiseAct(an.Node, producer)
			if !ok {
				continue
			}
			n.act, n.out = act, an.Outputs
		default:
			continue
		}
		dead[a] = true
		c.stats.fusedChains++
	}
}

// attrF is a float attribute of an ONNX node, def when absent.
func attrF(n *onnx.Node, name string, def float32) float32 {
	if a := n.Attr(name); a != nil {
		return a.F
	}
	return def
}

// hardSwishAct is x·HardSigmoid(x) for the HardSigmoid node h (HardSwish
// when h has ONNX HardSwish's 1/6 and ½).
func hardSwishAct(h *onnx.Node) kernels.Activation {
	return kernels.ActHardSwishOf(attrF(h, "alpha", 0.2), attrF(h, "beta", 0.5))
}

// fuseGates makes every remaining x·Sigmoid(x) (SiLU) and
// x·HardSigmoid(x) (HardSwish, as exporters before opset 14 write it) one
// element-wise kernel: the gate's only reader must be the Mul, and
// neither intermediate a graph output.
func (c *compiler) fuseGates(g *onnx.Graph, gn []*gnode, dead []bool, consumers map[string][]int, isOut map[string]bool) {
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if dead[i] || (n.OpType != "Sigmoid" && n.OpType != "HardSigmoid") || len(n.Inputs) != 1 || len(n.Outputs) != 1 {
			continue
		}
		x, s := n.Inputs[0], n.Outputs[0]
		cs := consumers[s]
		if isOut[s] || len(cs) != 1 || dead[cs[0]] || g.Nodes[cs[0]].OpType != "Mul" {
			continue
		}
		m := &g.Nodes[cs[0]]
		if len(m.Inputs) != 2 || len(m.Outputs) != 1 || !((m.Inputs[0] == x && m.Inputs[1] == s) || (m.Inputs[0] == s && m.Inputs[1] == x)) {
			continue
		}
		act := kernels.ActSiLU
		if n.OpType == "HardSigmoid" {
			act = hardSwishAct(n)
		}
		// the Mul's node becomes the fused kernel: it runs after both
		gm := gn[cs[0]]
		gm.actOnly, gm.act = true, act
		gm.actIn = x
		dead[i] = true
		c.stats.fusedChains++
	}
}

// fuseGELU makes the erf form of GELU as exporters write it,
// Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), ½), one element-wise kernel. The
// constants must match and every intermediate have one reader.
func (c *compiler) fuseGELU(g *onnx.Graph, gn []*gnode, dead []bool, consumers map[string][]int, isOut map[string]bool, producer map[string]int) {
	// next returns the single live reader of t with op type op.
	next := func(t, op string) (int, bool) {
		cs := consumers[t]
		if isOut[t] || len(cs) != 1 || dead[cs[0]] || g.Nodes[cs[0]].OpType != op || len(g.Nodes[cs[0]].Outputs) != 1 {
			return 0, false
		}
		return cs[0], true
	}
	// other returns the input of the binary node n that is not t.
	other := func(n *onnx.Node, t string) (string, bool) {
		if len(n.Inputs) != 2 {
			return "", false
		}
		if n.Inputs[0] == t {
			return n.Inputs[1], true
		}
		if n.Inputs[1] == t {
			return n.Inputs[0], true
		}
		return "", false
	}
	isConst := func(name string, want float64) bool {
		v, ok := c.constScalar(name, producer)
		return ok && math.Abs(float64(v)-want) <= 1e-6*math.Abs(want)
	}
	for i := range g.Nodes {
		e := &g.Nodes[i]
		if dead[i] || e.OpType != "Erf" || len(e.Inputs) != 1 || len(e.Outputs) != 1 {
			continue
		}
		dv, ok := producer[e.Inputs[0]]
		if !ok || dead[dv] || g.Nodes[dv].OpType != "Div" || len(g.Nodes[dv].Inputs) != 2 {
			continue
		}
		if j, ok := next(e.Inputs[0], "Erf"); !ok || j != i {
			continue
		}
		x := g.Nodes[dv].Inputs[0]
		if !isConst(g.Nodes[dv].Inputs[1], math.Sqrt2) {
			continue
		}
		ad, ok := next(e.Outputs[0], "Add")
		if !ok {
			continue
		}
		if o, ok := other(&g.Nodes[ad], e.Outputs[0]); !ok || !isConst(o, 1) {
			continue
		}
		m1, ok := next(g.Nodes[ad].Outputs[0], "Mul")
		if !ok {
			continue
		}
		if o, ok := other(&g.Nodes[m1], g.Nodes[ad].Outputs[0]); !ok || o != x {
			continue
		}
		m2, ok := next(g.Nodes[m1].Outputs[0], "Mul")
		if !ok {
			continue
		}
		if o, ok := other(&g.Nodes[m2], g.Nodes[m1].Outputs[0]); !ok || !isConst(o, 0.5) {
			continue
		}
		gm := gn[m2]
		gm.actOnly, gm.act, gm.actIn = true, kernels.ActGELU, x
		dead[dv], dead[i], dead[ad], dead[m1] = true, true, true, true
		c.stats.fusedChains++
	}
}

// fuseLayerNorm makes the LayerNorm over the last axis as exporters
// before opset 17 write it — d = Sub(x, ReduceMean(x)), Div(d,
// Sqrt(Add(ReduceMean(Pow(d, 2)), eps))), then optionally Mul by a
// constant gamma and Add a constant beta — one kernel
// (kernels.LayerNorm per row).
func (c *compiler) fuseLayerNorm(g *onnx.Graph, gn []*gnode, dead []bool, consumers map[string][]int, isOut map[string]bool, producer map[string]int) {
	single := func(t, op string) (int, bool) {
		cs := consumers[t]
		if isOut[t] || len(cs) != 1 || dead[cs[0]] || g.Nodes[cs[0]].OpType != op || len(g.Nodes[cs[0]].Outputs) != 1 {
			return 0, false
		}
		return cs[0], true
	}
	lastAxis := func(n *onnx.Node) bool {
		if a := n.Attr("keepdims"); a != nil && a.I == 0 {
			return false
		}
		if a := n.Attr("axes"); a != nil {
			return len(a.Ints) == 1 && a.Ints[0] == -1 && len(n.Inputs) == 1
		}
		if len(n.Inputs) == 2 { // opset 18: axes as a constant input
			if v, ok := c.vals[n.Inputs[1]]; ok && v.konst && v.isInt && len(v.ints) == 1 && v.ints[0] == -1 {
				return true
			}
		}
		return false
	}
	konst := func(name string) bool {
		v, ok := c.vals[name]
		return ok && v.konst && !v.isInt
	}
	for i := range g.Nodes {
		r1 := &g.Nodes[i]
		if dead[i] || r1.OpType != "ReduceMean" || len(r1.Outputs) != 1 || !lastAxis(r1) {
			continue
		}
		x := r1.Inputs[0]
		sub, ok := single(r1.Outputs[0], "Sub")
		if !ok || g.Nodes[sub].Inputs[0] != x || g.Nodes[sub].Inputs[1] != r1.Outputs[0] {
			continue
		}
		d := g.Nodes[sub].Outputs[0]
		cs := consumers[d]
		if isOut[d] || len(cs) != 2 {
			continue
		}
		pw, dv := cs[0], cs[1]
		if g.Nodes[pw].OpType != "Pow" {
			pw, dv = dv, pw
		}
		if dead[pw] || dead[dv] || g.Nodes[pw].OpType != "Pow" || g.Nodes[dv].OpType != "Div" || len(g.Nodes[pw].Inputs) != 2 ||
			g.Nodes[pw].Inputs[0] != d || g.Nodes[dv].Inputs[0] != d {
			continue
		}
		if two, ok := c.constScalar(g.Nodes[pw].Inputs[1], producer); !ok || two != 2 {
			continue
		}
		r2, ok := single(g.Nodes[pw].Outputs[0], "ReduceMean")
		if !ok || !lastAxis(&g.Nodes[r2]) {
			continue
		}
		ae, ok := single(g.Nodes[r2].Outputs[0], "Add")
		if !ok || g.Nodes[ae].Inputs[0] != g.Nodes[r2].Outputs[0] {
			continue
		}
		eps, ok := c.constScalar(g.Nodes[ae].Inputs[1], producer)
		if !ok {
			continue
		}
		sq, ok := single(g.Nodes[ae].Outputs[0], "Sqrt")
		if !ok {
			continue
		}
		if j, ok := single(g.Nodes[sq].Outputs[0], "Div"); !ok || j != dv || g.Nodes[dv].Inputs[1] != g.Nodes[sq].Outputs[0] {
			continue
		}
		ln := &lnChain{x: x, eps: eps}
		chain := []int{i, sub, pw, r2, ae, sq}
		last := dv
		if mg, ok := single(g.Nodes[dv].Outputs[0], "Mul"); ok {
			mi := g.Nodes[mg].Inputs
			if o := mi[1]; mi[0] == g.Nodes[dv].Outputs[0] && konst(o) {
				ln.gamma = o
			} else if o := mi[0]; mi[1] == g.Nodes[dv].Outputs[0] && konst(o) {
				ln.gamma = o
			}
			if ln.gamma != "" {
				chain = append(chain, last)
				last = mg
				if ab, ok := single(g.Nodes[mg].Outputs[0], "Add"); ok {
					ai := g.Nodes[ab].Inputs
					if o := ai[1]; ai[0] == g.Nodes[mg].Outputs[0] && konst(o) {
						ln.beta = o
					} else if o := ai[0]; ai[1] == g.Nodes[mg].Outputs[0] && konst(o) {
						ln.beta = o
					}
					if ln.beta != "" {
						chain = append(chain, last)
						last = ab
					}
				}
			}
		}
		for _, j := range chain {
			dead[j] = true
		}
		gn[last].ln = ln
		c.stats.fusedChains++
	}
}

// convTConst reports whether a ConvTranspose's weights and bias are
// constants (initializers), so that a BatchNormalization can be folded in.
func (c *compiler) convTConst(n *onnx.Node) bool {
	for i, in := range n.Inputs {
		if i == 0 || in == "" {
			continue
		}
		if v, ok := c.vals[in]; !ok || !v.konst || v.isInt {
			return false
		}
	}
	return len(n.Inputs) >= 2
}

// piecewiseAct returns the fused activation for a Relu, a LeakyRelu or a
// Clip whose bounds are constants (attributes before opset 11, else
// initializers or Constant nodes).
func (c *compiler) piecewiseAct(n *onnx.Node, producer map[string]int) (kernels.Activation, bool) {
	switch n.OpType {
	case "Relu":
		return kernels.ActRelu, true
	case "LeakyRelu":
		alpha := float32(0.01)
		if a := n.Attr("alpha"); a != nil {
			alpha = a.F
		}
		return kernels.ActLeaky(alpha), true
	case "HardSigmoid":
		return kernels.ActHardSigmoid(attrF(n, "alpha", 0.2), attrF(n, "beta", 0.5)), true
	case "HardSwish":
		return kernels.ActHardSwish, true
	case "Clip":
		lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
		if c.opset < 11 {
			if a := n.Attr("min"); a != nil {
				lo = a.F
			}
			if a := n.Attr("max"); a != nil {
				hi = a.F
			}
			return kernels.ActClamp(lo, hi), true
		}
		for i, p := range []*float32{&lo, &hi} {
			if len(n.Inputs) <= i+1 || n.Inputs[i+1] == "" {
				continue
			}
			v, ok := c.constScalar(n.Inputs[i+1], producer)
			if !ok {
				return kernels.ActNone, false
			}
			*p = v
		}
		return kernels.ActClamp(lo, hi), true
	}
	return kernels.ActNone, false
}

// constScalar reads a one-element constant before the graph is built: an
// initializer or the output of a Constant node.
func (c *compiler) constScalar(name string, producer map[string]int) (float32, bool) {
	if v, ok := c.vals[name]; ok {
		if !v.konst || v.numel() != 1 {
			return 0, false
		}
		if v.isInt {
			return float32(v.ints[0]), true
		}
		return v.data[0], true
	}
	j, ok := producer[name]
	if !ok || c.graph.Nodes[j].OpType != "Constant" {
		return 0, false
	}
	for _, a := range c.graph.Nodes[j].Attrs {
		switch a.Name {
		case "value_float":
			return a.F, true
		case "value_int":
			return float32(a.I), true
		case "value":
			if a.T == nil || a.T.NumElements() != 1 {
				return 0, false
			}
			switch {
			case len(a.T.Floats) == 1:
				return a.T.Floats[0], true
			case len(a.T.Ints) == 1:
				return float32(a.T.Ints[0]), true
			case len(a.T.Doubles) == 1:
				return float32(a.T.Doubles[0]), true
			}
		}
	}
	return 0, false
}

func bnConst(c *compiler, n *onnx.Node) bool {
	if len(n.Inputs) < 5 {
		return false
	}
	for _, in := range n.Inputs[1:5] {
		if v, ok := c.vals[in]; !ok || !v.konst {
			return false
		}
	}
	return true
}

func (c *compiler) buildNode(n *gnode) error {
	b := &bctx{c: c, n: n}
	allConst := true
	inputs := n.Inputs
	if n.actOnly {
		inputs = []string{n.actIn}
	}
	if n.ln != nil {
		inputs = []string{n.ln.x, n.ln.gamma, n.ln.beta}
	}
	for _, name := range inputs {
		if name == "" {
			b.in = append(b.in, nil)
			continue
		}
		v := c.vals[name]
		if v == nil {
			return fmt.Errorf("infer: node %s: input %q not available", n.Label(), name)
		}
		if !v.konst {
			allConst = false
		}
		b.in = append(b.in, v)
	}
	for _, name := range n.out {
		v := &value{name: name, producer: -1, lastUse: -1, buf: -1}
		b.out = append(b.out, v)
	}
	if handled, err := c.buildCustom(b); handled { // custom.go: registered custom ops
		return err
	}
	if err := b.checkIntInputs(); err != nil {
		return err
	}
	var k kernel
	var err error
	if n.actOnly {
		k, err = buildActKernel(b, n.act)
	} else if n.ln != nil {
		k, err = buildLayerNorm(b, n.ln.eps)
	} else if nd, ok := movementOps[n.OpType]; ok && allConst && intData(b.in, nd) {
		err = c.foldIntMovement(b, nd)
	} else {
		k, err = ops[n.OpType].build(b)
	}
	if err != nil {
		return err
	}
	for i, v := range b.out {
		if n.out[i] != "" {
			c.vals[n.out[i]] = v
		}
	}
	if k == nil { // the builder folded it
		for _, v := range b.out {
			v.konst = true
		}
		c.stats.folded++
		return nil
	}
	for _, v := range b.in {
		if v != nil && v.isInt && !v.konst {
			return b.errf("integer tensor %q is not constant; only static shapes are supported", v.name)
		}
	}
	if allConst {
		for _, v := range b.out {
			v.data = make([]float32, v.numel())
		}
		k.run(c.foldEngine())
		for _, v := range b.out {
			v.konst = true
		}
		c.stats.folded++
		return nil
	}
	if err := b.setIntOutputs(); err != nil {
		return err
	}
	idx := len(c.steps)
	for _, v := range b.out {
		v.producer = idx
	}
	op := n.OpType
	switch {
	case n.actOnly:
		op = n.act.String()
	case n.ln != nil:
		op = "LayerNorm"
	}
	c.steps = append(c.steps, step{label: n.Label(), op: op, k: k, ins: b.in, outs: b.out})
	c.opsRun[op]++
	return nil
}

// plan assigns every intermediate tensor a buffer: a buffer is reused once
// the last reader of its previous tensor has run (greedy best fit, in step
// order). Graph inputs and outputs are bound by Run and not planned.
func (c *compiler) plan() [][]float32 {
	for i, s := range c.steps {
		for _, v := range s.ins {
			if v != nil && !v.konst {
				v.lastUse = i
			}
		}
	}
	var sizes []int
	var free []int // indices into sizes
	var planned []*value
	for i, s := range c.steps {
		for _, v := range s.outs {
			if v.output {
				continue
			}
			need := v.numel()
			best := -1
			for fi, b := range free {
				if sizes[b] >= need && (best < 0 || sizes[b] < sizes[free[best]]) {
					best = fi
				}
			}
			if best < 0 && len(free) > 0 { // grow the largest free buffer
				for fi, b := range free {
					if best < 0 || sizes[b] > sizes[free[best]] {
						best = fi
					}
				}
			}
			if best >= 0 {
				v.buf = free[best]
				free = append(free[:best], free[best+1:]...)
				if sizes[v.buf] < need {
					sizes[v.buf] = need
				}
			} else {
				v.buf = len(sizes)
				sizes = append(sizes, need)
			}
			planned = append(planned, v)
		}
		release := func(v *value) {
			if v != nil && v.buf >= 0 && v.lastUse <= i && !v.output {
				for _, f := range free {
					if f == v.buf {
						return
					}
				}
				free = append(free, v.buf)
			}
		}
		for _, v := range s.ins {
			if v != nil && v.lastUse == i {
				release(v)
			}
		}
		for _, v := range s.outs {
			if v.lastUse < 0 { // never read
				release(v)
			}
		}
	}
	bufs := make([][]float32, len(sizes))
	for i, n := range sizes {
		bufs[i] = make([]float32, n)
	}
	for _, v := range planned {
		v.data = bufs[v.buf][:v.numel()]
	}
	return bufs
}

func intData(in []*value, nd int) bool {
	if nd < 0 || nd > len(in) {
		nd = len(in)
	}
	for _, v := range in[:nd] {
		if v != nil && v.isInt {
			return true
		}
	}
	return false
}

// foldIntMovement folds a data-movement op on integer constants: the float
// kernel runs on the element indices (exact below 2^24), and the output
// indices pick the integers.
func (c *compiler) foldIntMovement(b *bctx, nd int) error {
	if nd < 0 || nd > len(b.in) {
		nd = len(b.in)
	}
	var all []int64
	orig := b.in
	b.in = append([]*value(nil), orig...)
	for i, v := range orig[:nd] {
		if v == nil {
			continue
		}
		if !v.isInt {
			return b.errf("mixes integer and float inputs")
		}
		idx := &value{name: v.name, shape: v.shape, konst: true, producer: -1, lastUse: -1, buf: -1, data: make([]float32, len(v.ints))}
		for j := range v.ints {
			idx.data[j] = float32(len(all) + j)
		}
		all = append(all, v.ints...)
		b.in[i] = idx
	}
	if len(all) >= 1<<24 {
		return b.errf("integer constant too large to fold")
	}
	k, err := ops[b.n.OpType].build(b)
	b.in = orig
	if err != nil {
		return err
	}
	if k == nil {
		return b.errf("internal: movement op folded without a kernel")
	}
	for _, v := range b.out {
		v.data = make([]float32, v.numel())
	}
	k.run(c.foldEngine())
	for _, v := range b.out {
		v.isInt = true
		v.ints = make([]int64, len(v.data))
		for i, f := range v.data {
			v.ints[i] = all[int(f)]
		}
		v.data = nil
	}
	return nil
}
