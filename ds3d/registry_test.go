package ds3d_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

type dupConfig struct {
	N int `toml:"n" doc:"a number"`
}

type dupRender struct{}

func (dupRender) Render(_ context.Context, _ *ds3d.DataMap) error { return nil }

func TestTryRegisterDuplicate(t *testing.T) {
	const impl = "registry_test_dup"
	newC := func() *dupConfig { return &dupConfig{N: 1} }
	build := func(*dupConfig, *ds3d.Env) (any, error) { return dupRender{}, nil }
	if err := ds3d.TryRegister(ds3d.KindRender, impl, "first", newC, build); err != nil {
		t.Fatalf("first registration: %v", err)
	}
	defer ds3d.Unregister(impl)
	err := ds3d.TryRegister(ds3d.KindFilter, impl, "second", newC, build)
	if !errors.Is(err, ds3d.ErrDuplicate) || !strings.Contains(err.Error(), `"registry_test_dup"`) {
		t.Fatalf("second registration: got %v, want ErrDuplicate naming the impl", err)
	}
	if s, ok := ds3d.Lookup(impl); !ok || s.Kind != ds3d.KindRender || s.Doc != "first" {
		t.Fatalf("the first registration must stay: %+v", s)
	}
	// Register keeps panicking for init-time mistakes, with the same text.
	func() {
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(r.(string), "registered twice") {
				t.Errorf("Register of a duplicate: recovered %v", r)
			}
		}()
		ds3d.Register(ds3d.KindRender, impl, "third", newC, build)
	}()
	if !ds3d.Unregister(impl) {
		t.Fatal("Unregister: not found")
	}
	if _, ok := ds3d.Lookup(impl); ok {
		t.Fatal("still registered after Unregister")
	}
	if ds3d.Unregister(impl) {
		t.Fatal("second Unregister reported a removal")
	}
	if err := ds3d.TryRegister(ds3d.KindRender, impl, "again", newC, build); err != nil {
		t.Fatalf("registration after Unregister: %v", err)
	}
}

func TestTryRegisterBadSpecs(t *testing.T) {
	build := func(c *dupConfig, _ *ds3d.Env) (any, error) { return dupRender{}, nil }
	type undocumented struct {
		N int `toml:"n"`
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"kind", ds3d.TryRegister(ds3d.Kind("ds3d::nope"), "registry_test_bad", "", func() *dupConfig { return &dupConfig{} }, build), `unknown kind "ds3d::nope"`},
		{"not a pointer", ds3d.TryRegister(ds3d.KindRender, "registry_test_bad", "", func() dupConfig { return dupConfig{} },
			func(dupConfig, *ds3d.Env) (any, error) { return dupRender{}, nil }), "pointer to a struct"},
		{"no doc tag", ds3d.TryRegister(ds3d.KindRender, "registry_test_bad", "", func() *undocumented { return &undocumented{} },
			func(*undocumented, *ds3d.Env) (any, error) { return dupRender{}, nil }), "doc"},
		{"empty name", ds3d.TryRegister(ds3d.KindRender, "", "", func() *dupConfig { return &dupConfig{} }, build), "empty impl"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, c.err, c.want)
		}
	}
	if _, ok := ds3d.Lookup("registry_test_bad"); ok {
		t.Error("a refused registration was stored")
	}
}
