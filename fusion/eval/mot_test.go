package eval

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// published are py-motmetrics 1.2.0's expected values for TUD-Campus
// (test_motchallenge_files: gt.txt vs test.txt, IoU distance, threshold
// 0.5), copied from ../shared/data/mot15/PROVENANCE.md.
var published = map[string]float64{
	"idf1": 0.557659, "idp": 0.729730, "idr": 0.451253, "recall": 0.582173,
	"precision": 0.941441, "num_unique_objects": 8, "mostly_tracked": 1,
	"partially_tracked": 6, "mostly_lost": 1, "num_false_positives": 13,
	"num_misses": 150, "num_switches": 7, "num_fragmentations": 7,
	"mota": 0.526462, "motp": 0.277201,
}

func TestTUDCampusPublished(t *testing.T) {
	gt, err := mot.Read(sampledata.Shared(t, "mot15/TUD-Campus/gt.txt"))
	if err != nil {
		t.Fatal(err)
	}
	pred, err := mot.Read(sampledata.Shared(t, "mot15/TUD-Campus/test.txt"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := EvaluateMOT(gt, pred, DefaultMOTOptions())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range published {
		got, ok := m.Value(name)
		if !ok {
			t.Fatalf("no metric %q", name)
		}
		if math.Abs(got-want) > 1e-3 {
			t.Errorf("%s = %.6f, py-motmetrics published %.6f", name, got, want)
		}
	}
}

// TestReadmeExample is py-motmetrics' README walk-through: a kept
// correspondence in frame 3 and a switch of object 2 to hypothesis 3.
func TestReadmeExample(t *testing.T) {
	nan := math.NaN()
	a := NewMOTAccumulator()
	steps := []struct {
		o, h []int64
		d    []float64
	}{
		{[]int64{1, 2}, []int64{1, 2, 3}, []float64{0.1, nan, 0.3, 0.5, 0.2, 0.3}},
		{[]int64{1, 2}, []int64{1}, []float64{0.2, 0.4}},
		{[]int64{1, 2}, []int64{1, 3}, []float64{0.6, 0.2, 0.1, 0.6}},
	}
	for _, s := range steps {
		if err := a.Update(s.o, s.h, s.d); err != nil {
			t.Fatal(err)
		}
	}
	m := a.Metrics()
	if m.NumFrames != 3 || m.NumMatches != 4 || m.NumSwitches != 1 || m.NumMisses != 1 || m.NumFalsePositives != 1 {
		t.Errorf("events: %+v", m)
	}
	if math.Abs(m.MOTA-0.5) > 1e-12 || math.Abs(m.MOTP-0.34) > 1e-12 {
		t.Errorf("MOTA %g MOTP %g, want 0.5 and 0.34 (py-motmetrics README)", m.MOTA, m.MOTP)
	}
	if err := a.Update([]int64{1}, []int64{1}, nil); err == nil {
		t.Error("short distance matrix: no error")
	}
}

func TestFragmentation(t *testing.T) {
	// Object 1: hit, miss, miss, hit, miss (trailing miss is outside the
	// track span) → 1 fragmentation; MT/PT/ML by ratio 2/5 → partially.
	a := NewMOTAccumulator()
	for _, hit := range []bool{true, false, false, true, false} {
		var h []int64
		var d []float64
		if hit {
			h, d = []int64{7}, []float64{0}
		}
		a.Update([]int64{1}, h, d)
	}
	m := a.Metrics()
	if m.NumFragmentations != 1 || m.PartiallyTracked != 1 || m.IDTP != 2 || m.IDFN != 3 || m.IDFP != 0 {
		t.Errorf("%+v", m)
	}
}

// FuzzEvaluate feeds arbitrary ground truth and predictions through the
// parser and the evaluator: no panics, and counts that add up.
func FuzzEvaluate(f *testing.F) {
	f.Add("1,1,10,10,20,20,1\n2,1,12,10,20,20,1\n", "1,5,11,10,20,20\n2,6,12,11,20,20\n")
	f.Add("1,1,0,0,0,0,1\n1,1,0,0,0,0,1\n", "1,1,0,0,0,0\n3,2,1e300,1e300,1e300,1e300\n")
	f.Fuzz(func(t *testing.T, g, p string) {
		gt, err := mot.Parse(strings.NewReader(g), "gt")
		if err != nil {
			return
		}
		pred, err := mot.Parse(strings.NewReader(p), "pred")
		if err != nil {
			return
		}
		m, err := EvaluateMOT(gt, pred, DefaultMOTOptions())
		if err != nil {
			return
		}
		if m.NumMatches+m.NumSwitches+m.NumMisses != m.NumObjects ||
			m.NumDetections+m.NumFalsePositives != m.NumPredictions || m.IDTP < 0 || m.IDTP > m.NumDetections+m.NumObjects {
			t.Fatalf("inconsistent: %+v", m)
		}
	})
}

func ExampleMOTAccumulator() {
	a := NewMOTAccumulator()
	gt := []MOTBox{{ID: 1, Left: 0, Top: 0, Width: 10, Height: 10}}
	a.UpdateBoxes(gt, []MOTBox{{ID: 42, Left: 1, Top: 0, Width: 10, Height: 10}}, 0.5)
	a.UpdateBoxes(gt, []MOTBox{{ID: 43, Left: 0, Top: 1, Width: 10, Height: 10}}, 0.5)
	m := a.Metrics()
	fmt.Println("switches", m.NumSwitches, "mota", strconv.FormatFloat(m.MOTA, 'f', 2, 64), "idf1", m.IDF1)
	// Output: switches 1 mota 0.50 idf1 0.5
}
