package dstest

import "math"

// WithinFraction is the fraction of a's points with a point of b closer
// than tol metres (both [N,4] f32 x, y, z, i, flattened): how golden
// reference clouds are compared with decoded ones. A uniform grid of 5 cm
// cells answers the queries, looking at the 27 cells around a point, so
// distances below 5 cm are exact and larger ones report ≥ 5 cm (tol must be
// below 0.05).
func WithinFraction(a, b []float32, tol float64) float64 {
	g := newGrid(b, 0.05)
	n, ok := 0, 0
	for i := 0; i+3 < len(a); i += 4 {
		n++
		if g.nearest(a[i], a[i+1], a[i+2]) < tol {
			ok++
		}
	}
	return float64(ok) / float64(max(n, 1))
}

type grid struct {
	h     float64
	cells map[[3]int32][]int
	pts   []float32
}

func newGrid(pts []float32, h float64) *grid {
	g := &grid{h: h, cells: map[[3]int32][]int{}, pts: pts}
	for i := 0; i+3 < len(pts); i += 4 {
		k := g.key(pts[i], pts[i+1], pts[i+2])
		g.cells[k] = append(g.cells[k], i)
	}
	return g
}

func (g *grid) key(x, y, z float32) [3]int32 {
	return [3]int32{int32(math.Floor(float64(x) / g.h)), int32(math.Floor(float64(y) / g.h)), int32(math.Floor(float64(z) / g.h))}
}

func (g *grid) nearest(x, y, z float32) float64 {
	k := g.key(x, y, z)
	best := math.Inf(1)
	for dx := int32(-1); dx <= 1; dx++ {
		for dy := int32(-1); dy <= 1; dy++ {
			for dz := int32(-1); dz <= 1; dz++ {
				for _, i := range g.cells[[3]int32{k[0] + dx, k[1] + dy, k[2] + dz}] {
					ex, ey, ez := float64(g.pts[i]-x), float64(g.pts[i+1]-y), float64(g.pts[i+2]-z)
					best = min(best, ex*ex+ey*ey+ez*ez)
				}
			}
		}
	}
	return math.Sqrt(best)
}
