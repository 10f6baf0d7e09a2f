package gpuinfer

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Options configure Compile and a Session. The zero value runs exact fp32
// at batch 1.
type Options struct {
	// Precision of the convolutions: "fp32" (exact fp32 FMA; the default),
	// "tf32" (tensor cores, 3xTF32: each operand split into a TF32 high
	// part and a TF32 remainder, three mma per product, fp32 accumulate;
	// within 1e-5 of fp32 on YOLOX-Nano), "tf32-fast" (one TF32 mma per
	// product, operands rounded to 10 mantissa bits like PyTorch's
	// allow_tf32: about 1e-2 relative L2 on YOLOX-Nano) or "fp16" (FP16
	// mma, fp32 accumulate, about 1e-2). Activations stay fp32 in memory
	// in every mode; small dense convolutions (conv_direct) and depthwise
	// ones are exact fp32 in every mode.
	Precision string `toml:"precision"`
	// Batch is the number of images a Run takes (0 means 1). The graph
	// input's leading dimension (1 or symbolic) becomes Batch, and so does
	// a constant leading 1 of every Reshape target: exports with a fixed
	// batch of 1 (YOLOX-Nano's Reshape to [1, 85, -1]) then run batch N,
	// the rewrite the PyTorch peer (yolox_torch.py) applies as well. A
	// Reshape that keeps no leading batch dimension is rejected.
	Batch int `toml:"batch"`
	// NoGraph launches the kernels one by one on every Run instead of
	// replaying the captured CUDA graph (for comparison).
	NoGraph bool `toml:"no_graph"`
	// Device is the CUDA device ordinal.
	Device int `toml:"device"`
}

func (o Options) batch() int { return max(o.Batch, 1) }

func (o Options) validate() error {
	switch o.Precision {
	case "", "fp32", "tf32", "tf32-fast", "fp16":
	default:
		return fmt.Errorf("gpuinfer: precision %q: want fp32, tf32, tf32-fast or fp16", o.Precision)
	}
	if o.Batch < 0 || o.Batch > 4096 {
		return fmt.Errorf("gpuinfer: batch %d: want 1..4096", o.Batch)
	}
	if o.Device < 0 {
		return fmt.Errorf("gpuinfer: device %d", o.Device)
	}
	return nil
}

func (o Options) precision() string {
	if o.Precision == "" {
		return "fp32"
	}
	return o.Precision
}

// IOInfo names a graph input or output and gives its shape, batch
// included (core2d/infer.IOInfo's fields).
type IOInfo struct {
	Name  string
	Shape []int
}

// Size is the number of float32 elements of the tensor.
func (i IOInfo) Size() int { return prod(i.Shape) }

// buffer is one region of the activation arena, shared in time by the
// tensors whose lifetimes do not overlap.
type buffer struct {
	perImage int64 // bytes per image
	def      int   // first launch touching it
	last     int   // last launch touching it
	off      int64 // byte offset in the arena
	fixed    bool  // graph input/output: never shared
	users    int   // tensors addressing it
}

// tensor is a graph value: a constant (host data) or an activation living
// at buf + off (elements) with bs elements between images.
type tensor struct {
	name  string
	shape []int // activations: shape[0] is the batch
	konst bool
	f     []float32
	ints  []int64
	isInt bool
	buf   *buffer
	off   int
	bs    int
}

func (t *tensor) perImage() int { return prod(t.shape[1:]) }

// contiguousOwner reports whether t alone addresses a buffer laid out
// densely for it (so it may be redirected into a Concat output).
func (t *tensor) contiguousOwner() bool {
	return t.buf != nil && !t.buf.fixed && t.buf.users == 1 && t.off == 0 && t.bs == t.perImage()
}

type argKind uint8

const (
	argInt argKind = iota
	argPtr         // activation tensor address
	argBS          // activation tensor batch stride (elements)
	argOff         // activation tensor element offset inside its image block: unused by kernels, kept for tests
	argW           // weights blob + byte offset
	argNull
)

type arg struct {
	kind argKind
	i    int64
	t    *tensor
}

// Launch is one kernel launch of the plan.
type Launch struct {
	Kernel string // entry point in gpuinfer.ptx
	Node   string // the ONNX node (label) it runs
	Grid   [3]int
	Block  int
	args   []arg
}

// Plan is a compiled graph: launches with symbolic addresses, the weights
// blob and the arena layout. Session binds it to device memory.
type Plan struct {
	Precision  string
	Batch      int
	InputName  string
	InputShape []int // with the batch
	OutputName string
	OutShape   []int
	Launches   []Launch
	Weights    []byte // uploaded once
	ArenaBytes int64  // activations, all tensors, after reuse
	Fused      struct{ SiLU, Sigmoid, Residual, ConcatInPlace, ConcatCopied, Reshape, SliceChain, GatherMerged int }
	MACs       int64 // per batch
	in, out    *tensor
}

// Summary lists the launches by kernel.
func (p *Plan) Summary() string {
	n := map[string]int{}
	for _, l := range p.Launches {
		n[l.Kernel]++
	}
	var keys []string
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s batch %d: %d launches (", p.Precision, p.Batch, len(p.Launches))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, n[k])
	}
	fmt.Fprintf(&b, "); arena %.1f MiB, weights %.2f MiB; fused SiLU %d, Sigmoid %d, residual Add %d; Concat inputs in place %d, copied %d; Reshape aliases %d; Slice chains %d; gathers merged %d; %.3f GMAC",
		float64(p.ArenaBytes)/(1<<20), float64(len(p.Weights))/(1<<20), p.Fused.SiLU, p.Fused.Sigmoid, p.Fused.Residual,
		p.Fused.ConcatInPlace, p.Fused.ConcatCopied, p.Fused.Reshape, p.Fused.SliceChain, p.Fused.GatherMerged, float64(p.MACs)/1e9)
	return b.String()
}

// Args returns the kernel parameters of launch i, one 8-byte slot each
// (an int parameter reads the low 4 bytes), for an arena and weights blob
// at the given device addresses.
func (p *Plan) Args(i int, arena, weights uint64) []uint64 {
	l := &p.Launches[i]
	out := make([]uint64, len(l.args))
	for j, a := range l.args {
		switch a.kind {
		case argInt:
			out[j] = uint64(uint32(int32(a.i)))
		case argPtr:
			out[j] = arena + uint64(a.t.buf.off) + 4*uint64(a.t.off)
		case argBS:
			out[j] = uint64(uint32(int32(a.t.bs)))
		case argOff:
			out[j] = uint64(uint32(int32(a.t.off)))
		case argW:
			out[j] = weights + uint64(a.i)
		case argNull:
			out[j] = 0
		}
	}
	return out
}

// InputOffset and OutputOffset are the arena byte offsets of the graph
// input and output (dense, batch-major).
func (p *Plan) InputOffset() int64  { return p.in.buf.off }
func (p *Plan) OutputOffset() int64 { return p.out.buf.off }

type compiler struct {
	opt      Options
	prec     string
	B        int
	opset    int64
	vals     map[string]*tensor
	p        *Plan
	bufs     []*buffer
	dead     map[int]bool   // node index → fused away
	act      map[int]int    // Conv node → activation
	res      map[int]string // Conv node → residual tensor added after the activation
	outName  map[int]string // Conv node → tensor its fused chain produces
	users    map[string][]int
	sliceOf  map[*tensor]sliceView
	graphOut string
}

func ints(v ...int) []arg {
	a := make([]arg, len(v))
	for i, x := range v {
		a[i] = arg{kind: argInt, i: int64(x)}
	}
	return a
}

func ptr(t *tensor) []arg { return []arg{{kind: argPtr, t: t}, {kind: argBS, t: t}} }

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

const (
	actNone    = 0
	actSigmoid = 1
	actSiLU    = 2
)

// Compile turns m into a Plan for the options' precision and batch.
func Compile(m *onnx.Model, opt Options) (*Plan, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if u := UnsupportedOps(m); u != nil { // support.go: every missing op at once, not the first
		return nil, fmt.Errorf("gpuinfer: ops not supported by the GPU backend: %s", strings.Join(u, ", "))
	}
	c := &compiler{opt: opt, prec: opt.precision(), B: opt.batch(), opset: m.Opset(), vals: map[string]*tensor{},
		dead: map[int]bool{}, act: map[int]int{}, res: map[int]string{}, outName: map[int]string{}, users: map[string][]int{},
		sliceOf: map[*tensor]sliceView{}}
	c.p = &Plan{Precision: c.prec, Batch: c.B}
	g := &m.Graph
	for _, t := range g.Initializers {
		c.vals[t.Name] = constTensor(t)
	}
	var inputs []onnx.ValueInfo
	for _, in := range g.Inputs {
		if _, ok := c.vals[in.Name]; !ok {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || len(g.Outputs) != 1 {
		return nil, fmt.Errorf("gpuinfer: the graph has %d inputs and %d outputs; one of each is supported", len(inputs), len(g.Outputs))
	}
	in := inputs[0]
	if in.ElemType != onnx.Float || !in.HasShape || len(in.Dims) < 2 {
		return nil, fmt.Errorf("gpuinfer: input %s: want a float32 tensor of known rank ≥ 2", in)
	}
	shape := []int{c.B}
	if d := in.Dims[0].Value; d > 1 {
		return nil, fmt.Errorf("gpuinfer: input %s: leading dimension %d; want 1 or symbolic (the batch)", in, d)
	}
	for i, d := range in.Dims[1:] {
		if d.Value <= 0 {
			return nil, fmt.Errorf("gpuinfer: input %s: dimension %d is not static", in, i+1)
		}
		shape = append(shape, int(d.Value))
	}
	c.p.in = c.newAct(in.Name, shape)
	c.p.in.buf.fixed = true
	c.vals[in.Name] = c.p.in
	c.p.InputName, c.p.InputShape = in.Name, shape
	for i := range g.Nodes {
		for _, name := range g.Nodes[i].Inputs {
			c.users[name] = append(c.users[name], i)
		}
	}
	isOut := map[string]bool{g.Outputs[0].Name: true}
	c.graphOut = g.Outputs[0].Name
	c.fuse(g, isOut)
	for i := range g.Nodes {
		if c.dead[i] {
			continue
		}
		if err := c.node(i, &g.Nodes[i]); err != nil {
			return nil, err
		}
	}
	out := c.vals[g.Outputs[0].Name]
	if out == nil || out.konst {
		return nil, fmt.Errorf("gpuinfer: graph output %q is not computed at run time", g.Outputs[0].Name)
	}
	if !out.contiguousOwner() {
		dst := c.newAct(out.name+"#out", out.shape)
		c.copyDense(out, dst, "output")
		out = dst
	}
	out.buf.fixed = true
	c.p.out, c.p.OutputName, c.p.OutShape = out, g.Outputs[0].Name, out.shape
	c.dropLaunches()
	c.mergeGathers()
	c.allocate()
	return c.p, nil
}

func constTensor(t *onnx.Tensor) *tensor {
	v := &tensor{name: t.Name, konst: true}
	for _, d := range t.Dims {
		v.shape = append(v.shape, int(d))
	}
	switch {
	case t.Floats != nil:
		v.f = t.Floats
	case t.Doubles != nil:
		v.f = make([]float32, len(t.Doubles))
		for i, d := range t.Doubles {
			v.f[i] = float32(d)
		}
	default:
		v.ints, v.isInt = t.Ints, true
	}
	return v
}

func (c *compiler) newAct(name string, shape []int) *tensor {
	per := prod(shape[1:])
	b := &buffer{perImage: 4 * int64(per), def: math.MaxInt, last: -1, users: 1}
	c.bufs = append(c.bufs, b)
	t := &tensor{name: name, shape: shape, buf: b, bs: per}
	return t
}

// fuse finds Conv→Sigmoid (→Mul: SiLU) chains and a following Add of the
// chain's result to another activation (a residual connection).
func (c *compiler) fuse(g *onnx.Graph, isOut map[string]bool) {
	only := func(t string) (int, bool) {
		u := c.users[t]
		if len(u) != 1 || isOut[t] {
			return 0, false
		}
		return u[0], true
	}
	for i := range g.Nodes {
		n := &g.Nodes[i]
		if n.OpType != "Conv" || len(n.Outputs) != 1 {
			continue
		}
		y := n.Outputs[0]
		c.outName[i] = y
		u := c.users[y]
		if isOut[y] || len(u) == 0 || len(u) > 2 {
			continue
		}
		sig, mul := -1, -1
		for _, j := range u {
			switch g.Nodes[j].OpType {
			case "Sigmoid":
				sig = j
			case "Mul":
				mul = j
			}
		}
		if sig < 0 || isOut[g.Nodes[sig].Outputs[0]] {
			continue
		}
		s := g.Nodes[sig].Outputs[0]
		if len(u) == 1 {
			c.act[i], c.dead[sig], c.outName[i] = actSigmoid, true, s
			c.p.Fused.Sigmoid++
		} else if mul >= 0 {
			mi := g.Nodes[mul].Inputs
			if k, ok := only(s); !ok || k != mul || len(mi) != 2 || !((mi[0] == y && mi[1] == s) || (mi[0] == s && mi[1] == y)) {
				continue
			}
			c.act[i], c.dead[sig], c.dead[mul], c.outName[i] = actSiLU, true, true, g.Nodes[mul].Outputs[0]
			c.p.Fused.SiLU++
		} else {
			continue
		}
		// Residual: the chain's only consumer is an Add whose other input
		// was computed before this Conv (so it is ready when the epilogue
		// reads it) and has the same shape (checked when building).
		o := c.outName[i]
		if k, ok := only(o); ok && g.Nodes[k].OpType == "Add" && len(g.Nodes[k].Inputs) == 2 {
			other := g.Nodes[k].Inputs[0]
			if other == o {
				other = g.Nodes[k].Inputs[1]
			}
			if other != o && c.producedBefore(g, other, i) {
				c.res[i], c.dead[k], c.outName[i] = other, true, g.Nodes[k].Outputs[0]
				c.p.Fused.Residual++
			}
		}
	}
}

// producedBefore: name is a graph input or the output of a node before i.
func (c *compiler) producedBefore(g *onnx.Graph, name string, i int) bool {
	for j := 0; j < i; j++ {
		for _, o := range g.Nodes[j].Outputs {
			if o == name {
				return true
			}
		}
	}
	for _, in := range g.Inputs {
		if in.Name == name {
			return true
		}
	}
	return false
}

func (c *compiler) errf(n *onnx.Node, format string, a ...any) error {
	return fmt.Errorf("gpuinfer: node %s (%s): %s", n.Label(), n.OpType, fmt.Sprintf(format, a...))
}

func (c *compiler) in(n *onnx.Node, i int) (*tensor, error) {
	if i >= len(n.Inputs) || n.Inputs[i] == "" {
		return nil, nil
	}
	t := c.vals[n.Inputs[i]]
	if t == nil {
		return nil, c.errf(n, "input %q is not available (graph not topologically sorted, or produced by an unsupported path)", n.Inputs[i])
	}
	return t, nil
}

func (c *compiler) act4(n *onnx.Node, t *tensor) error {
	if t == nil || t.konst || len(t.shape) != 4 {
		return c.errf(n, "want a 4-D activation input")
	}
	return nil
}

func attrInts(n *onnx.Node, name string, def []int) []int {
	a := n.Attr(name)
	if a == nil || len(a.Ints) == 0 {
		return def
	}
	out := make([]int, len(a.Ints))
	for i, v := range a.Ints {
		out[i] = int(v)
	}
	return out
}

func attrInt(n *onnx.Node, name string, def int64) int64 {
	if a := n.Attr(name); a != nil {
		return a.I
	}
	return def
}

func attrStr(n *onnx.Node, name, def string) string {
	if a := n.Attr(name); a != nil && a.S != "" {
		return a.S
	}
	return def
}

func (c *compiler) launch(kernel string, n *onnx.Node, grid [3]int, block int, args ...[]arg) {
	var all []arg
	for _, a := range args {
		all = append(all, a...)
	}
	c.p.Launches = append(c.p.Launches, Launch{Kernel: kernel, Node: n.Label(), Grid: grid, Block: block, args: all})
}

func grid1(total, block int) [3]int { return [3]int{(total + block - 1) / block, 1, 1} }

// planes is the grid of the per-plane kernels (dwconv, maxpool, resize):
// 256-thread blocks over the pixels, one y per channel, one z per image.
func planes(pixels, channels, batch int) [3]int { return [3]int{(pixels + 255) / 256, channels, batch} }

// weights appends b to the blob at a 256-byte boundary and returns its offset.
func (c *compiler) weights(b []byte) int64 {
	for len(c.p.Weights)%256 != 0 {
		c.p.Weights = append(c.p.Weights, 0)
	}
	off := int64(len(c.p.Weights))
	c.p.Weights = append(c.p.Weights, b...)
	return off
}

func f32bytes(f []float32) []byte {
	b := make([]byte, 4*len(f))
	for i, v := range f {
		u := math.Float32bits(v)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

func i32bytes(v []int) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		u := uint32(int32(x))
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

func (c *compiler) node(idx int, n *onnx.Node) error {
	switch n.OpType {
	case "Conv":
		return c.conv(idx, n)
	case "Constant":
		a := n.Attr("value")
		if a == nil || a.T == nil || len(n.Outputs) != 1 {
			return c.errf(n, "only a tensor 'value' Constant is supported")
		}
		t := constTensor(a.T)
		t.name = n.Outputs[0]
		c.vals[t.name] = t
		return nil
	case "Add", "Mul", "Sub":
		return c.binary(n)
	case "Sigmoid":
		x, err := c.in(n, 0)
		if err != nil || x == nil || x.konst {
			return c.errf(n, "want an activation input")
		}
		y := c.newAct(n.Outputs[0], x.shape)
		per := x.perImage()
		c.launch("ew", n, grid1(c.B*per, 256), 256, ptr(x), ptr(x), ptr(y), ints(per, c.B*per, 3))
		c.vals[y.name] = y
		return nil
	case "MaxPool":
		return c.maxpool(n)
	case "Resize", "Upsample":
		return c.resize(n)
	case "Slice":
		return c.slice(n)
	case "Concat":
		return c.concat(n)
	case "Reshape":
		return c.reshape(n)
	case "Identity":
		x, err := c.in(n, 0)
		if err != nil {
			return err
		}
		c.alias(n.Outputs[0], x, x.shape)
		return nil
	case "Transpose":
		return c.transpose(n)
	}
	return c.errf(n, "op not supported by the GPU backend (supported: Conv, Add, Mul, Sub, Sigmoid, MaxPool, Resize (nearest), Slice, Concat, Reshape, Identity, Transpose, Constant)")
}

func (c *compiler) alias(name string, x *tensor, shape []int) {
	if x.konst {
		t := *x
		t.name, t.shape = name, shape
		c.vals[name] = &t
		return
	}
	x.buf.users++
	c.vals[name] = &tensor{name: name, shape: shape, buf: x.buf, off: x.off, bs: x.bs}
}

func (c *compiler) conv(idx int, n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if err := c.act4(n, x); err != nil {
		return err
	}
	w, _ := c.in(n, 1)
	if w == nil || !w.konst || w.f == nil || len(w.shape) != 4 {
		return c.errf(n, "weights must be a constant float 4-D tensor")
	}
	bias, _ := c.in(n, 2)
	if bias != nil && (!bias.konst || bias.f == nil) {
		return c.errf(n, "bias must be a constant float tensor")
	}
	if ap := attrStr(n, "auto_pad", "NOTSET"); ap != "NOTSET" {
		return c.errf(n, "auto_pad %s is not supported", ap)
	}
	for _, d := range attrInts(n, "dilations", []int{1, 1}) {
		if d != 1 {
			return c.errf(n, "dilation %d is not supported", d)
		}
	}
	group := int(attrInt(n, "group", 1))
	cin, H, W := x.shape[1], x.shape[2], x.shape[3]
	cout, cpg, KH, KW := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	st := attrInts(n, "strides", []int{1, 1})
	pd := attrInts(n, "pads", []int{0, 0, 0, 0})
	if len(st) != 2 || len(pd) != 4 {
		return c.errf(n, "want 2-D strides and pads")
	}
	if cpg*group != cin {
		return c.errf(n, "input has %d channels, weights %v with group %d", cin, w.shape, group)
	}
	OH := (H+pd[0]+pd[2]-KH)/st[0] + 1
	OW := (W+pd[1]+pd[3]-KW)/st[1] + 1
	if OH <= 0 || OW <= 0 {
		return c.errf(n, "empty output")
	}
	var res *tensor
	if r, ok := c.res[idx]; ok {
		res = c.vals[r]
		if res == nil || res.konst || !equalShape(res.shape, []int{c.B, cout, OH, OW}) {
			return c.errf(n, "residual %q does not match the output", r)
		}
	}
	y := c.newAct(c.outName[idx], []int{c.B, cout, OH, OW})
	b := make([]float32, cout)
	if bias != nil {
		if len(bias.f) != cout {
			return c.errf(n, "bias has %d values for %d channels", len(bias.f), cout)
		}
		copy(b, bias.f)
	}
	resArg := []arg{{kind: argNull}, {kind: argInt}}
	if res != nil {
		resArg = ptr(res)
	}
	c.p.MACs += int64(c.B) * int64(cout) * int64(OH*OW) * int64(cpg*KH*KW)
	a := c.act[idx]
	switch {
	case group == 1:
		c.denseConv(n, x, y, resArg, b, w.f, cin, H, W, cout, OH, OW, KH, KW, st, pd, a)
	case group == cin && cout == cin && cpg == 1:
		woff := c.weights(f32bytes(w.f))
		boff := c.weights(f32bytes(b))
		total := c.B * cout * OH * OW
		kern, pixels := "dwconv", OH*OW
		if KH == 3 && KW == 3 && st[0] == st[1] && (st[0] == 1 || st[0] == 2) {
			kern, pixels = fmt.Sprintf("dwconv3_s%d", st[0]), OH*((OW+3)/4) // 4 outputs a thread
		}
		c.launch(kern, n, planes(pixels, cout, c.B), 256, ptr(x), []arg{{kind: argW, i: woff}, {kind: argW, i: boff}}, ptr(y), resArg,
			ints(cout, H, W, OH, OW, KH, KW, st[0], st[1], pd[0], pd[1], total, a))
	default:
		return c.errf(n, "grouped convolution with group %d (not 1, not depthwise) is not supported", group)
	}
	c.vals[y.name] = y
	return nil
}

// convKernels: the implicit-GEMM entry points per precision.
var convKernels = map[string]string{"fp32": "conv_f32", "tf32": "conv_tf32", "tf32-fast": "conv_tf32fast", "fp16": "conv_f16"}

// directKMax is DIRECT_KMAX of gpuinfer.cu: conv_direct keeps 16×K weights
// in shared memory.
const directKMax = 512

// denseConv plans a group-1 convolution. The tile shape is chosen per layer
// from M = Cout, N = B·OH·OW and K = Cin·KH·KW:
//   - a non-1×1 convolution with Cout ≤ 32 and K ≤ 512 (the YOLOX stem,
//     12→16 channels, 3×3) runs conv_direct: one thread per output pixel,
//     16 channels at a time, exact fp32 in every precision (a 64-row GEMM
//     tile would be 75 % padding and its im2col gather dominates);
//   - a 1×1 stride-1 convolution is a plain GEMM with BM = 16, 32 or 64
//     rows per tile, the smallest holding Cout (Cout 4 or 16 no longer
//     pads to 64 rows);
//   - any other dense convolution is the im2col implicit GEMM with BM 64.
func (c *compiler) denseConv(n *onnx.Node, x, y *tensor, resArg []arg, b, wf []float32, cin, H, W, cout, OH, OW, KH, KW int, st, pd []int, a int) {
	K := cin * KH * KW
	pw := KH == 1 && KW == 1 && st[0] == 1 && st[1] == 1 && pd[0] == 0 && pd[1] == 0 && pd[2] == 0 && pd[3] == 0
	ncols := c.B * OH * OW
	if !pw && cout <= 32 && K <= directKMax {
		mpad := (cout + 15) / 16 * 16
		f := make([]float32, mpad*K)
		copy(f, wf[:cout*K])
		bb := make([]float32, mpad)
		copy(bb, b)
		woff, boff := c.weights(f32bytes(f)), c.weights(f32bytes(bb))
		kern := "conv_direct"
		if KH == 3 && KW == 3 {
			kern = "conv_direct3"
		}
		c.launch(kern, n, planes((OH*OW+1)/2, mpad/16, c.B), 256, // 2 pixels a thread
			ptr(x), []arg{{kind: argW, i: woff}, {kind: argW, i: boff}}, ptr(y), resArg,
			ints(cin, H, W, cout, OH, OW, KH, KW, st[0], st[1], pd[0], pd[1], ncols, K, K, a))
		return
	}
	bm := 64
	if pw {
		switch {
		case cout <= 16:
			bm = 16
		case cout <= 32:
			bm = 32
		}
	}
	kpad := (K + 15) / 16 * 16
	mpad := (cout + bm - 1) / bm * bm
	var blob []byte
	if c.prec == "fp16" {
		h := make([]uint16, mpad*kpad)
		for m := 0; m < cout; m++ {
			for k := 0; k < K; k++ {
				h[m*kpad+k] = toHalf(wf[m*K+k])
			}
		}
		blob = make([]byte, 2*len(h))
		for i, v := range h {
			blob[2*i], blob[2*i+1] = byte(v), byte(v>>8)
		}
	} else {
		f := make([]float32, mpad*kpad)
		for m := 0; m < cout; m++ {
			copy(f[m*kpad:m*kpad+K], wf[m*K:(m+1)*K])
		}
		blob = f32bytes(f)
	}
	woff := c.weights(blob)
	bb := make([]float32, mpad)
	copy(bb, b)
	boff := c.weights(f32bytes(bb))
	kern := convKernels[c.prec]
	if pw {
		kern += "_pw"
	}
	kern += fmt.Sprintf("_m%d", bm)
	c.launch(kern, n, [3]int{(ncols + 63) / 64 * (mpad / bm), 1, 1}, 128, // tile_origin in gpuinfer.cu
		ptr(x), []arg{{kind: argW, i: woff}, {kind: argW, i: boff}}, ptr(y), resArg,
		ints(cin, H, W, cout, OH, OW, KH, KW, st[0], st[1], pd[0], pd[1], ncols, K, kpad, a))
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (c *compiler) binary(n *onnx.Node) error {
	a, err := c.in(n, 0)
	if err != nil {
		return err
	}
	b, err := c.in(n, 1)
	if err != nil {
		return err
	}
	if a == nil || b == nil || a.konst || b.konst || !equalShape(a.shape, b.shape) {
		return c.errf(n, "only two activations of the same shape are supported (no broadcasting, no constants)")
	}
	op := map[string]int{"Add": 0, "Mul": 1, "Sub": 2}[n.OpType]
	y := c.newAct(n.Outputs[0], a.shape)
	per := a.perImage()
	c.launch("ew", n, grid1(c.B*per, 256), 256, ptr(a), ptr(b), ptr(y), ints(per, c.B*per, op))
	c.vals[y.name] = y
	return nil
}

func (c *compiler) maxpool(n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if err := c.act4(n, x); err != nil {
		return err
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return c.errf(n, "the Indices output is not supported")
	}
	if attrInt(n, "ceil_mode", 0) != 0 || attrStr(n, "auto_pad", "NOTSET") != "NOTSET" {
		return c.errf(n, "ceil_mode and auto_pad are not supported")
	}
	for _, d := range attrInts(n, "dilations", []int{1, 1}) {
		if d != 1 {
			return c.errf(n, "dilations are not supported")
		}
	}
	k := attrInts(n, "kernel_shape", nil)
	st := attrInts(n, "strides", []int{1, 1})
	pd := attrInts(n, "pads", []int{0, 0, 0, 0})
	if len(k) != 2 || len(st) != 2 || len(pd) != 4 {
		return c.errf(n, "want a 2-D kernel_shape, strides and pads")
	}
	C, H, W := x.shape[1], x.shape[2], x.shape[3]
	OH := (H+pd[0]+pd[2]-k[0])/st[0] + 1
	OW := (W+pd[1]+pd[3]-k[1])/st[1] + 1
	y := c.newAct(n.Outputs[0], []int{c.B, C, OH, OW})
	total := c.B * C * OH * OW
	c.launch("maxpool", n, planes(OH*OW, C, c.B), 256, ptr(x), ptr(y), ints(C, H, W, OH, OW, k[0], k[1], st[0], st[1], pd[0], pd[1], total))
	c.vals[y.name] = y
	return nil
}

func (c *compiler) constFloats(n *onnx.Node, i int) ([]float64, error) {
	t, err := c.in(n, i)
	if err != nil || t == nil || (t.f == nil && t.ints == nil) {
		return nil, err
	}
	if !t.konst {
		return nil, c.errf(n, "input %d must be constant", i)
	}
	var out []float64
	for _, v := range t.f {
		out = append(out, float64(v))
	}
	for _, v := range t.ints {
		out = append(out, float64(v))
	}
	return out, nil
}

func (c *compiler) resize(n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if err := c.act4(n, x); err != nil {
		return err
	}
	if m := attrStr(n, "mode", "nearest"); m != "nearest" {
		return c.errf(n, "mode %q: only nearest is supported", m)
	}
	var scales, sizes []float64
	if n.OpType == "Upsample" || (c.opset < 11 && len(n.Inputs) == 2) {
		if scales, err = c.constFloats(n, 1); err != nil {
			return err
		}
		if scales == nil {
			if a := n.Attr("scales"); a != nil {
				for _, f := range a.Floats {
					scales = append(scales, float64(f))
				}
			}
		}
	} else {
		if scales, err = c.constFloats(n, 2); err != nil {
			return err
		}
		if sizes, err = c.constFloats(n, 3); err != nil {
			return err
		}
	}
	if len(sizes) == 0 {
		sizes = nil
	}
	if len(scales) == 0 {
		scales = nil
	}
	if (scales == nil) == (sizes == nil) || len(scales)+len(sizes) != 4 {
		return c.errf(n, "want either 4 scales or 4 sizes")
	}
	ctm := attrStr(n, "coordinate_transformation_mode", "half_pixel")
	nm := attrStr(n, "nearest_mode", "round_prefer_floor")
	if n.OpType == "Upsample" || c.opset < 11 {
		ctm, nm = "asymmetric", "floor"
	}
	out := make([]int, 4)
	scale := make([]float64, 4)
	for i := 0; i < 4; i++ {
		if sizes != nil {
			out[i] = int(sizes[i])
			scale[i] = sizes[i] / float64(x.shape[i])
		} else {
			out[i] = int(math.Floor(float64(x.shape[i]) * scales[i]))
			scale[i] = scales[i]
		}
	}
	if out[0] != x.shape[0] && !(sizes == nil && scales[0] == 1) || out[1] != x.shape[1] {
		return c.errf(n, "only the two last axes may be resized")
	}
	out[0] = c.B
	table := func(ax int) ([]int, error) {
		in, o, s := x.shape[ax], out[ax], scale[ax]
		length := float64(o)
		if sizes == nil {
			length = float64(in) * s
		}
		t := make([]int, o)
		for i := range t {
			var f float64
			switch ctm {
			case "half_pixel":
				f = (float64(i)+0.5)/s - 0.5
			case "pytorch_half_pixel":
				if length > 1 {
					f = (float64(i)+0.5)/s - 0.5
				}
			case "asymmetric":
				f = float64(i) / s
			case "align_corners":
				if length > 1 {
					f = float64(i) * float64(in-1) / (length - 1)
				}
			case "tf_half_pixel_for_nn":
				f = (float64(i) + 0.5) / s
			default:
				return nil, c.errf(n, "coordinate_transformation_mode %q is not supported", ctm)
			}
			var r float64
			switch nm {
			case "round_prefer_floor":
				r = math.Ceil(f - 0.5)
			case "round_prefer_ceil":
				r = math.Floor(f + 0.5)
			case "floor":
				r = math.Floor(f)
			case "ceil":
				r = math.Ceil(f)
			default:
				return nil, c.errf(n, "nearest_mode %q is not supported", nm)
			}
			t[i] = min(max(int(r), 0), in-1)
		}
		return t, nil
	}
	iy, err := table(2)
	if err != nil {
		return err
	}
	ix, err := table(3)
	if err != nil {
		return err
	}
	y := c.newAct(n.Outputs[0], out)
	C, H, W := x.shape[1], x.shape[2], x.shape[3]
	total := c.B * C * out[2] * out[3]
	c.launch("resize_nearest", n, planes(out[2]*out[3], C, c.B), 256, ptr(x), ptr(y), ints(C, H, W, out[2], out[3]),
		[]arg{{kind: argW, i: c.weights(i32bytes(iy))}, {kind: argW, i: c.weights(i32bytes(ix))}}, ints(total))
	c.vals[y.name] = y
	return nil
}

// gather emits y[n, i1, i2, i3] = x[n, xoff + i1*xs1 + i2*xs2 + i3*xs3]
// into y's block at yoff with strides ys1, ys2 (i3 dense).
func (c *compiler) gather(n *onnx.Node, x, y *tensor, xoff int, xs [3]int, yoff int, ys [2]int, d [3]int) {
	total := c.B * d[0] * d[1] * d[2]
	c.launch("gather4", n, grid1(total, 256), 256, ptr(x), ints(xoff, xs[0], xs[1], xs[2]), ptr(y),
		ints(yoff, ys[0], ys[1], d[0], d[1], d[2], total))
}

// mergeGathers replaces each run of consecutive gather4 launches that read
// the same tensor and write the same buffer with the same strides and
// extents (they differ in offsets only: YOLOX's Focus, four Slices written
// in place into one Concat) by one gather4n launch.
func (c *compiler) mergeGathers() {
	// gather4 args: x(ptr, bs) xoff xs1 xs2 xs3 y(ptr, bs) yoff ys1 ys2 D1 D2 D3 total
	same := func(a, b *Launch) bool {
		if a.Kernel != "gather4" || b.Kernel != "gather4" {
			return false
		}
		x0, x1, y0, y1 := a.args[0].t, b.args[0].t, a.args[6].t, b.args[6].t
		if x0.buf != x1.buf || x0.off != x1.off || x0.bs != x1.bs || y0.buf != y1.buf || y0.bs != y1.bs {
			return false
		}
		for _, j := range []int{3, 4, 5, 9, 10, 11, 12, 13, 14} {
			if a.args[j].i != b.args[j].i {
				return false
			}
		}
		return true
	}
	var out []Launch
	ls := c.p.Launches
	for i := 0; i < len(ls); {
		j := i + 1
		for j < len(ls) && same(&ls[i], &ls[j]) {
			j++
		}
		if j-i < 2 {
			out = append(out, ls[i])
			i++
			continue
		}
		first := ls[i].args
		var offs []int
		names := make([]string, 0, j-i)
		for k := i; k < j; k++ {
			a := ls[k].args
			// Fold each part's tensor offsets (in place Concat) into its
			// element offsets: the launch takes the first part's pointers.
			offs = append(offs, int(a[2].i)+a[0].t.off-first[0].t.off, int(a[8].i)+a[6].t.off-first[6].t.off)
			names = append(names, ls[k].Node)
		}
		parts := j - i
		total := int(first[14].i) * parts
		args := append([]arg{first[0], first[1]}, first[3:6]...)
		args = append(args, first[6], first[7])
		args = append(args, first[9:14]...)
		args = append(args, ints(parts)...)
		args = append(args, arg{kind: argW, i: c.weights(i32bytes(offs))})
		args = append(args, ints(total)...)
		c.p.Fused.GatherMerged += parts
		out = append(out, Launch{Kernel: "gather4n", Node: strings.Join(names, "+"), Grid: grid1(total, 256), Block: 256, args: args})
		i = j
	}
	c.p.Launches = out
}

// dims3 maps a shape's non-batch dims (rank ≤ 4) to 3 dims and strides.
func dims3(shape []int) (d [3]int, st [3]int, ok bool) {
	r := len(shape) - 1
	if r < 0 || r > 3 {
		return d, st, false
	}
	d = [3]int{1, 1, 1}
	copy(d[3-r:], shape[1:])
	st[2] = 1
	st[1] = d[2]
	st[0] = d[1] * d[2]
	return d, st, true
}

func (c *compiler) copyDense(x, y *tensor, _ string) {
	d, st, _ := dims3(x.shape)
	c.gather(&onnx.Node{Name: "copy→" + y.name}, x, y, 0, st, 0, [2]int{st[0], st[1]}, d)
}

func (c *compiler) slice(n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if x == nil || x.konst {
		return c.errf(n, "slicing constants is not supported")
	}
	r := len(x.shape)
	var starts, ends, axes, steps []float64
	if c.opset < 10 {
		for _, v := range attrInts(n, "starts", nil) {
			starts = append(starts, float64(v))
		}
		for _, v := range attrInts(n, "ends", nil) {
			ends = append(ends, float64(v))
		}
		for _, v := range attrInts(n, "axes", nil) {
			axes = append(axes, float64(v))
		}
	} else {
		var errs [4]error
		starts, errs[0] = c.constFloats(n, 1)
		ends, errs[1] = c.constFloats(n, 2)
		axes, errs[2] = c.constFloats(n, 3)
		steps, errs[3] = c.constFloats(n, 4)
		for _, e := range errs {
			if e != nil {
				return e
			}
		}
	}
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return c.errf(n, "starts/ends/axes/steps differ in length")
	}
	begin := make([]int, r)
	step := make([]int, r)
	shape := append([]int(nil), x.shape...)
	for i := range step {
		step[i] = 1
	}
	for i := range starts {
		ax := i
		if axes != nil {
			ax = int(axes[i])
		}
		if ax < 0 {
			ax += r
		}
		if ax <= 0 || ax >= r {
			return c.errf(n, "axis %d: only non-batch axes may be sliced", ax)
		}
		s := 1
		if steps != nil {
			s = int(steps[i])
		}
		if s <= 0 {
			return c.errf(n, "step %d: only positive steps are supported", s)
		}
		dim := x.shape[ax]
		clamp := func(v float64) int {
			if v < 0 {
				v += float64(dim)
			}
			return int(math.Max(0, math.Min(v, float64(dim))))
		}
		b, e := clamp(starts[i]), clamp(ends[i])
		begin[ax], step[ax] = b, s
		shape[ax] = max(0, (e-b+s-1)/s)
	}
	d, _, ok := dims3(shape)
	if !ok {
		return c.errf(n, "rank %d above 4", r)
	}
	// A Slice of a Slice output that nothing else reads (YOLOX's Focus
	// slices rows, then columns) reads the first Slice's input directly
	// and drops the first copy.
	if prev, ok := c.sliceOf[x]; ok && len(c.users[x.name]) == 1 && x.name != c.graphOut {
		for k := range begin {
			begin[k] = prev.begin[k] + begin[k]*prev.step[k]
			step[k] *= prev.step[k]
		}
		x = prev.src
		c.p.Launches[prev.launch].Kernel = "" // removed by dropLaunches
		c.p.Fused.SliceChain++
	}
	_, xst, _ := dims3(x.shape)
	xoff := 0
	var xs [3]int
	for k := 1; k < r; k++ {
		j := 3 - (r - 1) + (k - 1)
		xoff += begin[k] * xst[j]
		xs[j] = step[k] * xst[j]
	}
	y := c.newAct(n.Outputs[0], shape)
	_, yst, _ := dims3(shape)
	c.sliceOf[y] = sliceView{src: x, begin: begin, step: step, launch: len(c.p.Launches)}
	c.gather(n, x, y, xoff, xs, 0, [2]int{yst[0], yst[1]}, d)
	c.vals[y.name] = y
	return nil
}

// sliceView records how a Slice output was gathered: per axis of src,
// y[i] = src[begin + i·step], by launch.
type sliceView struct {
	src         *tensor
	begin, step []int
	launch      int
}

// dropLaunches removes the launches emptied by fusions.
func (c *compiler) dropLaunches() {
	out := c.p.Launches[:0]
	for _, l := range c.p.Launches {
		if l.Kernel != "" {
			out = append(out, l)
		}
	}
	c.p.Launches = out
}

func (c *compiler) concat(n *onnx.Node) error {
	var xs []*tensor
	for i := range n.Inputs {
		x, err := c.in(n, i)
		if err != nil {
			return err
		}
		if x == nil || x.konst {
			return c.errf(n, "constant inputs are not supported")
		}
		xs = append(xs, x)
	}
	r := len(xs[0].shape)
	ax := int(attrInt(n, "axis", 1))
	if ax < 0 {
		ax += r
	}
	if ax <= 0 || ax >= r || r > 4 {
		return c.errf(n, "axis %d of rank %d: want a non-batch axis, rank ≤ 4", ax, r)
	}
	shape := append([]int(nil), xs[0].shape...)
	shape[ax] = 0
	for _, x := range xs {
		if len(x.shape) != r {
			return c.errf(n, "inputs differ in rank")
		}
		for k := range shape {
			if k != ax && x.shape[k] != shape[k] {
				return c.errf(n, "input %s shape %v does not match %v off axis %d", x.name, x.shape, shape, ax)
			}
		}
		shape[ax] += x.shape[ax]
	}
	y := c.newAct(n.Outputs[0], shape)
	outer, inner := prod(shape[1:ax]), prod(shape[ax+1:])
	seen := map[*tensor]bool{}
	co := 0
	for _, x := range xs {
		if outer == 1 && !seen[x] && x.contiguousOwner() {
			x.buf.users = 0 // the old buffer is dropped: no launch will touch it
			x.buf = y.buf
			y.buf.users++
			x.off, x.bs = co*inner, y.perImage()
			c.p.Fused.ConcatInPlace++
		} else {
			// y[n, o, co + a, i] = x[n, o, a, i]
			a := x.shape[ax]
			c.gather(n, x, y, 0, [3]int{a * inner, inner, 1}, co*inner, [2]int{shape[ax] * inner, inner}, [3]int{outer, a, inner})
			c.p.Fused.ConcatCopied++
		}
		seen[x] = true
		co += x.shape[ax]
	}
	c.vals[y.name] = y
	return nil
}

func (c *compiler) reshape(n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	s, err := c.in(n, 1)
	if err != nil {
		return err
	}
	if x == nil || s == nil || !s.konst || !s.isInt {
		return c.errf(n, "the target shape must be a constant integer tensor")
	}
	if x.konst {
		return c.errf(n, "reshaping constants is not supported")
	}
	shape := make([]int, len(s.ints))
	neg := -1
	known := 1
	for i, v := range s.ints {
		switch {
		case v == 0 && attrInt(n, "allowzero", 0) == 0:
			if i >= len(x.shape) {
				return c.errf(n, "0 at axis %d beyond the input rank", i)
			}
			shape[i] = x.shape[i]
		case v == -1:
			if neg >= 0 {
				return c.errf(n, "two -1 in the target shape")
			}
			neg = i
			continue
		case v < 0:
			return c.errf(n, "target dimension %d", v)
		default:
			shape[i] = int(v)
		}
		if i == 0 && c.B > 1 && v == 1 {
			shape[0] = c.B // Options.Batch: a fixed batch of 1 in the export
		}
		known *= shape[i]
	}
	total := c.B * x.perImage()
	if neg >= 0 {
		if known == 0 || total%known != 0 {
			return c.errf(n, "cannot infer -1 for %d elements into %v", total, s.ints)
		}
		shape[neg] = total / known
	}
	if prod(shape) != total {
		return c.errf(n, "target %v does not hold %d elements", shape, total)
	}
	if len(shape) == 0 || shape[0] != c.B {
		return c.errf(n, "target %v does not keep the batch (%d) as its leading dimension; set Options.Batch to match the export, or use a model with a batch axis", shape, c.B)
	}
	c.alias(n.Outputs[0], x, shape)
	c.p.Fused.Reshape++
	return nil
}

func (c *compiler) transpose(n *onnx.Node) error {
	x, err := c.in(n, 0)
	if err != nil {
		return err
	}
	if x == nil || x.konst {
		return c.errf(n, "transposing constants is not supported")
	}
	r := len(x.shape)
	perm := attrInts(n, "perm", nil)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	if len(perm) != r || perm[0] != 0 || r > 4 {
		return c.errf(n, "perm %v: the batch axis must stay first, rank ≤ 4", perm)
	}
	shape := make([]int, r)
	for i, p := range perm {
		shape[i] = x.shape[p]
	}
	// input strides by axis
	ist := make([]int, r)
	ist[r-1] = 1
	for k := r - 2; k >= 1; k-- {
		ist[k] = ist[k+1] * x.shape[k+1]
	}
	var xs [3]int
	for i := 1; i < r; i++ {
		xs[3-(r-1)+(i-1)] = ist[perm[i]]
	}
	y := c.newAct(n.Outputs[0], shape)
	d, yst, _ := dims3(shape)
	c.gather(n, x, y, 0, xs, 0, [2]int{yst[0], yst[1]}, d)
	c.vals[y.name] = y
	return nil
}

// allocate places every buffer in the arena: lifetimes come from the
// launches that touch it; a buffer reuses the space of one whose last
// launch ran before its first (first fit, by first use).
func (c *compiler) allocate() {
	for i := range c.p.Launches {
		for _, a := range c.p.Launches[i].args {
			if a.kind == argPtr {
				b := a.t.buf
				b.def, b.last = min(b.def, i), max(b.last, i)
			}
		}
	}
	var live []*buffer
	for _, b := range c.bufs {
		if b.fixed {
			b.def, b.last = -1, math.MaxInt
		}
		if b.last >= 0 || b.fixed {
			live = append(live, b)
		}
	}
	sort.SliceStable(live, func(i, j int) bool { return live[i].def < live[j].def })
	size := func(b *buffer) int64 { return (b.perImage*int64(c.B) + 255) / 256 * 256 }
	var active []*buffer // sorted by offset
	var end int64
	for _, b := range live {
		kept := active[:0]
		for _, a := range active {
			if a.last >= b.def {
				kept = append(kept, a)
			}
		}
		active = kept
		need := size(b)
		off := int64(0)
		pos := 0
		for pos < len(active) {
			if active[pos].off-off >= need {
				break
			}
			off = max(off, active[pos].off+size(active[pos]))
			pos++
		}
		b.off = off
		active = append(active, nil)
		copy(active[pos+1:], active[pos:])
		active[pos] = b
		end = max(end, off+need)
	}
	c.p.ArenaBytes = end
}
