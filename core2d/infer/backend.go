package infer

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

// Runner is what infer_2d needs from an engine: *Session is one, and so is
// the GPU session of core2d/infer/gpuinfer (build tag cuda), which registers
// itself as backend "cuda". A registry rather than an import keeps the CPU
// build free of cgo and CUDA, and avoids gpuinfer ↔ infer import cycles.
type Runner interface {
	Inputs() []IOInfo
	Outputs() []IOInfo
	Run(inputs, outputs [][]float32) error
	Close() error
}

// BackendOptions are what a backend is opened with.
type BackendOptions struct {
	Precision string // "" means the backend's default (fp32)
	Batch     int    // 0 or 1: the model's own batch
	Device    int    // GPU ordinal
}

// OpenBackend opens model m on a backend.
type OpenBackend func(m *onnx.Model, opt BackendOptions) (Runner, error)

var backends struct {
	sync.Mutex
	m map[string]OpenBackend
}

// RegisterBackend makes a backend available to infer_2d's `backend` key.
// "cpu" is this package's engine and cannot be replaced.
func RegisterBackend(name string, open OpenBackend) {
	backends.Lock()
	defer backends.Unlock()
	if name == "cpu" || name == "" {
		panic("infer: backend name " + fmt.Sprintf("%q", name) + " is reserved")
	}
	if backends.m == nil {
		backends.m = map[string]OpenBackend{}
	}
	backends.m[name] = open
}

func lookupBackend(name string) OpenBackend {
	backends.Lock()
	defer backends.Unlock()
	return backends.m[name]
}

// Backends lists the backends this binary has: "cpu" and the registered ones.
func Backends() []string {
	backends.Lock()
	defer backends.Unlock()
	out := []string{"cpu"}
	for k := range backends.m {
		out = append(out, k)
	}
	sort.Strings(out[1:])
	return out
}

// OpenRunner opens the model at path on a backend ("" or "cpu": this
// engine with threads workers; else a registered one, with precision).
func OpenRunner(path, backend, precision string, threads int) (Runner, error) {
	if backend == "" || backend == "cpu" {
		if precision != "" && precision != "fp32" {
			return nil, fmt.Errorf("precision %q: the cpu backend computes in fp32", precision)
		}
		return Open(path, Options{Threads: threads})
	}
	open := lookupBackend(backend)
	if open == nil {
		hint := ""
		if backend == "cuda" {
			hint = " (build with -tags cuda, e.g. make build-cuda)"
		}
		return nil, fmt.Errorf("backend %q is not in this binary%s; have %s", backend, hint, strings.Join(Backends(), ", "))
	}
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	return open(m, BackendOptions{Precision: precision})
}
