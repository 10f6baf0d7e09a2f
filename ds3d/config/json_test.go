package config_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d/config"
	"github.com/pelletier/go-toml/v2"
)

// FromJSON gives what go-toml gives for the same values, so a REST body or
// a remote command binds exactly as the config file would.
func TestFromJSON(t *testing.T) {
	var fromJSON map[string]any
	d := json.NewDecoder(strings.NewReader(`{"n": 3, "x": 2.5, "big": 9007199254740993, "s": "a", "b": true, "list": [1, 2.5], "t": {"k": -4}}`))
	d.UseNumber()
	if err := d.Decode(&fromJSON); err != nil {
		t.Fatal(err)
	}
	var fromTOML map[string]any
	if err := toml.Unmarshal([]byte("n = 3\nx = 2.5\nbig = 9007199254740993\ns = \"a\"\nb = true\nlist = [1, 2.5]\nt = {k = -4}\n"), &fromTOML); err != nil {
		t.Fatal(err)
	}
	if got := config.FromJSON(fromJSON); !reflect.DeepEqual(got, fromTOML) {
		t.Errorf("FromJSON = %#v\nTOML gives %#v", got, fromTOML)
	}
}
