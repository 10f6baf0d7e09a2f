package infer

// The GEMM computes C[M×N] = A[M×K]·B[K×N] (+ bias per row, + activation)
// with A packed once at compile time into row panels of mr rows
// (a[(p·K + k)·mr + r] = A[p·mr+r][k], zero-padded) and B packed per
// kcBlock×ncBlock block into column panels of nr columns
// (pack[(jp·kc + k)·nr + j] = B[k0+k][j0+jp·nr+j]), as in Goto & van de Geijn,
// "Anatomy of high-performance matrix multiplication" (TOMS 2008). The
// mr×nr micro-kernel keeps the C tile in registers across the k loop.
// mr and nr (the micro-kernel's tile) are set by the kernel set compiled
// in (kernels_simd.go or kernels_portable.go).
const (
	kcBlock = 256
	ncBlock = 256
)

// packA packs the row-major M×K matrix w into mr-row panels.
func packA(w []float32, M, K int) []float32 {
	panels := (M + mr - 1) / mr
	a := make([]float32, panels*K*mr)
	for p := 0; p < panels; p++ {
		for k := 0; k < K; k++ {
			for r := 0; r < mr; r++ {
				if row := p*mr + r; row < M {
					a[(p*K+k)*mr+r] = w[row*K+k]
				}
			}
		}
	}
	return a
}

// packB packs rows k0..k0+kc, columns j0..j0+nc of B (row stride ldb) into
// nr-column panels, zero-padding the last one.
func packB(dst, b []float32, ldb, k0, kc, j0, nc int) {
	for jp := 0; jp*nr < nc; jp++ {
		cols := min(nr, nc-jp*nr)
		d := dst[jp*kc*nr : (jp+1)*kc*nr]
		src := j0 + jp*nr
		if cols == nr {
			for k := 0; k < kc; k++ {
				row := b[(k0+k)*ldb+src : (k0+k)*ldb+src+nr]
				copy(d[k*nr:k*nr+nr], row)
			}
			continue
		}
		for k := 0; k < kc; k++ {
			row := b[(k0+k)*ldb+src : (k0+k)*ldb+src+cols]
			dd := d[k*nr : k*nr+nr]
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
func im2colBlock(dst []float32, g *convGeom, x []float32, k0, kc, j0, nc int) {
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
				src := plane[iy*g.W : (iy+1)*g.W]
				for i := range run {
					if ix := (ox+i)*g.SW - g.PL + kx*g.DW; ix >= 0 && ix < g.W {
						run[i] = src[ix]
					} else {
						run[i] = 0
					}
				}
			}
			j += seg
			if ox += seg; ox == g.OW {
				ox = 0
				oy++
			}
		}
	}
}

// gemm holds one GEMM's operands.
type gemm struct {
	M, N, K int
	a       []float32 // packed A
	b       []float32 // B, row stride ldb
	ldb     int
	c       []float32 // C, row stride ldc
	ldc     int
	bias    []float32 // nil or M values
	act     activation
	conv    *convGeom // when set, B is the im2col matrix of x, packed on the fly
	x       []float32
}

// zeroBias8 is the bias of a tile without one (or after the first K block).
var zeroBias8 [2 * mr]float32

// packSize is the per-worker scratch of gemm.run: an im2col block and a
// ragged edge panel.
const packSize = kcBlock*ncBlock + kcBlock*nr

// run computes columns j0..j1 of C using pack (packSize floats).
// Loop order (outer to inner): column blocks of ncBlock, K blocks of
// kcBlock, nr-column panels of B, mr-row panels of A — a B panel stays in
// L1 while every A panel passes over it. B is read in place with its row
// stride: the input itself for a 1×1 convolution, an im2col block (built
// per column and K block) otherwise; only a ragged last panel is packed.
func (g *gemm) run(j0, j1 int, pack []float32) {
	block, edge := pack[:kcBlock*ncBlock], pack[kcBlock*ncBlock:packSize]
	panels := (g.M + mr - 1) / mr
	var tile [mr * nr]float32
	var tile8 [2 * mr * nr]float32
	var edgeBias [mr]float32
	for jb := j0; jb < j1; jb += ncBlock {
		nc := min(ncBlock, j1-jb)
		for kb := 0; kb < g.K; kb += kcBlock {
			kc := min(kcBlock, g.K-kb)
			// B rows kb.. as src[(k0+k)·ld + col−col0]
			src, ld, k0, col0 := g.b, g.ldb, kb, 0
			if g.conv != nil {
				im2colBlock(block, g.conv, g.x, kb, kc, jb, nc)
				src, ld, k0, col0 = block, nc, 0, jb
			}
			first, last := kb == 0, kb+kc >= g.K
			act := actNone
			if last && kernelFusesAct {
				act = g.act
			}
			for jp := 0; jp*nr < nc; jp++ {
				cols := min(nr, nc-jp*nr)
				col := jb + jp*nr
				var bp []float32
				ldb := nr
				if cols == nr {
					bp, ldb = src[k0*ld+col-col0:], ld
				} else {
					packB(edge, src, ld, k0, kc, col-col0, cols)
					bp = edge[:kc*nr]
				}
				for p := 0; p < panels; p++ {
					rows := min(mr, g.M-p*mr)
					ap := g.a[(p*g.K+kb)*mr : (p*g.K+kb+kc)*mr]
					if pair8 && (p+2)*mr <= g.M { // two full panels: the 8×32 kernel
						ap1 := g.a[((p+1)*g.K+kb)*mr : ((p+1)*g.K+kb+kc)*mr]
						bias8 := zeroBias8[:]
						if g.bias != nil && first {
							bias8 = g.bias[p*mr : p*mr+2*mr]
						}
						c0 := p*mr*g.ldc + col
						if cols == nr {
							microKernel8(kc, ap, ap1, bp, ldb, g.c[c0:], g.ldc, bias8, !first, act)
						} else { // a ragged last panel (13×13 planes: 9 of 169 columns) through a tile
							if !first {
								for r := 0; r < 2*mr; r++ {
									copy(tile8[r*nr:r*nr+cols], g.c[c0+r*g.ldc:c0+r*g.ldc+cols])
								}
							}
							microKernel8(kc, ap, ap1, bp, ldb, tile8[:], nr, bias8, !first, act)
							for r := 0; r < 2*mr; r++ {
								copy(g.c[c0+r*g.ldc:c0+r*g.ldc+cols], tile8[r*nr:r*nr+cols])
							}
						}
						p++
						continue
					}
					var bias []float32
					switch {
					case g.bias == nil || !first:
						clear(edgeBias[:])
						bias = edgeBias[:]
					case rows == mr:
						bias = g.bias[p*mr : p*mr+mr]
					default:
						clear(edgeBias[:])
						copy(edgeBias[:], g.bias[p*mr:p*mr+rows])
						bias = edgeBias[:]
					}
					c0 := p*mr*g.ldc + col
					if rows == mr && cols == nr {
						microKernel(kc, ap, bp, ldb, g.c[c0:], g.ldc, bias, !first, act)
						continue
					}
					if !first {
						for r := 0; r < rows; r++ {
							copy(tile[r*nr:r*nr+cols], g.c[c0+r*g.ldc:c0+r*g.ldc+cols])
						}
					}
					microKernel(kc, ap, bp, ldb, tile[:], nr, bias, !first, act)
					for r := 0; r < rows; r++ {
						copy(g.c[c0+r*g.ldc:c0+r*g.ldc+cols], tile[r*nr:r*nr+cols])
					}
				}
			}
		}
		if g.act != actNone && !kernelFusesAct {
			for r := 0; r < g.M; r++ {
				applyAct(g.act, g.c[r*g.ldc+jb:r*g.ldc+jb+nc])
			}
		}
	}
}
