//go:build cuda

package gpuinfer

// #include <cuda.h>
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"unsafe"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Session is a Plan bound to a GPU: weights uploaded, one activation arena,
// pinned host staging for the input and output, and (unless
// Options.NoGraph) the whole network captured as one CUDA graph. Every
// method locks the calling goroutine to its OS thread for the duration of
// its CUDA calls and makes the device's primary context current there, so
// a Session needs no goroutine of its own. It is not safe for concurrent
// use.
type Session struct {
	plan    *Plan
	opt     Options
	d       *device
	arena   C.CUdeviceptr
	weights C.CUdeviceptr
	ls      []cLaunch
	g       *graph
	hin     unsafe.Pointer // pinned input
	hout    unsafe.Pointer // pinned output
	nin     int            // floats
	nout    int
	closed  bool
}

// ErrClosed is returned by a closed Session.
var ErrClosed = errors.New("gpuinfer: session is closed")

// OpenFile loads the ONNX model at path and opens a Session for it.
func OpenFile(path string, opt Options) (*Session, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	return Open(m, opt)
}

// Open compiles m for opt (precision, batch) and binds the plan to device
// opt.Device: the runner the infer_2d component uses for backend "cuda".
// Inputs, Outputs, Run and Close mirror core2d/infer's Session.
func Open(m *onnx.Model, opt Options) (*Session, error) {
	p, err := Compile(m, opt)
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d, err := openDevice(opt.Device, gpuinferPTX)
	if err != nil {
		return nil, err
	}
	s := &Session{plan: p, opt: opt, d: d, nin: prod(p.InputShape), nout: prod(p.OutShape)}
	if err := s.bind(); err != nil {
		s.release()
		return nil, err
	}
	return s, nil
}

func (s *Session) bind() error {
	p := s.plan
	var err error
	if s.arena, err = memAlloc(p.ArenaBytes); err != nil {
		return err
	}
	if s.weights, err = memAlloc(int64(len(p.Weights))); err != nil {
		return err
	}
	if err := upload(s.weights, p.Weights); err != nil {
		return err
	}
	fns := map[string]C.CUfunction{}
	for i, l := range p.Launches {
		f, ok := fns[l.Kernel]
		if !ok {
			if f, err = s.d.function(l.Kernel); err != nil {
				return err
			}
			fns[l.Kernel] = f
		}
		s.ls = append(s.ls, newCLaunch(f, l.Grid, l.Block, p.Args(i, uint64(s.arena), uint64(s.weights))))
	}
	if s.hin, err = hostAlloc(4 * s.nin); err != nil {
		return err
	}
	if s.hout, err = hostAlloc(4 * s.nout); err != nil {
		return err
	}
	if !s.opt.NoGraph {
		if s.g, err = s.d.capture(s.ls); err != nil {
			return err
		}
	}
	return nil
}

// Plan is the compiled plan (launches, arena, fusions).
func (s *Session) Plan() *Plan { return s.plan }

// Device names the card: "NVIDIA H100 80GB HBM3 (sm_90)".
func (s *Session) Device() string { return fmt.Sprintf("%s (sm_%d%d)", s.d.name, s.d.cc[0], s.d.cc[1]) }

// InputSize and OutputSize are the float32 counts Run takes and fills
// (batch included).
func (s *Session) InputSize() int  { return s.nin }
func (s *Session) OutputSize() int { return s.nout }

// Inputs describes the graph input (one), batch included, in the order
// Run takes it.
func (s *Session) Inputs() []IOInfo {
	return []IOInfo{{Name: s.plan.InputName, Shape: append([]int(nil), s.plan.InputShape...)}}
}

// Outputs describes the graph output (one), batch included.
func (s *Session) Outputs() []IOInfo {
	return []IOInfo{{Name: s.plan.OutputName, Shape: append([]int(nil), s.plan.OutShape...)}}
}

// Run is RunFlat with core2d/infer's signature: inputs[0] and outputs[0]
// are the graph's one input and output (Inputs/Outputs give their shapes).
func (s *Session) Run(inputs, outputs [][]float32) error {
	if len(inputs) != 1 || len(outputs) != 1 {
		return fmt.Errorf("gpuinfer: Run got %d inputs and %d outputs; the graph has 1 and 1", len(inputs), len(outputs))
	}
	return s.RunFlat(inputs[0], outputs[0])
}

// enqueue puts the network on the stream: the graph, or every launch.
func (s *Session) enqueue() error {
	if s.g != nil {
		return check("cuGraphLaunch", C.cuGraphLaunch(s.g.exec, s.d.stream))
	}
	for i := range s.ls {
		if r := s.ls[i].run(s.d.stream); r != C.CUDA_SUCCESS {
			return check(fmt.Sprintf("launch %s (%s)", s.plan.Launches[i].Kernel, s.plan.Launches[i].Node), r)
		}
	}
	return nil
}

// RunFlat copies input (InputSize floats, NCHW, batch-major) to the device
// through pinned memory, runs the network and copies the output back. It
// waits for the GPU once, at the end, and allocates nothing.
func (s *Session) RunFlat(input, output []float32) error {
	if s.closed {
		return ErrClosed
	}
	if len(input) != s.nin || len(output) != s.nout {
		return fmt.Errorf("gpuinfer: Run got %d input and %d output floats; the plan (%s %v → %s %v) needs %d and %d",
			len(input), len(output), s.plan.InputName, s.plan.InputShape, s.plan.OutputName, s.plan.OutShape, s.nin, s.nout)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := s.d.current(); err != nil {
		return err
	}
	copy(unsafe.Slice((*float32)(s.hin), s.nin), input)
	st := s.d.stream
	if err := check("cuMemcpyHtoDAsync", C.cuMemcpyHtoDAsync(s.arena+C.CUdeviceptr(s.plan.InputOffset()), s.hin, C.size_t(4*s.nin), st)); err != nil {
		return err
	}
	if err := s.enqueue(); err != nil {
		return err
	}
	if err := check("cuMemcpyDtoHAsync", C.cuMemcpyDtoHAsync(s.hout, s.arena+C.CUdeviceptr(s.plan.OutputOffset()), C.size_t(4*s.nout), st)); err != nil {
		return err
	}
	if err := check("cuStreamSynchronize", C.cuStreamSynchronize(st)); err != nil {
		return err
	}
	copy(output, unsafe.Slice((*float32)(s.hout), s.nout))
	return nil
}

// TimeForward runs the network once on the input already on the device
// (the last Run's) and returns the GPU time between two events around it,
// in milliseconds: the measure PyTorch's benchmark (yolox_torch.py) uses.
func (s *Session) TimeForward() (float64, error) {
	if s.closed {
		return 0, ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := s.d.current(); err != nil {
		return 0, err
	}
	C.cuEventRecord(s.d.ev0, s.d.stream)
	if err := s.enqueue(); err != nil {
		return 0, err
	}
	C.cuEventRecord(s.d.ev1, s.d.stream)
	if err := check("cuEventSynchronize", C.cuEventSynchronize(s.d.ev1)); err != nil {
		return 0, err
	}
	var ms C.float
	if err := check("cuEventElapsedTime", C.cuEventElapsedTime(&ms, s.d.ev0, s.d.ev1)); err != nil {
		return 0, err
	}
	return float64(ms), nil
}

// Close frees the device and pinned memory and releases the context.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	s.d.current()
	s.release()
	return nil
}

func (s *Session) release() {
	if s.d.stream != nil {
		C.cuStreamSynchronize(s.d.stream)
	}
	s.g.destroy()
	s.g = nil
	for i := range s.ls {
		s.ls[i].free()
	}
	s.ls = nil
	memFree(s.arena)
	memFree(s.weights)
	hostFree(s.hin)
	hostFree(s.hout)
	s.hin, s.hout, s.arena, s.weights = nil, nil, 0, 0
	s.d.close()
}

// KernelTime is the GPU time per forward spent in one kernel.
type KernelTime struct {
	Kernel string
	Calls  int     // launches per forward
	Ms     float64 // per forward
}

// LaunchTime is the GPU time per forward of one launch of the plan.
type LaunchTime struct {
	Launch
	Ms float64
}

// Profile launches the network eagerly iters times with an event after
// every launch and returns the time per kernel, largest first, and per
// launch, in plan order. Launch gaps count towards the following kernel,
// so the sum is close to the eager forward time, not the graph's.
func (s *Session) Profile(iters int) ([]KernelTime, []LaunchTime, error) {
	if s.closed {
		return nil, nil, ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := s.d.current(); err != nil {
		return nil, nil, err
	}
	evs := make([]C.CUevent, len(s.ls)+1)
	for i := range evs {
		if err := check("cuEventCreate", C.cuEventCreate(&evs[i], C.CU_EVENT_DEFAULT)); err != nil {
			return nil, nil, err
		}
		defer C.cuEventDestroy(evs[i])
	}
	sum := make([]float64, len(s.ls))
	for it := 0; it < iters; it++ {
		C.cuEventRecord(evs[0], s.d.stream)
		for i := range s.ls {
			if err := check("launch", s.ls[i].run(s.d.stream)); err != nil {
				return nil, nil, err
			}
			C.cuEventRecord(evs[i+1], s.d.stream)
		}
		if err := check("cuEventSynchronize", C.cuEventSynchronize(evs[len(s.ls)])); err != nil {
			return nil, nil, err
		}
		for i := range s.ls {
			var ms C.float
			C.cuEventElapsedTime(&ms, evs[i], evs[i+1])
			sum[i] += float64(ms)
		}
	}
	by := map[string]*KernelTime{}
	var out []KernelTime
	per := make([]LaunchTime, len(s.ls))
	for i, l := range s.plan.Launches {
		per[i] = LaunchTime{Launch: l, Ms: sum[i] / float64(iters)}
		k := by[l.Kernel]
		if k == nil {
			k = &KernelTime{Kernel: l.Kernel}
			by[l.Kernel] = k
		}
		k.Calls++
		k.Ms += sum[i] / float64(iters)
	}
	for _, k := range by {
		out = append(out, *k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ms > out[j].Ms })
	return out, per, nil
}
