package infer

import "github.com/ds3d-go/ds3d-go/core2d/infer/kernels"

// Gemm and MatMul on the packed GEMM of kernels/gemm.go: the left operand is packed
// into mr-row panels (once at compile time when constant, else per Run
// into a buffer the kernel owns), the right one is read in place when
// row-major (or transposed once when constant, per Run otherwise).

func init() {
	register("Gemm", buildGemm)
	register("MatMul", buildMatMul)
	requireInputs(2, "Gemm", "MatMul")
}

type matmulKernel struct {
	a, b, c, y *value
	M, N, K    int
	// batches: element offsets of each batch's A and B matrices
	aOff, bOff []int
	aRS, aCS   int  // A[i][k] = a[off + i·aRS + k·aCS]
	bT         bool // B stored N×K (Gemm transB)
	aPacked    [][]float32
	aBuf, bBuf []float32 // per-Run packing of non-constant operands
	bConst     []float32 // B constant, already row-major K×N (transposed if bT)
	alpha      float32
	beta       float32
	cIdx       []int32 // broadcast index of C over [M, N]
	// colBias and post: a bias Add over the last axis and the activation
	// after it, fused into the GEMM's tile epilogue (compile.go fuseMatMul)
	colBias *value
	post    kernels.Activation

	g kernels.GEMM
	e *engine

	gemvA, gemvB, gemvY []float32 // per-call operands of gemvTask
	packSrc             []float32 // per-call operand of packTask
}

// packAStrided packs the M×K matrix A[i][k] = a[i·rs + k·cs] into mr-row
// panels (the layout of kernels.PackA), zero-padding the last panel.
func packAStrided(dst, a []float32, M, K, rs, cs int) {
	packAPanels(dst, a, M, K, rs, cs, 0, (M+kernels.MR-1)/kernels.MR)
}

// packAPanels packs panels p0..p1 of packAStrided's layout.
func packAPanels(dst, a []float32, M, K, rs, cs, p0, p1 int) {
	if cs == 1 && kernels.MR == 4 && K > 0 {
		p0 = packARows4(dst, a, K, rs, p0, min(p1, M/4))
	}
	for p := p0; p < p1; p++ {
		for k := 0; k < K; k++ {
			d := dst[(p*K+k)*kernels.MR : (p*K+k+1)*kernels.MR]
			for r := range d {
				if row := p*kernels.MR + r; row < M {
					d[r] = a[row*rs+k*cs]
				} else {
					d[r] = 0
				}
			}
		}
	}
}

// packARows4 packs the full 4-row panels p0..p1 of a row-major A (cs 1)
// and returns p1 (where the general loop goes on): a MatMul's
// activations are packed per Run, and four sequential row reads with the
// bounds checks hoisted run several times faster than the strided loop.
func packARows4(dst, a []float32, K, rs, p0, p1 int) int {
	for p := p0; p < p1; p++ {
		a0 := a[4*p*rs : 4*p*rs+K]
		a1 := a[(4*p+1)*rs : (4*p+1)*rs+K]
		a2 := a[(4*p+2)*rs : (4*p+2)*rs+K]
		a3 := a[(4*p+3)*rs : (4*p+3)*rs+K]
		d := dst[p*K*4 : (p+1)*K*4]
		for k := range a0 {
			q := d[4*k : 4*k+4 : 4*k+4]
			q[0], q[1], q[2], q[3] = a0[k], a1[k], a2[k], a3[k]
		}
	}
	return max(p0, p1)
}

// packTask packs a per-Run A (k.packSrc into k.aBuf), panels split across
// the workers, so that packing is not a serial step before the GEMM.
type packTask struct{ k *matmulKernel }

func (t packTask) do(_, part, parts int) {
	k := t.k
	p0, p1 := split((k.M+kernels.MR-1)/kernels.MR, 1, part, parts)
	packAPanels(k.aBuf, k.packSrc, k.M, k.K, k.aRS, k.aCS, p0, p1)
}

// transposeInto writes the row-major K×N transpose of the N×K matrix src.
func transposeInto(dst, src []float32, N, K int) {
	for n := 0; n < N; n++ {
		row := src[n*K : (n+1)*K]
		for k, v := range row {
			dst[k*N+n] = v
		}
	}
}

func (k *matmulKernel) prepare(b *bctx) error {
	for _, v := range []*value{k.a, k.b} {
		if v.isInt {
			return b.errf("integer operand %q is not supported", v.name)
		}
	}
	panelSize := (k.M + kernels.MR - 1) / kernels.MR * k.K * kernels.MR
	if k.a.konst {
		seen := map[int][]float32{}
		for _, off := range k.aOff {
			if seen[off] == nil {
				p := make([]float32, panelSize)
				packAStrided(p, k.a.data[off:], k.M, k.K, k.aRS, k.aCS)
				seen[off] = p
			}
			k.aPacked = append(k.aPacked, seen[off])
		}
	} else {
		k.aBuf = make([]float32, panelSize)
	}
	if k.bT {
		if k.b.konst && len(k.bOff) > 0 {
			nb := len(k.b.data) / max(k.N*k.K, 1)
			k.bConst = make([]float32, len(k.b.data))
			for i := 0; i < nb; i++ {
				transposeInto(k.bConst[i*k.N*k.K:], k.b.data[i*k.N*k.K:], k.N, k.K)
			}
		} else {
			k.bBuf = make([]float32, k.N*k.K)
		}
	}
	b.c.macs += int64(len(k.aOff)) * int64(k.M) * int64(k.N) * int64(k.K)
	return nil
}

func (k *matmulKernel) run(e *engine) {
	k.e = e
	mn := k.M * k.N
	y := k.y.data
	for p := range k.aOff {
		yp := y[p*mn : (p+1)*mn]
		if k.K == 0 {
			clear(yp)
			k.finishRows(yp)
			continue
		}
		if k.M == 1 && k.bConst != nil && k.a.data != nil && k.aPacked == nil {
			// one row (a classifier's Gemm): y = Σ_k a[k]·B[k,:] streams
			// B once instead of packing it for a 4-row tile
			k.gemvA, k.gemvB, k.gemvY = k.a.data[k.aOff[p]:], k.bConst[k.bOff[p]:], yp
			e.parallel(gemvTask{k}, int64(k.N)*int64(k.K) >= 1<<16)
			k.finishRows(yp)
			continue
		}
		var ap []float32
		if k.aPacked != nil {
			ap = k.aPacked[p]
		} else {
			k.packSrc = k.a.data[k.aOff[p]:]
			e.parallel(packTask{k}, int64(k.M)*int64(k.K) >= 1<<15)
			ap = k.aBuf
		}
		var bp []float32
		switch {
		case k.bConst != nil:
			bp = k.bConst[k.bOff[p]:]
		case k.bT:
			transposeInto(k.bBuf, k.b.data[k.bOff[p]:], k.N, k.K)
			bp = k.bBuf
		default:
			bp = k.b.data[k.bOff[p]:]
		}
		k.g = kernels.GEMM{M: k.M, N: k.N, K: k.K, A: ap, B: bp, LDB: k.N, C: yp, LDC: k.N, Post: k.post}
		if k.colBias != nil {
			k.g.ColBias = k.colBias.data
		}
		e.parallel(k, int64(mn)*int64(k.K) >= 1<<16 && k.N >= 2*kernels.NR)
	}
	if k.alpha != 1 || k.c != nil {
		var c []float32
		if k.c != nil {
			c = k.c.data
		}
		for i := range y {
			v := k.alpha * y[i]
			if c != nil {
				v += k.beta * c[k.cIdx[i]]
			}
			y[i] = v
		}
	}
}

// finishRows applies the fused bias and activation to the rows of y, for
// the products that do not go through the GEMM's tile epilogue.
func (k *matmulKernel) finishRows(y []float32) {
	if k.colBias == nil && k.post == kernels.ActNone {
		return
	}
	for r := 0; r+k.N <= len(y); r += k.N {
		row := y[r : r+k.N]
		if k.colBias != nil {
			kernels.Add(row, row, k.colBias.data)
		}
		kernels.ApplyAct(k.post, row)
	}
}

// gemvTask runs a one-row product, columns split across the workers.
type gemvTask struct{ k *matmulKernel }

func (t gemvTask) do(_, part, parts int) {
	k := t.k
	j0, j1 := split(k.N, 16, part, parts)
	if j0 >= j1 {
		return
	}
	y := k.gemvY[j0:j1]
	clear(y)
	for kk := 0; kk < k.K; kk++ {
		kernels.Axpy(y, k.gemvB[kk*k.N+j0:kk*k.N+j1], k.gemvA[kk*k.aCS])
	}
}

func (k *matmulKernel) do(w, part, parts int) {
	j0, j1 := split(k.g.N, kernels.NR, part, parts)
	if j0 < j1 {
		k.g.Run(j0, j1, k.e.packB[w])
	}
}

// buildGemm: Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A (M×K), B'
// likewise (K×N) and C broadcast to M×N.
func buildGemm(b *bctx) (kernel, error) {
	if len(b.in) < 2 || b.in[0] == nil || b.in[1] == nil {
		return nil, b.errf("needs A and B")
	}
	a, bb := b.in[0], b.in[1]
	if len(a.shape) != 2 || len(bb.shape) != 2 {
		return nil, b.errf("A %v and B %v must be matrices", a.shape, bb.shape)
	}
	k := &matmulKernel{a: a, b: bb, y: b.out[0], alpha: attrFloat(b, "alpha", 1), beta: attrFloat(b, "beta", 1)}
	transA, transB := attrInt(b, "transA", 0) != 0, attrInt(b, "transB", 0) != 0
	k.M, k.K, k.aRS, k.aCS = a.shape[0], a.shape[1], a.shape[1], 1
	if transA {
		k.M, k.K, k.aRS, k.aCS = a.shape[1], a.shape[0], 1, a.shape[1]
	}
	kb := bb.shape[0]
	k.N = bb.shape[1]
	if transB {
		kb, k.N = bb.shape[1], bb.shape[0]
		k.bT = true
	}
	if kb != k.K {
		return nil, b.errf("A %v (transA %v) and B %v (transB %v) do not multiply", a.shape, transA, bb.shape, transB)
	}
	k.aOff, k.bOff = []int{0}, []int{0}
	out := []int{k.M, k.N}
	if len(b.in) > 2 && b.in[2] != nil && k.beta != 0 {
		c := b.in[2]
		if c.isInt {
			return nil, b.errf("C must be a float tensor")
		}
		if s, ok := broadcastShape(out, c.shape); !ok || !equalShape(s, out) {
			return nil, b.errf("C %v does not broadcast to %v", c.shape, out)
		}
		k.c, k.cIdx = c, broadcastIndex(out, c.shape)
	}
	k.y.shape = out
	if err := k.prepare(b); err != nil {
		return nil, err
	}
	return k, nil
}

// fuseEpilogue takes the bias and activation fuseMatMul found: the bias
// must be N float values, broadcast over the last axis only.
func (k *matmulKernel) fuseEpilogue(b *bctx) error {
	k.post = b.n.act
	if b.n.mmBias == "" {
		return nil
	}
	v := b.c.vals[b.n.mmBias]
	if v == nil || v.isInt || len(v.shape) != 1 || v.shape[0] != k.N || len(k.y.shape) == 0 || k.y.shape[len(k.y.shape)-1] != k.N {
		return b.errf("fused bias %q must be %d float values (output %v)", b.n.mmBias, k.N, k.y.shape)
	}
	k.colBias = v
	return nil
}

// buildMatMul follows numpy.matmul: 1-D operands gain (and then lose) a
// unit dim, leading dims broadcast as batches.
func buildMatMul(b *bctx) (kernel, error) {
	if len(b.in) != 2 || b.in[0] == nil || b.in[1] == nil {
		return nil, b.errf("needs A and B")
	}
	a, bb := b.in[0], b.in[1]
	as, bs := a.shape, bb.shape
	if len(as) == 0 || len(bs) == 0 {
		return nil, b.errf("scalar operands: A %v, B %v", as, bs)
	}
	if len(as) == 1 {
		as = []int{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int{bs[0], 1}
	}
	M, K, N := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	if bs[len(bs)-2] != K {
		return nil, b.errf("A %v and B %v do not multiply", a.shape, bb.shape)
	}
	batch, ok := broadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if !ok {
		return nil, b.errf("batch dims of A %v and B %v do not broadcast", a.shape, bb.shape)
	}
	k := &matmulKernel{a: a, b: bb, y: b.out[0], M: M, N: N, K: K, aRS: K, aCS: 1, alpha: 1, beta: 1}
	if len(bs) == 2 { // one B for every batch: the batches of A are just more rows
		k.M = numel(as[:len(as)-1])
		k.aOff, k.bOff = []int{0}, []int{0}
	} else {
		ia, ib := broadcastIndex(batch, as[:len(as)-2]), broadcastIndex(batch, bs[:len(bs)-2])
		for p := range ia {
			k.aOff = append(k.aOff, int(ia[p])*M*K)
			k.bOff = append(k.bOff, int(ib[p])*K*N)
		}
	}
	out := append([]int(nil), batch...)
	if len(a.shape) > 1 {
		out = append(out, M)
	}
	if len(bb.shape) > 1 {
		out = append(out, N)
	}
	k.y.shape = out
	if err := k.prepare(b); err != nil {
		return nil, err
	}
	if b.n.mmBias != "" || b.n.act != kernels.ActNone {
		if err := k.fuseEpilogue(b); err != nil {
			return nil, err
		}
	}
	return k, nil
}
