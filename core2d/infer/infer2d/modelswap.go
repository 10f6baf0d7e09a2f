package infer2d

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
)

// ResolveModel checks a model path that arrives while the pipeline runs (a
// cloud-to-device swap_model command) against the component's models
// folder dir. A relative path is taken under dir. After filepath.Clean and
// filepath.EvalSymlinks of both, the file must lie inside dir, so neither
// ".." nor a symbolic link leads out of it, and be a regular file. When sum
// is not empty it is the file's SHA-256 in hex and must match. An empty dir
// refuses every path: swapping is off unless a folder is configured.
//
// The file is hashed here and opened later by the caller: whoever may
// write into dir can swap the file in between, so dir must be writable
// only by those trusted to install models.
func ResolveModel(dir, path, sum string) (string, error) {
	if dir == "" {
		return "", errors.New("model swap is off: the component has no models_dir")
	}
	if path == "" {
		return "", errors.New("empty model path")
	}
	root, err := filepath.EvalSymlinks(filepath.Clean(dir))
	if err != nil {
		return "", fmt.Errorf("models_dir: %w", err)
	}
	if root, err = filepath.Abs(root); err != nil {
		return "", fmt.Errorf("models_dir: %w", err)
	}
	p := path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return "", fmt.Errorf("model %q: %w", path, err)
	}
	if real, err = filepath.Abs(real); err != nil {
		return "", fmt.Errorf("model %q: %w", path, err)
	}
	rel, err := filepath.Rel(root, real)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("model %q: %s is not inside models_dir %s", path, real, root)
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("model %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("model %q: %s is not a regular file", path, real)
	}
	if sum != "" {
		want, err := hex.DecodeString(sum)
		if err != nil || len(want) != sha256.Size {
			return "", fmt.Errorf("model %q: sha256 %q is not 64 hex digits", path, sum)
		}
		f, err := os.Open(real)
		if err != nil {
			return "", fmt.Errorf("model %q: %w", path, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("model %q: %w", path, err)
		}
		if got := h.Sum(nil); !slices.Equal(got, want) {
			return "", fmt.Errorf("model %q: sha256 is %x, the command says %s", path, got, strings.ToLower(sum))
		}
	}
	return real, nil
}

// SameIO reports, as an error naming the first difference, whether next
// has other inputs or outputs (names, order, shapes) than the running
// model's, in and out. A swapped
// model must match exactly: the component keeps the buffers, pools,
// parsers and keys it bound to the first model, and the components around
// it keep their shapes.
func SameIO(in, out []infer.IOInfo, next infer.Runner) error {
	cmp := func(what string, a, b []infer.IOInfo) error {
		if len(a) != len(b) {
			return fmt.Errorf("the new model has %d %ss %s, the running one %d %s", len(b), what, ioList(b), len(a), ioList(a))
		}
		for i := range a {
			if a[i].Name != b[i].Name || !slices.Equal(a[i].Shape, b[i].Shape) {
				return fmt.Errorf("%s %d of the new model is %s %v, the running model's is %s %v", what, i, b[i].Name, b[i].Shape, a[i].Name, a[i].Shape)
			}
		}
		return nil
	}
	if err := cmp("input", in, next.Inputs()); err != nil {
		return err
	}
	return cmp("output", out, next.Outputs())
}

func ioList(l []infer.IOInfo) string {
	s := make([]string, len(l))
	for i, x := range l {
		s[i] = fmt.Sprintf("%s %v", x.Name, x.Shape)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// ModelSlot hands a model loaded on another goroutine to the goroutine
// that runs the current one. Offer parks it; the component's goroutine
// takes it with Take before a datamap, so the swap falls between two
// frames and no frame is lost or run half on each model. Its zero value
// is ready.
type ModelSlot struct {
	has    atomic.Bool // fast path for Take: nothing parked
	mu     sync.Mutex
	next   infer.Runner
	path   string
	closed bool
}

// Offer parks r (loaded from path) for the next Take; a model parked
// before and not yet taken is closed, the newer one wins. After Close it
// closes r and fails.
func (s *ModelSlot) Offer(r infer.Runner, path string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		r.Close()
		return errors.New("the component has stopped")
	}
	old := s.next
	s.next, s.path = r, path
	s.has.Store(true)
	s.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

// Take returns the parked model and its path, or nil.
func (s *ModelSlot) Take() (infer.Runner, string) {
	if !s.has.Load() {
		return nil, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, p := s.next, s.path
	s.next, s.path = nil, ""
	s.has.Store(false)
	return r, p
}

// Close closes a parked model and refuses later offers.
func (s *ModelSlot) Close() {
	s.mu.Lock()
	r := s.next
	s.next, s.closed = nil, true
	s.has.Store(false)
	s.mu.Unlock()
	if r != nil {
		r.Close()
	}
}

// SwapModel loads the ONNX model at path (under models_dir, checked by
// ResolveModel, sha256 optional) on the caller's goroutine with the
// running model's backend, precision and threads, checks that its inputs
// and outputs equal the running model's, and parks it: the component's
// goroutine switches to it before its next datamap and closes the old one.
// On any error the running model stays. It returns once the model is
// parked, not when it first runs.
func (d *Detector) SwapModel(ctx context.Context, path, sum string) error {
	real, err := ResolveModel(string(d.c.ModelsDir), path, sum)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r, err := infer.OpenRunner(real, d.c.Backend, d.c.Precision, d.c.Threads)
	if err != nil {
		return fmt.Errorf("model %s: %w", real, err)
	}
	if err := SameIO(d.ioIn, d.ioOut, r); err != nil {
		r.Close()
		return fmt.Errorf("model %s refused: %w", real, err)
	}
	return d.swap.Offer(r, real)
}

// takeSwap switches to a parked model; it runs on the component's
// goroutine, between two datamaps.
func (d *Detector) takeSwap() {
	r, path := d.swap.Take()
	if r == nil {
		return
	}
	old, oldPath := d.s, d.running
	d.s, d.running = r, path
	d.log.Info("model swapped between two datamaps", "old", oldPath, "new", path)
	if err := old.Close(); err != nil {
		d.log.Warn("closing the old model", "model", oldPath, "err", err)
	}
}
