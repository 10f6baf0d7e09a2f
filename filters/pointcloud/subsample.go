package pointcloud

import (
	"context"
	"math/rand/v2"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// Sampler subsamples clouds to a point budget, keeping the points' order.
//
//   - Uniform keeps the points at indices ⌊k·N/B⌋ for k = 0…B−1: evenly
//     spread over the scan order (for a spinning lidar, over azimuth and ring).
//   - Random keeps a uniformly random B-subset (Floyd's algorithm over a
//     generator seeded per Sampler, so a run is repeatable), in input order.
//
// A cloud with at most B points is copied whole. Non-finite points are not
// treated specially: subsample after the filters that drop them.
type Sampler struct {
	Budget int
	Random bool
	rng    *rand.Rand
	pick   []bool
}

// NewSampler returns a sampler; seed fixes the random choices.
func NewSampler(budget int, random bool, seed uint64) *Sampler {
	return &Sampler{Budget: budget, Random: random, rng: rand.New(rand.NewPCG(seed, 0x5a3b1e))}
}

// Sample writes the kept points of src into dst and returns their number.
func (s *Sampler) Sample(dst, src *ds3d.Frame) int {
	n := src.Points()
	b := min(s.Budget, n)
	d, sv := prepare(dst, src, b)
	c := src.Shape.D[1]
	if b == n {
		copy(d, sv)
		return n
	}
	if !s.Random {
		for k := 0; k < b; k++ {
			i := k * n / b
			copy(d[k*c:(k+1)*c], sv[i*c:(i+1)*c])
		}
		return b
	}
	if cap(s.pick) < n {
		s.pick = make([]bool, n)
	}
	pick := s.pick[:n]
	clear(pick)
	// Floyd: for j = n−b … n−1 pick a random t ≤ j; take j if t is taken.
	for j := n - b; j < n; j++ {
		t := s.rng.IntN(j + 1)
		if pick[t] {
			t = j
		}
		pick[t] = true
	}
	k := 0
	for i, p := range pick {
		if p {
			copy(d[k*c:(k+1)*c], sv[i*c:(i+1)*c])
			k++
		}
	}
	return b
}

// SubsampleConfig configures subsample.
type SubsampleConfig struct {
	ds3d.InputGroup  `doc:"key of the [N,C] f32 point frame"`
	ds3d.OutputGroup `doc:"key the subsampled frame is stored under (may equal the input key)"`
	Budget           int    `toml:"points" min:"1" doc:"point budget: clouds with more points are subsampled to exactly this many"`
	Mode             string `toml:"mode" enum:"uniform|random" doc:"uniform (evenly over the scan order) or random (seeded, repeatable)"`
	Seed             int64  `toml:"seed" doc:"seed of the random mode"`
	ds3d.PoolGroup   `doc:"output frames in flight before the filter waits for one to come back"`
}

// SubsampleFilter is the subsample component.
type SubsampleFilter struct {
	keyed
	s *Sampler
}

// Process subsamples the frame.
func (f *SubsampleFilter) Process(ctx context.Context, m *ds3d.DataMap, emit ds3d.Emit) error {
	src, dst, err := f.frames(ctx, m, 3)
	if err != nil {
		return err
	}
	f.s.Sample(dst, src)
	m.SetFrame(f.out, dst)
	return emit(m)
}

func init() {
	ds3d.Register(ds3d.KindFilter, "subsample",
		`Subsamples a cloud to a point budget, keeping the point order: uniform (every N/B-th point) or random (a seeded uniform subset).`,
		func() *SubsampleConfig {
			return &SubsampleConfig{InputGroup: ds3d.InputGroup{InputKey: string(ds3d.KeyLidarXYZI)}, OutputGroup: ds3d.OutputGroup{OutputKey: string(ds3d.KeyLidarXYZI)},
				Budget: 16384, Mode: "uniform", PoolGroup: ds3d.PoolGroup{MemPoolSize: 4}}
		},
		func(c *SubsampleConfig, _ *ds3d.Env) (any, error) {
			k, err := newKeyed(c.InputKey, c.OutputKey, c.MemPoolSize)
			if err != nil {
				return nil, err
			}
			return &SubsampleFilter{keyed: k, s: NewSampler(c.Budget, c.Mode == "random", uint64(c.Seed))}, nil
		})
}
