package reports_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the package pure: the standard library, internal/nhi,
// internal/privilege (the one home of the privilege judgement) and
// internal/textsafe (the one home of how a collected string is shown) only
// (no SDK, database, network client or other nhiscan package).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			switch {
			case path == "github.com/nhiscan/nhiscan/internal/nhi", path == "github.com/nhiscan/nhiscan/internal/privilege",
				path == "github.com/nhiscan/nhiscan/internal/textsafe":
			case strings.Contains(first, "."):
				t.Errorf("%s imports %s: reports may import the standard library, internal/nhi, internal/privilege and internal/textsafe only", f, path)
			case path == "net/http" || path == "database/sql" || path == "os/exec":
				t.Errorf("%s imports %s: reports does no network, database or process I/O", f, path)
			}
		}
	}
}
