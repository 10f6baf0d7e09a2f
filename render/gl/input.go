//go:build cgo

package gl

import (
	"github.com/go-gl/glfw/v3.3/glfw"
)

// Interactive controls of a shown window (all run on the GL thread, from
// glfw.PollEvents):
//
//	left drag     orbit about the target (perspective) / pan (BEV)
//	right drag    pan
//	scroll        zoom
//	R             reset the view to the config's
//	space         pause / resume
//	N or →        step one frame while paused
//	S             screenshot (output_dir or the working folder)
//	Esc or Q      close the window (Render then returns ErrWindowClosed)
func (r *Renderer) bindInput() {
	w := r.win
	w.SetKeyCallback(func(_ *glfw.Window, key glfw.Key, _ int, action glfw.Action, _ glfw.ModifierKey) {
		if action != glfw.Press && action != glfw.Repeat {
			return
		}
		switch key {
		case glfw.KeyEscape, glfw.KeyQ:
			w.SetShouldClose(true)
		case glfw.KeyR:
			r.cam, r.camMoved = newOrbit(&r.cfg), false
			r.redraw()
		case glfw.KeySpace:
			r.paused = !r.paused
		case glfw.KeyN, glfw.KeyRight:
			r.step = true
		case glfw.KeyS:
			r.screenshot()
		}
	})
	w.SetMouseButtonCallback(func(_ *glfw.Window, b glfw.MouseButton, action glfw.Action, _ glfw.ModifierKey) {
		down := action == glfw.Press
		switch b {
		case glfw.MouseButtonLeft:
			r.dragL = down
		case glfw.MouseButtonRight, glfw.MouseButtonMiddle:
			r.dragR = down
		}
		r.dragX, r.dragY = w.GetCursorPos()
	})
	w.SetCursorPosCallback(func(_ *glfw.Window, x, y float64) {
		dx, dy := x-r.dragX, y-r.dragY
		r.dragX, r.dragY = x, y
		if !r.dragL && !r.dragR {
			return
		}
		ww, wh := w.GetSize()
		bev := r.cfg.View == ViewBEV
		switch {
		case r.dragL && !bev:
			r.cam.rotate(-dx*0.005, dy*0.005)
		default:
			r.cam.pan(bev, dx/float64(max(ww, 1)), dy/float64(max(wh, 1)))
		}
		r.camMoved = true
		r.redraw()
	})
	w.SetScrollCallback(func(_ *glfw.Window, _, dy float64) {
		k := 0.9
		if dy < 0 {
			k = 1 / k
		}
		r.cam.zoom(r.cfg.View == ViewBEV, k)
		r.camMoved = true
		r.redraw()
	})
}

// redraw paints the current frame again after a view change.
func (r *Renderer) redraw() {
	r.paint()
	r.sc.present(r.win)
}
