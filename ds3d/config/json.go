package config

import "encoding/json"

// FromJSON turns values decoded from JSON with UseNumber (a REST body, a
// remote command) into the types TOML decoding gives, which Update and
// the binder take: integers as int64, other numbers as float64; maps and
// slices are converted in place.
func FromJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = FromJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = FromJSON(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
