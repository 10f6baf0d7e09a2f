// Package control is the HTTP control plane of a running pipeline, what
// `ds3d run --http ADDR` serves: Prometheus metrics read from the graph at
// scrape time (/metrics), liveness and readiness probes (/healthz,
// /readyz), pprof on request (/debug/pprof/), a REST API under /api/v1 —
// the graph with its state, effective configs and metrics, runtime config
// changes through pipeline.Graph.UpdateConfig, sources added and removed
// at run time, drain and stop — described by the OpenAPI document served
// at /api/v1/openapi.yaml, and a dashboard page at / (the graph with live
// rates and latencies, a raster_render preview, the log tail; static files
// embedded, no build step). Requests that change state need a bearer token
// read from a file; without one they are refused. TLS is optional
// (Options.TLSCert/TLSKey). The server adds nothing to the per-frame path:
// every figure is read from the graph's counters when asked for, and the
// preview is copied only while a page watches it.
package control
