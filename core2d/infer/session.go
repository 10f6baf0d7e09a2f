package infer

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"time"

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
	// NoFusion keeps Conv, Sigmoid and Mul as separate kernels (for tests
	// and comparisons).
	NoFusion bool
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

// StepTime is the time a Run spent in one kind of kernel.
type StepTime struct {
	Kernel string // op type plus fused activation, e.g. "Conv+SiLU (depthwise)"
	Calls  int
	Total  time.Duration
}

// EnableProfile makes every later Run time each kernel; Profile reports
// the sums. It costs two clock reads per kernel.
func (s *Session) EnableProfile() {
	if s.prof == nil {
		s.prof = make([]time.Duration, len(s.steps))
	}
}

// Profile sums the kernel times of the Runs since EnableProfile by kernel
// kind, largest first.
func (s *Session) Profile() []StepTime {
	m := map[string]*StepTime{}
	for i, d := range s.prof {
		name := s.steps[i].op
		if k, ok := s.steps[i].k.(*convKernel); ok {
			name = k.kind()
		}
		st := m[name]
		if st == nil {
			st = &StepTime{Kernel: name}
			m[name] = st
		}
		st.Calls++
		st.Total += d
	}
	var out []StepTime
	for _, st := range m {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out
}

// FormatProfile renders Profile as a table, with times per Run.
func FormatProfile(p []StepTime, runs int) string {
	var b strings.Builder
	var total time.Duration
	for _, st := range p {
		total += st.Total
	}
	for _, st := range p {
		fmt.Fprintf(&b, "%-34s %4d calls %8.3f ms %5.1f%%\n", st.Kernel, st.Calls/max(runs, 1),
			st.Total.Seconds()*1e3/float64(max(runs, 1)), 100*st.Total.Seconds()/total.Seconds())
	}
	return b.String()
}
