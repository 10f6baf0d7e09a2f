// Package layers writes down which ds3d-go package may import which: the
// arrows of ../shared/DESIGN.md §1 (ds3d ← core2d ← sensors/filters ←
// fusion/render ← apps, datasets above sensors), made exact. Its test runs
// `go list` over the module and fails, naming the importing package, the
// import and the rule, when an import runs the wrong way.
//
// A rule is chosen by the longest folder prefix of the importing package
// (fusion/eval's rule wins over fusion's) and lists the folders it may
// import; every package may import the standard library. Test files (the
// package's own and its _test package) may also import what Tests lists:
// test helpers, ground truth and the components a test pipeline is built
// from — but never apps/.
package layers

// Rule says what the packages under From may import: packages under any of
// Allow (a folder prefix: "core2d" allows core2d and core2d/...), and, when
// External is not nil, only the third-party modules under External.
type Rule struct {
	From     string
	Allow    []string
	External []string // nil: any third-party module
	Why      string
}

// Rules are the allowed arrows. Paths are relative to the module.
var Rules = []Rule{
	{From: "ds3d", Allow: []string{"ds3d"},
		External: []string{"gonum.org/v1/gonum", "github.com/pelletier/go-toml/v2", "go.yaml.in/yaml/v3"},
		Why:      "the core (datamap, registry, config, runtime) imports nothing above it: stdlib, gonum, go-toml (and yaml for the importer)"},
	{From: "core2d", Allow: []string{"ds3d", "core2d"},
		Why: "the 2D core sits on the framework only"},
	{From: "core2d/draw", Allow: nil,
		Why: "drawing primitives are a leaf that core2d/osd and render/raster share: stdlib only"},
	{From: "core2d/track/assign", Allow: nil,
		Why: "the assignment solver is a leaf shared by 2D and 3D trackers and the evaluators"},
	{From: "sensors", Allow: []string{"ds3d", "core2d/decode", "sensors", "internal/framelist"},
		Why: "sources read files and devices; images decode through core2d/decode"},
	{From: "filters", Allow: []string{"ds3d", "core2d/infer", "core2d/meta", "filters", "sensors/calib"},
		Why: "datafilters use the inference engine and calibration files, no sources (sensors/calib is a codec, not a source), and read the 2D stages' batch metadata (core2d/meta, a data leaf) for 2D tracks"},
	{From: "gpu", Allow: []string{"ds3d", "core2d", "filters", "sensors/calib"},
		Why: "the CUDA components are filters on the GPU and reuse the CPU filters' code"},
	{From: "datasets", Allow: []string{"ds3d", "sensors", "core2d/decode", "datasets"},
		Why: "dataset readers convert to ds3d types with the sensors' codecs"},
	{From: "datasets/synth", Allow: []string{"ds3d", "sensors", "core2d/decode", "datasets", "render/writer"},
		Why: "the scene generator writes its labels through kitti_label_writer's box conversion, so generated and detected labels follow one convention"},
	{From: "fusion", Allow: []string{"ds3d", "core2d", "sensors", "filters", "fusion"},
		Why: "multi-sensor components sit above sources and filters"},
	{From: "fusion/eval", Allow: []string{"ds3d", "core2d/track/assign", "datasets", "fusion/eval"},
		Why: "evaluation reads ground truth through the dataset readers; its commands live in apps/cli"},
	{From: "render", Allow: []string{"ds3d", "core2d", "sensors", "filters", "render"},
		Why: "renderers and writers sit above sources and filters, beside fusion"},
	{From: "internal", Allow: []string{"ds3d", "core2d/decode", "internal"},
		Why: "test helpers and small utilities"},
	{From: "internal/framelist", Allow: nil, Why: "a leaf utility"},
	{From: "internal/xvfb", Allow: nil, Why: "a leaf utility"},
	{From: "apps", Allow: []string{"ds3d", "core2d", "sensors", "filters", "fusion", "render", "datasets", "gpu", "apps", "internal/xvfb", "internal/framelist"},
		Why: "commands and sample apps use everything but the test helpers"},
}

// Tests are the extra folders that test files of any package may import,
// besides those its rule allows and the packages that register components
// (apps/components' imports), from which test pipelines are built: the
// framework, ground truth (datasets, fusion/eval), image decoding and the
// internal test helpers (testenv, sampledata, dstest, nusctest, …).
var Tests = []string{"ds3d", "datasets", "core2d/decode", "fusion/eval", "internal"}
