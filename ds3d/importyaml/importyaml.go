package importyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// target is what a ds3d create function becomes here.
type target struct {
	impl string
	// keys maps ds3d config_body keys to ours; "" drops the key with the
	// reason in drop.
	keys map[string]string
	drop map[string]string
	// why, when impl is "", says why there is no counterpart.
	why string
	// listKeys are our keys that take a list where ds3d writes one value.
	listKeys map[string]bool
}

var glRenderKeys = map[string]string{
	"title": "window_title", "width": "window_width", "height": "window_height",
	"view_position": "view_position", "view_target": "view_target", "view_up": "view_up",
	"near": "perspective_near", "far": "perspective_far", "fov": "perspective_fov",
	"lidar_color": "lidar_color", "lidar_data_key": "lidar_data_key", "lidar_bbox_key": "lidar_bbox_key",
	"color_clear": "color_clear", "enable_label": "enable_label", "line_width": "line_width",
	"x_range": "x_range", "y_range": "y_range", "z_range": "z_range",
}

var glRenderDrop = map[string]string{
	"streams":          "the renderer draws whatever keys it is given (lidar_data_key, lidar_bbox_key)",
	"block":            "rendering never blocks the window loop here",
	"coord_y_opposite": "texture coordinates follow DS3D::PointColorCoord's documented convention",
	"positive_z_only":  "not needed: points behind the camera are clipped by the near plane",
	"font_size":        "labels use the built-in 5×7 bitmap font; set label_scale (1: 7-pixel glyphs, 3: about a 20-point font)",
}

// functions is the table of known ds3d libraries' create functions.
var functions = map[string]target{
	"createLidarFileLoader": {impl: "lidar_file_loader", keys: map[string]string{
		"data_config_file": "data_config_file", "points_num": "points_num", "fixed_points_num": "fixed_points_num",
		"element_size": "element_size", "element_stride": "element_stride", "file_loop": "file_loop",
		"source_id": "source_id", "output_datamap_key": "output_datamap_key", "mem_pool_size": "mem_pool_size",
	}, drop: map[string]string{
		"mem_type":       "CPU frames here; GPU frames come with the cuda build tag",
		"gpu_id":         "CPU frames here; GPU frames come with the cuda build tag",
		"lidar_datatype": "points are always float32 [N,4]",
		"frame_duration": "timestamps come from the list (timestamp_ms)",
	}, listKeys: map[string]bool{"data_config_file": true, "output_datamap_key": true}},
	"createDepth2PointFilter": {impl: "depth2point", keys: map[string]string{
		"max_points": "max_points", "mem_pool_size": "mem_pool_size",
	}, drop: map[string]string{
		"in_streams": "depth2point reads DS3D::DepthFrame (and the colour coordinates need no colour frame)",
		"mem_type":   "CPU frames here; GPU frames come with the cuda build tag",
		"gpu_id":     "CPU frames here; GPU frames come with the cuda build tag",
	}},
	"createDepthColorLoader":    {impl: "", why: "ds3d's raw-file depth/colour source reads headerless .bin dumps; record PNG/JPEG pairs and use rgbd_file_loader (association_file, intrinsics_file, depth_scale)"},
	"createRealsenseDataloader": {impl: "", why: "live Intel RealSense capture needs librealsense, which ds3d-go does not bind; replay recorded RGB-D pairs with rgbd_file_loader"},
	"createMultiSensorMixer": {impl: "multisensor_mixer", keys: map[string]string{
		"max_interval_ms": "max_interval_ms", "queue_size": "queue_size", "force_sync": "force_sync",
	}, drop: map[string]string{
		"timeout": "use timeout_ms with policy = \"publish_on\" (ms, wall clock)",
	}},
	"createPointCloudDataRender":      {impl: "gl_render", keys: glRenderKeys, drop: glRenderDrop},
	"createLidarDataRender":           {impl: "gl_render", keys: glRenderKeys, drop: glRenderDrop},
	"createDepthStreamDataRender":     {impl: "gl_render", keys: glRenderKeys, drop: glRenderDrop},
	"NvDs3D_CreateGlesEnsembleRender": {impl: "gl_render", keys: glRenderKeys, drop: glRenderDrop},
	"createLidarAlignmentFilter":      {impl: "lidar_alignment_filter", keys: map[string]string{}},
	"createLidarInferenceFilter":      {impl: "lidar_infer", keys: map[string]string{}},
	"createVideoBridge2d3d":           {impl: "video_bridge_2d3d", keys: map[string]string{}},
}

// misspellings are ds3d key spellings that mean another key.
var misspellings = map[string]string{
	"lidar_to_cam_extrisic": "lidar_to_cam_extrinsic",
	"cam_intrinsic_parm":    "cam_intrinsic_param",
}

// Issue is one thing that did not carry over.
type Issue struct {
	Line      int
	Component string
	Key       string // empty for a whole component
	Why       string
}

func (i Issue) String() string {
	s := fmt.Sprintf("line %d: component %q", i.Line, i.Component)
	if i.Key != "" {
		s += fmt.Sprintf(": key %q", i.Key)
	}
	return s + ": " + i.Why
}

// Result is a conversion: the TOML text and what did not carry over.
type Result struct {
	TOML   []byte
	Issues []Issue
	// Unmapped lists the components with no counterpart here.
	Unmapped []string
}

type doc struct {
	line       int
	name, kind string
	fn, lib    string
	linkTo     []string
	linkFrom   []string
	withQueue  string
	body       *yaml.Node
	other      map[string]*yaml.Node
}

// Convert turns a ds3d YAML file's bytes into TOML. name appears in
// messages; pipelineName names the [pipeline].
func Convert(name string, data []byte, pipelineName string) (*Result, error) {
	// ds3d's files start with "%YAML 1.2", a directive the YAML 1.1 parser
	// refuses; the subset ds3d uses reads the same, so the directive is
	// commented out (keeping every line number).
	data = bytes.ReplaceAll(data, []byte("%YAML 1.2"), []byte("#YAML 1.2"))
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*doc
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("import-yaml %s: %w", name, err)
		}
		if len(n.Content) == 0 || n.Content[0].Kind == yaml.ScalarNode && n.Content[0].Value == "" {
			continue // an empty document (only comments)
		}
		m := n.Content[0]
		if m.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("import-yaml %s: line %d: expected a mapping (a ds3d component)", name, m.Line)
		}
		d := &doc{line: m.Line, other: map[string]*yaml.Node{}}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			switch k.Value {
			case "name":
				d.name = v.Value
			case "type":
				d.kind = v.Value
			case "custom_create_function":
				d.fn = v.Value
			case "custom_lib_path":
				d.lib = v.Value
			case "link_to":
				d.linkTo = scalars(v)
			case "link_from":
				d.linkFrom = scalars(v)
			case "with_queue":
				d.withQueue = v.Value
			case "config_body":
				d.body = v
			case "in_caps", "out_caps":
				// caps are checked from the registry here
			default:
				d.other[k.Value] = k
			}
		}
		if d.name == "" {
			return nil, fmt.Errorf("import-yaml %s: line %d: component without a name", name, d.line)
		}
		docs = append(docs, d)
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("import-yaml %s: no components", name)
	}
	return render(name, docs, pipelineName), nil
}

func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.SequenceNode {
		var out []string
		for _, c := range n.Content {
			out = append(out, c.Value)
		}
		return out
	}
	return []string{n.Value}
}

func render(file string, docs []*doc, pipelineName string) *Result {
	res := &Result{}
	var b strings.Builder
	fmt.Fprintf(&b, "# Converted from %s by ds3d import-yaml.\n", file)
	fmt.Fprintf(&b, "[pipeline]\nname = %q\n", pipelineName)
	// Components that carry over, and whether any document links itself.
	var kept []*doc
	explicit := false
	for _, d := range docs {
		if len(d.linkTo) > 0 || len(d.linkFrom) > 0 {
			explicit = true
		}
		if d.kind == "ds3d::userapp" {
			res.Issues = append(res.Issues, Issue{d.line, d.name, "", "ds3d::userapp settings belong to ds3d's sample app (debug dumps); here a datamap_file_sink or pointcloud_writer does that"})
			res.Unmapped = append(res.Unmapped, d.name)
			continue
		}
		t, known := functions[d.fn]
		switch {
		case !known:
			res.Issues = append(res.Issues, Issue{d.line, d.name, "", fmt.Sprintf("unknown create function %q in %s: no counterpart is known", d.fn, d.lib)})
			res.Unmapped = append(res.Unmapped, d.name)
			continue
		case t.impl == "":
			res.Issues = append(res.Issues, Issue{d.line, d.name, "", fmt.Sprintf("%s has no counterpart: %s", d.fn, t.why)})
			res.Unmapped = append(res.Unmapped, d.name)
			continue
		}
		if _, ok := ds3d.Lookup(t.impl); !ok {
			res.Issues = append(res.Issues, Issue{d.line, d.name, "", fmt.Sprintf("%s maps to %s, which this build does not have yet", d.fn, t.impl)})
			res.Unmapped = append(res.Unmapped, d.name)
			continue
		}
		kept = append(kept, d)
	}
	hasKind := map[string]bool{}
	for _, d := range kept {
		hasKind[d.kind] = true
	}
	if len(kept) > 0 && (!hasKind[string(ds3d.KindLoader)] || !hasKind[string(ds3d.KindRender)]) {
		missing := "ds3d::dataloader"
		if hasKind[string(ds3d.KindLoader)] {
			missing = "ds3d::datarender"
		}
		res.Issues = append(res.Issues, Issue{kept[0].line, kept[0].name, "", fmt.Sprintf("the file is a fragment without a %s (ds3d's app supplies the rest); add one to run it", missing)})
	}
	if !explicit && len(kept) > 1 {
		res.Issues = append(res.Issues, Issue{kept[0].line, kept[0].name, "link_to", "no document has link_to: linked in file order, as ds3d's sample apps chain them"})
	}
	for i, d := range kept {
		t := functions[d.fn]
		fmt.Fprintf(&b, "\n# from %s line %d (%s in %s)\n[[component]]\nname = %q\ntype = %q\nimpl = %q\n", file, d.line, d.fn, d.lib, d.name, d.kind, t.impl)
		links := d.linkTo
		if !explicit && i+1 < len(kept) {
			links = []string{kept[i+1].name}
		}
		if len(links) > 0 {
			fmt.Fprintf(&b, "link_to = %s\n", tomlStrings(links))
		}
		if len(d.linkFrom) > 0 {
			fmt.Fprintf(&b, "link_from = %s\n", tomlStrings(d.linkFrom))
		}
		if d.withQueue != "" {
			fmt.Fprintf(&b, "with_queue = %q\n", d.withQueue)
		}
		keys := make([]string, 0, len(d.other))
		for k := range d.other {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			why := "no counterpart in a [[component]] table"
			if k == "gst_properties" {
				why = "GStreamer element properties: there is no GStreamer here (sync/async/drop are the runtime's queue settings: leaky, queue_size)"
			}
			res.Issues = append(res.Issues, Issue{d.other[k].Line, d.name, k, why})
			fmt.Fprintf(&b, "# not carried over (line %d): %s\n", d.other[k].Line, k)
		}
		if d.body == nil || d.body.Kind != yaml.MappingNode {
			continue
		}
		var cfg strings.Builder
		for j := 0; j+1 < len(d.body.Content); j += 2 {
			k, v := d.body.Content[j], d.body.Content[j+1]
			key := k.Value
			if fixed, ok := misspellings[key]; ok {
				key = fixed
			}
			ours, ok := t.keys[key]
			if !ok {
				why := "no counterpart"
				if w, dropped := t.drop[key]; dropped {
					why = w
				}
				res.Issues = append(res.Issues, Issue{k.Line, d.name, "config_body." + k.Value, why})
				fmt.Fprintf(&cfg, "# not carried over (line %d): %s: %s\n", k.Line, k.Value, why)
				continue
			}
			val, err := tomlValue(v, t.listKeys[ours])
			if err != nil {
				res.Issues = append(res.Issues, Issue{k.Line, d.name, "config_body." + k.Value, err.Error()})
				continue
			}
			fmt.Fprintf(&cfg, "%s = %s\n", ours, val)
		}
		if cfg.Len() > 0 {
			b.WriteString("[component.config]\n")
			b.WriteString(cfg.String())
		}
	}
	for _, name := range res.Unmapped {
		fmt.Fprintf(&b, "\n# component %q has no counterpart here: see the import report\n", name)
	}
	res.TOML = []byte(b.String())
	sort.SliceStable(res.Issues, func(i, j int) bool { return res.Issues[i].Line < res.Issues[j].Line })
	return res
}

func tomlStrings(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = strconv.Quote(x)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// tomlValue writes a YAML scalar or flat sequence as TOML.
func tomlValue(n *yaml.Node, list bool) (string, error) {
	switch n.Kind {
	case yaml.ScalarNode:
		s := scalar(n)
		if list {
			return "[" + s + "]", nil
		}
		return s, nil
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return "", fmt.Errorf("nested lists are not supported")
			}
			parts[i] = scalar(c)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	}
	return "", fmt.Errorf("a nested mapping has no counterpart")
}

// scalar renders a YAML scalar as the TOML value of the same type: YAML's
// True/False are booleans, numbers stay numbers, the rest are strings.
func scalar(n *yaml.Node) string {
	switch n.Tag {
	case "!!bool":
		if b, err := strconv.ParseBool(strings.ToLower(n.Value)); err == nil {
			return strconv.FormatBool(b)
		}
	case "!!int":
		if _, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
			return n.Value
		}
	case "!!float":
		if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
			s := strconv.FormatFloat(f, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eEnN") {
				s += ".0"
			}
			return s
		}
	}
	return strconv.Quote(n.Value)
}
