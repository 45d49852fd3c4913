// Package archtest keeps the dependency direction of ARCHITECTURE.md from
// decaying: it lists each package's dependencies with `go list -deps` and
// fails on an import that crosses a boundary.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/nhiscan/nhiscan/"

// forbidden maps a package pattern to import prefixes it must never reach.
var rules = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{"internal/nhi", []string{mod, "github.com/", "golang.org/x/", "google.golang.org/", "cloud.google.com/", "modernc.org/"}, "the domain model imports the standard library only"},
	{"rules/...", []string{mod + "analyzer", mod + "collectors", mod + "internal/store", mod + "reports", mod + "cmd", "github.com/aws/", "github.com/Azure/", "google.golang.org/api", "github.com/google/go-github", "modernc.org/"}, "the catalog knows no SDK, store or analyzer"},
	{"analyzer", []string{mod + "collectors", mod + "internal/store", mod + "reports", mod + "cmd", "github.com/aws/", "github.com/Azure/", "google.golang.org/api", "github.com/google/go-github", "modernc.org/", "net/http", "os/exec", "database/sql"}, "the analyzer is pure: no I/O"},
	{"reports", []string{mod + "analyzer", mod + "rules", mod + "collectors", mod + "internal/store", "github.com/aws/", "github.com/Azure/", "google.golang.org/api", "github.com/google/go-github", "modernc.org/", "net/http"}, "reports write over io.Writer from nhi types"},
	{"collectors/aws", []string{mod + "collectors/azure", mod + "collectors/gcp", mod + "collectors/github", mod + "internal/store", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/azure", []string{mod + "collectors/aws", mod + "collectors/gcp", mod + "collectors/github", mod + "internal/store", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/gcp", []string{mod + "collectors/aws", mod + "collectors/azure", mod + "collectors/github", mod + "internal/store", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/github", []string{mod + "collectors/aws", mod + "collectors/azure", mod + "collectors/gcp", mod + "internal/store", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"internal/store", []string{mod + "analyzer", mod + "collectors", mod + "reports", mod + "cmd"}, "the store persists nhi types"},
	{"internal/suggest", []string{mod + "collectors", mod + "internal/store", mod + "reports", mod + "cmd", "github.com/aws/", "github.com/Azure/", "google.golang.org/api", "github.com/google/go-github", "modernc.org/", "net/http", "os/exec", "database/sql"}, "suggestions are pure: an inventory and a catalog in, a draft out"},
}

func TestDependencyDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, r := range rules {
		out, err := exec.Command("go", "list", "-deps", mod+r.pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", r.pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == mod+r.pkg {
				continue
			}
			for _, f := range r.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s: %s", r.pkg, dep, r.why)
				}
			}
		}
	}
	// Nothing imports cmd.
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for _, imp := range f[min(1, len(f)):] {
			if strings.HasPrefix(imp, mod+"cmd") {
				t.Errorf("%s imports %s: nothing imports cmd", f[0], imp)
			}
		}
	}
}
