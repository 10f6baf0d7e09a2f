// Package control is the HTTP control plane of a running pipeline, what
// `ds3d run --http ADDR` serves: Prometheus metrics read from the graph at
// scrape time (/metrics), liveness and readiness probes (/healthz,
// /readyz), pprof on request (/debug/pprof/), and a REST API under /api/v1
// — the graph with its state, effective configs and metrics, runtime config
// changes through pipeline.Graph.UpdateConfig, drain and stop — described
// by the OpenAPI document served at /api/v1/openapi.yaml. Requests that
// change state need a bearer token read from a file; without one they are
// refused. The server adds nothing to the per-frame path: every figure is
// read from the graph's counters when asked for.
package control
