// Package archtest keeps the dependency direction of ARCHITECTURE.md from
// decaying: it lists each package's dependencies with `go list` and fails
// on an import that crosses a boundary.
package archtest

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const mod = "github.com/nhiscan/nhiscan/"

// sdks are the provider SDKs and the database drivers (SQLite, PostgreSQL):
// only a provider (its own), its fake and the store may reach one.
var sdks = slices.Concat(providerSDKs, []string{"modernc.org/", "github.com/jackc/"})

// providerSDKs are the four providers' SDKs.
var providerSDKs = []string{"github.com/aws/", "github.com/Azure/", "google.golang.org/api", "cloud.google.com/", "github.com/google/go-github"}

// forbidden maps a package pattern to the import prefixes none of its
// dependencies (direct or not) may have.
var forbidden = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{"rules/...", append([]string{mod + "analyzer", mod + "collectors", mod + "internal/store", mod + "internal/config", mod + "reports", mod + "cmd"}, sdks...), "the rule metadata and the catalog know no SDK, store, configuration or analyzer"},
	{"analyzer", append([]string{mod + "collectors", mod + "internal/store", mod + "internal/config", mod + "reports", mod + "cmd", "net/http", "os/exec", "database/sql"}, sdks...), "the analyzer is pure: no I/O"},
	{"reports", append([]string{mod + "analyzer", mod + "rules", mod + "collectors", mod + "internal/store", mod + "internal/config", "net/http"}, sdks...), "reports write over io.Writer from nhi types"},
	{"collectors/aws", []string{mod + "collectors/azure", mod + "collectors/gcp", mod + "collectors/github", mod + "internal/store", mod + "internal/config", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/azure", []string{mod + "collectors/aws", mod + "collectors/gcp", mod + "collectors/github", mod + "internal/store", mod + "internal/config", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/gcp", []string{mod + "collectors/aws", mod + "collectors/azure", mod + "collectors/github", mod + "internal/store", mod + "internal/config", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"collectors/github", []string{mod + "collectors/aws", mod + "collectors/azure", mod + "collectors/gcp", mod + "internal/store", mod + "internal/config", mod + "analyzer", mod + "rules", mod + "reports"}, "a provider imports its SDK and nhi only"},
	{"internal/store", []string{mod + "analyzer", mod + "collectors", mod + "internal/config", mod + "reports", mod + "cmd"}, "the store persists nhi types"},
	{"internal/config", []string{mod + "collectors", mod + "analyzer", mod + "internal/store", mod + "reports", mod + "rules", mod + "cmd"}, "the configuration says where things are; it knows no collector, catalog, analysis, store or report"},
	{"internal/campaign", []string{mod + "internal/store", mod + "internal/notify", mod + "analyzer", mod + "collectors", mod + "reports", mod + "cmd",
		"modernc.org/", "github.com/jackc/", "database/sql", "net/http", "net/smtp", "github.com/wneessen/", "github.com/emersion/"},
		"campaigns declare the store and notifier they use; no database, mail or network of their own"},
	{"internal/suggest", append([]string{mod + "collectors", mod + "internal/store", mod + "internal/config", mod + "reports", mod + "cmd", "net/http", "os/exec", "database/sql"}, sdks...), "suggestions are pure: an inventory and a catalog in, a draft out"},
	{"internal/reduce", append([]string{mod + "analyzer", mod + "collectors", mod + "internal/store", mod + "internal/config", mod + "reports", mod + "cmd", "net/http", "os/exec", "database/sql"}, sdks...),
		"reduce suggestions are pure: findings and observed use in, suggestions out; the analyzer judges what is unused"},
	{"internal/revoke", append([]string{mod + "internal/store", mod + "internal/notify", mod + "internal/config", mod + "analyzer", mod + "collectors", mod + "reports", mod + "cmd",
		"database/sql", "net/http", "net/smtp", "os/exec"}, sdks...),
		"revocation decides over the interfaces it declares (journal, controls, notifier); no database, provider SDK or network of its own"},
	{"internal/notify", []string{mod + "internal/store", mod + "analyzer", mod + "collectors", mod + "cmd", "modernc.org/", "github.com/jackc/", "database/sql"},
		"notify renders and delivers notices; it decides nothing and stores nothing"},
	{"internal/web", []string{mod + "internal/store", mod + "internal/notify", mod + "internal/config", mod + "analyzer", mod + "collectors", mod + "cmd",
		"modernc.org/", "github.com/jackc/", "database/sql", "net/smtp"},
		"the review page decides and stores nothing itself: campaign.Service does, over the store cmd gives it"},
	{"internal/fleet/...", append([]string{mod + "internal/store", mod + "internal/config", mod + "analyzer", mod + "reports", mod + "cmd",
		mod + "collectors/aws", mod + "collectors/azure", mod + "collectors/gcp", mod + "collectors/github", "modernc.org/"}, providerSDKs...),
		"the fleet runs jobs over the planner, scope collector and finalizer cmd gives it; no provider, store, analysis or configuration of its own"},
	{"collectors/...", []string{"github.com/prometheus/", mod + "internal/metrics", mod + "internal/webhook"}, "collectors know no metrics or webhooks: the wiring counts from their hooks"},
	// (database/sql comes with client_golang's collectors package, for its
	// DB stats collector, which nhiscan does not use.)
	{"internal/metrics", append([]string{mod + "internal/store", mod + "internal/config", mod + "collectors", mod + "analyzer", mod + "cmd"}, sdks...),
		"metrics are told what happened; they read no store, configuration or provider"},
	{"internal/webhook", append([]string{mod + "internal/store", mod + "internal/config", mod + "collectors", mod + "analyzer", mod + "cmd", "database/sql"}, sdks...),
		"the webhook posts what it is given and journals through the interface it declares"},
}

// only maps a package pattern to the only modules outside the standard
// library its dependencies (direct or not) may come from.
var only = []struct {
	pkg  string
	only []string
	why  string
}{
	{"internal/privilege", []string{mod + "internal/privilege", mod + "internal/nhi", mod + "internal/textsafe"}, "the privilege tables are standard library and nhi only, so collectors and the analyzer can share them"},
	{"internal/duration", []string{mod + "internal/duration"}, "the duration syntax is standard library only"},
	{"internal/signing", []string{mod + "internal/signing"}, "keys and signed statements are standard library only"},
	{"internal/boundedio", []string{mod + "internal/boundedio"}, "the bounded reader is standard library only, so every loader can share it"},
	{"internal/nhi", []string{mod + "internal/nhi", mod + "internal/textsafe"}, "the domain model imports the standard library and textsafe (how its JSON form writes unsafe characters) only"},
	{"internal/textsafe", []string{mod + "internal/textsafe"}, "how a collected string is shown is standard library only, so every output can share it"},
	{"rules/catalog", []string{mod + "rules", mod + "internal/nhi", mod + "internal/textsafe", mod + "internal/duration", mod + "internal/strictyaml", mod + "internal/boundedio", "github.com/goccy/go-yaml", "go.yaml.in/yaml/v3"}, "the catalog is the rule metadata, the domain model, durations, strict YAML and the bounded reader"},
	{"internal/config", []string{mod + "internal/config", mod + "internal/duration", mod + "internal/strictyaml", mod + "internal/boundedio", "github.com/goccy/go-yaml", "go.yaml.in/yaml/v3", "github.com/robfig/cron/v3"}, "the configuration is durations, strict YAML, the bounded reader and the cron syntax of schedules"},
	{"internal/schedule", []string{mod + "internal/schedule", "github.com/robfig/cron/v3"}, "the scheduler is the standard library and robfig/cron: it knows no job, store or metric"},
	{"internal/web/oidctest", []string{mod + "internal/web/oidctest", "github.com/go-jose/"}, "the test OpenID provider is the standard library and go-jose"},
	{"internal/store/storetest", []string{mod + "internal/store/storetest", "github.com/jackc/", "golang.org/x/"}, "the tests' PostgreSQL schemas are pgx and the standard library"},
}

// fakes maps each provider fake to what it may import directly besides the
// standard library, fakeapi and nhi: its own provider's SDK (for wire
// types, credentials and clients its tests hand out), never its collector,
// another provider, or the rest of nhiscan.
var fakes = []struct {
	pkg string
	sdk []string
}{
	{"collectors/aws/awsfake", []string{"github.com/aws/aws-sdk-go-v2/"}},
	{"collectors/azure/azurefake", []string{"github.com/Azure/azure-sdk-for-go/sdk/"}},
	{"collectors/gcp/gcpfake", []string{"google.golang.org/api/"}},
	{"collectors/github/githubfake", []string{"github.com/google/go-github/", "github.com/golang-jwt/jwt/"}},
}

// goList runs `go list` with args and returns its output's fields.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// standard reports whether an import path is the standard library's: its
// first element has no dot.
func standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyDirection(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	for _, r := range forbidden {
		for _, dep := range goList(t, "-deps", mod+r.pkg) {
			if dep != mod+r.pkg && hasPrefix(dep, r.forbidden) {
				t.Errorf("%s depends on %s: %s", r.pkg, dep, r.why)
			}
		}
	}
	for _, r := range only {
		for _, dep := range goList(t, "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", mod+r.pkg) {
			if !hasPrefix(dep, r.only) {
				t.Errorf("%s depends on %s: %s", r.pkg, dep, r.why)
			}
		}
	}
	for _, f := range fakes {
		allowed := append([]string{mod + "collectors/fakeapi", mod + "internal/nhi"}, f.sdk...)
		for _, imp := range goList(t, "-f", `{{join .Imports " "}}`, mod+f.pkg) {
			if !standard(imp) && !hasPrefix(imp, allowed) {
				t.Errorf("%s imports %s: a fake imports only the standard library, fakeapi, nhi and its own provider's SDK", f.pkg, imp)
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

// TestRulesCatchViolations: the checks above would fail on an import that
// crosses a boundary (the prefixes are not vacuous).
func TestRulesCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		dep     string
		allowed []string
		want    bool
	}{
		{mod + "internal/nhi", only[0].only, true},
		{mod + "rules", only[0].only, false},
		{"github.com/aws/aws-sdk-go-v2/service/iam", fakes[0].sdk, true},
		{"google.golang.org/api/iam/v1", fakes[0].sdk, false},
		{mod + "collectors/aws", []string{mod + "collectors/fakeapi", mod + "internal/nhi"}, false},
	} {
		if got := hasPrefix(tc.dep, tc.allowed); got != tc.want {
			t.Errorf("hasPrefix(%s, %v) = %v, want %v", tc.dep, tc.allowed, got, tc.want)
		}
	}
	for path, want := range map[string]bool{"net/http": true, "encoding/json": true, "github.com/x/y": false, "golang.org/x/sync": false} {
		if standard(path) != want {
			t.Errorf("standard(%s) = %v", path, !want)
		}
	}
}
