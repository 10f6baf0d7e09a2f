package infer_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ds3d-go/ds3d-go/core2d/infer"
	"github.com/ds3d-go/ds3d-go/core2d/infer/onnx"
	"github.com/ds3d-go/ds3d-go/internal/sampledata"
	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

// The model zoo (tools/zoo/export.py) checked against onnxruntime-node:
// real architectures exported by PyTorch with random weights, run here and
// in onnxruntime on the same random input.

// zooSmall are the models of the default tier: a few seconds each.
var zooSmall = []string{"mobilenetv3_small", "resnet18_112", "pointpillars_head", "yolo_dynamic"}

const exportScript = "../../tools/zoo/export.py"

// zooMeta is export.py's NAME.json.
type zooMeta struct {
	Name    string `json:"name"`
	Opset   int    `json:"opset"`
	Inputs  []zooIO
	Outputs []zooIO
	Dynamic map[string]string `json:"dynamic_axes"`
}

type zooIO struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// zooDir exports the named models (those not exported yet) into the user
// cache folder ds3d-go/zoo-HASH, HASH naming export.py's content, and
// returns the folder. Without torch the test skips, or fails under CI.
func zooDir(t testing.TB, names ...string) string {
	t.Helper()
	py := testenv.Python(t, "torch", "torchvision", "onnx", "numpy")
	src, err := os.ReadFile(exportScript)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(src)
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "ds3d-go", "zoo-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Test binaries of several packages (and make bench-zoo) may export
	// into the folder at once.
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lf.Fd()), syscall.LOCK_UN)
	var missing []string
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n+".json")); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		t0 := time.Now()
		testenv.Output(t, exec.Command(py, append([]string{exportScript, dir}, missing...)...))
		t.Logf("exported %s in %s", strings.Join(missing, ", "), time.Since(t0).Round(time.Millisecond))
	}
	return dir
}

func readMeta(t testing.TB, dir, name string) zooMeta {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var m zooMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	if len(m.Inputs) != 1 {
		t.Fatalf("%s.json: %d inputs; the zoo runner feeds one", name, len(m.Inputs))
	}
	return m
}

func readF32File(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not whole float32 values", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func writeF32File(t testing.TB, path string, v []float32) {
	t.Helper()
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ortResult is ort_run.mjs's answer.
type ortResult struct {
	Outputs []struct {
		Name string `json:"name"`
		Dims []int  `json:"dims"`
	} `json:"outputs"`
	MS []float64 `json:"ms"`
}

// runORT runs model in onnxruntime-node (testdata/zoo/ort_run.mjs) on the
// input file; with outDir it writes output i as outDir/i.bin.
func runORT(t testing.TB, model, inName string, shape []int, inFile string, threads, runs int, outDir string) ortResult {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "zoo"))
	if err != nil {
		t.Fatal(err)
	}
	node := testenv.Node(t, dir)
	spec := map[string]any{"model": model, "threads": threads, "runs": runs, "out_dir": outDir,
		"inputs": []map[string]any{{"name": inName, "shape": shape, "file": inFile}}}
	sb, _ := json.Marshal(spec)
	sf := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(sf, sb, 0o644); err != nil {
		t.Fatal(err)
	}
	out := testenv.Output(t, exec.Command(node, filepath.Join(dir, "ort_run.mjs"), sf))
	var r ortResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ort_run.mjs answer %q: %v", out, err)
	}
	return r
}

// compareOutputs applies the zoo's tolerance: max abs error ≤ 1e-4 × the
// output's scale (its largest magnitude, at least 1) and relative L2 ≤ 1e-4.
func compareOutputs(got, want []float32) (maxRel, relL2 float64, ok bool) {
	var scale, maxAbs, num, den float64
	for i := range want {
		w := float64(want[i])
		scale = max(scale, math.Abs(w))
		d := float64(got[i]) - w
		maxAbs = max(maxAbs, math.Abs(d))
		num += d * d
		den += w * w
	}
	maxRel = maxAbs / max(scale, 1)
	relL2 = math.Sqrt(num / max(den, 1e-30))
	return maxRel, relL2, maxRel <= 1e-4 && relL2 <= 1e-4 && !math.IsNaN(maxAbs+relL2)
}

// checkZooModel runs one exported model in the engine and in onnxruntime on
// input file in (shape shape) and compares every output; it also checks
// that a steady-state Run does not allocate.
func checkZooModel(t *testing.T, dir string, meta zooMeta, shape []int, in string) {
	model := filepath.Join(dir, meta.Name+".onnx")
	opt := infer.Options{Threads: 2}
	if len(meta.Dynamic) > 0 {
		opt.InputShapes = map[string][]int{meta.Inputs[0].Name: shape}
	}
	s, err := infer.Open(model, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x := readF32File(t, in)
	if got := s.Inputs(); len(got) != 1 || got[0].Size() != len(x) {
		t.Fatalf("inputs %v, input file has %d values", got, len(x))
	}
	outs := make([][]float32, len(s.Outputs()))
	for i, o := range s.Outputs() {
		outs[i] = make([]float32, o.Size())
	}
	if err := s.Run([][]float32{x}, outs); err != nil {
		t.Fatal(err)
	}
	ortDir := t.TempDir()
	r := runORT(t, model, meta.Inputs[0].Name, shape, in, 2, 0, ortDir)
	if len(r.Outputs) != len(outs) {
		t.Fatalf("onnxruntime gives %d outputs, the engine %d", len(r.Outputs), len(outs))
	}
	for i, o := range s.Outputs() {
		if o.Name != r.Outputs[i].Name || !slices.Equal(o.Shape, r.Outputs[i].Dims) {
			t.Errorf("output %d: engine %s %v, onnxruntime %s %v", i, o.Name, o.Shape, r.Outputs[i].Name, r.Outputs[i].Dims)
			continue
		}
		want := readF32File(t, filepath.Join(ortDir, fmt.Sprintf("%d.bin", i)))
		maxRel, relL2, ok := compareOutputs(outs[i], want)
		t.Logf("%s %v: max abs error / scale %.2g, relative L2 %.2g", o.Name, o.Shape, maxRel, relL2)
		if !ok {
			t.Errorf("%s: max abs error / scale %.3g, relative L2 %.3g (limits 1e-4)", o.Name, maxRel, relL2)
		}
	}
	if !testenv.RaceEnabled {
		if a := testing.AllocsPerRun(2, func() { _ = s.Run([][]float32{x}, outs) }); a != 0 {
			t.Errorf("%v allocations per Run in steady state", a)
		}
	}
}

func testZoo(t *testing.T, names []string) {
	dir := zooDir(t, names...)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			meta := readMeta(t, dir, name)
			checkZooModel(t, dir, meta, meta.Inputs[0].Shape, filepath.Join(dir, name+".input.bin"))
			if len(meta.Dynamic) == 0 {
				return
			}
			// A dynamic model at a second shape: batch 2 and another size
			// (multiples of the largest stride, 32).
			sh := slices.Clone(meta.Inputs[0].Shape)
			sh[0], sh[2], sh[3] = 2, sh[2]-64, sh[3]-96
			rng := rand.New(rand.NewPCG(3, 4))
			x := make([]float32, sh[0]*sh[1]*sh[2]*sh[3])
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			in := filepath.Join(t.TempDir(), "input.bin")
			writeF32File(t, in, x)
			t.Run(fmt.Sprint(sh), func(t *testing.T) { checkZooModel(t, dir, meta, sh, in) })
		})
	}
}

// TestZooSmall checks the small zoo models (MobileNetV3-small, ResNet-18 at
// 112², the PointPillars head and the dynamic-axes YOLO at two shapes)
// against onnxruntime.
func TestZooSmall(t *testing.T) {
	testenv.SkipUnderRace(t, "full models are too slow under -race")
	if testing.Short() {
		t.Skip("-short: full models run in the shipped-build pass")
	}
	testZoo(t, zooSmall)
}

// TestE2EZoo checks every zoo model against onnxruntime.
func TestE2EZoo(t *testing.T) {
	testenv.E2E(t)
	testenv.SkipUnderRace(t, "full models are too slow under -race")
	py := testenv.Python(t, "torch", "torchvision", "onnx", "numpy")
	out := testenv.Output(t, exec.Command(py, exportScript, "--list"))
	testZoo(t, strings.Fields(string(out)))
}

// TestZooBench is `make bench-zoo`: with DS3D_BENCH_ZOO naming a markdown
// file (docs/PERF.md), it times every zoo model in the engine and in
// onnxruntime-node at 1 and 2 threads and writes the table between the
// file's zoo markers. DS3D_BENCH_ZOO_MODELS=a,b times only those models and
// only logs the table.
func TestZooBench(t *testing.T) {
	doc := os.Getenv("DS3D_BENCH_ZOO")
	if doc == "" {
		t.Skip("set DS3D_BENCH_ZOO=docs/PERF.md (make bench-zoo)")
	}
	testenv.SkipUnderRace(t, "timings under -race mean nothing")
	if !filepath.IsAbs(doc) {
		doc = filepath.Join(sampledata.RepoRoot(t), doc)
	}
	py := testenv.Python(t, "torch", "torchvision", "onnx", "numpy")
	names := strings.Fields(string(testenv.Output(t, exec.Command(py, exportScript, "--list"))))
	if only := os.Getenv("DS3D_BENCH_ZOO_MODELS"); only != "" {
		names = strings.Split(only, ",")
	}
	dir := zooDir(t, names...)
	var rows []zooRow
	for _, name := range names {
		rows = append(rows, benchZooModel(t, dir, readMeta(t, dir, name)))
	}
	load, _ := os.ReadFile("/proc/loadavg")
	where := strings.Join(strings.Fields(string(load))[:3], " ") + " at the end"
	if cpu, _ := os.ReadFile("/proc/cpuinfo"); len(cpu) > 0 {
		for _, line := range strings.Split(string(cpu), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				where += "; CPU " + strings.TrimSpace(strings.TrimLeft(name, " \t:"))
				break
			}
		}
	}
	table := formatZooTable(rows, where)
	t.Log("\n" + table)
	if os.Getenv("DS3D_BENCH_ZOO_MODELS") != "" {
		return // a subset leaves the whole-zoo table as it is
	}
	if err := replaceBetween(doc, "<!-- zoo:begin -->", "<!-- zoo:end -->", table); err != nil {
		t.Fatal(err)
	}
}

type zooRow struct {
	name         string
	gflop        float64
	ours, ort    [2]float64 // ms at 1 and 2 threads; 0: not run
	unsupported  string
	shape, opset string
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	sort.Float64s(s)
	return s[len(s)/2]
}

// ortServer is ort_run.mjs in serve mode: one onnxruntime session kept
// up so that its timed runs can alternate with the engine's.
type ortServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startORT(t *testing.T, model, inName string, shape []int, inFile string, threads int) *ortServer {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "zoo"))
	if err != nil {
		t.Fatal(err)
	}
	node := testenv.Node(t, dir)
	spec := map[string]any{"model": model, "threads": threads, "runs": 0, "out_dir": "", "serve": true,
		"inputs": []map[string]any{{"name": inName, "shape": shape, "file": inFile}}}
	sb, _ := json.Marshal(spec)
	sf := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(sf, sb, 0o644); err != nil {
		t.Fatal(err)
	}
	s := &ortServer{cmd: exec.Command(node, filepath.Join(dir, "ort_run.mjs"), sf)}
	s.cmd.Stderr = os.Stderr
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.out = bufio.NewScanner(stdout)
	s.out.Buffer(nil, 1<<20)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if !s.out.Scan() { // the first answer: session created, one warm-up run
		t.Fatalf("ort_run.mjs %s: no answer (%v)", model, s.out.Err())
	}
	return s
}

// times asks for runs timed runs and returns their milliseconds.
func (s *ortServer) times(t *testing.T, runs int) []float64 {
	t.Helper()
	if _, err := fmt.Fprintf(s.in, "{\"runs\": %d}\n", runs); err != nil {
		t.Fatal(err)
	}
	if !s.out.Scan() {
		t.Fatalf("ort_run.mjs: no answer (%v)", s.out.Err())
	}
	var r struct{ MS []float64 }
	if err := json.Unmarshal(s.out.Bytes(), &r); err != nil || len(r.MS) != runs {
		t.Fatalf("ort_run.mjs answer %q: %v", s.out.Text(), err)
	}
	return r.MS
}

func (s *ortServer) close() {
	if s.in != nil {
		s.in.Close() // end of input ends the server
		s.in = nil
		s.cmd.Wait()
	}
}

// benchRounds alternates the two runtimes this many times per
// configuration, so that a neighbour's load on a shared machine falls on
// both rather than on whichever ran at the time.
const benchRounds = 4

func benchZooModel(t *testing.T, dir string, meta zooMeta) zooRow {
	shape := meta.Inputs[0].Shape
	row := zooRow{name: meta.Name, shape: strings.Trim(strings.ReplaceAll(fmt.Sprint(shape), " ", "×"), "[]"), opset: fmt.Sprint(meta.Opset)}
	model := filepath.Join(dir, meta.Name+".onnx")
	in := filepath.Join(dir, meta.Name+".input.bin")
	m, err := onnx.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	opt := infer.Options{}
	if len(meta.Dynamic) > 0 {
		opt.InputShapes = map[string][]int{meta.Inputs[0].Name: shape}
	}
	sum, err := infer.Summary(m, opt)
	if sum != nil && len(sum.Unsupported) > 0 {
		row.unsupported = strings.Join(sum.Unsupported, ", ")
	} else if err != nil {
		t.Fatalf("%s: %v", meta.Name, err)
	} else {
		row.gflop = float64(sum.FLOPs) / 1e9
	}
	x := readF32File(t, in)
	for ti, threads := range []int{1, 2} {
		ort := startORT(t, model, meta.Inputs[0].Name, shape, in, threads)
		run := func() float64 { return 0 }
		if row.unsupported == "" {
			opt.Threads = threads
			s, err := infer.NewSession(m, opt)
			if err != nil {
				t.Fatalf("%s: %v", meta.Name, err)
			}
			defer s.Close()
			outs := make([][]float32, len(s.Outputs()))
			for i, o := range s.Outputs() {
				outs[i] = make([]float32, o.Size())
			}
			run = func() float64 {
				t0 := time.Now()
				if err := s.Run([][]float32{x}, outs); err != nil {
					t.Fatalf("%s: %v", meta.Name, err)
				}
				return float64(time.Since(t0).Nanoseconds()) / 1e6
			}
		}
		// Warm both up; about a quarter second per side and round.
		one := max(run(), ort.times(t, 1)[0], 1)
		k := max(2, min(25, int(250/one)))
		var ours, theirs []float64
		for range benchRounds {
			for range k {
				ours = append(ours, run())
			}
			theirs = append(theirs, ort.times(t, k)...)
		}
		ort.close()
		row.ours[ti], row.ort[ti] = median(ours), median(theirs)
		t.Logf("%s %d thread(s): engine %.2f ms, onnxruntime %.2f ms (%d runs each)", meta.Name, threads, row.ours[ti], row.ort[ti], len(ours))
	}
	return row
}

func formatZooTable(rows []zooRow, load string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Measured by `make bench-zoo`: medians of ≥ 8 runs per side after a warm-up, the two runtimes alternating in %d rounds; load average %s.\n\n", benchRounds, load)
	b.WriteString("| model | input | opset | GFLOP | ds3d-go 1T ms | onnxruntime 1T ms | ratio 1T | ds3d-go 2T ms | onnxruntime 2T ms | ratio 2T |\n")
	b.WriteString("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
	var logSum [2]float64
	var n int
	for _, r := range rows {
		if r.unsupported != "" {
			fmt.Fprintf(&b, "| %s | %s | %s | – | unsupported op: %s | %.2f | – | – | %.2f | – |\n", r.name, r.shape, r.opset, r.unsupported, r.ort[0], r.ort[1])
			continue
		}
		n++
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f |", r.name, r.shape, r.opset, r.gflop)
		for i := range 2 {
			ratio := r.ours[i] / r.ort[i]
			logSum[i] += math.Log(ratio)
			fmt.Fprintf(&b, " %.2f | %.2f | %.2f× |", r.ours[i], r.ort[i], ratio)
		}
		b.WriteString("\n")
	}
	if n > 0 {
		fmt.Fprintf(&b, "| **geometric mean** (%d models) | | | | | | **%.2f×** | | | **%.2f×** |\n", n, math.Exp(logSum[0]/float64(n)), math.Exp(logSum[1]/float64(n)))
	}
	return b.String()
}

// replaceBetween rewrites the text between two marker lines of path.
func replaceBetween(path, begin, end, text string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %s … %s markers", path, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + text + s[j:]
	return os.WriteFile(path, []byte(s), 0o644)
}

// BenchmarkZoo runs zoo models in the engine on one thread, for profiles
// (-cpuprofile) and allocation counts: the small models, or those named by
// DS3D_BENCH_ZOO_MODELS (comma-separated; tools/zoo/export.py --list).
func BenchmarkZoo(b *testing.B) {
	names := zooSmall
	if only := os.Getenv("DS3D_BENCH_ZOO_MODELS"); only != "" {
		names = strings.Split(only, ",")
	}
	dir := zooDir(b, names...)
	for _, name := range names {
		b.Run(name, func(b *testing.B) {
			meta := readMeta(b, dir, name)
			opt := infer.Options{Threads: 1}
			if len(meta.Dynamic) > 0 {
				opt.InputShapes = map[string][]int{meta.Inputs[0].Name: meta.Inputs[0].Shape}
			}
			s, err := infer.Open(filepath.Join(dir, name+".onnx"), opt)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			x := readF32File(b, filepath.Join(dir, name+".input.bin"))
			outs := make([][]float32, len(s.Outputs()))
			for i, o := range s.Outputs() {
				outs[i] = make([]float32, o.Size())
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Run([][]float32{x}, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
