package multisource

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/ds3d-go/ds3d-go/ds3d"
)

// The keys whose strings a child config uses to reach the network: URIs
// (uri_source's uri, foxglove's url) and UDP listen addresses (the lidar
// drivers' address). Every ds3d.Path field is a file path.
var (
	uriKeys  = map[string]bool{"uri": true, "url": true}
	addrKeys = map[string]bool{"address": true}
)

// vetter checks what a stream added at run time may reach.
type vetter struct {
	dir     string   // the folder relative paths resolve against
	roots   []string // absolute, cleaned, symbolic links resolved
	schemes []string
	hosts   []string
}

func newVetter(c *Config, dir string) (*vetter, error) {
	v := &vetter{dir: dir}
	roots := c.AllowedRoots
	if len(roots) == 0 && dir != "" {
		roots = []ds3d.Path{ds3d.Path(dir)}
	}
	for i, r := range roots {
		p, err := filepath.Abs(string(r))
		if err != nil {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("allowed_roots[%d]", i), "%v", err)
		}
		if rp, err := filepath.EvalSymlinks(p); err == nil {
			p = rp
		} else {
			return nil, ds3d.ConfigErrorf(fmt.Sprintf("allowed_roots[%d]", i), "%v", err)
		}
		v.roots = append(v.roots, filepath.Clean(p))
	}
	for _, s := range c.AllowedSchemes {
		v.schemes = append(v.schemes, strings.ToLower(s))
	}
	for _, h := range c.AllowedHosts {
		v.hosts = append(v.hosts, strings.ToLower(strings.Trim(h, "[]")))
	}
	return v, nil
}

// vet walks a decoded child config and refuses the first path outside the
// roots, scheme or host not allowed. Errors name the key.
func (v *vetter) vet(cfg any) error {
	return v.walk(reflect.ValueOf(cfg), "")
}

func (v *vetter) walk(val reflect.Value, key string) error {
	for val.Kind() == reflect.Pointer || val.Kind() == reflect.Interface {
		if val.IsNil() {
			return nil
		}
		val = val.Elem()
	}
	if val.Type() == reflect.TypeOf(ds3d.Path("")) {
		if val.String() == "" {
			return nil // an optional path left out
		}
		return v.path(key, val.String())
	}
	switch val.Kind() {
	case reflect.Struct:
		for _, k := range ds3d.StructKeys(val.Type()) {
			sub := key
			if k.Name != "" {
				sub = join(key, k.Name)
			}
			if err := v.walk(val.FieldByIndex(k.Index), sub); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < val.Len(); i++ {
			if err := v.walk(val.Index(i), fmt.Sprintf("%s[%d]", key, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := val.MapRange()
		for it.Next() {
			if err := v.walk(it.Value(), join(key, fmt.Sprint(it.Key().Interface()))); err != nil {
				return err
			}
		}
	case reflect.String:
		s := val.String()
		if s == "" {
			return nil
		}
		last := key[strings.LastIndexAny(key, ".]")+1:]
		switch {
		case uriKeys[last]:
			return v.uri(key, s)
		case addrKeys[last]:
			return v.addr(key, s)
		}
	}
	return nil
}

func join(base, k string) string {
	if base == "" {
		return k
	}
	return base + "." + k
}

func (v *vetter) scheme(key, s string) error {
	if !slices.Contains(v.schemes, s) {
		return &Error{Code: CodeSchemeNotAllowed, Msg: fmt.Sprintf("key %q: scheme %s is not allowed (allowed_schemes: %s)", "config."+key, s, strings.Join(v.schemes, ", "))}
	}
	return nil
}

func (v *vetter) host(key, h string) error {
	h = strings.ToLower(strings.Trim(h, "[]"))
	if !slices.Contains(v.hosts, h) {
		return &Error{Code: CodeHostNotAllowed, Msg: fmt.Sprintf("key %q: host %q is not allowed (allowed_hosts: %s)", "config."+key, h, strings.Join(v.hosts, ", "))}
	}
	return nil
}

// uri vets a URI: file:// and plain paths as paths, other schemes by
// scheme and host.
func (v *vetter) uri(key, s string) error {
	i := strings.Index(s, "://")
	if i <= 0 {
		return v.path(key, s)
	}
	scheme := strings.ToLower(s[:i])
	if scheme == "file" {
		return v.path(key, s[i+3:])
	}
	if err := v.scheme(key, scheme); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return &Error{Code: CodeInvalidConfig, Msg: fmt.Sprintf("key %q: %v", "config."+key, err)}
	}
	return v.host(key, u.Hostname())
}

// addr vets a UDP listen address; an empty host (every interface) is
// 0.0.0.0.
func (v *vetter) addr(key, s string) error {
	if err := v.scheme(key, "udp"); err != nil {
		return err
	}
	h, _, err := net.SplitHostPort(s)
	if err != nil {
		return &Error{Code: CodeInvalidConfig, Msg: fmt.Sprintf("key %q: %v", "config."+key, err)}
	}
	if h == "" {
		h = "0.0.0.0"
	}
	return v.host(key, h)
}

// path vets a file path (a glob pattern too): the file scheme must be
// allowed, and the path must lie under a root both as written (no ../
// escape) and with its symbolic links resolved — for a glob, every file it
// matches now.
func (v *vetter) path(key, p string) error {
	if strings.Contains(p, "://") {
		return v.uri(key, p)
	}
	if err := v.scheme(key, "file"); err != nil {
		return err
	}
	refuse := func(what string) error {
		return &Error{Code: CodePathNotAllowed, Msg: fmt.Sprintf("key %q: %s is outside the allowed roots (allowed_roots: %s)", "config."+key, what, strings.Join(v.roots, ", "))}
	}
	if p == "" || p == "-" {
		return refuse(fmt.Sprintf("%q", p))
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(v.dir, p)
	}
	p = filepath.Clean(p)
	if !v.inside(p) {
		return refuse(fmt.Sprintf("path %q", p))
	}
	matches := []string{p}
	if strings.ContainsAny(p, `*?[\`) {
		var err error
		if matches, err = filepath.Glob(p); err != nil {
			return &Error{Code: CodeInvalidConfig, Msg: fmt.Sprintf("key %q: pattern %q: %v", "config."+key, p, err)}
		}
	}
	for _, m := range matches {
		r, err := filepath.EvalSymlinks(m)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the config's own checks say it is missing
		}
		if err != nil {
			return &Error{Code: CodeInvalidConfig, Msg: fmt.Sprintf("key %q: %v", "config."+key, err)}
		}
		if !v.inside(r) {
			return refuse(fmt.Sprintf("path %q (a symbolic link to %q)", m, r))
		}
	}
	return nil
}

func (v *vetter) inside(p string) bool {
	for _, r := range v.roots {
		if p == r || strings.HasPrefix(p, r+string(filepath.Separator)) || r == string(filepath.Separator) {
			return true
		}
	}
	return false
}
