package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// readKITTI reads a KITTI velodyne .bin (little-endian float32 x y z
// intensity per point) into a flat slice.
func readKITTI(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of 16-byte x y z intensity points", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// Pool is the point supply of the cost curves: real scans laid over each
// other in one sensor frame, as a denser lidar would see the same streets.
type Pool struct {
	pts   []float32 // x y z intensity
	Files []string
}

// LoadPool reads every .bin file matching glob, in lexical order.
func LoadPool(glob string) (*Pool, error) {
	files, err := filepath.Glob(glob)
	if err != nil {
		return nil, fmt.Errorf("pool %s: %w", glob, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("pool %s: no files match", glob)
	}
	p := &Pool{Files: files}
	for _, f := range files {
		pts, err := readKITTI(f)
		if err != nil {
			return nil, fmt.Errorf("pool: %w", err)
		}
		p.pts = append(p.pts, pts...)
	}
	return p, nil
}

// Len is the number of points of the pool.
func (p *Pool) Len() int { return len(p.pts) / 4 }

// Cloud returns an [n,4] frame: a uniform random subset of n points of the
// pool taken in scan order (Knuth's selection sampling, so the order of the
// scans is kept), where the pool is repeated as often as n needs with each
// copy shifted 5 cm sideways in a new direction, so that no two points
// coincide. The seed fixes the subset.
func (p *Pool) Cloud(n int, seed uint64) *ds3d.Frame {
	m := p.Len()
	copies := (n + m - 1) / m
	total := copies * m
	f := ds3d.NewLidarFrame(n)
	dst := ds3d.AsFloat32(f)
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b9))
	k := 0
	for i := 0; i < total && k < n; i++ {
		// Algorithm S: take point i with probability (needed)/(left).
		if rng.IntN(total-i) >= n-k {
			continue
		}
		c, j := i/m, i%m
		var dx, dy float32
		if c > 0 {
			a := 2.39996 * float64(c) // the golden angle: copies fan out evenly
			dx, dy = float32(0.05*math.Cos(a)), float32(0.05*math.Sin(a))
		}
		s := p.pts[4*j : 4*j+4]
		d := dst[4*k : 4*k+4]
		d[0], d[1], d[2], d[3] = s[0]+dx, s[1]+dy, s[2], s[3]
		k++
	}
	return f
}
