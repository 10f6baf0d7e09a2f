//go:build cgo

package gl

import (
	"image/color"
	"math"
	"unsafe"

	gogl "github.com/go-gl/gl/v3.3-core/gl"

	"github.com/ds3d-go/ds3d-go/core2d/draw"
	"github.com/ds3d-go/ds3d-go/core2d/osd"
	"github.com/ds3d-go/ds3d-go/ds3d"
)

// appendAnalytics appends the line vertices of a's ground (or world)
// zones and lines at height z: each zone's outline (red while
// overcrowded), each line with an arrow from its midpoint towards its
// positive side (the side where cross(B − A, P − A) > 0, where a positive
// crossing ends), a quarter of its length long between 1 and 5 m, and a
// vertical tick of 2 m at each flagged object's anchor (red over-speed,
// magenta wrong-way). Rules in pixels are not drawn in 3D.
func appendAnalytics(v []float32, a *ds3d.Analytics, z float64) []float32 {
	if a.Space == ds3d.SpacePixels {
		return v
	}
	seg := func(v []float32, x0, y0, z0, x1, y1, z1 float64, c color.RGBA) []float32 {
		r, g, b := float32(c.R)/255, float32(c.G)/255, float32(c.B)/255
		return append(v, float32(x0), float32(y0), float32(z0), r, g, b, float32(x1), float32(y1), float32(z1), r, g, b)
	}
	for i := range a.Rules {
		r := &a.Rules[i]
		if r.Space != a.Space || (r.SourceID >= 0 && r.SourceID != a.SourceID) || len(r.Points) < 2 {
			continue
		}
		switch r.Kind {
		case ds3d.RuleZone:
			col := osd.ZoneColor
			for k := range a.Counts {
				if c := &a.Counts[k]; int(c.Rule) == i && c.ClassID < 0 && c.Overcrowded {
					col = osd.OvercrowdedColor
				}
			}
			n := len(r.Points)
			for k := 0; k < n; k++ {
				p, q := r.Points[k], r.Points[(k+1)%n]
				v = seg(v, p[0], p[1], z, q[0], q[1], z, col)
			}
		case ds3d.RuleLine:
			p, q := r.Points[0], r.Points[1]
			v = seg(v, p[0], p[1], z, q[0], q[1], z, osd.LineColor)
			dx, dy := q[0]-p[0], q[1]-p[1]
			l := math.Hypot(dx, dy)
			if !(l > 0) {
				continue
			}
			s := min(max(l/4, 1), 5) / l
			nx, ny := -dy*s, dx*s // the left normal, arrow-long
			mx, my := (p[0]+q[0])/2, (p[1]+q[1])/2
			tx, ty := mx+nx, my+ny
			v = seg(v, mx, my, z, tx, ty, z, osd.LineColor)
			const cs, sn = 0.866, 0.5 // the head's strokes at ±30°, 0.4 of the shaft
			for _, sg := range [2]float64{1, -1} {
				hx := -(nx*cs - sg*ny*sn) * 0.4
				hy := -(ny*cs + sg*nx*sn) * 0.4
				v = seg(v, tx, ty, z, tx+hx, ty+hy, z, osd.LineColor)
			}
		}
	}
	for i := range a.Objects {
		ob := &a.Objects[i]
		if !ob.OverSpeed && !ob.WrongWay {
			continue
		}
		col := osd.OverSpeedColor
		if ob.WrongWay {
			col = osd.WrongWayColor
		}
		v = seg(v, ob.Pos[0], ob.Pos[1], z, ob.Pos[0], ob.Pos[1], z+2, col)
	}
	return v
}

// drawAnalytics draws the tile's analytics geometry (appendAnalytics just
// above grid_z, the ground) through the tile's matrix, depth-tested like
// the grid.
func (s *scene) drawAnalytics(c *Config, fd *frameData, st *staging) {
	if fd.an == nil {
		return
	}
	// 5 cm above the grid: a line on a grid line (x = 10 m with a 10 m
	// grid) would otherwise z-fight with it and show dashed.
	st.lines = appendAnalytics(st.lines[:0], fd.an, c.GridZ+0.05)
	if len(st.lines) == 0 {
		return
	}
	gogl.UseProgram(s.lnProg)
	gogl.UniformMatrix4fv(s.uLnMVP, 1, false, &s.m32[0])
	gogl.BindVertexArray(s.lnVAO)
	upload(s.lnVBO, &s.lnCap, unsafe.Pointer(&st.lines[0]), len(st.lines)*4)
	gogl.DrawArrays(gogl.LINES, 0, int32(len(st.lines)/lineFloats))
}

// drawAnalyticsHUD writes the counts of the first tile's analytics result
// that has one (osd.AppendHUDRow: per zone inside, entries, exits; per
// line crossings each way) at the top left of the window, one rule a row.
func (s *scene) drawAnalyticsHUD(c *Config, fds []frameData, st *staging) {
	if !c.AnalyticsHUD {
		return
	}
	var a *ds3d.Analytics
	for i := range fds {
		if fds[i].an != nil {
			a = fds[i].an
			break
		}
	}
	if a == nil {
		return
	}
	sc := max(c.LabelScale, 1)
	y := 4
	st.text = st.text[:0]
	for k := range a.Counts {
		b, col, ok := osd.AppendHUDRow(st.lbuf[:0], a, &a.Counts[k])
		st.lbuf = b
		if !ok {
			continue
		}
		st.text = appendText(st.text, b, 4, y, sc, [3]float32{float32(col.R) / 255, float32(col.G) / 255, float32(col.B) / 255})
		y += (draw.CellHeight + 2) * sc
	}
	if len(st.text) > 0 {
		gogl.Viewport(0, 0, s.w, s.h)
		s.flushText(st.text)
	}
}

// analytics hands the datamap's analytics result to every tile that draws
// lidar (silently absent: most pipelines have none).
func (r *Renderer) analytics(in *ds3d.DataMap) error {
	k := ds3d.Key(r.cfg.AnalyticsKey)
	if k == "" || !in.Has(k) {
		return nil
	}
	a, err := ds3d.Get[*ds3d.Analytics](in, k)
	if err != nil {
		return err
	}
	for i := range r.tiles {
		if t := &r.tiles[i]; !t.texture || t.project {
			r.fd[i].an = a
		}
	}
	return nil
}
