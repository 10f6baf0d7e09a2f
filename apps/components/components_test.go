package components

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/ds3d-go/ds3d-go"

// registrars walks the module and returns, for every package outside
// internal/ and apps/ whose init functions call a Register function of
// another ds3d-go package (ds3d.Register, lidar.RegisterFormat, …), whether
// some registering file is built without the cuda tag (plain) — otherwise
// the package registers only in cuda builds.
func registrars(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" ||
				rel == "internal" || rel == "apps" || rel == "out" || rel == "docs") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if !registersInInit(f) {
			return nil
		}
		pkg := module + "/" + filepath.ToSlash(filepath.Dir(rel))
		out[pkg] = out[pkg] || !cudaOnly(f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// registersInInit reports whether an init function of f calls X.RegisterY
// where X names an imported ds3d-go package.
func registersInInit(f *ast.File) bool {
	local := map[string]bool{}
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if !strings.HasPrefix(p, module+"/") {
			continue
		}
		name := p[strings.LastIndex(p, "/")+1:]
		if im.Name != nil {
			name = im.Name.Name
		}
		local[name] = true
	}
	found := false
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "init" || fn.Recv != nil || fn.Body == nil {
			continue
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fun := call.Fun
			if ix, ok := fun.(*ast.IndexExpr); ok { // ds3d.Register[*Config](…)
				fun = ix.X
			}
			if ix, ok := fun.(*ast.IndexListExpr); ok {
				fun = ix.X
			}
			if sel, ok := fun.(*ast.SelectorExpr); ok && strings.HasPrefix(sel.Sel.Name, "Register") {
				if x, ok := sel.X.(*ast.Ident); ok && local[x.Name] {
					found = true
				}
			}
			return true
		})
	}
	return found
}

// cudaOnly reports whether f's build constraint needs the cuda tag.
func cudaOnly(f *ast.File) bool {
	for _, cg := range f.Comments {
		if cg.Pos() > f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				continue
			}
			return !expr.Eval(func(tag string) bool { return tag != "cuda" })
		}
	}
	return false
}

// imports returns this package's blank imports: those of the files built
// without the cuda tag, and those of every file.
func imports(t *testing.T) (plain, all map[string]bool) {
	t.Helper()
	plain, all = map[string]bool{}, map[string]bool{}
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			all[p] = true
			if !cudaOnly(f) {
				plain[p] = true
			}
		}
	}
	return plain, all
}

// optional lists the registering packages that apps/components leaves out
// on purpose, and why; the ds3d command imports them itself.
var optional = map[string]string{
	module + "/sensors/ros2/bag/db3": "rosbag2's SQLite3 storage links a pure-Go SQLite (~6 MB, ~45 s of cold build)",
}

// TestImportsEveryRegistrar fails when a package registers a component, a
// point-cloud format, a pcap sensor or an inference backend but is not
// imported here (plainly, or in components_cuda.go when it registers only
// with -tags cuda), and when an import here registers nothing.
func TestImportsEveryRegistrar(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	regs := registrars(t, root)
	if len(regs) < 20 {
		t.Fatalf("found only %d registering packages under %s: the walk is broken", len(regs), root)
	}
	plain, all := imports(t)
	var names []string
	for p := range regs {
		names = append(names, p)
	}
	slices.Sort(names)
	for _, p := range names {
		switch {
		case optional[p] != "":
			// linked by the command only; see optional
		case regs[p] && !plain[p]:
			t.Errorf("%s registers components in every build but apps/components does not import it (add it to components.go)", p)
		case !regs[p] && !all[p]:
			t.Errorf("%s registers components with -tags cuda but apps/components does not import it (add it to components_cuda.go)", p)
		}
	}
	for p := range all {
		if _, ok := regs[p]; !ok {
			t.Errorf("apps/components imports %s, which registers nothing: remove it", p)
		}
	}
}
