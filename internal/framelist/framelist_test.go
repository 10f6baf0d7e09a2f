package framelist

import "testing"

func TestLoopSpanAndCount(t *testing.T) {
	three := []Entry{{TimestampNs: 100}, {TimestampNs: 200}, {TimestampNs: 400}}
	if got := LoopSpan(three, 10); got != 450 { // 300 + one mean period of 150
		t.Errorf("LoopSpan of 3 frames = %d, want 450", got)
	}
	if got := LoopSpan(three[:1], 4); got != 250_000_000 { // one frame: 1/rate_hz
		t.Errorf("LoopSpan of 1 frame at 4 Hz = %d, want 250 ms", got)
	}
	for _, c := range []struct {
		n         int
		loop      bool
		max, want int
	}{{5, false, 0, 5}, {5, false, 3, 3}, {5, false, 9, 5}, {5, true, 0, -1}, {5, true, 12, 12}} {
		if got := Count(c.n, c.loop, c.max); got != c.want {
			t.Errorf("Count(%d, %v, %d) = %d, want %d", c.n, c.loop, c.max, got, c.want)
		}
	}
}
