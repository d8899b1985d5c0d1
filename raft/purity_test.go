package raft

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoClocksGoroutinesOrIO: the engine is driven by the node's loop; its
// own code imports nothing that reads the clock, does I/O or coordinates
// goroutines (STYLE.md §1). Only the database handed in by Config touches
// the disk.
func TestNoClocksGoroutinesOrIO(t *testing.T) {
	forbidden := []string{"time", "os", "net", "sync", "math/rand", "math/rand/v2", "io/fs", "syscall"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, "net/") || strings.HasPrefix(path, "os/") {
					t.Errorf("%s imports %s", f, path)
					break
				}
			}
		}
		if strings.Contains(string(src), "go func") {
			t.Errorf("%s starts a goroutine", f)
		}
	}
}
