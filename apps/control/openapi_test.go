package control_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ds3d-go/ds3d-go/apps/control"
)

// spec is the part of an OpenAPI 3 document this test reads.
type spec struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]operation `yaml:"paths"`
	Components struct {
		Schemas   map[string]*schema   `yaml:"schemas"`
		Responses map[string]*response `yaml:"responses"`
	} `yaml:"components"`
}

type operation struct {
	Security    []map[string][]string `yaml:"security"`
	RequestBody *struct {
		Content map[string]any `yaml:"content"`
	} `yaml:"requestBody"`
	Responses map[string]*response `yaml:"responses"`
}

type response struct {
	Ref     string `yaml:"$ref"`
	Content map[string]struct {
		Schema *schema `yaml:"schema"`
	} `yaml:"content"`
}

type schema struct {
	Ref        string             `yaml:"$ref"`
	Type       string             `yaml:"type"`
	Required   []string           `yaml:"required"`
	Properties map[string]*schema `yaml:"properties"`
	Items      *schema            `yaml:"items"`
	Enum       []string           `yaml:"enum"`
}

func (s *spec) schema(x *schema) *schema {
	for x != nil && x.Ref != "" {
		x = s.Components.Schemas[strings.TrimPrefix(x.Ref, "#/components/schemas/")]
	}
	return x
}

func (s *spec) response(x *response) *response {
	for x != nil && x.Ref != "" {
		x = s.Components.Responses[strings.TrimPrefix(x.Ref, "#/components/responses/")]
	}
	return x
}

// check reports where v does not match x: required fields, JSON types and
// enums, recursively.
func (s *spec) check(x *schema, v any, at string, errs *[]string) {
	x = s.schema(x)
	if x == nil {
		*errs = append(*errs, at+": schema reference does not resolve")
		return
	}
	bad := func(what string) { *errs = append(*errs, at+": "+what) }
	switch x.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("not an object")
			return
		}
		for _, r := range x.Required {
			if _, ok := m[r]; !ok {
				bad("lacks required field " + r)
			}
		}
		for k, sub := range x.Properties {
			if e, ok := m[k]; ok {
				s.check(sub, e, at+"."+k, errs)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("not an array")
			return
		}
		for i, e := range a {
			if x.Items != nil {
				s.check(x.Items, e, at+"["+strconv.Itoa(i)+"]", errs)
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("not a string")
		} else if len(x.Enum) > 0 && !slices.Contains(x.Enum, str) {
			bad("value " + str + " not in the enum")
		}
	case "integer":
		if f, ok := v.(float64); !ok || f != float64(int64(f)) {
			bad("not an integer")
		}
	case "number":
		if _, ok := v.(float64); !ok {
			bad("not a number")
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("not a boolean")
		}
	}
}

// TestOpenAPIDocument walks every path and method of openapi.yaml against
// a running server: each answer's status must be one the document lists
// for the operation, and a JSON answer must match the documented schema's
// required fields and types. Operations that need a token are also sent
// without one, and that 401 must be documented too. Drain and stop go last.
func TestOpenAPIDocument(t *testing.T) {
	var doc spec
	if err := yaml.Unmarshal(control.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	r := start(t, chainDoc(false, "test_source\ncount = 0", "passthrough", "counting_sink\ndelay = \"1ms\""), setup{start: true, token: true})
	r.waitFor("frames", func() bool { return r.g.SinkFrames() > 0 })

	type op struct{ path, method string }
	var ops []op
	for path, methods := range doc.Paths {
		for m := range methods {
			ops = append(ops, op{path, strings.ToUpper(m)})
		}
	}
	last := map[string]int{"/api/v1/pipeline/drain": 1, "/api/v1/pipeline/stop": 2}
	sort.Slice(ops, func(i, j int) bool {
		if last[ops[i].path] != last[ops[j].path] {
			return last[ops[i].path] < last[ops[j].path]
		}
		return ops[i].path+ops[i].method < ops[j].path+ops[j].method
	})
	if len(ops) < 8 {
		t.Fatalf("only %d operations documented", len(ops))
	}
	served := map[string]bool{}
	for _, o := range ops {
		spec := doc.Paths[o.path][strings.ToLower(o.method)]
		url := strings.ReplaceAll(o.path, "{name}", "sink")
		var body []byte
		ctype := ""
		if spec.RequestBody != nil {
			if _, ok := spec.RequestBody.Content["application/json"]; !ok {
				t.Errorf("%s %s: the request body is not documented as JSON", o.method, o.path)
			}
			// 50 ms a datamap keeps the drain going while stop is sent.
			body, ctype = []byte(`{"delay": "50ms"}`), "application/json"
		}
		checkAnswer := func(a answer, what string) {
			t.Helper()
			res := doc.response(spec.Responses[strconv.Itoa(a.status)])
			if res == nil {
				t.Errorf("%s %s%s: status %d is not documented (%s)", o.method, o.path, what, a.status, a.body)
				return
			}
			ct := a.header.Get("Content-Type")
			mt, _, _ := strings.Cut(ct, ";")
			c, ok := res.Content[mt]
			if !ok && len(res.Content) > 0 {
				t.Errorf("%s %s%s: %d answered %s, documented %v", o.method, o.path, what, a.status, ct, res.Content)
				return
			}
			if mt != "application/json" || c.Schema == nil {
				return
			}
			var v any
			if err := json.Unmarshal(a.body, &v); err != nil {
				t.Errorf("%s %s%s: body is not JSON: %v", o.method, o.path, what, err)
				return
			}
			var errs []string
			doc.check(c.Schema, v, "body", &errs)
			for _, e := range errs {
				t.Errorf("%s %s%s (%d): %s", o.method, o.path, what, a.status, e)
			}
		}
		if len(spec.Security) > 0 {
			checkAnswer(r.do(o.method, url, "", ctype, body), " without a token")
			if a := r.do(o.method, url, "", ctype, body); a.status != http.StatusUnauthorized {
				t.Errorf("%s %s without a token: %d", o.method, o.path, a.status)
			}
		}
		a := r.do(o.method, url, r.bearer(), ctype, body)
		checkAnswer(a, "")
		if a.status/100 == 2 {
			served[o.method+" "+o.path] = true
		}
	}
	for _, want := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /api/v1/pipeline",
		"PATCH /api/v1/components/{name}/config", "POST /api/v1/pipeline/drain", "POST /api/v1/pipeline/stop", "GET /api/v1/openapi.yaml"} {
		if !served[want] {
			t.Errorf("%s is not documented or did not succeed", want)
		}
	}
	// The error schema itself, on a documented error.
	var errs []string
	var v any
	a := r.do(http.MethodPatch, "/api/v1/components/nope/config", r.bearer(), "application/json", []byte(`{"delay":"1ms"}`))
	_ = json.Unmarshal(a.body, &v)
	doc.check(&schema{Ref: "#/components/schemas/Error"}, v, "404 body", &errs)
	for _, e := range errs {
		t.Error(e)
	}
}
