package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ds3d-go/ds3d-go/ds3d"
	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
)

// apiError is the body of every error answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"encoding the answer failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "ok\n")
}

// readiness is /readyz's body.
type readiness struct {
	Ready          bool   `json:"ready"`
	State          string `json:"state"`
	Sources        int    `json:"sources"`
	SourcesStarted int    `json:"sources_started"`
	Reason         string `json:"reason,omitempty"`
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.g.Status()
	rd := readiness{State: string(st.State), Sources: st.Sources, SourcesStarted: st.SourcesStarted}
	switch st.State {
	case pipeline.StateRunning:
		rd.Ready = true
	case pipeline.StateBuilt:
		rd.Reason = "the pipeline has not started"
	case pipeline.StateStarting:
		rd.Reason = fmt.Sprintf("%d of %d sources started", st.SourcesStarted, st.Sources)
	case pipeline.StateDraining:
		rd.Reason = "the pipeline is draining"
	case pipeline.StateFailed:
		rd.Reason = "a component failed: " + st.Err.Error()
	case pipeline.StateStopped:
		rd.Reason = "the pipeline was stopped: " + st.Err.Error()
	case pipeline.StateFinished:
		rd.Reason = "the pipeline has finished"
	}
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rd)
}

// pipelineDoc is GET /api/v1/pipeline's body.
type pipelineDoc struct {
	Name       string         `json:"name"`
	File       string         `json:"file,omitempty"`
	State      string         `json:"state"`
	Error      string         `json:"error,omitempty"`
	Realtime   bool           `json:"realtime"`
	SinkFrames uint64         `json:"sink_frames"`
	Components []componentDoc `json:"components"`
}

type componentDoc struct {
	Name    string           `json:"name"`
	Impl    string           `json:"impl"`
	Kind    string           `json:"kind"`
	LinkTo  []linkDoc        `json:"link_to"`
	Queue   queueDoc         `json:"queue"`
	Runtime []string         `json:"runtime_keys"`
	Config  map[string]any   `json:"config"`
	Metrics pipeline.Metrics `json:"metrics"`
}

type linkDoc struct {
	To   string `json:"to"`
	Port int    `json:"port"`
}

type queueDoc struct {
	Size  int    `json:"size"`
	Leaky string `json:"leaky"`
}

// pipelineName is the config's name, else its file's.
func pipelineName(p *config.Pipeline) string {
	if p.Name != "" {
		return p.Name
	}
	if p.File != "" {
		return filepath.Base(p.File)
	}
	return "pipeline"
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request) {
	st := s.g.Status()
	doc := pipelineDoc{Name: pipelineName(s.p), File: s.p.File, State: string(st.State), Realtime: s.p.Realtime, SinkFrames: s.g.SinkFrames()}
	if st.Err != nil {
		doc.Error = st.Err.Error()
	}
	ms := s.g.Metrics()
	for i, c := range s.p.Components {
		cd := componentDoc{Name: c.Name, Impl: c.Impl, Kind: string(c.Kind), LinkTo: []linkDoc{}, Runtime: runtimeKeys(c),
			Queue: queueDoc{Size: c.QueueSize, Leaky: c.Leaky}, Metrics: ms[i]}
		for _, e := range s.p.Edges {
			if e.From == c {
				cd.LinkTo = append(cd.LinkTo, linkDoc{To: e.To.Name, Port: e.Port})
			}
		}
		cd.Config = configJSON(s.g.Config(c.Name))
		doc.Components = append(doc.Components, cd)
	}
	writeJSON(w, http.StatusOK, doc)
}

func runtimeKeys(c *config.Component) []string {
	keys := []string{}
	if c.Spec == nil {
		return keys
	}
	for _, f := range c.Spec.Fields {
		if f.Runtime {
			keys = append(keys, f.Name)
		}
	}
	return keys
}

// configJSON writes a component's config struct as its TOML keys with
// JSON values: durations as their TOML strings ("40ms"), paths as strings,
// non-finite floats as "inf", "-inf" and "nan".
func configJSON(cfg any) map[string]any {
	out := map[string]any{}
	if cfg == nil {
		return out
	}
	v := reflect.ValueOf(cfg)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return out
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return out
	}
	if m, ok := jsonValue(v).(map[string]any); ok {
		return m
	}
	return out
}

var durationType = reflect.TypeOf(time.Duration(0))

func jsonValue(v reflect.Value) any {
	if v.Type() == durationType {
		return time.Duration(v.Int()).String()
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return jsonValue(v.Elem())
	case reflect.Struct:
		m := map[string]any{}
		for _, k := range ds3d.StructKeys(v.Type()) {
			if k.Name == "" {
				continue
			}
			m[k.Name] = jsonValue(v.FieldByIndex(k.Index))
		}
		return m
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return []any{}
		}
		a := make([]any, v.Len())
		for i := range a {
			a[i] = jsonValue(v.Index(i))
		}
		return a
	case reflect.Map:
		m := map[string]any{}
		it := v.MapRange()
		for it.Next() {
			m[fmt.Sprint(it.Key().Interface())] = jsonValue(it.Value())
		}
		return m
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "nan"
		case math.IsInf(f, 1):
			return "inf"
		case math.IsInf(f, -1):
			return "-inf"
		}
		if v.Kind() == reflect.Float32 {
			// 2.6, not the float64 widening 2.5999999046325684
			g, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
			return g
		}
		return f
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint()
	}
	return fmt.Sprint(v.Interface())
}

// parseChanges reads a PATCH body: TOML keys of the component's config
// table, or a JSON object of them, chosen by Content-Type (a body without
// one is JSON when it starts with '{').
func parseChanges(r *http.Request) (map[string]any, int, string, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, http.StatusRequestEntityTooLarge, "too_large", fmt.Errorf("the body exceeds %d bytes", MaxBody)
		}
		return nil, http.StatusBadRequest, "bad_request", fmt.Errorf("reading the body: %w", err)
	}
	ct := r.Header.Get("Content-Type")
	isJSON := false
	if ct == "" {
		isJSON = bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))
	} else {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			return nil, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Errorf("Content-Type %q: %w", ct, err)
		}
		switch mt {
		case "application/json":
			isJSON = true
		case "application/toml", "text/toml", "text/plain", "application/x-toml":
		default:
			return nil, http.StatusUnsupportedMediaType, "unsupported_media_type",
				fmt.Errorf("Content-Type %q: send application/json or application/toml", mt)
		}
	}
	if !isJSON {
		m, err := config.ParseUpdate(string(body))
		if err != nil {
			return nil, http.StatusBadRequest, "bad_request", err
		}
		return m, 0, "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, http.StatusBadRequest, "bad_request", fmt.Errorf("config update: %w", err)
	}
	if dec.More() {
		return nil, http.StatusBadRequest, "bad_request", errors.New("config update: more than one JSON value in the body")
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, http.StatusBadRequest, "bad_request", errors.New("config update: the body must be a JSON object of config keys")
	}
	return config.FromJSON(obj).(map[string]any), 0, "", nil
}

// configAnswer is PATCH's body: the config the component now runs.
type configAnswer struct {
	Name   string         `json:"name"`
	Config map[string]any `json:"config"`
}

func (s *Server) patchConfig(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var comp *config.Component
	for _, c := range s.p.Components {
		if c.Name == name {
			comp = c
		}
	}
	if comp == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no component %q", name))
		return
	}
	changes, status, code, err := parseChanges(r)
	if err != nil {
		writeError(w, status, code, err.Error())
		return
	}
	switch st := s.g.Status().State; st {
	case pipeline.StateBuilt, pipeline.StateFailed, pipeline.StateStopped, pipeline.StateFinished:
		writeError(w, http.StatusConflict, "not_running", fmt.Sprintf("the pipeline is %s; configs change only while it runs", st))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), updateTimeout)
	defer cancel()
	err = s.g.UpdateConfig(ctx, name, changes)
	switch {
	case err == nil:
		s.log.Info("config changed through the control API", "component", name, "keys", keysOf(changes))
		writeJSON(w, http.StatusOK, configAnswer{Name: name, Config: configJSON(s.g.Config(name))})
	case errors.Is(err, pipeline.ErrStopped):
		writeError(w, http.StatusConflict, "not_running", err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "timeout",
			fmt.Sprintf("component %q did not take the change within %s (it may still apply it after its current datamap)", name, updateTimeout))
	case notRuntime(comp, changes):
		writeError(w, http.StatusConflict, "not_runtime_updatable", err.Error())
	default:
		writeError(w, http.StatusBadRequest, "invalid_config", err.Error())
	}
}

// notRuntime reports whether a change names a key of the component that
// cannot change while it runs (unknown keys are invalid, not this).
func notRuntime(c *config.Component, changes map[string]any) bool {
	if c.Spec == nil {
		return true
	}
	for k := range changes {
		for _, f := range c.Spec.Fields {
			if f.Name == k && !f.Runtime {
				return true
			}
		}
	}
	return len(runtimeKeys(c)) == 0
}

func keysOf(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

// stateAnswer is the body of drain and stop.
type stateAnswer struct {
	State string `json:"state"`
}

func (s *Server) ended(w http.ResponseWriter) bool {
	switch st := s.g.Status().State; st {
	case pipeline.StateFailed, pipeline.StateStopped, pipeline.StateFinished:
		writeError(w, http.StatusConflict, "not_running", fmt.Sprintf("the pipeline has already ended (%s)", st))
		return true
	}
	return false
}

func (s *Server) drain(w http.ResponseWriter, r *http.Request) {
	if s.ended(w) {
		return
	}
	s.log.Info("draining through the control API")
	s.g.Drain()
	writeJSON(w, http.StatusAccepted, stateAnswer{State: string(s.g.Status().State)})
}

func (s *Server) stop(w http.ResponseWriter, r *http.Request) {
	if s.opts.Stop == nil {
		writeError(w, http.StatusNotImplemented, "not_implemented", "this server was started without a way to stop its pipeline")
		return
	}
	if s.ended(w) {
		return
	}
	s.log.Info("stopping through the control API")
	s.opts.Stop()
	writeJSON(w, http.StatusAccepted, stateAnswer{State: "stopping"})
}

// slogErrorLog routes the HTTP server's and promhttp's messages to slog.
type slogErrorLog struct{ l *slog.Logger }

func (e slogErrorLog) Println(v ...any) { e.l.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }

func (e slogErrorLog) std() *log.Logger { return slog.NewLogLogger(e.l.Handler(), slog.LevelWarn) }
