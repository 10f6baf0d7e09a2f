//go:build goexperiment.simd && amd64

package mux

import (
	"simd/archsimd"
	"unsafe"
)

// useAVX512 selects the vector vertical pass: sixteen int32 lanes per step,
// narrowed to bytes with VPMOVDB.
var useAVX512 = archsimd.X86.AVX512()

// hvecAvailable selects the vector horizontal pass, which needs VPERMB
// (AVX-512 VBMI).
var hvecAvailable = useAVX512 && archsimd.X86.AVX512VBMI()

// hpassVec is the horizontal pass of the vector blocks (Resizer.prepVec):
// per 16 output values, VPERMB gathers each value's two taps side by side
// from the block's 64-byte window, they widen to 16 bits, and VPMADDWD
// against the (a, 2^11 − a) weight pairs gives the 16 int32 sums — the
// scalar pass's products, exactly.
func hpassVec(h []int32, row []byte, base, out []int32, idx []uint8, w []int16) {
	idx, w, out = idx[:len(base)*64], w[:len(base)*32], out[:len(base)]
	for k, b := range base {
		win := archsimd.LoadUint8x64Slice(row[b : b+64])
		ix := archsimd.LoadUint8x64Slice(idx[k*64 : k*64+64])
		wt := archsimd.LoadInt16x32Slice(w[k*32 : k*32+32])
		p := win.Permute(ix).GetLo().ExtendToUint16().AsInt16x32()
		o := out[k]
		p.DotProductPairs(wt).StoreSlice(h[o : o+16])
	}
}

// vblend is the vertical pass, 16 bytes per step on AVX-512.
func vblend(out []byte, h0, h1 []int32, b0, b1 int32) {
	if !useAVX512 || len(out) < 16 {
		vblendScalar(out, h0, h1, b0, b1)
		return
	}
	n := len(out)
	h0, h1 = h0[:n], h1[:n]
	o8 := unsafe.Slice((*int8)(unsafe.Pointer(&out[0])), n)
	vb0, vb1 := archsimd.BroadcastInt32x16(b0), archsimd.BroadcastInt32x16(b1)
	round := archsimd.BroadcastInt32x16(1 << (2*coefBits - 1))
	i := 0
	for ; i+16 <= n; i += 16 {
		a := archsimd.LoadInt32x16Slice(h0[i : i+16])
		b := archsimd.LoadInt32x16Slice(h1[i : i+16])
		v := a.Mul(vb0).Add(b.Mul(vb1)).Add(round).ShiftAllRight(2 * coefBits)
		v.TruncateToInt8().StoreSlice(o8[i : i+16])
	}
	if i < n {
		vblendScalar(out[i:], h0[i:], h1[i:], b0, b1)
	}
}

// vblendRows is the vertical-first blend, 16 bytes per step on AVX-512.
func vblendRows(v []int32, s0, s1 []byte, b0, b1 int32) {
	if !useAVX512 || len(v) < 16 {
		vblendRowsScalar(v, s0, s1, b0, b1)
		return
	}
	n := len(v)
	s0, s1 = s0[:n], s1[:n]
	vb0, vb1 := archsimd.BroadcastUint32x16(uint32(b0)), archsimd.BroadcastUint32x16(uint32(b1))
	i := 0
	for ; i+16 <= n; i += 16 {
		a := archsimd.LoadUint8x16Slice(s0[i : i+16]).ExtendToUint32()
		b := archsimd.LoadUint8x16Slice(s1[i : i+16]).ExtendToUint32()
		a.Mul(vb0).Add(b.Mul(vb1)).AsInt32x16().StoreSlice(v[i : i+16])
	}
	if i < n {
		vblendRowsScalar(v[i:], s0[i:], s1[i:], b0, b1)
	}
}
