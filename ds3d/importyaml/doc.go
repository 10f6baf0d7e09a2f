// Package importyaml converts DeepStream-3D's multi-document YAML pipeline
// configs into ds3d-go TOML (`ds3d import-yaml FILE.yaml > config.toml`).
// Each YAML document (`name`, `type`, `link_to`/`link_from`, `with_queue`,
// `custom_lib_path` + `custom_create_function`, `config_body`) becomes a
// `[[component]]`: the create function picks our `impl` through a table of
// the known ds3d libraries, `config_body` keys are renamed where ours differ
// (ds3d's misspellings such as `lidar_to_cam_extrisic` are accepted), and
// everything without a counterpart — a component, a key, a GStreamer property
// — is reported with its YAML line and the reason, and kept in the TOML as a
// comment. Documents that ds3d's own apps link in file order (no link_to)
// are linked in file order here too, and the report says so.
package importyaml
