// Package config loads ds3d-go pipelines from TOML: a `[pipeline]` table and
// one `[[component]]` per stage (DESIGN.md §5). Decoding is strict — an
// unknown key, a wrong type, a missing required key, a duplicate component
// name, a link to a missing component or pad, a cycle, or a kind that does
// not match the registered implementation is an error naming the file, the
// line, the component and the key. Each component's `[component.config]`
// table is bound to the typed struct its implementation registered with
// ds3d.Register, so the same struct gives defaults, validation and docs.
// Relative paths (ds3d.Path fields) resolve against the config file's folder.
package config
