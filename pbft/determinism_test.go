package pbft

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoNondeterminism enforces that the core is a deterministic state
// machine (STYLE.md §1): no clock, network, files, global randomness or
// concurrency in its imports, and no go statements, channels or select in
// its code. The simulator's replay of a seed depends on it.
func TestNoNondeterminism(t *testing.T) {
	forbiddenDirect := map[string]bool{
		"time": true, "net": true, "os": true, "os/exec": true, "syscall": true,
		"math/rand": true, "math/rand/v2": true, "crypto/rand": true,
		"sync": true, "sync/atomic": true, "unsafe": true, "io/fs": true, "runtime": true,
	}
	out, err := exec.Command("go", "list", "-json", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	var pkg struct {
		Imports []string
		Deps    []string
	}
	if err := json.Unmarshal(out, &pkg); err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if forbiddenDirect[imp] || strings.HasPrefix(imp, "net/") {
			t.Errorf("pbft imports %s", imp)
		}
	}
	for _, dep := range pkg.Deps {
		if dep == "net" || strings.HasPrefix(dep, "net/") || dep == "os/exec" {
			t.Errorf("pbft depends on %s", dep)
		}
	}

	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%v: go statement", fset.Position(n.Pos()))
			case *ast.ChanType:
				t.Errorf("%v: channel type", fset.Position(n.Pos()))
			case *ast.SelectStmt:
				t.Errorf("%v: select statement", fset.Position(n.Pos()))
			case *ast.SendStmt:
				t.Errorf("%v: channel send", fset.Position(n.Pos()))
			}
			return true
		})
	}
}
