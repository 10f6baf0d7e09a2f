package infer

// Pad and Expand: both give every output element one input element (or
// Pad's constant), chosen per axis; the index tables are built at compile
// time and the kernel walks the output row by row.

func init() {
	register("Pad", buildPad)
	register("Expand", buildExpand)
	requireInputs(1, "Pad", "Expand")
}

// axisMapKernel: output element (i0, …, ir-1) reads
// x[Σ tab[d][id]·stride[d]], or fill where any tab[d][id] < 0.
type axisMapKernel struct {
	x, y   *value
	out    []int
	stride []int // input strides
	tab    [][]int
	fill   float32
	fillV  *value // run-time constant_value input, when not constant
	cnt    []int
}

func newAxisMap(x, y *value, out []int, tab [][]int) *axisMapKernel {
	k := &axisMapKernel{x: x, y: y, out: out, tab: tab, stride: make([]int, len(out)), cnt: make([]int, len(out))}
	s := 1
	for i := len(out) - 1; i >= 0; i-- {
		k.stride[i] = s
		s *= x.shape[i]
	}
	y.shape = append([]int(nil), out...)
	return k
}

func (k *axisMapKernel) run(*engine) {
	y, x := k.y.data, k.x.data
	fill := k.fill
	if k.fillV != nil {
		fill = k.fillV.data[0]
	}
	r := len(k.out)
	if len(y) == 0 {
		return
	}
	if r == 0 {
		y[0] = x[0]
		return
	}
	cnt := k.cnt
	clear(cnt)
	last := k.tab[r-1]
	for o := 0; o < len(y); o += len(last) {
		row := y[o : o+len(last)]
		off, pad := 0, false
		for d := 0; d < r-1; d++ {
			t := k.tab[d][cnt[d]]
			if t < 0 {
				pad = true
				break
			}
			off += t * k.stride[d]
		}
		if pad {
			for i := range row {
				row[i] = fill
			}
		} else {
			for i, t := range last {
				if t < 0 {
					row[i] = fill
				} else {
					row[i] = x[off+t]
				}
			}
		}
		for d := r - 2; d >= 0; d-- {
			cnt[d]++
			if cnt[d] < k.out[d] {
				break
			}
			cnt[d] = 0
		}
	}
}

// buildPad: pads as an attribute (opset < 11) or input 1, the constant as
// attribute "value" or input 2 (a scalar, read at run time when not
// constant), axes as input 3 (opset 18). Negative pads crop.
func buildPad(b *bctx) (kernel, error) {
	x := b.in[0]
	if x.isInt {
		return nil, b.errf("integer input %q is not supported", x.name)
	}
	r := len(x.shape)
	var pads []int64
	var fill float32
	var fillV *value
	if a := b.n.Attr("pads"); a != nil {
		pads = a.Ints
		fill = attrFloat(b, "value", 0)
	} else {
		p, ok, err := constInts(b, 1, "pads")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, b.errf("needs pads")
		}
		pads = p
		if len(b.in) > 2 && b.in[2] != nil {
			v := b.in[2]
			if v.numel() != 1 {
				return nil, b.errf("constant_value %q must be a scalar, has shape %v", v.name, v.shape)
			}
			switch {
			case v.isInt:
				fill = float32(v.ints[0])
			case v.konst:
				fill = v.data[0]
			default:
				fillV = v
			}
		}
	}
	axes := make([]int, 0, r)
	if ax, ok, err := constInts(b, 3, "axes"); err != nil {
		return nil, err
	} else if ok {
		for _, a := range ax {
			i := normAxis(int(a), r)
			if i < 0 || i >= r {
				return nil, b.errf("axis %d out of range for %v", a, x.shape)
			}
			axes = append(axes, i)
		}
	} else {
		for i := 0; i < r; i++ {
			axes = append(axes, i)
		}
	}
	if len(pads) != 2*len(axes) {
		return nil, b.errf("%d pads for %d axes", len(pads), len(axes))
	}
	before, after := make([]int, r), make([]int, r)
	for i, a := range axes {
		before[a], after[a] = int(pads[i]), int(pads[i+len(axes)])
	}
	mode := attrString(b, "mode", "constant")
	out := make([]int, r)
	tab := make([][]int, r)
	for d := 0; d < r; d++ {
		n := x.shape[d]
		out[d] = n + before[d] + after[d]
		if out[d] < 0 {
			return nil, b.errf("pads %v crop axis %d of %v below zero", pads, d, x.shape)
		}
		if n == 0 && out[d] > 0 && mode != "constant" {
			return nil, b.errf("%s padding of an empty axis", mode)
		}
		t := make([]int, out[d])
		for o := range t {
			i := o - before[d]
			switch mode {
			case "constant":
				if i < 0 || i >= n {
					i = -1
				}
			case "edge":
				i = min(max(i, 0), n-1)
			case "reflect":
				if n == 1 {
					i = 0
				}
				for i < 0 || i >= n {
					if i < 0 {
						i = -i
					}
					if i >= n {
						i = 2*(n-1) - i
					}
				}
			case "wrap":
				i = ((i % n) + n) % n
			default:
				return nil, b.errf("mode %q is not supported", mode)
			}
			t[o] = i
		}
		tab[d] = t
	}
	k := newAxisMap(x, b.out[0], out, tab)
	k.fill, k.fillV = fill, fillV
	return k, nil
}

// buildExpand broadcasts x to shape (numpy rules, in both directions).
func buildExpand(b *bctx) (kernel, error) {
	x := b.in[0]
	sh, ok, err := constInts(b, 1, "shape")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, b.errf("needs a shape")
	}
	target := make([]int, len(sh))
	for i, d := range sh {
		if d < 0 {
			return nil, b.errf("negative dim in shape %v", sh)
		}
		target[i] = int(d)
	}
	out, ok := broadcastShape(x.shape, target)
	if !ok {
		return nil, b.errf("%v does not broadcast to %v", x.shape, sh)
	}
	if x.isInt { // shape arithmetic on constants
		if !x.konst {
			return nil, b.errf("integer input %q must be constant", x.name)
		}
		idx := broadcastIndex(out, x.shape)
		y := b.out[0]
		y.shape, y.isInt, y.ints = out, true, make([]int64, len(idx))
		for i, j := range idx {
			y.ints[i] = x.ints[j]
		}
		return nil, nil
	}
	// view x with leading unit dims so that it has the output's rank
	xs := make([]int, len(out))
	for i := range xs {
		xs[i] = 1
	}
	copy(xs[len(out)-len(x.shape):], x.shape)
	tab := make([][]int, len(out))
	for d, n := range out {
		tab[d] = make([]int, n)
		if xs[d] != 1 {
			for o := range tab[d] {
				tab[d][o] = o
			}
		}
	}
	view := &value{name: x.name, shape: xs}
	k := newAxisMap(view, b.out[0], out, tab)
	k.x = x
	return k, nil
}
