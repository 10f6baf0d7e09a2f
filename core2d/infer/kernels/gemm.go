package kernels

// The GEMM computes C[M×N] = A[M×K]·B[K×N] (+ bias per row, + activation)
// with A packed once at compile time into row panels of MR rows
// (a[(p·K + k)·MR + r] = A[p·MR+r][k], zero-padded) and B packed per
// KCBlock×NCBlock block into column panels of NR columns
// (pack[(jp·kc + k)·NR + j] = B[k0+k][j0+jp·NR+j]), as in Goto & van de Geijn,
// "Anatomy of high-performance matrix multiplication" (TOMS 2008). The
// MR×NR micro-kernel keeps the C tile in registers across the k loop.
// MR and NR (the micro-kernel's tile) are set by the kernel set compiled
// in (kernels_simd.go or kernels_portable.go).
const (
	KCBlock = 256
	NCBlock = 256
)

// PackA packs the row-major M×K matrix w into MR-row panels.
func PackA(w []float32, M, K int) []float32 {
	panels := (M + MR - 1) / MR
	a := make([]float32, panels*K*MR)
	for p := 0; p < panels; p++ {
		for k := 0; k < K; k++ {
			for r := 0; r < MR; r++ {
				if row := p*MR + r; row < M {
					a[(p*K+k)*MR+r] = w[row*K+k]
				}
			}
		}
	}
	return a
}

// PackB packs rows k0..k0+kc, columns j0..j0+nc of B (row stride ldb) into
// NR-column panels, zero-padding the last one.
func PackB(dst, b []float32, ldb, k0, kc, j0, nc int) {
	for jp := 0; jp*NR < nc; jp++ {
		cols := min(NR, nc-jp*NR)
		d := dst[jp*kc*NR : (jp+1)*kc*NR]
		src := j0 + jp*NR
		if cols == NR {
			for k := 0; k < kc; k++ {
				row := b[(k0+k)*ldb+src : (k0+k)*ldb+src+NR]
				copy(d[k*NR:k*NR+NR], row)
			}
			continue
		}
		for k := 0; k < kc; k++ {
			row := b[(k0+k)*ldb+src : (k0+k)*ldb+src+cols]
			dd := d[k*NR : k*NR+NR]
			copy(dd, row)
			clear(dd[cols:])
		}
	}
}

// im2colBlock writes rows k0..k0+kc, columns j0..j0+nc of the im2col
// matrix of one group's input x into dst (row stride nc): row (c, ky, kx),
// column (oy, ox) holds x[c][oy·SH−PT+ky·DH][ox·SW−PL+kx·DW], zero outside
// the input. Each row is cut into runs that stay in one output row; with
// stride 1 a run is one copy between zeroed edges.
func im2colBlock(dst []float32, g *ConvGeom, x []float32, k0, kc, j0, nc int) {
	khw := g.KH * g.KW
	oy0, ox0 := j0/g.OW, j0%g.OW
	for k := 0; k < kc; k++ {
		kk := k0 + k
		c, r := kk/khw, kk%khw
		ky, kx := r/g.KW, r%g.KW
		dd := dst[k*nc : (k+1)*nc]
		plane := x[c*g.H*g.W : (c+1)*g.H*g.W]
		oy, ox := oy0, ox0
		for j := 0; j < nc; {
			seg := min(nc-j, g.OW-ox)
			run := dd[j : j+seg]
			iy := oy*g.SH - g.PT + ky*g.DH
			switch {
			case iy < 0 || iy >= g.H:
				clear(run)
			case g.SW == 1:
				ix0 := ox - g.PL + kx*g.DW
				lo, hi := max(0, -ix0), min(seg, g.W-ix0)
				if hi <= lo {
					clear(run)
					break
				}
				clear(run[:lo])
				copy(run[lo:hi], plane[iy*g.W+ix0+lo:iy*g.W+ix0+hi])
				clear(run[hi:])
			default:
				// ix = ix0 + i·SW: the run is zero before lo and from hi on
				src := plane[iy*g.W : (iy+1)*g.W]
				ix0 := ox*g.SW - g.PL + kx*g.DW
				lo, hi := 0, 0
				if ix0 < 0 {
					lo = (-ix0 + g.SW - 1) / g.SW
				}
				if g.W > ix0 {
					hi = (g.W - ix0 + g.SW - 1) / g.SW
				}
				lo, hi = min(lo, seg), min(hi, seg)
				if hi <= lo {
					clear(run)
					break
				}
				clear(run[:lo])
				a := ix0 + lo*g.SW
				if g.SW == 2 { // the stem's and downsampling convolutions
					Gather2(run[lo:hi], src[a:])
				} else {
					for i := range run[lo:hi] {
						run[lo+i] = src[a+i*g.SW]
					}
				}
				clear(run[hi:])
			}
			j += seg
			if ox += seg; ox == g.OW {
				ox = 0
				oy++
			}
		}
	}
}

// GEMM holds one GEMM's operands: C[M×N] = act(A·B + bias) with A packed
// by PackA and B row-major with row stride LDB (or, when Conv is set, the
// im2col matrix of the input X of one group of that convolution, built
// block by block on the fly).
type GEMM struct {
	M, N, K int
	A       []float32 // packed A
	B       []float32 // B, row stride LDB
	LDB     int
	C       []float32 // C, row stride LDC
	LDC     int
	Bias    []float32 // nil or M values
	Act     Activation
	// ColBias (nil or N values, one per column) and then Post are applied
	// to each finished tile while it is in cache: a MatMul's bias Add and
	// the GELU (or other activation) after it (infer's fuseMatMul).
	ColBias []float32
	Post    Activation
	Conv    *ConvGeom // when set, B is the im2col matrix of X, packed on the fly
	X       []float32
}

// zeroBias8 is the bias of a tile without one (or after the first K block).
var zeroBias8 [2 * MR]float32

// PackSize is the per-worker scratch of GEMM.Run: an im2col block and a
// ragged edge panel.
const PackSize = KCBlock*NCBlock + KCBlock*NR

// Run computes columns j0..j1 of C using pack (PackSize floats of scratch).
// Loop order (outer to inner): column blocks of NCBlock, K blocks of
// KCBlock, NR-column panels of B, MR-row panels of A — a B panel stays in
// L1 while every A panel passes over it. B is read in place with its row
// stride: the input itself for a 1×1 convolution, an im2col block (built
// per column and K block) otherwise; only a ragged last panel is packed.
func (g *GEMM) Run(j0, j1 int, pack []float32) {
	block, edge := pack[:KCBlock*NCBlock], pack[KCBlock*NCBlock:PackSize]
	panels := (g.M + MR - 1) / MR
	var tile [MR * NR]float32
	var tile8 [2 * MR * NR]float32
	var edgeBias [MR]float32
	epi := g.ColBias != nil || g.Post != ActNone
	for jb := j0; jb < j1; jb += NCBlock {
		nc := min(NCBlock, j1-jb)
		for kb := 0; kb < g.K; kb += KCBlock {
			kc := min(KCBlock, g.K-kb)
			// B rows kb.. as src[(k0+k)·ld + col−col0]
			src, ld, k0, col0 := g.B, g.LDB, kb, 0
			if g.Conv != nil {
				im2colBlock(block, g.Conv, g.X, kb, kc, jb, nc)
				src, ld, k0, col0 = block, nc, 0, jb
			}
			first, last := kb == 0, kb+kc >= g.K
			act := ActNone
			if last && kernelFusesAct {
				act = g.Act
			}
			for jp := 0; jp*NR < nc; jp++ {
				cols := min(NR, nc-jp*NR)
				col := jb + jp*NR
				var bp []float32
				ldb := NR
				if cols == NR {
					bp, ldb = src[k0*ld+col-col0:], ld
				} else {
					PackB(edge, src, ld, k0, kc, col-col0, cols)
					bp = edge[:kc*NR]
				}
				for p := 0; p < panels; p++ {
					rows := min(MR, g.M-p*MR)
					ap := g.A[(p*g.K+kb)*MR : (p*g.K+kb+kc)*MR]
					if pair8 && (p+2)*MR <= g.M { // two full panels: the 8×32 kernel
						ap1 := g.A[((p+1)*g.K+kb)*MR : ((p+1)*g.K+kb+kc)*MR]
						bias8 := zeroBias8[:]
						if g.Bias != nil && first {
							bias8 = g.Bias[p*MR : p*MR+2*MR]
						}
						c0 := p*MR*g.LDC + col
						if cols == NR {
							microKernel8(kc, ap, ap1, bp, ldb, g.C[c0:], g.LDC, bias8, !first, act)
							if last && epi {
								g.epilogue(c0, 2*MR, col, cols)
							}
						} else { // a ragged last panel (13×13 planes: 9 of 169 columns) through a tile
							if !first {
								for r := 0; r < 2*MR; r++ {
									copy(tile8[r*NR:r*NR+cols], g.C[c0+r*g.LDC:c0+r*g.LDC+cols])
								}
							}
							microKernel8(kc, ap, ap1, bp, ldb, tile8[:], NR, bias8, !first, act)
							for r := 0; r < 2*MR; r++ {
								copy(g.C[c0+r*g.LDC:c0+r*g.LDC+cols], tile8[r*NR:r*NR+cols])
							}
							if last && epi {
								g.epilogue(c0, 2*MR, col, cols)
							}
						}
						p++
						continue
					}
					var bias []float32
					switch {
					case g.Bias == nil || !first:
						clear(edgeBias[:])
						bias = edgeBias[:]
					case rows == MR:
						bias = g.Bias[p*MR : p*MR+MR]
					default:
						clear(edgeBias[:])
						copy(edgeBias[:], g.Bias[p*MR:p*MR+rows])
						bias = edgeBias[:]
					}
					c0 := p*MR*g.LDC + col
					if rows == MR && cols == NR {
						microKernel(kc, ap, bp, ldb, g.C[c0:], g.LDC, bias, !first, act)
						if last && epi {
							g.epilogue(c0, rows, col, cols)
						}
						continue
					}
					if !first {
						for r := 0; r < rows; r++ {
							copy(tile[r*NR:r*NR+cols], g.C[c0+r*g.LDC:c0+r*g.LDC+cols])
						}
					}
					microKernel(kc, ap, bp, ldb, tile[:], NR, bias, !first, act)
					for r := 0; r < rows; r++ {
						copy(g.C[c0+r*g.LDC:c0+r*g.LDC+cols], tile[r*NR:r*NR+cols])
					}
					if last && epi {
						g.epilogue(c0, rows, col, cols)
					}
				}
			}
		}
		if g.Act != ActNone && !kernelFusesAct {
			for r := 0; r < g.M; r++ {
				ApplyAct(g.Act, g.C[r*g.LDC+jb:r*g.LDC+jb+nc])
			}
		}
	}
}

// epilogue adds ColBias and applies Post to rows×cols of C from element c0
// (column col), a tile the micro-kernel has just finished.
func (g *GEMM) epilogue(c0, rows, col, cols int) {
	for r := 0; r < rows; r++ {
		row := g.C[c0+r*g.LDC : c0+r*g.LDC+cols]
		if g.ColBias != nil {
			Add(row, row, g.ColBias[col:col+cols])
		}
		ApplyAct(g.Post, row)
	}
}
