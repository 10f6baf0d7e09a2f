package layers

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ds3d-go/ds3d-go/internal/testenv"
)

const module = "github.com/ds3d-go/ds3d-go"

type pkg struct {
	ImportPath   string
	Standard     bool
	Module       *struct{ Path string }
	Imports      []string
	TestImports  []string
	XTestImports []string
}

// list runs go list -json over the module with the given build tags.
func list(t *testing.T, tags string) []pkg {
	t.Helper()
	gobin := testenv.Tool(t, "go", "a test binary carried to a machine without Go")
	args := []string{"list", "-e", "-json=ImportPath,Imports,TestImports,XTestImports"}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	cmd := exec.Command(gobin, append(args, module+"/...")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 40 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// under reports whether rel (a module-relative path) is dir or below it.
func under(rel, dir string) bool {
	return rel == dir || strings.HasPrefix(rel, dir+"/")
}

// ruleFor returns the rule with the longest From that rel is under.
func ruleFor(rel string) (Rule, bool) {
	var best Rule
	found := false
	for _, r := range Rules {
		if under(rel, r.From) && (!found || len(r.From) > len(best.From)) {
			best, found = r, true
		}
	}
	return best, found
}

func allowed(rel string, dirs []string) bool {
	return slices.ContainsFunc(dirs, func(d string) bool { return under(rel, d) })
}

// check returns one message per import that breaks the rules.
func check(pkgs []pkg) []string {
	registrars := map[string]bool{}
	for _, p := range pkgs {
		if p.ImportPath == module+"/apps/components" {
			for _, im := range p.Imports {
				registrars[im] = true
			}
		}
	}
	var bad []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		r, ok := ruleFor(rel)
		if !ok {
			bad = append(bad, rel+": no rule covers this folder (add one to internal/layers)")
			continue
		}
		for _, im := range p.Imports {
			if msg := checkImport(rel, im, r, false, nil); msg != "" {
				bad = append(bad, msg)
			}
		}
		for _, im := range append(slices.Clone(p.TestImports), p.XTestImports...) {
			if im == p.ImportPath {
				continue // the _test package imports the package it tests
			}
			if msg := checkImport(rel, im, r, true, registrars); msg != "" {
				bad = append(bad, msg)
			}
		}
	}
	slices.Sort(bad)
	return slices.Compact(bad)
}

func checkImport(rel, im string, r Rule, test bool, registrars map[string]bool) string {
	to, ok := strings.CutPrefix(im, module+"/")
	if !ok {
		first, _, _ := strings.Cut(im, "/")
		if r.External == nil || !strings.Contains(first, ".") || test {
			return "" // the standard library, or any module where the rule names none
		}
		if !slices.ContainsFunc(r.External, func(e string) bool { return im == e || strings.HasPrefix(im, e+"/") }) {
			return rel + " imports " + im + ": rule " + r.From + " allows only the modules " + strings.Join(r.External, ", ") + " (" + r.Why + ")"
		}
		return ""
	}
	if allowed(to, r.Allow) {
		return ""
	}
	kind := ""
	if test {
		if !under(to, "apps") && (allowed(to, Tests) || registrars[im]) {
			return ""
		}
		kind = " (in a test)"
	}
	allow := "nothing of the module"
	if len(r.Allow) > 0 {
		allow = strings.Join(r.Allow, ", ")
	}
	return rel + " imports " + to + kind + ": rule " + r.From + " allows " + allow + " (" + r.Why + ")"
}

// statSources stats every Go file of the module, so that go test's cache,
// which sees only what this process reads and not what go list reads,
// reruns TestImports whenever a source file changes.
func statSources(t *testing.T) {
	t.Helper()
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "out") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".go") || d.Name() == "go.mod") {
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestImports checks every import of every package of the module, in the
// plain build and with each build tag, against Rules.
func TestImports(t *testing.T) {
	statSources(t)
	for _, tags := range []string{"", "turbojpeg", "cuda"} {
		for _, msg := range check(list(t, tags)) {
			if tags != "" {
				msg += " [-tags " + tags + "]"
			}
			t.Error(msg)
		}
	}
}

// TestCheckCatchesBackArrow feeds check a made-up core2d package importing
// render/raster, the arrow this test exists to stop.
func TestCheckCatchesBackArrow(t *testing.T) {
	pkgs := []pkg{
		{ImportPath: module + "/core2d/osd", Imports: []string{"fmt", module + "/ds3d", module + "/render/raster"}},
		{ImportPath: module + "/core2d/osd", TestImports: []string{module + "/apps/ds3d"}},
		{ImportPath: module + "/ds3d", Imports: []string{"github.com/example/heavy"}},
	}
	got := check(pkgs)
	want := []string{
		"core2d/osd imports apps/ds3d (in a test): rule core2d allows ds3d, core2d (the 2D core sits on the framework only)",
		"core2d/osd imports render/raster: rule core2d allows ds3d, core2d (the 2D core sits on the framework only)",
		"ds3d imports github.com/example/heavy: rule ds3d allows only the modules " + strings.Join(Rules[0].External, ", ") + " (" + Rules[0].Why + ")",
	}
	if !slices.Equal(got, want) {
		t.Errorf("check:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
