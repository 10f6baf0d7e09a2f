package kernels

// microKernelScalar computes the MR×NR tile c[r·ldc+j] = (load ? c : 0) +
// Σ_k a[k·MR+r]·b[k·ldb+j] (+ bias[r] unless load). Portable scalar version:
// 2×4 register blocks accumulated in float64, which rounds once per output
// like the fused multiply-adds of vector kernels (and of onnxruntime's).
// The bias is added after the sum, as onnxruntime does.
func microKernelScalar(kc int, a, b []float32, ldb int, c []float32, ldc int, bias []float32, load bool) {
	a = a[:kc*MR]
	b = b[:(kc-1)*ldb+NR]
	_ = c[(MR-1)*ldc+NR-1]
	for r := 0; r < MR; r += 2 {
		for j := 0; j < NR; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float64
			if load {
				c00, c01, c02, c03 = float64(c[r*ldc+j]), float64(c[r*ldc+j+1]), float64(c[r*ldc+j+2]), float64(c[r*ldc+j+3])
				c10, c11, c12, c13 = float64(c[(r+1)*ldc+j]), float64(c[(r+1)*ldc+j+1]), float64(c[(r+1)*ldc+j+2]), float64(c[(r+1)*ldc+j+3])
			}
			for k := 0; k < kc; k++ {
				ak := a[k*MR+r : k*MR+r+2 : k*MR+r+2]
				bk := b[k*ldb+j : k*ldb+j+4 : k*ldb+j+4]
				a0, a1 := float64(ak[0]), float64(ak[1])
				b0, b1, b2, b3 := float64(bk[0]), float64(bk[1]), float64(bk[2]), float64(bk[3])
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			if !load {
				b0, b1 := float64(bias[r]), float64(bias[r+1])
				c00, c01, c02, c03 = c00+b0, c01+b0, c02+b0, c03+b0
				c10, c11, c12, c13 = c10+b1, c11+b1, c12+b1, c13+b1
			}
			c[r*ldc+j], c[r*ldc+j+1], c[r*ldc+j+2], c[r*ldc+j+3] = float32(c00), float32(c01), float32(c02), float32(c03)
			c[(r+1)*ldc+j], c[(r+1)*ldc+j+1], c[(r+1)*ldc+j+2], c[(r+1)*ldc+j+3] = float32(c10), float32(c11), float32(c12), float32(c13)
		}
	}
}

// dwPlaneScalar computes dst[oy·OW+ox] = act(Σ_t w[t]·buf[oy·rowStep +
// off[t] + ox] + bias), each product added with a single rounding.
func dwPlaneScalar(dst []float32, OH, OW int, buf []float32, rowStep int, off []int, w []float32, bias float32, act Activation) {
	for oy := 0; oy < OH; oy++ {
		row := dst[oy*OW : (oy+1)*OW]
		base := oy * rowStep
		for i := range row {
			var acc float64
			for t, o := range off {
				acc += float64(w[t]) * float64(buf[base+o+i])
			}
			row[i] = float32(acc + float64(bias))
		}
		ApplyAct(act, row)
	}
}

// convTile16Scalar is the direct convolution tile (ConvTile16: 16 output
// channels × 16 pixels, c[m·ldc+j] = act(Σ_t w[t·16+m]·x[offs[t]/4+j] +
// bias[m]), offs in bytes) with each output summed in float64 and
// rounded once, like microKernelScalar.
func convTile16Scalar(w []float32, x []float32, offs []int, span int, c []float32, ldc int, bias []float32, act Activation) {
	_ = x[span-1]
	_ = w[len(offs)*16-1]
	for m := 0; m < 16; m++ {
		row := c[m*ldc : m*ldc+16]
		for j := range row {
			var acc float64
			for t, o := range offs {
				acc += float64(w[t*16+m]) * float64(x[o/4+j])
			}
			row[j] = float32(acc + float64(bias[m]))
		}
		ApplyAct(act, row)
	}
}

// dwPlaneS2Scalar is DwPlaneS2 (3×3, stride 2, plain padded rows) with
// float64 sums rounded once.
func dwPlaneS2Scalar(dst []float32, OH, OW int, buf []float32, rowLen int, w []float32, bias float32, act Activation) {
	for oy := 0; oy < OH; oy++ {
		row := dst[oy*OW : (oy+1)*OW]
		for ox := range row {
			var acc float64
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					acc += float64(w[ky*3+kx]) * float64(buf[(2*oy+ky)*rowLen+2*ox+kx])
				}
			}
			row[ox] = float32(acc + float64(bias))
		}
		ApplyAct(act, row)
	}
}

// dwSameScalar is DwSamePlane (3×3, stride 1, one pixel of zero padding)
// with float64 sums rounded once.
func dwSameScalar(dst, x []float32, H, W int, w []float32, bias float32, act Activation) {
	for oy := 0; oy < H; oy++ {
		row := dst[oy*W : (oy+1)*W]
		for ox := range row {
			var acc float64
			for ky := 0; ky < 3; ky++ {
				iy := oy + ky - 1
				if iy < 0 || iy >= H {
					continue
				}
				for kx := 0; kx < 3; kx++ {
					if ix := ox + kx - 1; ix >= 0 && ix < W {
						acc += float64(w[ky*3+kx]) * float64(x[iy*W+ix])
					}
				}
			}
			row[ox] = float32(acc + float64(bias))
		}
		ApplyAct(act, row)
	}
}

// dwFlatScalar is DwFlat with float64 sums rounded once.
func dwFlatScalar(dst, buf []float32, offs []int, w []float32, bias float32) {
	for j := range dst {
		var acc float64
		for t, o := range offs {
			acc += float64(w[t]) * float64(buf[o+j])
		}
		dst[j] = float32(acc + float64(bias))
	}
}
