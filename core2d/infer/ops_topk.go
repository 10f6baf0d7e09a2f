package infer

// TopK: the K largest (or smallest) elements along an axis, sorted, with
// their indices (int64 in ONNX, carried as exact float32 values). Equal
// values keep the lower index first, as the ONNX reference does.

func init() {
	register("TopK", buildTopK)
	requireInputs(1, "TopK")
}

type topKKernel struct {
	x, vals, idx      *value
	outer, dim, inner int
	k                 int
	largest           bool
	heap              []int32   // the k best indices of the current line, worst on top
	line              []float32 // the current line, contiguous
}

func buildTopK(b *bctx) (kernel, error) {
	x := b.in[0]
	if x.isInt {
		return nil, b.errf("integer input %q is not supported", x.name)
	}
	r := len(x.shape)
	axis := normAxis(attrInt(b, "axis", -1), r)
	if axis < 0 || axis >= r {
		return nil, b.errf("axis %d out of range for %v", attrInt(b, "axis", -1), x.shape)
	}
	var kk int64
	if a := b.n.Attr("k"); a != nil && len(b.in) < 2 { // opset 1
		kk = a.I
	} else {
		v, ok, err := constInts(b, 1, "K")
		if err != nil {
			return nil, err
		}
		if !ok || len(v) != 1 {
			return nil, b.errf("needs K, a one-element constant")
		}
		kk = v[0]
	}
	dim := x.shape[axis]
	if kk < 0 || kk > int64(dim) {
		return nil, b.errf("K=%d out of range for axis of %d", kk, dim)
	}
	if dim >= 1<<24 {
		return nil, b.errf("axis of %d elements: indices not exact in float32", dim)
	}
	k := &topKKernel{x: x, outer: numel(x.shape[:axis]), dim: dim, inner: numel(x.shape[axis+1:]), k: int(kk),
		largest: attrInt(b, "largest", 1) != 0}
	k.heap = make([]int32, 0, kk)
	k.line = make([]float32, dim)
	shape := append([]int(nil), x.shape...)
	shape[axis] = int(kk)
	k.vals = b.out[0]
	k.vals.shape = shape
	if len(b.out) > 1 {
		k.idx = b.out[1]
		k.idx.shape = append([]int(nil), shape...)
	}
	return k, nil
}

// better reports whether element i of the line ranks before element j.
func (k *topKKernel) better(i, j int32) bool {
	a, b := k.line[i], k.line[j]
	if a != b {
		if a != a { // NaN ranks first when largest, last when smallest
			return k.largest
		}
		if b != b {
			return !k.largest
		}
		return (a > b) == k.largest
	}
	return i < j
}

// down restores the heap (worst on top) below node i of h.
func (k *topKKernel) down(h []int32, i int) {
	for {
		w, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && k.better(h[w], h[l]) {
			w = l
		}
		if r < len(h) && k.better(h[w], h[r]) {
			w = r
		}
		if w == i {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}

func (k *topKKernel) run(*engine) {
	if k.k == 0 {
		return
	}
	x := k.x.data
	for o := 0; o < k.outer; o++ {
		for in := 0; in < k.inner; in++ {
			base := o*k.dim*k.inner + in
			for d := range k.line {
				k.line[d] = x[base+d*k.inner]
			}
			h := k.heap[:0]
			for d := int32(0); int(d) < k.dim; d++ {
				if len(h) < k.k {
					h = append(h, d)
					for c := len(h) - 1; c > 0; { // sift up: worse elements rise
						p := (c - 1) / 2
						if !k.better(h[p], h[c]) {
							break
						}
						h[p], h[c] = h[c], h[p]
						c = p
					}
					continue
				}
				if k.better(d, h[0]) {
					h[0] = d
					k.down(h, 0)
				}
			}
			// pop the worst to the back: h ends sorted best first
			for n := len(h) - 1; n > 0; n-- {
				h[0], h[n] = h[n], h[0]
				k.down(h[:n], 0)
			}
			ob := o*k.k*k.inner + in
			for j, d := range h {
				k.vals.data[ob+j*k.inner] = k.line[d]
				if k.idx != nil {
					k.idx.data[ob+j*k.inner] = float32(d)
				}
			}
		}
	}
}
