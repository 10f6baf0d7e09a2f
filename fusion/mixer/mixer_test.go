package mixer

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// stream makes one input's timestamps: a sensor at hz with ±jitter ns and
// a fraction of frames lost.
func stream(r *rand.Rand, hz float64, n int, jitter int64, loss float64, offset int64) []int64 {
	var out []int64
	period := int64(1e9 / hz)
	for k := 0; k < n; k++ {
		if r.Float64() < loss {
			continue
		}
		t := offset + int64(k)*period
		if jitter > 0 {
			t += r.Int63n(2*jitter+1) - jitter
		}
		out = append(out, t)
	}
	return out
}

// arrival interleaves the inputs in a random order that keeps each input's
// own order, except that with probability swap two neighbours of one input
// are exchanged (an out-of-order arrival the mixer must drop).
func arrival(r *rand.Rand, in [][]int64, swap float64) [][2]int64 {
	seqs := make([][]int64, len(in))
	for p := range in {
		seqs[p] = append([]int64(nil), in[p]...)
		for k := 1; k < len(seqs[p]); k++ {
			if r.Float64() < swap {
				seqs[p][k-1], seqs[p][k] = seqs[p][k], seqs[p][k-1]
			}
		}
	}
	var out [][2]int64
	idx := make([]int, len(in))
	for {
		var live []int
		for p := range seqs {
			if idx[p] < len(seqs[p]) {
				live = append(live, p)
			}
		}
		if len(live) == 0 {
			return out
		}
		p := live[r.Intn(len(live))]
		out = append(out, [2]int64{int64(p), seqs[p][idx[p]]})
		idx[p]++
	}
}

// accepted is what the mixer keeps of an arrival order: per input, the
// arrivals later than every earlier arrival (others are out of order).
func accepted(n int, arr [][2]int64) [][]int64 {
	out := make([][]int64, n)
	last := make([]int64, n)
	for i := range last {
		last[i] = math.MinInt64
	}
	for _, a := range arr {
		p, t := a[0], a[1]
		if t > last[p] {
			out[p] = append(out[p], t)
			last[p] = t
		}
	}
	return out
}

// bruteApprox is the reference: the sets approximate_time must publish,
// by exhaustive search over every combination at each step.
func bruteApprox(in [][]int64, maxSpan int64) [][]int64 {
	rem := make([][]int64, len(in))
	for p := range in {
		rem[p] = append([]int64(nil), in[p]...)
	}
	var sets [][]int64
	for {
		for p := range rem {
			if len(rem[p]) == 0 {
				return sets
			}
		}
		pivot, T := 0, int64(math.MinInt64)
		op, ot := 0, int64(math.MaxInt64)
		for p := range rem {
			if rem[p][0] > T {
				pivot, T = p, rem[p][0]
			}
			if rem[p][0] < ot {
				op, ot = p, rem[p][0]
			}
		}
		// The oldest datamap cannot be in any set within max_interval once
		// the pivot's input (all ≥ T) is further away: dropped.
		if maxSpan != math.MaxInt64 && T-ot > maxSpan {
			rem[op] = rem[op][1:]
			continue
		}
		bestSpan, bestEnd := int64(math.MaxInt64), int64(math.MaxInt64)
		var best []int
		cur := make([]int, len(rem))
		var rec func(p int)
		rec = func(p int) {
			if p == len(rem) {
				lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
				for q := range rem {
					t := rem[q][cur[q]]
					lo, hi = min(lo, t), max(hi, t)
				}
				if s := hi - lo; s < bestSpan || (s == bestSpan && hi < bestEnd) {
					bestSpan, bestEnd = s, hi
					best = append(best[:0], cur...)
				}
				return
			}
			if p == pivot {
				cur[p] = 0
				rec(p + 1)
				return
			}
			for k := range rem[p] {
				cur[p] = k
				rec(p + 1)
			}
		}
		rec(0)
		if bestSpan > maxSpan {
			panic("the fronts form a set within max_interval, so the best one does")
		}
		set := make([]int64, len(rem))
		for p := range rem {
			set[p] = rem[p][best[p]]
			rem[p] = rem[p][best[p]+1:]
		}
		sets = append(sets, set)
	}
}

// brutePublishOn is the reference for publish_on with unbounded waiting:
// each driving datamap takes, per other input, the nearest (ties: earlier)
// among those not older than that input's previous choice.
func brutePublishOn(in [][]int64, d int, maxSpan int64) [][]int64 {
	var sets [][]int64
	floor := make([]int64, len(in))
	for i := range floor {
		floor[i] = math.MinInt64
	}
	for _, t := range in[d] {
		set := make([]int64, len(in))
		for i := range in {
			if i == d {
				set[i] = t
				continue
			}
			best, bd, found := int64(0), int64(math.MaxInt64), false
			for _, u := range in[i] {
				if u < floor[i] {
					continue
				}
				dd := u - t
				if dd < 0 {
					dd = -dd
				}
				if dd < bd {
					best, bd, found = u, dd, true
				}
			}
			if found && bd <= maxSpan {
				set[i] = best
				floor[i] = best
			} else {
				set[i] = absent
			}
		}
		sets = append(sets, set)
	}
	return sets
}

// absent marks an input missing from a set (timestamps may be negative).
const absent = math.MinInt64

// runMixer feeds an arrival order through a mixer and returns the
// published sets as per-input timestamps (-1 for an absent input).
func runMixer(t *testing.T, cfg Config, n int, arr [][2]int64, closeAt map[int]int) ([][]int64, *Mixer) {
	t.Helper()
	x, err := New(&cfg, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sets [][]int64
	emit := func(m *ds3d.DataMap) error {
		set := make([]int64, n)
		for p := 0; p < n; p++ {
			set[p] = absent
			if v, err := m.Int64(ds3d.Key("T").Port(p)); err == nil {
				set[p] = v
			}
		}
		sets = append(sets, set)
		m.Release()
		return nil
	}
	ctx := context.Background()
	count := make([]int, n)
	for _, a := range arr {
		m := ds3d.NewDataMap()
		m.SetTimestamp(a[1])
		m.SetInt64("T", a[1])
		if err := x.Push(ctx, int(a[0]), m, emit); err != nil {
			t.Fatal(err)
		}
		count[a[0]]++
	}
	for p := 0; p < n; p++ {
		if err := x.ClosePort(ctx, p, emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(ctx, emit); err != nil {
		t.Fatal(err)
	}
	return sets, x
}

func TestApproximateTimeMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for trial := 0; trial < 300; trial++ {
		n := 2 + r.Intn(3)
		in := make([][]int64, n)
		for p := range in {
			hz := []float64{10, 12, 20, 7.5}[r.Intn(4)]
			in[p] = stream(r, hz, 15+r.Intn(10), 20e6, 0.05+0.1*r.Float64(), r.Int63n(50e6))
		}
		arr := arrival(r, in, 0.05)
		var maxSpan int64 = math.MaxInt64
		cfg := Config{Policy: PolicyApproximateTime, QueueSize: 1 << 20, RenameKeys: true}
		if trial%2 == 1 {
			cfg.MaxIntervalMs = float64(20 + r.Intn(60))
			maxSpan = int64(cfg.MaxIntervalMs * 1e6)
		}
		got, x := runMixer(t, cfg, n, arr, nil)
		want := bruteApprox(accepted(n, arr), maxSpan)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d (n=%d max=%v):\n got %v\nwant %v", trial, n, cfg.MaxIntervalMs, got, want)
		}
		// Every arrival is either in a published set or counted as dropped.
		used := 0
		for _, s := range got {
			used += len(s)
		}
		if uint64(used)+x.Dropped() != uint64(len(arr)) {
			t.Fatalf("trial %d: %d used + %d dropped ≠ %d arrived", trial, used, x.Dropped(), len(arr))
		}
		for _, s := range got {
			lo, hi := s[0], s[0]
			for _, v := range s {
				lo, hi = min(lo, v), max(hi, v)
			}
			if hi-lo > maxSpan {
				t.Fatalf("set %v spans %d > max %d", s, hi-lo, maxSpan)
			}
		}
		for k := 1; k < len(got); k++ {
			for p := range got[k] {
				if got[k][p] <= got[k-1][p] {
					t.Fatalf("sets cross: %v then %v", got[k-1], got[k])
				}
			}
		}
	}
}

func TestPublishOnMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for trial := 0; trial < 300; trial++ {
		n := 2 + r.Intn(5) // lidar + up to 5 cameras
		in := make([][]int64, n)
		in[0] = stream(r, 10, 20, 5e6, 0.05, 0)
		for p := 1; p < n; p++ {
			in[p] = stream(r, 12, 24, 20e6, 0.05, r.Int63n(80e6))
		}
		arr := arrival(r, in, 0)
		cfg := Config{Policy: PolicyPublishOn, PublishOn: 0, QueueSize: 1 << 20, RenameKeys: true, MaxIntervalMs: 60}
		got, _ := runMixer(t, cfg, n, arr, nil)
		want := brutePublishOn(accepted(n, arr), 0, 60e6)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("trial %d:\n got %v\nwant %v", trial, got, want)
		}
	}
}

func TestForceSyncDropsIncompleteSets(t *testing.T) {
	// Camera frames only near the second lidar sweep: the first is dropped.
	arr := [][2]int64{{0, 0}, {0, 100e6}, {1, 98e6}, {1, 300e6}, {0, 200e6}}
	cfg := Config{Policy: PolicyPublishOn, QueueSize: 8, RenameKeys: true, MaxIntervalMs: 20, ForceSync: true}
	got, x := runMixer(t, cfg, 2, arr, nil)
	if fmt.Sprint(got) != "[[100000000 98000000]]" {
		t.Errorf("sets %v", got)
	}
	if x.Dropped() != 3 { // lidar 0 and 200 ms unmatched, camera 300 ms never used
		t.Errorf("dropped %d, want 3", x.Dropped())
	}
}

func TestQueueBoundDropsOldest(t *testing.T) {
	cfg := Config{Policy: PolicyApproximateTime, QueueSize: 3, RenameKeys: true}
	var arr [][2]int64
	for k := int64(0); k < 10; k++ {
		arr = append(arr, [2]int64{0, k * 10e6})
	}
	arr = append(arr, [2]int64{1, 95e6})
	got, x := runMixer(t, cfg, 2, arr, nil)
	// Input 0 holds only 70, 80, 90 ms when input 1's 95 ms arrives.
	if fmt.Sprint(got) != "[[90000000 95000000]]" || x.Dropped() != 9 {
		t.Errorf("sets %v, dropped %d", got, x.Dropped())
	}
}

func TestKeysRenamedAndTimestamps(t *testing.T) {
	cfg := Config{Policy: PolicyApproximateTime, QueueSize: 4, RenameKeys: true, KeepPortSuffix: true}
	x, _ := New(&cfg, 2, nil)
	var out *ds3d.DataMap
	emit := func(m *ds3d.DataMap) error { out = m; return nil }
	a := ds3d.NewDataMap()
	a.SetTimestamp(1000)
	a.SetFrame(ds3d.KeyLidarXYZI, ds3d.NewLidarFrame(2))
	b := ds3d.NewDataMap()
	b.SetTimestamp(1500)
	b.Set(ds3d.KeyColorFrame.Sensor(2), "img")
	ctx := context.Background()
	x.Push(ctx, 0, a, emit)
	x.Push(ctx, 1, b, emit)
	x.Flush(ctx, emit)
	if out == nil {
		t.Fatal("no set")
	}
	keys := out.Keys(nil)
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	want := "[DS3D::ColorFrame_2+1 DS3D::LidarXYZI+0 DS3D::Timestamp DS3D::Timestamp+0 DS3D::Timestamp+1]"
	if fmt.Sprint(keys) != want {
		t.Errorf("keys %v\nwant %s", keys, want)
	}
	if ts, _ := out.Timestamp(); ts != 1500 {
		t.Errorf("set timestamp %d, want the latest member's 1500", ts)
	}
	out.Release()
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		n    int
		want string
	}{
		{Config{Policy: "nearest", QueueSize: 1}, 2, "policy"},
		{Config{Policy: PolicyPublishOn, PublishOn: 3, QueueSize: 1}, 2, "port 3 does not exist"},
		{Config{Policy: PolicyApproximateTime, QueueSize: 0}, 2, "queue_size"},
		{Config{Policy: PolicyApproximateTime, QueueSize: 1, LowerBoundMs: []float64{1, 2, 3}}, 2, "3 entries for 2 inputs"},
	} {
		err := ds3d.CheckConfig(&c.cfg)
		if err == nil {
			_, err = New(&c.cfg, c.n, nil)
		}
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// A loader with a pool of two frames must never starve behind publish_on:
// the bevfusion case — a lidar (10 Hz, at 47.95 ms) driving, cameras at
// 10 Hz (12.46 ms) and 12 Hz — replayed in time order, each datamap
// holding a pooled frame. Every push must find a free frame (a loader
// blocked on its pool while the mixer waits for its next datamap is a
// stalled pipeline) and every lidar sweep is published.
func TestPublishOnSmallUpstreamPool(t *testing.T) {
	for _, camHz := range []float64{10, 12} {
		cfg := Config{Policy: PolicyPublishOn, PublishOn: 0, QueueSize: 16, RenameKeys: true, MaxIntervalMs: 50, ForceSync: true}
		x, err := New(&cfg, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		pools := make([]*ds3d.FramePool, 2)
		for p := range pools {
			if pools[p], err = ds3d.NewFramePool(2, func() *ds3d.Frame { return ds3d.NewLidarFrame(1) }); err != nil {
				t.Fatal(err)
			}
		}
		published := 0
		emit := func(m *ds3d.DataMap) error { published++; m.Release(); return nil }
		type ev struct {
			p  int
			ts int64
		}
		var evs []ev
		for k := 0; k < 40; k++ {
			evs = append(evs, ev{0, 47_950_000 + int64(k)*100_000_000})
		}
		for k := 0; k < int(40*camHz/10); k++ {
			evs = append(evs, ev{1, 12_460_000 + int64(float64(k)*1e9/camHz)})
		}
		sort.SliceStable(evs, func(a, b int) bool { return evs[a].ts < evs[b].ts })
		ctx := context.Background()
		for i, e := range evs {
			f := pools[e.p].TryGet()
			if f == nil {
				t.Fatalf("camera %v Hz: event %d (port %d at %d ns): the port's pool of 2 is empty — the mixer holds every frame and the loader would block forever", camHz, i, e.p, e.ts)
			}
			m := ds3d.NewDataMap()
			m.SetTimestamp(e.ts)
			m.SetFrame("F", f)
			if err := x.Push(ctx, e.p, m, emit); err != nil {
				t.Fatal(err)
			}
		}
		for p := 0; p < 2; p++ {
			if err := x.ClosePort(ctx, p, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := x.Flush(ctx, emit); err != nil {
			t.Fatal(err)
		}
		if published != 40 {
			t.Errorf("camera %v Hz: %d of 40 lidar sweeps published", camHz, published)
		}
	}
}
