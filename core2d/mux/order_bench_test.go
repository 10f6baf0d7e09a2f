package mux

import (
	"fmt"
	"testing"
)

// BenchmarkResizeOrder compares the two pass orders on one geometry, to
// check NewResizer's choice.
func BenchmarkResizeOrder(b *testing.B) {
	src := make([]byte, 768*576*3)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for _, sz := range [][2]int{{640, 384}, {416, 416}, {1280, 960}} {
		for _, vf := range []bool{false, true} {
			b.Run(fmt.Sprintf("%dx%d-vfirst=%v", sz[0], sz[1], vf), func(b *testing.B) {
				rz, _ := NewResizer(768, 576, sz[0], sz[1], 3)
				rz.vfirst = vf
				rz.vrow = make([]int32, 768*3)
				dst := make([]byte, sz[0]*sz[1]*3)
				for b.Loop() {
					rz.Resize(dst, sz[0]*3, src, 768*3)
				}
			})
		}
	}
}
