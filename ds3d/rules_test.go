package ds3d

import (
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

type rulesConfig struct {
	InputGroup `doc:"key of the points"`
	PoolGroup
	Mode   string        `toml:"return_mode" enum:"strongest|last|dual" doc:"returns"`
	Sweeps int           `toml:"max_sweeps" min:"1" max:"1000" doc:"sweeps"`
	Rate   float64       `toml:"rate_hz" min:">0" unit:"Hz" doc:"rate"`
	Cut    float64       `toml:"cut_angle" min:"0" max:"<360" unit:"°" doc:"cut"`
	Range  [2]float32    `toml:"range" min:"-100" max:"100" doc:"range"`
	Keys   []string      `toml:"keys" nonempty:"true" enum:"a|b" doc:"keys"`
	Idle   time.Duration `toml:"idle_timeout" min:"0s" doc:"idle"`
	Files  []Path        `toml:"files" path:"exists" doc:"files"`
	Thresh float64       `toml:"score_threshold" runtime:"true" doc:"threshold"`
	Sub    []rulesSub    `toml:"sub" doc:"sub tables"`
}

type rulesSub struct {
	Name string `toml:"name" nonempty:"true" doc:"name"`
}

func okRules() *rulesConfig {
	return &rulesConfig{InputGroup: InputGroup{"k"}, PoolGroup: PoolGroup{2}, Mode: "last", Sweeps: 10, Rate: 10,
		Cut: 0, Keys: []string{"a"}, Sub: []rulesSub{{"x"}}}
}

func TestRulesFieldsAndDocs(t *testing.T) {
	fs := FieldsOf(reflect.TypeOf(rulesConfig{}))
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "input_datamap_key,mem_pool_size,return_mode,max_sweeps,rate_hz,cut_angle,range,keys,idle_timeout,files,score_threshold,sub" {
		t.Fatalf("keys %s", got)
	}
	if fs[0].Doc != "key of the points" || !fs[0].NonEmpty {
		t.Errorf("input group: %+v", fs[0])
	}
	want := map[string]string{
		"mem_pool_size":   "mem_pool_size ≥ 1",
		"return_mode":     "one of strongest|last|dual",
		"max_sweeps":      "1 ≤ max_sweeps ≤ 1000",
		"rate_hz":         "rate_hz > 0 (Hz)",
		"cut_angle":       "0 ≤ cut_angle < 360 (°)",
		"keys":            "one of a|b; not empty",
		"files":           "must exist",
		"score_threshold": "runtime-updatable",
	}
	for _, f := range fs {
		if w, ok := want[f.Name]; ok {
			if got := strings.Join(f.Rules(), "; "); got != w {
				t.Errorf("%s rules %q, want %q", f.Name, got, w)
			}
		}
	}
}

func TestCheckRules(t *testing.T) {
	if errs := CheckRules(okRules(), true); len(errs) > 0 {
		t.Fatalf("valid config: %v", errs)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.bin"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		edit func(c *rulesConfig)
		want string
	}{
		{func(c *rulesConfig) { c.InputKey = "" }, "input_datamap_key: must not be empty"},
		{func(c *rulesConfig) { c.MemPoolSize = 0 }, "mem_pool_size: must be ≥ 1, got 0"},
		{func(c *rulesConfig) { c.Mode = "first" }, `return_mode: must be one of "strongest", "last", "dual", got "first"`},
		{func(c *rulesConfig) { c.Sweeps = 1001 }, "max_sweeps: must be in [1, 1000], got 1001"},
		{func(c *rulesConfig) { c.Rate = 0 }, "rate_hz: must be > 0, got 0.0"},
		{func(c *rulesConfig) { c.Cut = 360 }, "cut_angle: must be in [0, 360), got 360.0"},
		{func(c *rulesConfig) { c.Range[1] = 200 }, "range: element 1: must be in [-100, 100], got 200.0"},
		{func(c *rulesConfig) { c.Keys = nil }, "keys: must not be empty"},
		{func(c *rulesConfig) { c.Keys = []string{"a", "c"} }, `keys: element 1: must be one of "a", "b", got "c"`},
		{func(c *rulesConfig) { c.Idle = -time.Second }, "idle_timeout: must be ≥ 0s, got -1s"},
		{func(c *rulesConfig) { c.Sub = []rulesSub{{"x"}, {""}} }, "sub[1].name: must not be empty"},
		{func(c *rulesConfig) { c.Files = []Path{Path(filepath.Join(dir, "*.pcd"))} }, "files: element 0: glob " + `"` + filepath.Join(dir, "*.pcd") + `" matches no file`},
		{func(c *rulesConfig) { c.Files = []Path{Path(filepath.Join(dir, "b.bin"))} }, "files: element 0: " + filepath.Join(dir, "b.bin") + " does not exist"},
	} {
		c := okRules()
		tc.edit(c)
		errs := CheckRules(c, true)
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("got %v, want %s", errs, tc.want)
		}
	}
	c := okRules()
	c.Files = []Path{Path(filepath.Join(dir, "*.bin")), Path(filepath.Join(dir, "a.bin")), "-", "rtsp://x/y"}
	if errs := CheckRules(c, true); len(errs) > 0 {
		t.Errorf("existing files: %v", errs)
	}
	c.Files = []Path{"/nonexistent/*.bin"}
	if errs := CheckRules(c, false); len(errs) > 0 {
		t.Errorf("paths unchecked: %v", errs)
	}
	if err := CheckConfig(c); err != nil {
		t.Errorf("CheckConfig checks no files: %v", err)
	}
}

func TestRegisterRefusesMalformedRules(t *testing.T) {
	for _, tc := range []struct {
		cfg  any
		want string
	}{
		{&struct {
			X bool `toml:"x" enum:"a|b" doc:"x"`
		}{}, "enum tag on a boolean"},
		{&struct {
			X int `toml:"x" enum:"0|a" doc:"x"`
		}{}, `enum tag "0|a": "a" is not an integer`},
		{&struct {
			X int `toml:"x" enum:"@names" doc:"x"`
		}{}, "registered enums are strings"},
		{&struct {
			X string `toml:"x" enum:"@" doc:"x"`
		}{}, "bad registry name"},
		{&struct {
			X string `toml:"x" enumfold:"true" doc:"x"`
		}{}, "enumfold tag without a string enum tag"},
		{&struct {
			X int `toml:"x" finite:"true" doc:"x"`
		}{}, "finite tag on a integer"},
		{&struct {
			X float64 `toml:"x" finite:"yes" doc:"x"`
		}{}, `finite tag "yes"`},
		{&struct {
			X [3]float64 `toml:"x" len:"3" doc:"x"`
		}{}, "len tag on a array"},
		{&struct {
			X []float64 `toml:"x" len:"<=x" doc:"x"`
		}{}, `len tag "<=x"`},
		{&struct {
			X []float64 `toml:"x" len:"0" doc:"x"`
		}{}, `len tag "0"`},
		{&struct {
			X int `toml:"x" min:"one" doc:"x"`
		}{}, `min tag "one" is not a number`},
		{&struct {
			X int `toml:"x" min:"2" max:"1" doc:"x"`
		}{}, "min 2 > max 1"},
		{&struct {
			X string `toml:"x" path:"exists" doc:"x"`
		}{}, "path tag on a string"},
		{&struct {
			X bool `toml:"x" nonempty:"true" doc:"x"`
		}{}, "nonempty tag on a boolean"},
		{&struct {
			X int `toml:"x" notnan:"true" doc:"x"`
		}{}, "notnan tag on a integer"},
		{&struct {
			X string `toml:"x" nonzero:"true" doc:"x"`
		}{}, "nonzero tag on a string"},
		{&struct {
			X []float64 `toml:"x" len:"<=3|4" doc:"x"`
		}{}, `len tag "<=3|4"`},
		{&struct {
			X float64 `toml:"x" ordered:"<" doc:"x"`
		}{}, "ordered tag on a float"},
		{&struct {
			X []float64 `toml:"x" ordered:">" doc:"x"`
		}{}, `ordered tag ">"`},
		{&struct {
			X []int `toml:"x" nonempty:"each" doc:"x"`
		}{}, "want a list of strings"},
		{&struct {
			InputGroup
			X string `toml:"input_datamap_key" doc:"x"`
		}{}, "declared twice"},
	} {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), tc.want) {
					t.Errorf("%T: panic %v, want %q", tc.cfg, r, tc.want)
				}
			}()
			cfg := tc.cfg
			Register(KindFilter, "malformed_rules_test", "x", func() any { return cfg }, func(any, *Env) (any, error) { return nil, nil })
		}()
	}
}

type rulesConfig2 struct {
	Net    int        `toml:"network_type" enum:"0|1|3|100" doc:"net"`
	Modes  []int      `toml:"modes" enum:"2|4" doc:"modes"`
	Fold   string     `toml:"datatype" enum:"|FP32|INT8" enumfold:"true" doc:"fold"`
	Parser string     `toml:"parser" enum:"@rules_test.parser" doc:"parser"`
	Z      float64    `toml:"grid_z" finite:"true" doc:"z"`
	Vec    [3]float32 `toml:"up" finite:"true" doc:"up"`
	Range  []float64  `toml:"point_cloud_range" len:"6" doc:"range"`
	Offs   []float64  `toml:"offsets" len:"<=3" finite:"true" doc:"offsets"`
}

var rulesTestParsers = []string{"yolox"}

func init() {
	RegisterEnum("rules_test.parser", func() []string { return rulesTestParsers })
}

func TestRulesNewTags(t *testing.T) {
	ok := func() *rulesConfig2 {
		return &rulesConfig2{Net: 100, Modes: []int{2, 4}, Fold: "fp32", Parser: "yolox", Vec: [3]float32{0, 0, 1}}
	}
	if errs := CheckRules(ok(), false); len(errs) > 0 {
		t.Fatalf("valid config: %v", errs)
	}
	want := map[string]string{
		"network_type":      "one of 0|1|3|100",
		"modes":             "one of 2|4",
		"datatype":          `one of ""|FP32|INT8; any case`,
		"parser":            "one of the registered rules_test.parser (yolox)",
		"grid_z":            "finite",
		"point_cloud_range": "6 values",
		"offsets":           "finite; at most 3 values",
	}
	for _, f := range FieldsOf(reflect.TypeOf(rulesConfig2{})) {
		if w, ok := want[f.Name]; ok {
			if got := strings.Join(f.Rules(), "; "); got != w {
				t.Errorf("%s rules %q, want %q", f.Name, got, w)
			}
		}
	}
	nan := math.NaN()
	for _, tc := range []struct {
		edit func(c *rulesConfig2)
		want string
	}{
		{func(c *rulesConfig2) { c.Net = 2 }, "network_type: must be one of 0, 1, 3, 100, got 2"},
		{func(c *rulesConfig2) { c.Modes = []int{4, 1} }, "modes: element 1: must be one of 2, 4, got 1"},
		{func(c *rulesConfig2) { c.Fold = "fp31" }, `datatype: must be one of "", "FP32", "INT8", got "fp31"`},
		{func(c *rulesConfig2) { c.Parser = "ssd" }, `parser: must be one of "yolox", got "ssd"`},
		{func(c *rulesConfig2) { c.Z = nan }, "grid_z: must be finite, got NaN"},
		{func(c *rulesConfig2) { c.Vec[2] = float32(math.Inf(-1)) }, "up: element 2: must be finite, got -Inf"},
		{func(c *rulesConfig2) { c.Offs = []float64{1, math.Inf(1)} }, "offsets: element 1: must be finite, got +Inf"},
		{func(c *rulesConfig2) { c.Offs = []float64{1, 2, 3, 4} }, "offsets: at most 3 values, got 4"},
		{func(c *rulesConfig2) { c.Range = []float64{1, 2} }, "point_cloud_range: must have 6 values, got 2"},
	} {
		c := ok()
		tc.edit(c)
		errs := CheckRules(c, false)
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("got %v, want %s", errs, tc.want)
		}
	}
	c := ok()
	c.Range = make([]float64, 6)
	c.Offs = []float64{1, 2, 3}
	if errs := CheckRules(c, false); len(errs) > 0 {
		t.Errorf("full lengths: %v", errs)
	}
	// values are read at check time: a parser registered later counts
	rulesTestParsers = append(rulesTestParsers, "ssd")
	defer func() { rulesTestParsers = rulesTestParsers[:1] }()
	c.Parser = "ssd"
	if errs := CheckRules(c, false); len(errs) > 0 {
		t.Errorf("late registration: %v", errs)
	}
	func() {
		defer func() {
			if r := recover(); r == nil {
				t.Error("RegisterEnum twice did not panic")
			}
		}()
		RegisterEnum("rules_test.parser", func() []string { return nil })
	}()
}

type rulesConfig3 struct {
	Score  float64   `toml:"score_threshold" notnan:"true" doc:"score"`
	Scale  float64   `toml:"scale" finite:"float32" nonzero:"true" doc:"scale"`
	NMS    int       `toml:"nms_pre_max_size" min:"-1" nonzero:"true" doc:"nms"`
	Matrix []float64 `toml:"matrix" len:"12|16" doc:"matrix"`
	Limits []float64 `toml:"z_range" len:"2" ordered:"<=" doc:"z"`
	Range  []float32 `toml:"point_cloud_range" len:"6" ordered:"<" doc:"range"`
	Keys   []string  `toml:"keys" nonempty:"true,each" doc:"keys"`
}

func TestRulesNumericAndListTags(t *testing.T) {
	ok := func() *rulesConfig3 {
		return &rulesConfig3{Score: math.Inf(-1), Scale: 1, NMS: -1, Matrix: make([]float64, 12),
			Limits: []float64{-1, -1}, Range: []float32{0, -40, -3, 70, 40, 1}, Keys: []string{"a"}}
	}
	if errs := CheckRules(ok(), false); len(errs) > 0 {
		t.Fatalf("valid config: %v", errs)
	}
	want := map[string]string{
		"score_threshold":   "not NaN",
		"scale":             "finite float32; not 0",
		"nms_pre_max_size":  "not 0; nms_pre_max_size ≥ -1",
		"matrix":            "12 or 16 values",
		"z_range":           "2 values; min ≤ max",
		"point_cloud_range": "6 values; min < max",
		"keys":              "not empty; no empty element",
	}
	for _, f := range FieldsOf(reflect.TypeOf(rulesConfig3{})) {
		if got := strings.Join(f.Rules(), "; "); got != want[f.Name] {
			t.Errorf("%s rules %q, want %q", f.Name, got, want[f.Name])
		}
	}
	for _, tc := range []struct {
		edit func(c *rulesConfig3)
		want string
	}{
		{func(c *rulesConfig3) { c.Score = math.NaN() }, "score_threshold: must be a number, got NaN"},
		{func(c *rulesConfig3) { c.Scale = 0 }, "scale: must not be 0"},
		{func(c *rulesConfig3) { c.Scale = 1e39 }, "scale: must be a finite float32 (|x| ≤ 3.4028234663852886e+38), got 1e+39"},
		{func(c *rulesConfig3) { c.NMS = 0 }, "nms_pre_max_size: must not be 0"},
		{func(c *rulesConfig3) { c.Matrix = make([]float64, 9) }, "matrix: must have 12 or 16 values, got 9"},
		{func(c *rulesConfig3) { c.Limits = []float64{2, 1} }, "z_range: min 2.0 must be ≤ 1.0"},
		{func(c *rulesConfig3) { c.Range[4] = -40 }, "point_cloud_range: value 1 (-40.0) must be below -40.0"},
		{func(c *rulesConfig3) { c.Keys = []string{"a", ""} }, "keys: element 1: is empty"},
		{func(c *rulesConfig3) { c.Keys = nil }, "keys: must not be empty"},
	} {
		c := ok()
		tc.edit(c)
		errs := CheckRules(c, false)
		if len(errs) != 1 || errs[0].Error() != tc.want {
			t.Errorf("got %v, want %s", errs, tc.want)
		}
	}
	c := ok()
	c.Matrix = make([]float64, 16)
	c.Limits = nil
	if errs := CheckRules(c, false); len(errs) > 0 {
		t.Errorf("16 values, no limits: %v", errs)
	}
}
