package infer

import "github.com/ds3d-go/ds3d-go/core2d/infer/onnx"

func init() { register("ScatterND", buildScatterND) }

// scatterNDKernel is ONNX ScatterND: the output is a copy of data in which
// the slice data[indices[i]] (indices' last dim k addresses the first k
// dims of data) is replaced by — or, with reduction "add"/"mul"/"max"/
// "min", combined with — updates[i], in index order (so with duplicate
// indices and reduction "none" the last update wins, as in the ONNX
// reference implementation).
//
// Indices are either an integer constant or a run-time tensor: an integer
// graph input (carried as float32, exact below 2²⁴) or a tensor computed
// from one — this is how PointPillars' pillar scatter takes its
// coordinates. A run-time index row out of range is skipped (the kernel
// cannot fail mid-run; onnxruntime would reject the whole run), negative
// indices count from the end as the spec allows.
type scatterNDKernel struct {
	data, idx, upd, y *value
	k                 int   // index depth (indices' last dim)
	rows              int   // number of index tuples
	inner             int   // elements per slice: numel(data.shape[k:])
	dims              []int // data.shape[:k]
	strides           []int // element strides of those dims
	reduction         string
	zeroData          bool    // data is a constant of zeros: clear instead of copy
	constIdx          []int64 // constant indices, else nil
}

func buildScatterND(b *bctx) (kernel, error) {
	if len(b.in) != 3 || b.in[0] == nil || b.in[1] == nil || b.in[2] == nil {
		return nil, b.errf("needs data, indices and updates")
	}
	data, idx, upd := b.in[0], b.in[1], b.in[2]
	if data.isInt || upd.isInt {
		return nil, b.errf("integer data or updates are not supported")
	}
	if len(idx.shape) < 1 {
		return nil, b.errf("indices must have rank ≥ 1, is %v", idx.shape)
	}
	q, r := len(idx.shape), len(data.shape)
	k := idx.shape[q-1]
	if k < 1 || k > r {
		return nil, b.errf("indices' last dim %d must be in [1, rank of data %d]", k, r)
	}
	want := append(append([]int(nil), idx.shape[:q-1]...), data.shape[k:]...)
	if !scatterSameDims(want, upd.shape) {
		return nil, b.errf("updates have shape %v, indices %v and data %v need %v", upd.shape, idx.shape, data.shape, want)
	}
	red := attrString(b, "reduction", "none")
	switch red {
	case "none", "add", "mul", "max", "min":
	default:
		return nil, b.errf("unknown reduction %q", red)
	}
	kr := &scatterNDKernel{data: data, idx: idx, upd: upd, y: b.out[0], k: k, rows: numel(idx.shape[:q-1]),
		inner: numel(data.shape[k:]), dims: data.shape[:k], reduction: red}
	kr.strides = make([]int, k)
	s := kr.inner
	for i := k - 1; i >= 0; i-- {
		kr.strides[i] = s
		s *= data.shape[i]
	}
	if idx.konst {
		ints := idx.int64s()
		for row := 0; row < kr.rows; row++ {
			if _, ok := kr.offset(ints[row*k : row*k+k]); !ok {
				return nil, b.errf("index %v out of range for data %v", ints[row*k:row*k+k], data.shape)
			}
		}
		kr.constIdx = ints
	}
	if data.konst {
		kr.zeroData = true
		for _, v := range data.data {
			if v != 0 || 1/v < 0 { // keep −0 exact
				kr.zeroData = false
				break
			}
		}
	}
	b.out[0].shape = append([]int(nil), data.shape...)
	return kr, nil
}

func scatterSameDims(a, b []int) bool {
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

// offset returns the element offset of an index tuple, or false when it
// is out of range.
func (k *scatterNDKernel) offset(ix []int64) (int, bool) {
	off := 0
	for d, v := range ix {
		n := int64(k.dims[d])
		if v < 0 {
			v += n
		}
		if v < 0 || v >= n {
			return 0, false
		}
		off += int(v) * k.strides[d]
	}
	return off, true
}

func (k *scatterNDKernel) run(*engine) {
	y := k.y.data
	if k.zeroData {
		clear(y)
	} else {
		copy(y, k.data.data)
	}
	var tuple [8]int64
	var ix []int64
	if k.k <= len(tuple) {
		ix = tuple[:k.k]
	} else {
		ix = make([]int64, k.k) // rank > 8: rare, allocation acceptable
	}
	upd := k.upd.data
	for row := 0; row < k.rows; row++ {
		if k.constIdx != nil {
			copy(ix, k.constIdx[row*k.k:row*k.k+k.k])
		} else {
			f := k.idx.data[row*k.k : row*k.k+k.k]
			for i, v := range f {
				ix[i] = int64(v)
				if float32(ix[i]) != v { // NaN, ±Inf or a fraction: not an index
					ix[i] = -1 << 62
				}
			}
		}
		off, ok := k.offset(ix)
		if !ok {
			continue
		}
		dst := y[off : off+k.inner]
		src := upd[row*k.inner : (row+1)*k.inner]
		switch k.reduction {
		case "none":
			copy(dst, src)
		case "add":
			for i, v := range src {
				dst[i] += v
			}
		case "mul":
			for i, v := range src {
				dst[i] *= v
			}
		case "max":
			for i, v := range src {
				dst[i] = max(dst[i], v)
			}
		case "min":
			for i, v := range src {
				dst[i] = min(dst[i], v)
			}
		}
	}
}

// intInput reports whether a graph input of type dt is accepted as an
// integer input carried in float32 (compile's input check).
func intInput(dt onnx.DataType) bool {
	switch dt {
	case onnx.Int64, onnx.Int32, onnx.Int16, onnx.Int8, onnx.Uint8, onnx.Uint16, onnx.Uint32:
		return true
	}
	return false
}
