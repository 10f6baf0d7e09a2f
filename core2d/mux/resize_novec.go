//go:build !(goexperiment.simd && amd64)

package mux

func vblend(out []byte, h0, h1 []int32, b0, b1 int32) { vblendScalar(out, h0, h1, b0, b1) }

func vblendRows(v []int32, s0, s1 []byte, b0, b1 int32) { vblendRowsScalar(v, s0, s1, b0, b1) }

// hvecAvailable: no vector horizontal pass in this build.
var hvecAvailable = false

func hpassVec(h []int32, row []byte, base, out []int32, idx []uint8, w []int16) {}
