package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// histogram is a log-linear latency histogram: 16 linear sub-buckets per
// power of two of nanoseconds, so any quantile is within 1/16 (6 %) of the
// truth, recording costs two atomic adds (the bucket and the sum), and
// nothing allocates.
type histogram struct {
	b   [64 * 16]atomic.Uint32
	sum atomic.Int64 // nanoseconds, for a Prometheus histogram's _sum
}

func bucketOf(ns int64) int {
	if ns < 16 {
		if ns < 0 {
			return 0
		}
		return int(ns)
	}
	e := 63 - bits.LeadingZeros64(uint64(ns)) // ns in [2^e, 2^(e+1))
	sub := int(uint64(ns)>>(e-4)) & 15
	return (e-3)*16 + sub
}

// bucketUpper is the largest value a bucket holds.
func bucketUpper(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	e := i/16 + 3
	sub := int64(i % 16)
	return (16+sub+1)<<(e-4) - 1
}

func (h *histogram) record(d time.Duration) {
	h.b[bucketOf(int64(d))].Add(1)
	h.sum.Add(int64(d))
}

func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.b {
		total += uint64(h.b[i].Load())
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range h.b {
		seen += uint64(h.b[i].Load())
		if seen >= rank {
			return time.Duration(bucketUpper(i))
		}
	}
	return 0
}

// counters are one component's live measurements.
type counters struct {
	in, out, drops atomic.Uint64
	xfers          atomic.Uint64 // GPU frames copied to the host for this component
	first, last    atomic.Int64  // unix ns of the first and last datamap handled
	lat            histogram
	sources        sourceTable // sinks: datamaps per DS3D::SourceId
}

// sourceSlots bounds the sources a sink counts one by one; datamaps of
// further sources count together as "other".
const sourceSlots = 64

// sourceTable counts datamaps per DS3D::SourceId without a lock or an
// allocation: open addressing over a fixed array, a slot claimed by CAS on
// its id (stored XOR emptyID so that the zero value is an empty slot).
type sourceTable struct {
	ids   [sourceSlots]atomic.Int64
	n     [sourceSlots]atomic.Uint64
	other atomic.Uint64 // datamaps of sources beyond the slots
}

const emptyID = -1 << 63 // the one id that goes to other: it reads as an empty slot

func (t *sourceTable) add(id int64) {
	if id == emptyID {
		t.other.Add(1)
		return
	}
	key := id ^ emptyID
	h := (uint64(id) * 0x9E3779B97F4A7C15) >> (64 - 6) // 6 bits: 64 slots
	for i := range uint64(sourceSlots) {
		j := (h + i) % sourceSlots
		v := t.ids[j].Load()
		if v == 0 && (t.ids[j].CompareAndSwap(0, key) || t.ids[j].Load() == key) {
			t.n[j].Add(1)
			return
		}
		if v == key {
			t.n[j].Add(1)
			return
		}
	}
	t.other.Add(1)
}

// each calls fn for every source counted, in slot order; other reports
// the datamaps of the sources that found no slot.
func (t *sourceTable) each(fn func(id int64, n uint64)) (other uint64) {
	for j := range t.ids {
		if v := t.ids[j].Load(); v != 0 {
			fn(v^emptyID, t.n[j].Load())
		}
	}
	return t.other.Load()
}

// countSource counts a datamap arriving at a sink under its
// DS3D::SourceId (none: not counted).
func (c *counters) countSource(m *ds3d.DataMap) {
	if !m.Has(ds3d.KeySourceID) {
		return
	}
	if id, err := m.Int64(ds3d.KeySourceID); err == nil {
		c.sources.add(id)
	}
}

func (c *counters) touch(now time.Time) {
	ns := now.UnixNano()
	c.first.CompareAndSwap(0, ns)
	c.last.Store(ns)
}

// Metrics is one component's summary.
type Metrics struct {
	Name    string        `json:"name"`
	Impl    string        `json:"impl"`
	Kind    string        `json:"kind"`
	In      uint64        `json:"frames_in"`
	Out     uint64        `json:"frames_out"`
	Drops   uint64        `json:"drops"`
	P50     time.Duration `json:"latency_p50_ns"`
	P99     time.Duration `json:"latency_p99_ns"`
	FPS     float64       `json:"fps"`
	Elapsed time.Duration `json:"active_ns"`
	// Transfers counts GPU frames the runtime copied to the host before
	// this component (which takes host frames only) saw them.
	Transfers uint64 `json:"gpu_to_host,omitempty"`
	// Queued is the number of items waiting in the component's input
	// queue when the metrics were taken, of QueueCap (0 for loaders).
	Queued   int `json:"queued,omitempty"`
	QueueCap int `json:"queue_capacity,omitempty"`
}

func (c *counters) snapshot() Metrics {
	m := Metrics{In: c.in.Load(), Out: c.out.Load(), Drops: c.drops.Load(), Transfers: c.xfers.Load(), P50: c.lat.quantile(0.50), P99: c.lat.quantile(0.99)}
	f, l := c.first.Load(), c.last.Load()
	if f != 0 && l > f {
		m.Elapsed = time.Duration(l - f)
		n := m.Out
		if n == 0 {
			n = m.In
		}
		if n > 1 {
			m.FPS = float64(n-1) / m.Elapsed.Seconds()
		}
	}
	return m
}

// WriteTable prints metrics as an aligned table.
func WriteTable(w io.Writer, ms []Metrics) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	xfer := false // the GPU→host column shows only when a copy happened
	for _, m := range ms {
		xfer = xfer || m.Transfers > 0
	}
	head := "component\timpl\tin\tout\tdrops\tp50\tp99\tfps\t"
	if xfer {
		head += "gpu→host\t"
	}
	fmt.Fprintln(tw, head)
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t", m.Name, m.Impl, m.In, m.Out, m.Drops,
			fmtDur(m.P50), fmtDur(m.P99), fmtFPS(m.FPS))
		if xfer {
			fmt.Fprintf(tw, "%d\t", m.Transfers)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// WriteJSON prints metrics as one JSON document.
func WriteJSON(w io.Writer, ms []Metrics) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Components []Metrics `json:"components"`
	}{ms})
}

// fmtFPS is "-" when there is no rate to show: a rate needs two frames,
// and "0.0" would read as a stalled component.
func fmtFPS(fps float64) string {
	if fps == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", fps)
}

func fmtDur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.1fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
