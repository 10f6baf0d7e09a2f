package analytics

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	tracker2d "github.com/ds3d-go/ds3d-go/core2d/track"
	"github.com/ds3d-go/ds3d-go/datasets/mot"
	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// seqRules are one sequence's rules as testdata/place_rules.py placed
// them from the ground truth.
type seqRules struct {
	Lines map[string][2][2]float64 `json:"lines"`
	Zones map[string][][2]float64  `json:"zones"`
}

// counts is what testdata/count_crossings.py prints, and what the filter's
// totals are turned into for comparison.
type counts struct {
	Lines map[string]struct{ Positive, Negative int } `json:"lines"`
	Zones map[string]struct{ Entries, Exits int }     `json:"zones"`
}

func loadRules(t *testing.T, seq string) seqRules {
	t.Helper()
	b, err := os.ReadFile("testdata/mot15_rules.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]seqRules
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("testdata/mot15_rules.json: %v", err)
	}
	r, ok := all[seq]
	if !ok {
		t.Fatalf("testdata/mot15_rules.json has no %s", seq)
	}
	return r
}

// motFilter builds the 2D filter with a sequence's rules, in pixels.
func motFilter(t *testing.T, r seqRules, margin float64) *Filter {
	t.Helper()
	c := defaultRules(COCOLabels)
	c.LineMargin, c.ZoneMargin = margin, margin
	c.MaxGap = 100000 // a step is between consecutive rows of a track, whatever the gap (as the script counts)
	c.ExitAfter = 0   // the script counts exits on steps only; TestExitAfter checks the exits of vanished tracks
	for id, p := range r.Lines {
		c.Lines = append(c.Lines, LineConfig{ID: id, SourceID: -1, Points: [][2]float64{p[0], p[1]}})
	}
	for id, p := range r.Zones {
		c.Zones = append(c.Zones, ZoneConfig{ID: id, SourceID: -1, Polygon: p})
	}
	f, err := NewFilter(&Config{ObjectsKey: "o", ResultKey: "r", EventsKey: "e", RulesConfig: c})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// analyse runs the filter over tracks by frame and returns its totals.
func analyse(t *testing.T, f *Filter, frames int, byFrame map[int][]ds3d.Object2D, fps float64) counts {
	t.Helper()
	var last *ds3d.Analytics
	events := map[string]int{}
	for fr := 1; fr <= frames; fr++ {
		last = f.Analyse(0, int64(float64(fr)*1e9/fps), int64(fr), byFrame[fr])
		for _, e := range last.Events {
			events[fmt.Sprintf("%s/%s/%d", e.Type, e.RuleID, e.Direction)]++
		}
	}
	c := counts{Lines: map[string]struct{ Positive, Negative int }{}, Zones: map[string]struct{ Entries, Exits int }{}}
	for _, n := range last.Counts {
		if n.ClassID >= 0 {
			continue
		}
		r := last.Rules[n.Rule]
		switch r.Kind {
		case ds3d.RuleLine:
			c.Lines[r.ID] = struct{ Positive, Negative int }{int(n.TotalPositive), int(n.TotalNegative)}
			// Every counted crossing has its event.
			if events["line_crossing/"+r.ID+"/1"] != int(n.TotalPositive) || events["line_crossing/"+r.ID+"/-1"] != int(n.TotalNegative) {
				t.Errorf("line %s: %d/%d events for %d/%d crossings", r.ID, events["line_crossing/"+r.ID+"/1"],
					events["line_crossing/"+r.ID+"/-1"], n.TotalPositive, n.TotalNegative)
			}
		case ds3d.RuleZone:
			c.Zones[r.ID] = struct{ Entries, Exits int }{int(n.TotalEntries), int(n.TotalExits)}
			if events["entry/"+r.ID+"/0"] != int(n.TotalEntries) || events["exit/"+r.ID+"/0"] != int(n.TotalExits) {
				t.Errorf("zone %s: %d/%d events for %d/%d entries/exits", r.ID, events["entry/"+r.ID+"/0"],
					events["exit/"+r.ID+"/0"], n.TotalEntries, n.TotalExits)
			}
		}
	}
	return c
}

func scriptCounts(t *testing.T, seq, tracks string, margin float64) counts {
	t.Helper()
	m := strconv.FormatFloat(margin, 'g', -1, 64)
	out := testenv.RunPython(t, nil, "testdata/count_crossings.py", "testdata/mot15_rules.json", seq, tracks, m, m)
	var c counts
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("count_crossings.py: %v: %s", err, out)
	}
	return c
}

func rowsByFrame(rows []mot.Row) map[int][]ds3d.Object2D {
	out := map[int][]ds3d.Object2D{}
	for _, r := range rows {
		out[r.Frame] = append(out[r.Frame], r.Object2D())
	}
	return out
}

// TestMOT15Counts checks line crossings and zone entries on PETS09-S2L1
// and TUD-Campus. The lines and zone come from testdata/place_rules.py,
// which placed them from the ground-truth tracks alone (across the main
// flow at its 25/50/75 % quantiles, one along it, a central zone) before
// any count of ours was made; testdata/count_crossings.py counts with its
// own geometry.
//
//   - On the ground-truth tracks the filter's counts equal the script's:
//     the semantics agree exactly.
//   - On nvtracker_2d's tracks of the public detections (det.txt), the
//     filter's counts equal the script's on those same tracks; how close
//     they come to the ground truth's is logged per line, direction and
//     zone, and the summed error is held under lineErrorBound.
func TestMOT15Counts(t *testing.T) {
	for _, seq := range []string{"PETS09-S2L1", "TUD-Campus"} {
		t.Run(seq, func(t *testing.T) {
			info, err := mot.ReadSeqInfo(sampledata.Shared(t, "mot15/"+seq+"/seqinfo.ini"))
			if err != nil {
				t.Fatal(err)
			}
			rules := loadRules(t, seq)
			gtPath := sampledata.Shared(t, "mot15/"+seq+"/gt.txt")
			gt, err := mot.Read(gtPath)
			if err != nil {
				t.Fatal(err)
			}
			pred := trackDets(t, seq, info.SeqLength)
			predPath := filepath.Join(t.TempDir(), "pred.txt")
			writeMOT(t, predPath, pred)
			for _, margin := range []float64{0, motMargin} {
				want := scriptCounts(t, seq, gtPath, margin)
				got := analyse(t, motFilter(t, rules, margin), info.SeqLength, rowsByFrame(gt), info.FrameRate)
				if !equalCounts(got, want) {
					t.Errorf("margin %g, ground-truth tracks: filter %v, script %v", margin, got, want)
				}
				ours := analyse(t, motFilter(t, rules, margin), info.SeqLength, rowsByFrame(pred), info.FrameRate)
				if ref := scriptCounts(t, seq, predPath, margin); !equalCounts(ours, ref) {
					t.Errorf("margin %g, tracker output: filter %v, script %v", margin, ours, ref)
				}
				var errSum, total, ok, n int
				for _, id := range sortedKeys(want.Lines) {
					w, g := want.Lines[id], ours.Lines[id]
					t.Logf("margin %2g line %-8s positive %3d (GT %3d)  negative %3d (GT %3d)", margin, id, g.Positive, w.Positive, g.Negative, w.Negative)
					for _, p := range [][2]int{{g.Positive, w.Positive}, {g.Negative, w.Negative}} {
						errSum += abs(p[0] - p[1])
						total += p[1]
						n++
						if withinTen(p[0], p[1]) {
							ok++
						}
					}
				}
				for _, id := range sortedKeys(want.Zones) {
					w, g := want.Zones[id], ours.Zones[id]
					t.Logf("margin %2g zone %-8s entries  %3d (GT %3d)  exits    %3d (GT %3d)", margin, id, g.Entries, w.Entries, g.Exits, w.Exits)
				}
				rel := float64(errSum) / float64(max(total, 1))
				t.Logf("margin %2g: %d of %d line counts within 10 %% of the ground truth; summed error %d of %d crossings (%.1f %%)",
					margin, ok, n, errSum, total, 100*rel)
				if b, has := lineErrorBound[seq]; has && margin == motMargin && rel > b {
					t.Errorf("summed line-count error %.1f %% above the bound %.0f %%", 100*rel, 100*b)
				}
			}
		})
	}
}

// motMargin is the line and zone margin in pixels of the tolerance check:
// about a third of a pedestrian's width in these sequences, so a box whose
// bottom centre jitters on a line does not count each wobble.
const motMargin = 10

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// withinTen reports whether got is within 10 % of want (exactly equal
// when 10 % is under one crossing).
func withinTen(got, want int) bool { return 10*abs(got-want) <= want }

// lineErrorBound is the largest summed line-count error, relative to the
// ground truth's crossings, a sequence may show at motMargin: a guard
// against regressions set just above what was measured (12.5 % on
// PETS09-S2L1). TUD-Campus has none: its 11 crossings are too few and most
// of its errors are people the public detections never see
// (docs/ACCURACY.md, "Analytics").
var lineErrorBound = map[string]float64{"PETS09-S2L1": 0.15}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func equalCounts(a, b counts) bool {
	if len(a.Lines) != len(b.Lines) || len(a.Zones) != len(b.Zones) {
		return false
	}
	for k, v := range a.Lines {
		if b.Lines[k] != v {
			return false
		}
	}
	for k, v := range a.Zones {
		if b.Zones[k] != v {
			return false
		}
	}
	return true
}

// trackDets runs nvtracker_2d's DeepSORT-style tracker (its default
// DeepSORT config; without frames it associates on motion alone, with
// shadow tracking over 30 frames) over the sequence's public detections.
func trackDets(t *testing.T, seq string, frames int) []mot.Row {
	t.Helper()
	rows, err := mot.Read(sampledata.Shared(t, "mot15/"+seq+"/det.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, byFrame := mot.ByFrame(rows)
	tr, err := tracker2d.New(tracker2d.DefaultDeepSORT())
	if err != nil {
		t.Fatal(err)
	}
	var out []mot.Row
	var dets []ds3d.Object2D
	for f := 1; f <= frames; f++ {
		dets = dets[:0]
		for _, r := range byFrame[f] {
			dets = append(dets, r.Object2D())
		}
		for _, o := range tr.Update(dets) {
			out = append(out, mot.Row{Frame: f, ID: o.TrackID, Left: float64(o.Left), Top: float64(o.Top),
				Width: float64(o.Width), Height: float64(o.Height), Conf: 1, Class: -1})
		}
	}
	return out
}

// writeMOT writes rows with every digit a float32 needs, so the script
// reads the boxes the filter saw.
func writeMOT(t *testing.T, path string, rows []mot.Row) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "%d,%d,%v,%v,%v,%v,1,-1,-1,-1\n", r.Frame, r.ID, float32(r.Left), float32(r.Top), float32(r.Width), float32(r.Height))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRulesFromGroundTruth checks that testdata/mot15_rules.json is what
// testdata/place_rules.py makes of the ground truth alone.
func TestRulesFromGroundTruth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "rules.json")
	testenv.RunPython(t, []string{"numpy"}, "testdata/place_rules.py", out,
		filepath.Dir(sampledata.Shared(t, "mot15/PETS09-S2L1/gt.txt")), filepath.Dir(sampledata.Shared(t, "mot15/TUD-Campus/gt.txt")))
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/mot15_rules.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("place_rules.py now writes\n%s\nnot testdata/mot15_rules.json", got)
	}
}
