package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/ds3d-go/ds3d-go/ds3d/pipeline"
	"github.com/ds3d-go/ds3d-go/sensors/multisource"
)

// streamSet is a component that gains and loses sources while it runs
// (multi_source): the streams routes find it among the graph's components.
type streamSet interface {
	AddStream(ctx context.Context, spec multisource.StreamSpec) (multisource.StreamInfo, error)
	RemoveStream(ctx context.Context, id string) (multisource.StreamInfo, error)
	Streams() []multisource.StreamInfo
}

// removeTimeout is how long DELETE waits for a stream's frames to come back
// before it answers 202 (the stream goes on draining).
const removeTimeout = updateTimeout

// routeStreams adds the streams routes to the server's mux; New calls it
// (calling it again is harmless).
func (s *Server) routeStreams() {
	probe, _ := http.NewRequest(http.MethodDelete, "/api/v1/streams/x", nil)
	if _, pat := s.mux.Handler(probe); pat == "DELETE /api/v1/streams/{id}" {
		return
	}
	s.route("GET /api/v1/streams", read(http.HandlerFunc(s.listStreams)))
	s.route("POST /api/v1/streams", s.write(http.MethodPost, s.addStream))
	s.route("/api/v1/streams", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD, POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s takes GET or POST, not %s", r.URL.Path, r.Method))
	}))
	s.route("DELETE /api/v1/streams/{id}", s.write(http.MethodDelete, s.removeStream))
	s.route("/api/v1/streams/{id}", s.write(http.MethodDelete, s.removeStream))
}

type namedSet struct {
	name string
	set  streamSet
}

func (s *Server) streamSets() []namedSet {
	var out []namedSet
	for _, c := range s.p.Components {
		if ss, ok := s.g.Component(c.Name).(streamSet); ok {
			out = append(out, namedSet{c.Name, ss})
		}
	}
	return out
}

// pickSet finds the component a request means: the one named, else the
// only one.
func (s *Server) pickSet(w http.ResponseWriter, name string) (namedSet, bool) {
	sets := s.streamSets()
	if name != "" {
		for _, ns := range sets {
			if ns.name == name {
				return ns, true
			}
		}
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no component %q takes streams at run time", name))
		return namedSet{}, false
	}
	switch len(sets) {
	case 0:
		writeError(w, http.StatusNotFound, "not_found",
			"no component of this pipeline takes streams at run time (add a multi_source loader)")
		return namedSet{}, false
	case 1:
		return sets[0], true
	}
	names := make([]string, len(sets))
	for i, ns := range sets {
		names[i] = ns.name
	}
	writeError(w, http.StatusBadRequest, "ambiguous_component", fmt.Sprintf("several components take streams (%v): name one in \"component\"", names))
	return namedSet{}, false
}

// streamDoc is one stream in the API's answers.
type streamDoc struct {
	ID        string         `json:"id"`
	Component string         `json:"component"`
	Impl      string         `json:"impl"`
	SourceID  int            `json:"source_id"`
	State     string         `json:"state"`
	Origin    string         `json:"origin"`
	Datamaps  uint64         `json:"datamaps"`
	InFlight  int            `json:"frames_in_flight"`
	Error     string         `json:"error,omitempty"`
	Config    map[string]any `json:"config"`
}

func streamJSON(comp string, in multisource.StreamInfo) streamDoc {
	return streamDoc{ID: in.ID, Component: comp, Impl: in.Impl, SourceID: in.SourceID, State: in.State, Origin: in.Origin,
		Datamaps: in.Datamaps, InFlight: in.InFlight, Error: in.Error, Config: configJSON(in.Config)}
}

type streamList struct {
	Streams []streamDoc `json:"streams"`
}

func (s *Server) listStreams(w http.ResponseWriter, r *http.Request) {
	list := streamList{Streams: []streamDoc{}}
	want := r.URL.Query().Get("component")
	sets := s.streamSets()
	if len(sets) == 0 {
		s.pickSet(w, "") // answers why
		return
	}
	for _, ns := range sets {
		if want != "" && ns.name != want {
			continue
		}
		for _, in := range ns.set.Streams() {
			list.Streams = append(list.Streams, streamJSON(ns.name, in))
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// streamRequest is POST /api/v1/streams's body.
type streamRequest struct {
	Component string         `json:"component"`
	ID        string         `json:"id"`
	Impl      string         `json:"impl"`
	SourceID  *int           `json:"source_id"`
	Config    map[string]any `json:"config"`
}

func (s *Server) addStream(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Type %q: send application/json", ct))
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body exceeds %d bytes", MaxBody))
			return
		}
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("reading the body: %v", err))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var req streamRequest
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("stream request: %v", err))
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad_request", "stream request: more than one JSON value in the body")
		return
	}
	if req.Impl == "" {
		writeError(w, http.StatusBadRequest, "bad_request", `stream request: "impl" (the loader, e.g. uri_source) is missing`)
		return
	}
	if s.notRunning(w) {
		return
	}
	ns, ok := s.pickSet(w, req.Component)
	if !ok {
		return
	}
	cfg := map[string]any{}
	if req.Config != nil {
		cfg = config.FromJSON(req.Config).(map[string]any)
	}
	ctx, cancel := context.WithTimeout(r.Context(), updateTimeout)
	defer cancel()
	in, err := ns.set.AddStream(ctx, multisource.StreamSpec{ID: req.ID, Impl: req.Impl, SourceID: req.SourceID, Config: cfg})
	if err != nil {
		writeStreamError(w, err)
		return
	}
	s.log.Info("stream added through the control API", "component", ns.name, "stream", in.ID, "impl", in.Impl)
	w.Header().Set("Location", "/api/v1/streams/"+in.ID)
	writeJSON(w, http.StatusCreated, streamJSON(ns.name, in))
}

func (s *Server) removeStream(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	want := r.URL.Query().Get("component")
	var target *namedSet
	sets := s.streamSets()
	for i, ns := range sets {
		if want != "" && ns.name != want {
			continue
		}
		for _, in := range ns.set.Streams() {
			if in.ID == id {
				if target != nil {
					writeError(w, http.StatusBadRequest, "ambiguous_component",
						fmt.Sprintf("components %q and %q both have a stream %q: add ?component=NAME", target.name, ns.name, id))
					return
				}
				target = &sets[i]
			}
		}
	}
	if target == nil {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("no stream %q", id))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), removeTimeout)
	defer cancel()
	in, err := target.set.RemoveStream(ctx, id)
	if err != nil {
		writeStreamError(w, err)
		return
	}
	s.log.Info("stream removed through the control API", "component", target.name, "stream", id, "state", in.State)
	status := http.StatusOK
	if in.State != multisource.StateRemoved {
		status = http.StatusAccepted // still draining: its frames are held downstream
	}
	writeJSON(w, status, streamJSON(target.name, in))
}

// notRunning refuses adds once the pipeline has ended or is draining.
func (s *Server) notRunning(w http.ResponseWriter) bool {
	switch st := s.g.Status().State; st {
	case pipeline.StateDraining, pipeline.StateFailed, pipeline.StateStopped, pipeline.StateFinished:
		writeError(w, http.StatusConflict, "not_running", fmt.Sprintf("the pipeline is %s; streams are added while it is built or runs", st))
		return true
	}
	return false
}

// streamStatus maps the component's refusal codes to HTTP statuses.
var streamStatus = map[string]int{
	multisource.CodeInvalidConfig:    http.StatusBadRequest,
	multisource.CodeUnknownImpl:      http.StatusBadRequest,
	multisource.CodeBuildFailed:      http.StatusBadRequest,
	multisource.CodeImplNotAllowed:   http.StatusForbidden,
	multisource.CodePathNotAllowed:   http.StatusForbidden,
	multisource.CodeSchemeNotAllowed: http.StatusForbidden,
	multisource.CodeHostNotAllowed:   http.StatusForbidden,
	multisource.CodeTooManyStreams:   http.StatusConflict,
	multisource.CodeConflict:         http.StatusConflict,
	multisource.CodeNotFound:         http.StatusNotFound,
	multisource.CodeClosed:           http.StatusConflict,
	multisource.CodeStartFailed:      http.StatusUnprocessableEntity,
}

func writeStreamError(w http.ResponseWriter, err error) {
	var e *multisource.Error
	if errors.As(err, &e) {
		if st, ok := streamStatus[e.Code]; ok {
			writeError(w, st, e.Code, e.Msg)
			return
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusGatewayTimeout, "timeout", err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, "internal", err.Error())
}
