package infer

import (
	"github.com/ds3d-go/ds3d-go/core2d/infer/kernels"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
)

func init() {
	register("Reshape", buildReshape)
	register("Flatten", buildFlatten)
	register("Squeeze", buildSqueeze)
	register("Unsqueeze", buildUnsqueeze)
	register("Identity", func(b *bctx) (kernel, error) { return reshapeTo(b, b.in[0].shape) })
	register("Transpose", buildTranspose)
	register("Concat", buildConcat)
	register("Slice", buildSlice)
	register("Split", buildSplit)
	register("Gather", buildGather)
	register("Shape", buildShape)
	register("Constant", buildConstant)
	register("ConstantOfShape", buildConstantOfShape)
	register("Cast", buildCast)
	requireInputs(0, "Constant", "ConstantOfShape")
	requireInputs(1, "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose", "Concat", "Slice", "Split",
		"Gather", "Shape", "Cast")
}

// movementOps rearrange elements without arithmetic; on integer constants
// they are folded by running the float kernel on element indices. The
// value is the number of leading data inputs (-1: all).
var movementOps = map[string]int{
	"Reshape": 1, "Flatten": 1, "Squeeze": 1, "Unsqueeze": 1, "Identity": 1,
	"Transpose": 1, "Concat": -1, "Slice": 1, "Split": 1, "Gather": 1,
}

// constInts reads an optional constant integer input.
func constInts(b *bctx, i int, what string) ([]int64, bool, error) {
	if i >= len(b.in) || b.in[i] == nil {
		return nil, false, nil
	}
	v := b.in[i]
	if !v.konst {
		return nil, false, b.errf("%s (%q) must be constant: dynamic shapes are not supported", what, v.name)
	}
	return v.int64s(), true, nil
}

// copyKernel copies its input unchanged (the ops that only change shape).
type copyKernel struct{ x, y *value }

func (k *copyKernel) run(*engine) { copy(k.y.data, k.x.data) }

func reshapeTo(b *bctx, shape []int) (kernel, error) {
	x := b.in[0]
	if numel(shape) != x.numel() {
		return nil, b.errf("cannot reshape %v (%d elements) to %v", x.shape, x.numel(), shape)
	}
	b.out[0].shape = append([]int(nil), shape...)
	return &copyKernel{x: x, y: b.out[0]}, nil
}

func buildReshape(b *bctx) (kernel, error) {
	var target []int64
	if a := b.n.Attr("shape"); a != nil && len(b.in) < 2 { // opset < 5
		target = a.Ints
	} else {
		t, ok, err := constInts(b, 1, "shape")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, b.errf("needs a shape input")
		}
		target = t
	}
	x := b.in[0]
	if bn := b.c.opt.Batch; bn > 1 && len(target) > 0 && target[0] == 1 && len(x.shape) > 0 && x.shape[0] == bn {
		target = append([]int64{int64(bn)}, target[1:]...) // Options.Batch
	}
	allowZero := attrInt(b, "allowzero", 0) != 0
	shape := make([]int, len(target))
	infer := -1
	known := 1
	for i, d := range target {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, b.errf("shape %v has more than one -1", target)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(x.shape) {
				return nil, b.errf("shape %v copies dim %d of %v, which has none", target, i, x.shape)
			}
			shape[i] = x.shape[i]
		case d < 0:
			return nil, b.errf("bad shape %v", target)
		default:
			shape[i] = int(d)
		}
		known *= shape[i]
	}
	if infer >= 0 {
		if known == 0 || x.numel()%known != 0 {
			return nil, b.errf("cannot reshape %v to %v", x.shape, target)
		}
		shape[infer] = x.numel() / known
	}
	return reshapeTo(b, shape)
}

func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	return axis
}

func buildFlatten(b *bctx) (kernel, error) {
	x := b.in[0]
	axis := normAxis(attrInt(b, "axis", 1), len(x.shape))
	if axis < 0 || axis > len(x.shape) {
		return nil, b.errf("axis out of range for %v", x.shape)
	}
	return reshapeTo(b, []int{numel(x.shape[:axis]), numel(x.shape[axis:])})
}

func axesOf(b *bctx, input int) ([]int64, error) {
	if a := b.n.Attr("axes"); a != nil {
		return a.Ints, nil
	}
	ax, _, err := constInts(b, input, "axes")
	return ax, err
}

func buildSqueeze(b *bctx) (kernel, error) {
	x := b.in[0]
	axes, err := axesOf(b, 1)
	if err != nil {
		return nil, err
	}
	drop := make([]bool, len(x.shape))
	if axes == nil {
		for i, d := range x.shape {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		i := normAxis(int(a), len(x.shape))
		if i < 0 || i >= len(x.shape) || x.shape[i] != 1 {
			return nil, b.errf("cannot squeeze axis %d of %v", a, x.shape)
		}
		drop[i] = true
	}
	var shape []int
	for i, d := range x.shape {
		if !drop[i] {
			shape = append(shape, d)
		}
	}
	return reshapeTo(b, shape)
}

func buildUnsqueeze(b *bctx) (kernel, error) {
	x := b.in[0]
	axes, err := axesOf(b, 1)
	if err != nil {
		return nil, err
	}
	rank := len(x.shape) + len(axes)
	ins := make([]bool, rank)
	for _, a := range axes {
		i := normAxis(int(a), rank)
		if i < 0 || i >= rank || ins[i] {
			return nil, b.errf("bad axes %v for %v", axes, x.shape)
		}
		ins[i] = true
	}
	shape := make([]int, 0, rank)
	j := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			shape = append(shape, 1)
		} else {
			shape = append(shape, x.shape[j])
			j++
		}
	}
	return reshapeTo(b, shape)
}

// transposeKernel permutes axes: out[i…] = x[perm-mapped i…], walking the
// output in order with a precomputed input stride per output axis.
type transposeKernel struct {
	x, y    *value
	shape   []int // output shape
	strides []int // input stride of each output axis
	cnt     []int
	// Tiled path, when the output's last axis is strided in the input:
	// axis b is the output axis that is contiguous in the input, and
	// every outer index (the other axes) is a 2-D [shape[b], last]
	// transpose done in transTile×transTile tiles, so both the reads and
	// the writes stay in cache lines already loaded.
	b      int   // -1: row-gather path
	ystr   []int // output stride of each output axis
	outer  []int // the output axes other than b and the last
	bTiles int
}

const transTile = 16

func buildTranspose(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	perm := attrInts(b, "perm", nil)
	if perm == nil {
		for i := r - 1; i >= 0; i-- {
			perm = append(perm, i)
		}
	}
	if len(perm) != r {
		return nil, b.errf("perm %v for rank %d", perm, r)
	}
	in := make([]int, r)
	s := 1
	for i := r - 1; i >= 0; i-- {
		in[i] = s
		s *= x.shape[i]
	}
	k := &transposeKernel{x: x, y: b.out[0], shape: make([]int, r), strides: make([]int, r), cnt: make([]int, r)}
	seen := make([]bool, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			return nil, b.errf("bad perm %v", perm)
		}
		seen[p] = true
		k.shape[i] = x.shape[p]
		k.strides[i] = in[p]
	}
	b.out[0].shape = append([]int(nil), k.shape...)
	k.mergeAxes()
	r = len(k.shape)
	k.b = -1
	if r >= 2 && k.strides[r-1] != 1 && k.shape[r-1] > 1 {
		for i := 0; i < r-1; i++ {
			if k.strides[i] == 1 && k.shape[i] > 1 {
				k.b = i
			}
		}
	}
	if k.b >= 0 {
		k.ystr = make([]int, r)
		s := 1
		for i := r - 1; i >= 0; i-- {
			k.ystr[i] = s
			s *= k.shape[i]
		}
		for i := 0; i < r-1; i++ {
			if i != k.b {
				k.outer = append(k.outer, i)
			}
		}
		k.bTiles = (k.shape[k.b] + transTile - 1) / transTile
	}
	return k, nil
}

// mergeAxes joins neighbouring output axes that are also neighbours, in
// order, in the input (NCHW → NHWC's H and W become one H·W axis), and
// drops unit axes: fewer, longer axes give the tiled path full 16×16
// tiles where a 56-wide axis alone would leave ragged ones.
func (k *transposeKernel) mergeAxes() {
	var shape, strides []int
	for i, n := range k.shape {
		if n == 1 {
			continue
		}
		if j := len(shape) - 1; j >= 0 && strides[j] == k.strides[i]*n {
			shape[j] *= n
			strides[j] = k.strides[i]
			continue
		}
		shape = append(shape, n)
		strides = append(strides, k.strides[i])
	}
	if len(shape) == 0 { // every axis 1: one element
		shape, strides = []int{1}, []int{1}
	}
	k.shape, k.strides, k.cnt = shape, strides, make([]int, len(shape))
}

func (k *transposeKernel) run(e *engine) {
	if k.b >= 0 {
		e.parallel(k, len(k.y.data) >= 1<<15)
		return
	}
	y, x := k.y.data, k.x.data
	if len(y) == 0 {
		return
	}
	r := len(k.shape)
	if r == 0 { // a scalar
		copy(y, x)
		return
	}
	cnt := k.cnt
	clear(cnt)
	last, ls := k.shape[r-1], k.strides[r-1]
	off := 0
	for o := 0; o < len(y); o += last {
		row := y[o : o+last]
		if ls == 1 {
			copy(row, x[off:off+last])
		} else {
			for i := range row {
				row[i] = x[off+i*ls]
			}
		}
		for d := r - 2; d >= 0; d-- {
			cnt[d]++
			off += k.strides[d]
			if cnt[d] < k.shape[d] {
				break
			}
			off -= k.strides[d] * cnt[d]
			cnt[d] = 0
		}
	}
}

// do transposes a share of the (outer index, band of transTile b-rows)
// units of the tiled path.
func (k *transposeKernel) do(_, part, parts int) {
	units := len(k.y.data) / (k.shape[k.b] * k.shape[len(k.shape)-1]) * k.bTiles
	u0, u1 := split(units, 1, part, parts)
	r := len(k.shape)
	na, nb := k.shape[r-1], k.shape[k.b]
	ls, ysb := k.strides[r-1], k.ystr[k.b]
	x, y := k.x.data, k.y.data
	for u := u0; u < u1; u++ {
		o, t := u/k.bTiles, u%k.bTiles
		xo, yo := 0, 0
		for i := len(k.outer) - 1; i >= 0; i-- {
			ax := k.outer[i]
			d := o % k.shape[ax]
			o /= k.shape[ax]
			xo += d * k.strides[ax]
			yo += d * k.ystr[ax]
		}
		b0, b1 := t*transTile, min(nb, (t+1)*transTile)
		for a0 := 0; a0 < na; a0 += transTile {
			a1 := min(na, a0+transTile)
			if a1-a0 == 16 && b1-b0 == 16 && kernels.TransposeTile16(y[yo+b0*ysb+a0:], ysb, x[xo+b0+a0*ls:], ls) {
				continue
			}
			for ib := b0; ib < b1; ib++ {
				dst := y[yo+ib*ysb+a0 : yo+ib*ysb+a1]
				src := x[xo+ib+a0*ls:]
				for i := range dst {
					dst[i] = src[i*ls]
				}
			}
		}
	}
}

// concatKernel copies each input's blocks into place along axis.
type concatKernel struct {
	ins   []*value
	y     *value
	outer int
	inner []int // per input: elements per outer step
	total int   // output elements per outer step
}

func buildConcat(b *bctx) (kernel, error) {
	if len(b.in) == 0 {
		return nil, b.errf("no inputs")
	}
	x0 := b.in[0]
	r := len(x0.shape)
	axis := normAxis(attrInt(b, "axis", 0), r)
	if axis < 0 || axis >= r {
		return nil, b.errf("axis out of range for %v", x0.shape)
	}
	shape := append([]int(nil), x0.shape...)
	shape[axis] = 0
	k := &concatKernel{y: b.out[0], outer: numel(x0.shape[:axis])}
	for _, v := range b.in {
		if v == nil || len(v.shape) != r {
			return nil, b.errf("inputs must have the same rank")
		}
		for i := range shape {
			if i != axis && v.shape[i] != shape[i] {
				return nil, b.errf("input %q %v does not match %v outside axis %d", v.name, v.shape, x0.shape, axis)
			}
		}
		shape[axis] += v.shape[axis]
		k.ins = append(k.ins, v)
		k.inner = append(k.inner, numel(v.shape[axis:]))
	}
	k.total = numel(shape[axis:])
	b.out[0].shape = shape
	return k, nil
}

func (k *concatKernel) run(*engine) {
	y := k.y.data
	off := 0
	for i, v := range k.ins {
		in := k.inner[i]
		for o := 0; o < k.outer; o++ {
			copy(y[o*k.total+off:o*k.total+off+in], v.data[o*in:(o+1)*in])
		}
		off += in
	}
}

// sliceKernel copies a strided box: per output axis a start and step in
// the input.
type sliceKernel struct {
	x, y    *value
	shape   []int // output shape
	start   int   // input offset of the first element
	strides []int // input stride per output step on each axis
	cnt     []int
}

func buildSlice(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	var starts, ends, axes, steps []int64
	if b.c.opset < 10 && b.n.Attr("starts") != nil {
		starts, ends = b.n.Attr("starts").Ints, b.n.Attr("ends").Ints
		if a := b.n.Attr("axes"); a != nil {
			axes = a.Ints
		}
	} else {
		var err error
		if starts, _, err = constInts(b, 1, "starts"); err != nil {
			return nil, err
		}
		if ends, _, err = constInts(b, 2, "ends"); err != nil {
			return nil, err
		}
		if axes, _, err = constInts(b, 3, "axes"); err != nil {
			return nil, err
		}
		if steps, _, err = constInts(b, 4, "steps"); err != nil {
			return nil, err
		}
	}
	if len(starts) != len(ends) || (axes != nil && len(axes) != len(starts)) || (steps != nil && len(steps) != len(starts)) {
		return nil, b.errf("starts/ends/axes/steps lengths differ")
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
			ax = normAxis(int(axes[i]), r)
		}
		if ax < 0 || ax >= r {
			return nil, b.errf("axis %d out of range for %v", ax, x.shape)
		}
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, b.errf("step 0")
		}
		dim := int64(x.shape[ax])
		s, e := starts[i], ends[i]
		if s < 0 {
			s += dim
		}
		if e < 0 {
			e += dim
		}
		var count int64
		if st > 0 {
			s, e = min(max(s, 0), dim), min(max(e, 0), dim)
			if e > s {
				count = (e - s + st - 1) / st
			}
		} else {
			s, e = min(max(s, 0), dim-1), min(max(e, -1), dim-1)
			if s > e {
				count = (s - e + (-st) - 1) / (-st)
			}
		}
		begin[ax], step[ax], shape[ax] = int(s), int(st), int(count)
	}
	k := &sliceKernel{x: x, y: b.out[0], shape: shape, strides: make([]int, r), cnt: make([]int, r)}
	s := 1
	for i := r - 1; i >= 0; i-- {
		k.start += begin[i] * s
		k.strides[i] = step[i] * s
		s *= x.shape[i]
	}
	b.out[0].shape = shape
	return k, nil
}

func (k *sliceKernel) run(*engine) {
	y, x := k.y.data, k.x.data
	if len(y) == 0 {
		return
	}
	r := len(k.shape)
	if r == 0 { // a scalar
		copy(y, x)
		return
	}
	cnt := k.cnt
	clear(cnt)
	last, ls := k.shape[r-1], k.strides[r-1]
	off := k.start
	for o := 0; o < len(y); o += last {
		row := y[o : o+last]
		switch {
		case ls == 1:
			copy(row, x[off:off+last])
		case ls == 2: // YOLOX's space-to-depth stem slices
			kernels.Gather2(row, x[off:off+2*last-1])
		default:
			for i := range row {
				row[i] = x[off+i*ls]
			}
		}
		for d := r - 2; d >= 0; d-- {
			cnt[d]++
			off += k.strides[d]
			if cnt[d] < k.shape[d] {
				break
			}
			off -= k.strides[d] * cnt[d]
			cnt[d] = 0
		}
	}
}

// splitKernel is the inverse of concat.
type splitKernel struct {
	x     *value
	outs  []*value
	outer int
	inner []int
	total int
}

func buildSplit(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	axis := normAxis(attrInt(b, "axis", 0), r)
	if axis < 0 || axis >= r {
		return nil, b.errf("axis out of range for %v", x.shape)
	}
	var sizes []int64
	if a := b.n.Attr("split"); a != nil {
		sizes = a.Ints
	} else if s, ok, err := constInts(b, 1, "split"); err != nil {
		return nil, err
	} else if ok {
		sizes = s
	}
	n := len(b.out)
	if sizes == nil {
		d := x.shape[axis]
		if no := attrInt(b, "num_outputs", 0); no > 0 {
			n = no
		}
		chunk := (d + n - 1) / n
		for i := 0; i < n; i++ {
			sizes = append(sizes, int64(min(chunk, d-i*chunk)))
		}
	}
	if len(sizes) != len(b.out) {
		return nil, b.errf("%d split sizes for %d outputs", len(sizes), len(b.out))
	}
	sum := 0
	k := &splitKernel{x: x, outer: numel(x.shape[:axis]), total: numel(x.shape[axis:])}
	for i, s := range sizes {
		if s < 0 {
			return nil, b.errf("negative split %v", sizes)
		}
		sum += int(s)
		shape := append([]int(nil), x.shape...)
		shape[axis] = int(s)
		b.out[i].shape = shape
		k.outs = append(k.outs, b.out[i])
		k.inner = append(k.inner, numel(shape[axis:]))
	}
	if sum != x.shape[axis] {
		return nil, b.errf("split sizes %v do not add up to %d", sizes, x.shape[axis])
	}
	return k, nil
}

func (k *splitKernel) run(*engine) {
	off := 0
	for i, v := range k.outs {
		in := k.inner[i]
		for o := 0; o < k.outer; o++ {
			copy(v.data[o*in:(o+1)*in], k.x.data[o*k.total+off:o*k.total+off+in])
		}
		off += in
	}
}

// gatherKernel takes constant indices along axis.
type gatherKernel struct {
	x, y         *value
	idx          []int
	outer, inner int
	dim          int
}

func buildGather(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	axis := normAxis(attrInt(b, "axis", 0), r)
	if axis < 0 || axis >= r {
		return nil, b.errf("axis out of range for %v", x.shape)
	}
	ind, ok, err := constInts(b, 1, "indices")
	if err != nil || !ok {
		return nil, b.errf("indices must be a constant input")
	}
	iv := b.in[1]
	k := &gatherKernel{x: x, y: b.out[0], outer: numel(x.shape[:axis]), inner: numel(x.shape[axis+1:]), dim: x.shape[axis]}
	for _, i := range ind {
		if i < 0 {
			i += int64(k.dim)
		}
		if i < 0 || i >= int64(k.dim) {
			return nil, b.errf("index %d out of range for axis of %d", i, k.dim)
		}
		k.idx = append(k.idx, int(i))
	}
	shape := append([]int(nil), x.shape[:axis]...)
	shape = append(shape, iv.shape...)
	shape = append(shape, x.shape[axis+1:]...)
	b.out[0].shape = shape
	return k, nil
}

func (k *gatherKernel) run(*engine) {
	y := k.y.data
	o := 0
	for a := 0; a < k.outer; a++ {
		for _, i := range k.idx {
			src := (a*k.dim + i) * k.inner
			copy(y[o:o+k.inner], k.x.data[src:src+k.inner])
			o += k.inner
		}
	}
}

func buildShape(b *bctx) (kernel, error) {
	x := b.in[0]
	r := len(x.shape)
	start := normAxis(attrInt(b, "start", 0), r)
	end := r
	if a := b.n.Attr("end"); a != nil {
		end = normAxis(int(a.I), r)
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	y := b.out[0]
	y.isInt = true
	y.shape = []int{max(end-start, 0)}
	for _, d := range x.shape[start:max(end, start)] {
		y.ints = append(y.ints, int64(d))
	}
	return nil, nil
}

// setConst makes out a constant copy of t.
func setConst(b *bctx, out *value, t *onnx.Tensor) error {
	v, err := constFromTensor(t)
	if err != nil {
		return b.errf("%v", err)
	}
	out.shape, out.isInt, out.ints, out.data = v.shape, v.isInt, v.ints, v.data
	return nil
}

func buildConstant(b *bctx) (kernel, error) {
	y := b.out[0]
	for _, a := range b.n.Attrs {
		switch a.Name {
		case "value":
			if a.T == nil {
				return nil, b.errf("value attribute without a tensor")
			}
			return nil, setConst(b, y, a.T)
		case "value_float":
			y.shape, y.data = []int{}, []float32{a.F}
			return nil, nil
		case "value_floats":
			y.shape, y.data = []int{len(a.Floats)}, a.Floats
			return nil, nil
		case "value_int":
			y.shape, y.isInt, y.ints = []int{}, true, []int64{a.I}
			return nil, nil
		case "value_ints":
			y.shape, y.isInt, y.ints = []int{len(a.Ints)}, true, a.Ints
			return nil, nil
		}
	}
	return nil, b.errf("no supported value attribute")
}

func buildConstantOfShape(b *bctx) (kernel, error) {
	sh, ok, err := constInts(b, 0, "shape")
	if err != nil || !ok {
		return nil, b.errf("shape must be constant")
	}
	y := b.out[0]
	for _, d := range sh {
		if d < 0 {
			return nil, b.errf("negative dim in %v", sh)
		}
		y.shape = append(y.shape, int(d))
	}
	if y.shape == nil {
		y.shape = []int{}
	}
	n := numel(y.shape)
	var fill float32
	if a := b.n.Attr("value"); a != nil && a.T != nil {
		if a.T.DataType.IsInteger() {
			y.isInt = true
			y.ints = make([]int64, n)
			if len(a.T.Ints) > 0 {
				for i := range y.ints {
					y.ints[i] = a.T.Ints[0]
				}
			}
			return nil, nil
		}
		if len(a.T.Floats) > 0 {
			fill = a.T.Floats[0]
		}
	}
	y.data = make([]float32, n)
	for i := range y.data {
		y.data[i] = fill
	}
	return nil, nil
}

func buildCast(b *bctx) (kernel, error) {
	x := b.in[0]
	to := onnx.DataType(attrInt(b, "to", int(onnx.Float)))
	y := b.out[0]
	y.shape = append([]int(nil), x.shape...)
	switch {
	case to == onnx.Float16 && !x.isInt:
		return unary(func(dst, x []float32) {
			for i, v := range x[:len(dst)] {
				dst[i] = roundHalf(v)
			}
		})(b)
	case (to == onnx.Float || to == onnx.Double) && x.rtInt() != onnx.Undefined:
		return &copyKernel{x: x, y: y}, nil // exact integers; the output is float
	case to == onnx.Float || to == onnx.Double || to == onnx.Float16:
		if x.isInt {
			if !x.konst {
				return nil, b.errf("integer input must be constant")
			}
			y.data = make([]float32, len(x.ints))
			for i, v := range x.ints {
				y.data[i] = float32(v)
			}
			return nil, nil
		}
		return &copyKernel{x: x, y: y}, nil
	case to.IsInteger() && !x.konst:
		y.dtype = to
		return &castIntKernel{x: x, y: y, to: to}, nil
	case to.IsInteger():
		y.isInt = true
		y.ints = append([]int64(nil), x.int64s()...)
		return nil, nil
	}
	return nil, b.errf("cast to %s is not supported", to)
}
