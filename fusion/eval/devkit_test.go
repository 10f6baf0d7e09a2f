package eval

import (
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/kittidevkit"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
)

// runDevkit runs the devkit on gtDir with the predictions (frame id →
// KITTI rows).
func runDevkit(t *testing.T, bin, gtDir string, pred map[string]string) kittidevkit.Result {
	t.Helper()
	files := make(map[string][]byte, len(pred))
	for id, rows := range pred {
		files[id+".txt"] = []byte(rows)
	}
	return kittidevkit.Run(t, bin, gtDir, files)
}

var devkitSuffix = map[string]string{"2d": "_detection", "aos": "_orientation", "bev": "_detection_ground", "3d": "_detection_3d"}

func sameNum(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

// compareDevkit scores the same folders with KITTI and checks every value
// the devkit printed (and that it printed nothing where we evaluate
// nothing); it returns the largest AP difference.
func compareDevkit(t *testing.T, dev kittidevkit.Result, gtDir string, pred map[string]string) (float64, Result) {
	t.Helper()
	gt, err := ReadDir(gtDir)
	if err != nil {
		t.Fatal(err)
	}
	var fr []FrameBoxes
	dir := t.TempDir()
	for id, s := range pred {
		p := filepath.Join(dir, id+".txt")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := ReadLabels(p)
		if err != nil {
			t.Fatal(err)
		}
		fr = append(fr, FrameBoxes{ID: id, Objects: o})
	}
	res, err := KITTI(gt, fr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	seen := 0
	for di, d := range Difficulties {
		for _, e := range res.Entries {
			if e.Difficulty != d.Name {
				continue
			}
			key := strings.ToLower(e.Class) + devkitSuffix[e.Metric]
			want, ok := dev.R11[key]
			if !ok {
				if e.Evaluated {
					t.Errorf("%s %s %s: evaluated (R11 %.4f), the devkit printed nothing", e.Class, e.Metric, e.Difficulty, e.AP11)
				}
				continue
			}
			seen++
			if !e.Evaluated {
				t.Errorf("%s %s %s: not evaluated, the devkit printed %v", e.Class, e.Metric, e.Difficulty, want)
				continue
			}
			p := dev.Plot[key]
			r40 := 0.0
			for i := 1; i < 41; i++ {
				r40 += p[i][di]
			}
			r40 /= 40
			if !sameNum(e.AP11, want[di], 1e-4) || !sameNum(e.AP40, r40, 1e-4) {
				t.Errorf("%s %s %s: R11 %.6f R40 %.6f, devkit %.6f %.6f", e.Class, e.Metric, e.Difficulty, e.AP11, e.AP40, want[di], r40)
			}
			for i := range p {
				if !sameNum(e.Precision[i], p[i][di], 1e-5) {
					t.Errorf("%s %s %s: precision[%d] %.6f, devkit plot %.6f", e.Class, e.Metric, e.Difficulty, i, e.Precision[i], p[i][di])
					break
				}
			}
			worst = math.Max(worst, math.Max(math.Abs(e.AP11-want[di]), math.Abs(e.AP40-r40)))
		}
	}
	if seen != 3*len(dev.R11) {
		t.Errorf("compared %d values, the devkit printed %d", seen, 3*len(dev.R11))
	}
	return worst, res
}

// TestMatchesDevkit runs the KITTI devkit and KITTI on the same folders and
// compares 2D, AOS, BEV and 3D AP (R11 as printed, R40 from the plot
// files) and the 41 precision values per class and difficulty.
func TestMatchesDevkit(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the KITTI devkit")
	}
	bin := kittidevkit.Binary(t)

	t.Run("one-pedestrian", func(t *testing.T) {
		gtDir := t.TempDir()
		line := "Pedestrian 0.00 0 -0.20 712.40 143.00 810.73 307.92 1.89 0.48 1.20 1.84 1.47 8.41 0.01"
		if err := os.WriteFile(filepath.Join(gtDir, "000000.txt"), []byte(line+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		pred := map[string]string{"000000": line + " 0.9\n"}
		dev := runDevkit(t, bin, gtDir, pred)
		if got := dev.R11["pedestrian_detection_3d"][1]; math.Abs(got-1.0/11) > 1e-4 {
			t.Fatalf("devkit: one pedestrian out of one: %.4f, want 0.0909", got)
		}
		worst, res := compareDevkit(t, dev, gtDir, pred)
		e, _ := res.Get("Pedestrian", "3d", "moderate")
		t.Logf("R11 %.4f R40 %.4f (devkit %.4f); max |diff| %.2g", e.AP11, e.AP40, dev.R11["pedestrian_detection_3d"][1], worst)
	})

	t.Run("kitti-training", func(t *testing.T) {
		gtDir := filepath.Join(sampledata.Shared(t, "kitti-object/training"), "label_2")
		pred := perturbedKITTI(t, gtDir)
		worst, _ := compareDevkit(t, runDevkit(t, bin, gtDir, pred), gtDir, pred)
		t.Logf("%d frames: max |diff| %.2g", len(pred), worst)
	})

	t.Run("bundled-sample", func(t *testing.T) {
		gtDir := filepath.Dir(sampledata.Sample(t, "kitti/label_2/000000.txt"))
		pred := perturbedKITTI(t, gtDir)
		worst, _ := compareDevkit(t, runDevkit(t, bin, gtDir, pred), gtDir, pred)
		t.Logf("max |diff| %.2g", worst)
	})

	t.Run("generated", func(t *testing.T) {
		gtDir := t.TempDir()
		gt, pred := generateSet(60, 20261125)
		for id, s := range gt {
			if err := os.WriteFile(filepath.Join(gtDir, id+".txt"), []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		dev := runDevkit(t, bin, gtDir, pred)
		worst, res := compareDevkit(t, dev, gtDir, pred)
		checkBranches(t, gtDir, pred)
		for _, c := range DefaultClasses {
			e, _ := res.Get(c, "3d", "moderate")
			if !(e.AP11 > 0 && e.AP11 < 1) || e.FP == 0 {
				t.Errorf("%s 3d moderate: %+v: want 0 < AP < 1 with FP", c, e)
			}
		}
		t.Logf("%d frames, %d AP values compared: max |diff| %.2g", len(pred), 6*len(dev.R11), worst)
	})
}

// perturbedKITTI makes result files from the labels in dir: every object
// moved 0.3–0.8 m and resized, a score per object, the 2D box shifted, a
// false positive per frame and every third object missed.
func perturbedKITTI(t *testing.T, dir string) map[string]string {
	t.Helper()
	fr, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(7))
	out := map[string]string{}
	k := 0
	for _, f := range fr {
		var b strings.Builder
		for _, o := range f.Objects {
			if strings.EqualFold(o.Type, "DontCare") {
				continue
			}
			k++
			if k%3 == 0 {
				continue
			}
			o.Box.X += rng.Float64()*0.6 - 0.3
			o.Box.Z += rng.Float64()*0.8 - 0.2
			o.Box.L *= 0.9 + 0.2*rng.Float64()
			o.Box.RotY += rng.NormFloat64() * 0.1
			o.Alpha += rng.NormFloat64() * 0.3
			dx := rng.Float64()*10 - 5
			o.BBox.X1 += dx
			o.BBox.X2 += dx
			o.Score = math.Round(rng.Float64()*1e4) / 1e4
			writeObject(&b, o)
		}
		fp := Object{Type: "Car", Alpha: 0.5, BBox: Rect{100, 180, 180, 230}, Box: CamBox{1.5, 1.6, 3.9, -8, 1.7, 20, 0.3}, Score: 0.6}
		writeObject(&b, fp)
		out[f.ID] = b.String()
	}
	return out
}

// writeObject writes a label line with 16 columns.
func writeObject(b *strings.Builder, o Object) {
	fmt.Fprintf(b, "%s %.2f %d %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.4f\n",
		o.Type, o.Truncated, o.Occluded, o.Alpha, o.BBox.X1, o.BBox.Y1, o.BBox.X2, o.BBox.Y2,
		o.Box.H, o.Box.W, o.Box.L, o.Box.X, o.Box.Y, o.Box.Z, o.Box.RotY, o.Score)
}

// generateSet makes n frames of ground truth (15 columns) and detections
// (16): Cars, Vans, Pedestrians, Persons sitting, Cyclists, Trucks and
// DontCare regions; truncation and occlusion across the difficulty limits
// (including their exact values); 2D heights across 25 and 40 px
// (including exactly 25 and 40); detections jittered, some relabelled to
// the neighbouring class, some duplicated, some missed, some flipped by π
// (AOS), some lower than 25 px; false positives, some inside DontCare
// regions; scores rounded to 3 digits so some tie.
func generateSet(n int, seed int64) (gt, pred map[string]string) {
	rng := rand.New(rand.NewSource(seed))
	gt, pred = map[string]string{}, map[string]string{}
	types := []string{"Car", "Car", "Car", "Car", "Van", "Pedestrian", "Pedestrian", "Person_sitting", "Cyclist", "Cyclist", "Truck"}
	dims := map[string][3]float64{ // H W L
		"Car": {1.5, 1.6, 3.9}, "Van": {2.1, 1.9, 5.0}, "Truck": {3.2, 2.5, 10}, "Pedestrian": {1.75, 0.6, 0.8},
		"Person_sitting": {1.2, 0.6, 0.8}, "Cyclist": {1.7, 0.6, 1.8},
	}
	truncs := []float64{0, 0, 0, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7}
	const focal = 720.0
	for f := 0; f < n; f++ {
		id := fmt.Sprintf("%06d", f)
		var g, p strings.Builder
		var dcs []Rect
		for k := rng.Intn(3); k > 0; k-- {
			x1, y1 := 50+rng.Float64()*1000, 150+rng.Float64()*50
			r := Rect{x1, y1, x1 + 40 + rng.Float64()*150, y1 + 20 + rng.Float64()*60}
			dcs = append(dcs, r)
			fmt.Fprintf(&g, "DontCare -1 -1 -10 %.2f %.2f %.2f %.2f -1 -1 -1 -1000 -1000 -1000 -10\n", r.X1, r.Y1, r.X2, r.Y2)
		}
		nobj := 3 + rng.Intn(8)
		for k := 0; k < nobj; k++ {
			typ := types[rng.Intn(len(types))]
			d := dims[typ]
			o := Object{Type: typ, Truncated: truncs[rng.Intn(len(truncs))], Occluded: rng.Intn(4)}
			o.Box = CamBox{H: d[0] * (0.9 + 0.2*rng.Float64()), W: d[1] * (0.9 + 0.2*rng.Float64()), L: d[2] * (0.9 + 0.2*rng.Float64()),
				X: rng.Float64()*30 - 15, Y: 1.5 + rng.Float64()*0.4, Z: 5 + rng.Float64()*55, RotY: rng.Float64()*2*math.Pi - math.Pi}
			o.Box.H, o.Box.W, o.Box.L = math.Round(o.Box.H*100)/100, math.Round(o.Box.W*100)/100, math.Round(o.Box.L*100)/100
			o.Alpha = o.Box.RotY - math.Atan2(o.Box.X, o.Box.Z)
			u := 620 + focal*o.Box.X/o.Box.Z
			h := focal * o.Box.H / o.Box.Z
			switch rng.Intn(8) { // exact difficulty limits
			case 0:
				h = 25
			case 1:
				h = 40
			}
			w := focal * math.Max(o.Box.W, o.Box.L) / o.Box.Z
			v := 180 + focal*0.5/o.Box.Z
			o.BBox = Rect{math.Round((u-w/2)*100) / 100, math.Round((v-h)*100) / 100, 0, 0}
			o.BBox.X2 = o.BBox.X1 + math.Round(w*100)/100
			o.BBox.Y2 = o.BBox.Y1 + math.Round(h*100)/100
			o.Score = 0
			fmt.Fprintf(&g, "%s %.2f %d %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f\n",
				o.Type, o.Truncated, o.Occluded, o.Alpha, o.BBox.X1, o.BBox.Y1, o.BBox.X2, o.BBox.Y2,
				o.Box.H, o.Box.W, o.Box.L, o.Box.X, o.Box.Y, o.Box.Z, o.Box.RotY)
			if typ == "Truck" || rng.Float64() < 0.2 {
				continue // missed
			}
			for dup := 0; dup < 1+btoi(rng.Float64() < 0.15); dup++ {
				q := o
				switch {
				case typ == "Van" || typ == "Person_sitting":
					q.Type = map[string]string{"Van": "Car", "Person_sitting": "Pedestrian"}[typ]
				case rng.Float64() < 0.08:
					q.Type = map[string]string{"Car": "Van", "Pedestrian": "Cyclist", "Cyclist": "Pedestrian"}[typ]
				}
				s := o.Box.W * (0.04 + 0.14*rng.Float64())
				q.Box.X += rng.NormFloat64() * s
				q.Box.Z += rng.NormFloat64() * s * 1.5
				q.Box.Y += rng.NormFloat64() * 0.1
				q.Box.L *= 1 + rng.NormFloat64()*0.08
				q.Box.W *= 1 + rng.NormFloat64()*0.08
				q.Box.H *= 1 + rng.NormFloat64()*0.05
				q.Box.RotY += rng.NormFloat64() * 0.08
				q.Alpha += rng.NormFloat64() * 0.1
				if rng.Float64() < 0.1 {
					q.Alpha += math.Pi
				}
				dx, dy := rng.NormFloat64()*4, rng.NormFloat64()*3
				q.BBox.X1 += dx
				q.BBox.X2 += dx + rng.NormFloat64()*3
				q.BBox.Y1 += dy
				q.BBox.Y2 += dy + rng.NormFloat64()*2
				if rng.Float64() < 0.05 {
					q.BBox.Y2 = q.BBox.Y1 + 24.6 // truncates to 24: an ignored detection
				}
				q.Score = math.Round((0.3+0.7*rng.Float64())*1000) / 1000
				writeObject(&p, q)
			}
		}
		for k := rng.Intn(4); k > 0; k-- { // false positives
			typ := DefaultClasses[rng.Intn(3)]
			d := dims[typ]
			q := Object{Type: typ, Alpha: rng.Float64() * 3, Score: math.Round(rng.Float64()*1000) / 1000,
				Box: CamBox{d[0], d[1], d[2], rng.Float64()*30 - 15, 1.6, 5 + rng.Float64()*55, rng.Float64() * 3}}
			q.BBox = Rect{rng.Float64() * 1100, 150 + rng.Float64()*50, 0, 0}
			if len(dcs) > 0 && rng.Float64() < 0.6 { // inside a DontCare region
				r := dcs[rng.Intn(len(dcs))]
				q.BBox = Rect{r.X1 + 2, r.Y1 + 1, 0, 0}
				q.BBox.X2, q.BBox.Y2 = math.Min(r.X2, q.BBox.X1+60), r.Y2+3
			} else {
				q.BBox.X2, q.BBox.Y2 = q.BBox.X1+20+rng.Float64()*100, q.BBox.Y1+15+rng.Float64()*80
			}
			writeObject(&p, q)
		}
		gt[id], pred[id] = g.String(), p.String()
	}
	return gt, pred
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkBranches checks that the generated set reaches every rule of the
// devkit: each ablation (dropping DontCare, the neighbour rule, ignored
// GT, ignored detections) must change the counts.
func checkBranches(t *testing.T, gtDir string, pred map[string]string) {
	t.Helper()
	gt, err := ReadDir(gtDir)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string][]Object{}
	for _, f := range gt {
		byID[f.ID] = f.Objects
	}
	var frames []*frame
	for id, s := range pred {
		path := filepath.Join(t.TempDir(), id+".txt")
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := ReadLabels(path)
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, newFrame(byID[id], o))
	}
	count := map[string]int{}
	for _, c := range []string{"Car", "Pedestrian"} {
		for _, d := range Difficulties {
			for m := 0; m < 3; m++ {
				for _, f := range frames {
					ig, _ := cleanData(f, c, d)
					base := computeStatistics(f, ig, m, 0.5, true, false, math.Inf(-1))
					for i, g := range f.gt {
						switch {
						case ig.gt[i] == 1 && strings.EqualFold(g.Type, Neighbours[c]):
							count["neighbour GT"]++
						case ig.gt[i] == 1 && g.BBox.Y2-g.BBox.Y1 < d.MinHeight:
							count["GT below min height"]++
						case ig.gt[i] == 1 && g.Occluded > d.MaxOcclusion:
							count["GT occluded"]++
						case ig.gt[i] == 1:
							count["GT truncated"]++
						}
					}
					for _, v := range ig.det {
						if v == 1 {
							count["ignored detection"]++
						}
					}
					noDC := *f
					noDC.dcIdx = nil
					if computeStatistics(&noDC, ig, m, 0.5, true, false, math.Inf(-1)).fp > base.fp {
						count[fmt.Sprintf("DontCare excuses (metric %d)", m)]++
					}
					ig2 := ignores{gt: append([]int(nil), ig.gt...), det: ig.det}
					for i := range ig2.gt {
						if ig2.gt[i] == 1 {
							ig2.gt[i] = -1
						}
					}
					if computeStatistics(f, ig2, m, 0.5, true, false, math.Inf(-1)).fp > base.fp {
						count["detection assigned to ignored GT"]++
					}
					ig3 := ignores{gt: ig.gt, det: append([]int(nil), ig.det...)}
					for j := range ig3.det {
						if ig3.det[j] == 1 {
							ig3.det[j] = -1
						}
					}
					if computeStatistics(f, ig3, m, 0.5, true, false, math.Inf(-1)).fn > base.fn {
						count["GT taken by an ignored detection"]++
					}
					if base.tp > 0 && base.fp > 0 && base.fn > 0 {
						count["frame with TP, FP and FN"]++
					}
				}
			}
		}
	}
	for _, k := range []string{"neighbour GT", "GT below min height", "GT occluded", "GT truncated", "ignored detection",
		"DontCare excuses (metric 0)", "detection assigned to ignored GT", "GT taken by an ignored detection", "frame with TP, FP and FN"} {
		if count[k] == 0 {
			t.Errorf("generated set never reaches %q", k)
		}
	}
	for k := 1; k < 3; k++ {
		if n := count[fmt.Sprintf("DontCare excuses (metric %d)", k)]; n != 0 {
			t.Errorf("DontCare excused %d detections in metric %d: KITTI's DontCare rows have no 3D box", n, k)
		}
	}
	t.Logf("branches reached: %v", count)
}
