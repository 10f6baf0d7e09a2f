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

	g kernels.GEMM
	e *engine

	gemvA, gemvB, gemvY []float32 // per-call operands of gemvTask
}

// packAStrided packs the M×K matrix A[i][k] = a[i·rs + k·cs] into mr-row
// panels (the layout of kernels.PackA), zero-padding the last panel.
func packAStrided(dst, a []float32, M, K, rs, cs int) {
	panels := (M + kernels.MR - 1) / kernels.MR
	for p := 0; p < panels; p++ {
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
			continue
		}
		if k.M == 1 && k.bConst != nil && k.a.data != nil && k.aPacked == nil {
			// one row (a classifier's Gemm): y = Σ_k a[k]·B[k,:] streams
			// B once instead of packing it for a 4-row tile
			k.gemvA, k.gemvB, k.gemvY = k.a.data[k.aOff[p]:], k.bConst[k.bOff[p]:], yp
			e.parallel(gemvTask{k}, int64(k.N)*int64(k.K) >= 1<<16)
			continue
		}
		var ap []float32
		if k.aPacked != nil {
			ap = k.aPacked[p]
		} else {
			packAStrided(k.aBuf, k.a.data[k.aOff[p]:], k.M, k.K, k.aRS, k.aCS)
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
		k.g = kernels.GEMM{M: k.M, N: k.N, K: k.K, A: ap, B: bp, LDB: k.N, C: yp, LDC: k.N}
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
	return k, nil
}
