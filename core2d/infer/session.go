package infer

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Options configure a Session. The zero value is ready to use.
type Options struct {
	// Threads is the number of goroutines a Run uses (the caller's plus
	// Threads-1 workers owned by the session); 0 means GOMAXPROCS.
	Threads int
	// InputShapes fixes the dynamic dimensions (dim_param) of graph inputs,
	// by input name. Inputs with only static dims need no entry.
	InputShapes map[string][]int
	// NoFusion keeps every node a separate kernel: no BatchNormalization
	// folded into Conv/ConvTranspose, no activation fused into them, no
	// element-wise chain (SiLU, HardSwish, GELU, LayerNorm) made one kernel
	// (for tests and comparisons).
	NoFusion bool
	// Batch, when > 0, runs a model exported with a fixed batch of 1 at
	// batch Batch: every graph input whose leading dim is 1 or dynamic
	// (and has no InputShapes entry) gets Batch as its leading dim, and a
	// constant Reshape target that starts with 1 starts with Batch instead
	// when the reshaped tensor's leading dim is Batch (YOLOX's [1,85,-1]
	// becomes [B,85,-1]; ../shared/peers/yolox/yolox_torch.py lifts the
	// GPU peer the same way). A model whose leading 1 is not the batch
	// would be changed wrongly, so Batch is opt-in; outputs then carry the
	// batch as their leading dim.
	Batch int
}

// IOInfo names a graph input or output and gives its static shape.
type IOInfo struct {
	Name  string
	Shape []int
}

// Size is the number of float32 elements of the tensor.
func (i IOInfo) Size() int { return numel(i.Shape) }

// Session is a compiled graph ready to run. A Session is not safe for
// concurrent Runs; create one per goroutine (they may share nothing but the
// model). Close stops its workers.
type Session struct {
	inputs  []*value
	outputs []*value
	steps   []step
	bufs    [][]float32
	eng     *engine
	stats   compileStats
	closed  bool
	prof    []time.Duration // per step, when profiling
}

// step is one kernel call of the plan.
type step struct {
	label string
	op    string
	k     kernel
	ins   []*value
	outs  []*value
}

// kernel runs one (possibly fused) node on the buffers bound to its values.
type kernel interface {
	run(e *engine)
}

// Open loads the ONNX model at path and compiles it.
func Open(path string, opt Options) (*Session, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	return NewSession(m, opt)
}

// NewSession compiles m for float32 inference on the CPU.
func NewSession(m *onnx.Model, opt Options) (*Session, error) {
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	c, err := compile(m, opt)
	if err != nil {
		return nil, err
	}
	c.stats.macs = c.macs
	s := &Session{inputs: c.inputs, outputs: c.outputs, steps: c.steps, stats: c.stats}
	s.bufs = c.plan()
	s.eng = newEngine(threads, c.scratch)
	return s, nil
}

// Inputs describes the graph inputs, in the order Run takes them.
func (s *Session) Inputs() []IOInfo { return ioInfos(s.inputs) }

// Outputs describes the graph outputs, in the order Run fills them.
func (s *Session) Outputs() []IOInfo { return ioInfos(s.outputs) }

func ioInfos(vs []*value) []IOInfo {
	out := make([]IOInfo, len(vs))
	for i, v := range vs {
		out[i] = IOInfo{Name: v.name, Shape: append([]int(nil), v.shape...)}
	}
	return out
}

// ErrClosed is returned by Run after Close.
var ErrClosed = errors.New("infer: session is closed")

// Run executes the graph. inputs[i] holds graph input i (Inputs order,
// row-major, exactly Size elements); outputs[i] receives graph output i.
// Run reads the inputs and writes the outputs in place and allocates nothing.
func (s *Session) Run(inputs, outputs [][]float32) error {
	if s.closed {
		return ErrClosed
	}
	if len(inputs) != len(s.inputs) || len(outputs) != len(s.outputs) {
		return fmt.Errorf("infer: Run got %d inputs and %d outputs, the graph has %d and %d",
			len(inputs), len(outputs), len(s.inputs), len(s.outputs))
	}
	for i, v := range s.inputs {
		if len(inputs[i]) != v.numel() {
			return fmt.Errorf("infer: input %q: got %d values, shape %v needs %d", v.name, len(inputs[i]), v.shape, v.numel())
		}
		v.data = inputs[i]
	}
	for i, v := range s.outputs {
		if len(outputs[i]) != v.numel() {
			return fmt.Errorf("infer: output %q: got room for %d values, shape %v needs %d", v.name, len(outputs[i]), v.shape, v.numel())
		}
		if v.producer >= 0 {
			v.data = outputs[i]
		}
	}
	if s.prof != nil {
		for i := range s.steps {
			t0 := time.Now()
			s.steps[i].k.run(s.eng)
			s.prof[i] += time.Since(t0)
		}
	} else {
		for i := range s.steps {
			s.steps[i].k.run(s.eng)
		}
	}
	for i, v := range s.outputs {
		if v.producer < 0 { // a constant or an input passed through
			copy(outputs[i], v.data)
		}
	}
	for _, v := range s.inputs {
		if !v.output {
			v.data = nil
		}
	}
	for _, v := range s.outputs {
		if v.producer >= 0 {
			v.data = nil
		}
	}
	return nil
}

// Close stops the session's workers. Run fails afterwards.
func (s *Session) Close() error {
	if !s.closed {
		s.closed = true
		s.eng.close()
	}
	return nil
}

// Steps is the number of kernels a Run executes (after folding and fusion).
func (s *Session) Steps() int { return len(s.steps) }

// ArenaBytes is the memory of the static plan's intermediate buffers.
func (s *Session) ArenaBytes() int {
	n := 0
	for _, b := range s.bufs {
		n += 4 * len(b)
	}
	return n
}

// StepTime is the time a Run spent in one kind of kernel (or, from
// LayerProfile, in one kernel).
type StepTime struct {
	Kernel string        // op type plus fused activation, e.g. "Conv 3x3/1 depthwise+SiLU"
	Layer  string        // LayerProfile: the node's label
	Calls  int           // kernels of this kind in one Run
	Total  time.Duration // summed over the profiled Runs
	// MACs is the multiply-adds of one Run of these kernels (convolutions,
	// ConvTranspose, Gemm/MatMul; 0 for the others).
	MACs int64
}

// EnableProfile makes every later Run time each kernel; Profile reports
// the sums. It costs two clock reads per kernel.
func (s *Session) EnableProfile() {
	if s.prof == nil {
		s.prof = make([]time.Duration, len(s.steps))
	}
}

// stepKind names a step's kernel for profiles: the op type, or the conv
// variant.
func (s *Session) stepKind(i int) string {
	switch k := s.steps[i].k.(type) {
	case *convKernel:
		return k.kind()
	case *convTKernel:
		if k.act != kernels.ActNone {
			return "ConvTranspose+" + k.act.String()
		}
	}
	return s.steps[i].op
}

// stepMACs is the multiply-adds of step i (0 when it is not a GEMM-like
// kernel).
func (s *Session) stepMACs(i int) int64 {
	switch k := s.steps[i].k.(type) {
	case *convKernel:
		return int64(k.N) * int64(k.M) * int64(k.OH*k.OW) * int64(k.C/k.G*k.KH*k.KW)
	case *convTKernel:
		return int64(k.N) * int64(k.C) * int64(k.H*k.W) * int64(k.M/k.G*k.KH*k.KW)
	case *matmulKernel:
		return int64(len(k.aOff)) * int64(k.M) * int64(k.N) * int64(k.K)
	}
	return 0
}

// Profile sums the kernel times of the Runs since EnableProfile by kernel
// kind, largest first.
func (s *Session) Profile() []StepTime {
	m := map[string]*StepTime{}
	for i, d := range s.prof {
		name := s.stepKind(i)
		st := m[name]
		if st == nil {
			st = &StepTime{Kernel: name}
			m[name] = st
		}
		st.Calls++
		st.Total += d
		st.MACs += s.stepMACs(i)
	}
	var out []StepTime
	for _, st := range m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out
}

// LayerProfile is Profile per kernel (graph order), for per-layer tables.
func (s *Session) LayerProfile() []StepTime {
	out := make([]StepTime, len(s.prof))
	for i, d := range s.prof {
		out[i] = StepTime{Kernel: s.stepKind(i), Layer: s.steps[i].label, Calls: 1, Total: d, MACs: s.stepMACs(i)}
	}
	return out
}

// FormatProfile renders Profile (or LayerProfile) as a table with times
// per Run, the share of the total and, for GEMM-like kernels, GFLOP/s
// (2 FLOPs per multiply-add).
func FormatProfile(p []StepTime, runs int) string {
	var total time.Duration
	for _, st := range p {
		total += st.Total
	}
	return FormatProfileOf(p, runs, total)
}

// FormatProfileOf is FormatProfile with shares of total (e.g. the whole
// Run when p lists only the slowest layers).
func FormatProfileOf(p []StepTime, runs int, total time.Duration) string {
	var b strings.Builder
	runs = max(runs, 1)
	for _, st := range p {
		name := st.Kernel
		if st.Layer != "" {
			name = st.Layer + " [" + st.Kernel + "]"
		}
		per := st.Total.Seconds() / float64(runs)
		fmt.Fprintf(&b, "%-40s %4d calls %9.3f ms %5.1f%%", name, st.Calls, per*1e3, 100*st.Total.Seconds()/total.Seconds())
		if st.MACs > 0 && per > 0 {
			fmt.Fprintf(&b, " %6.1f GFLOP/s", 2*float64(st.MACs)/per/1e9)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
