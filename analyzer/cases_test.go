package analyzer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/rules"
	"github.com/nhiscan/nhiscan/rules/catalog"
)

// A case is a directory under testdata/cases holding case.yaml and,
// optionally, catalog.yaml (else testdata/catalog.yaml is used). case.yaml
// holds the evaluation time, the inventory (and previous inventory and last
// certification) in the documented inventory form written as YAML, and the
// findings expected present and absent.
type testCase struct {
	Doc       string             `yaml:"doc"`
	Now       time.Time          `yaml:"now"`
	Inventory any                `yaml:"inventory"`
	Previous  any                `yaml:"previous"`
	Certified *nhi.Certification `yaml:"certified"`
	Expect    []Expectation      `yaml:"expect"`
	Absent    []Expectation      `yaml:"absent"`
	// ExpiredExceptions, when given, are the ids the result must list as
	// expired exceptions (for the audit log), in order.
	ExpiredExceptions []string `yaml:"expired_exceptions"`
	// Prior holds findings as the store last recorded them; the case then
	// runs the lifecycle over them, the findings and the inventory's
	// coverage, and checks Transitions.
	Prior       []priorFinding `yaml:"prior"`
	Transitions []transition   `yaml:"transitions"`
}

type priorFinding struct {
	Expectation `yaml:",inline"`
	Scope       string      `yaml:"scope"`
	Status      string      `yaml:"status"`
	Facets      []nhi.Facet `yaml:"facets"`
}

type transition struct {
	Expectation `yaml:",inline"`
	Status      string   `yaml:"status"`
	Events      []string `yaml:"events"`
	// Hidden is the not-re-evaluated reason, nhi.Hidden.String().
	Hidden string `yaml:"hidden"`
}

func (e Expectation) fingerprint() string {
	return nhi.Fingerprint(e.Rule, e.Identity, e.Credential, e.Grant)
}

type Expectation struct {
	Rule       string            `yaml:"rule"`
	Identity   string            `yaml:"identity"`
	Credential string            `yaml:"credential"`
	Grant      string            `yaml:"grant"`
	Suppressed *bool             `yaml:"suppressed"`
	Evidence   map[string]string `yaml:"evidence"`
}

func (e Expectation) String() string {
	s := e.Rule + " on " + e.Identity
	if e.Credential != "" {
		s += " credential " + e.Credential
	}
	if e.Grant != "" {
		s += " grant " + e.Grant
	}
	return s
}

func (e Expectation) matches(f nhi.Finding) bool {
	if f.RuleID != e.Rule || f.IdentityID != e.Identity {
		return false
	}
	if e.Credential != "" && f.CredentialID != e.Credential {
		return false
	}
	if e.Grant != "" && f.GrantID != e.Grant {
		return false
	}
	return true
}

// decodeInventory turns the YAML form into the JSON form and reads it with
// the real decoder, so cases exercise the documented format.
func decodeInventory(t *testing.T, v any) *nhi.Inventory {
	t.Helper()
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inv, err := nhi.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	return &inv
}

type loadedCase struct {
	name string
	tc   testCase
	in   analyzer.Input
}

func loadCases(t *testing.T) []loadedCase {
	t.Helper()
	dirs, err := filepath.Glob("testdata/cases/*")
	if err != nil {
		t.Fatal(err)
	}
	var out []loadedCase
	for _, dir := range dirs {
		raw, err := os.ReadFile(filepath.Join(dir, "case.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var tc testCase
		if err := yaml.UnmarshalWithOptions(raw, &tc, yaml.Strict()); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		catPath := filepath.Join(dir, "catalog.yaml")
		if _, err := os.Stat(catPath); err != nil {
			catPath = "testdata/catalog.yaml"
		}
		cat, err := catalog.Load(tc.Now, catPath)
		if err != nil {
			t.Fatalf("%s: catalog: %v", dir, err)
		}
		in := analyzer.Input{Catalog: cat, Now: tc.Now, Certified: tc.Certified}
		in.Inventory = *decodeInventory(t, tc.Inventory)
		in.Previous = decodeInventory(t, tc.Previous)
		out = append(out, loadedCase{name: filepath.Base(dir), tc: tc, in: in})
	}
	if len(out) == 0 {
		t.Fatal("no cases")
	}
	return out
}

func TestCases(t *testing.T) {
	for _, c := range loadCases(t) {
		t.Run(c.name, func(t *testing.T) {
			res := analyzer.Analyze(c.in)
			seen := map[string]string{}
			for _, f := range res.Findings {
				if r, dup := seen[f.Fingerprint]; dup {
					t.Errorf("fingerprint %s twice (rules %s and %s on %s): the store refuses the scan", f.Fingerprint, r, f.RuleID, f.IdentityID)
				}
				seen[f.Fingerprint] = f.RuleID
			}
			for _, e := range c.tc.Expect {
				var got *nhi.Finding
				for i := range res.Findings {
					if e.matches(res.Findings[i]) {
						got = &res.Findings[i]
						break
					}
				}
				if got == nil {
					t.Errorf("expected %s; got:\n%s", e, dump(res.Findings))
					continue
				}
				if e.Suppressed != nil && got.Suppressed != *e.Suppressed {
					t.Errorf("%s: suppressed = %v, want %v", e, got.Suppressed, *e.Suppressed)
				}
				for k, v := range e.Evidence {
					if got.Evidence.Get(k) != v {
						t.Errorf("%s: evidence[%s] = %q, want %q (evidence %v)", e, k, got.Evidence.Get(k), v, got.Evidence)
					}
				}
			}
			for _, e := range c.tc.Absent {
				for _, f := range res.Findings {
					if e.matches(f) {
						t.Errorf("unexpected %s (evidence %v)", e, f.Evidence)
					}
				}
			}
			if c.tc.ExpiredExceptions != nil {
				var got []string
				for _, x := range res.ExpiredExceptions {
					got = append(got, x.ID)
					if x.Findings < 1 || x.Expires.IsZero() {
						t.Errorf("expired exception %+v: no findings or no expiry", x)
					}
				}
				if strings.Join(got, ",") != strings.Join(c.tc.ExpiredExceptions, ",") {
					t.Errorf("expired exceptions = %v, want %v", got, c.tc.ExpiredExceptions)
				}
			}
			checkTransitions(t, c, res)
			// Every finding is well formed, rests on facets the scan
			// observed, and one that rests on usage names the usage source
			// and its as-of time.
			cur := c.in.Inventory.Coverage()
			for _, f := range res.Findings {
				r, ok := rules.Lookup(f.RuleID)
				if !ok || f.Family != r.Family || f.Fingerprint == "" || len(f.Controls) == 0 || f.Severity.Rank() < 0 {
					t.Errorf("malformed finding %+v", f)
				}
				if len(f.Facets) == 0 {
					t.Errorf("%s on %s records no facets", f.RuleID, f.IdentityID)
				}
				judged := slices.DeleteFunc(slices.Clone(f.Facets), func(x nhi.Facet) bool { return slices.Contains(r.Unobservable, x.Class()) })
				if r.Basis != rules.Previous && !cur.ObservedAll(f.Provider, f.Scope, judged) {
					t.Errorf("%s on %s rests on facets %v this scan did not all observe", f.RuleID, f.IdentityID, f.Facets)
				}
				if usageRules[f.RuleID] && (f.Evidence.Get("usage_source") == "" || f.Evidence.Get("usage_as_of") == "" || f.Evidence.Get("usage_state") == "") {
					t.Errorf("%s on %s: evidence lacks the usage state, source or as-of: %v", f.RuleID, f.IdentityID, f.Evidence)
				}
			}
		})
	}
}

// checkTransitions runs the lifecycle over the case's prior findings and
// checks the expected transitions.
func checkTransitions(t *testing.T, c loadedCase, res analyzer.Result) {
	t.Helper()
	if len(c.tc.Prior) == 0 && len(c.tc.Transitions) == 0 {
		return
	}
	prior := make([]nhi.PriorFinding, len(c.tc.Prior))
	for i, p := range c.tc.Prior {
		provider, _, _ := strings.Cut(p.Identity, ":")
		prior[i] = nhi.PriorFinding{Fingerprint: p.fingerprint(), Status: p.Status, Provider: nhi.Provider(provider), Scope: p.Scope, Facets: p.Facets}
	}
	got := map[string]nhi.Transition{}
	for _, tr := range res.Lifecycle(prior, res.Findings, c.in.Inventory.Coverage()) {
		got[tr.Fingerprint] = tr
	}
	for _, want := range c.tc.Transitions {
		tr, ok := got[want.fingerprint()]
		if !ok {
			t.Errorf("no transition for %s", want.Expectation)
			continue
		}
		hidden := ""
		if tr.Hidden != nil {
			hidden = tr.Hidden.String()
		}
		if tr.Status != want.Status || strings.Join(tr.Events, ",") != strings.Join(want.Events, ",") || hidden != want.Hidden {
			t.Errorf("%s: status %s, events %v, hidden %q; want %s, %v, %q", want.Expectation, tr.Status, tr.Events, hidden, want.Status, want.Events, want.Hidden)
		}
	}
}

// TestEveryRuleHasFixtures enforces that each built-in rule has at least one
// positive and one negative fixture among the cases.
// usageRules are the rules whose verdict rests on a usage fact.
var usageRules = map[string]bool{
	rules.RuleDormantIdentity: true, rules.RuleDormantCredential: true,
	rules.RuleNeverUsedIdentity: true, rules.RuleNeverUsedCred: true,
	rules.RuleUsageStale: true, rules.RuleDisabledLingering: true,
}

func TestEveryRuleHasFixtures(t *testing.T) {
	pos, neg := map[string]bool{}, map[string]bool{}
	for _, c := range loadCases(t) {
		for _, e := range c.tc.Expect {
			pos[e.Rule] = true
		}
		for _, e := range c.tc.Absent {
			neg[e.Rule] = true
		}
	}
	for _, r := range rules.Builtin() {
		if !pos[r.ID] {
			t.Errorf("rule %s has no positive fixture (an expect entry in testdata/cases)", r.ID)
		}
		if !neg[r.ID] {
			t.Errorf("rule %s has no negative fixture (an absent entry in testdata/cases)", r.ID)
		}
	}
}

func TestDeterministic(t *testing.T) {
	for _, c := range loadCases(t) {
		a := analyzer.Analyze(c.in)
		// Shuffle the input order: the output must not change.
		in := c.in
		ids := append([]nhi.Identity(nil), in.Inventory.Identities...)
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
		in.Inventory.Identities = ids
		b := analyzer.Analyze(in)
		ja, _ := json.Marshal(a.Findings)
		jb, _ := json.Marshal(b.Findings)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: findings depend on input order", c.name)
		}
	}
}

func dump(fs []nhi.Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, fmt.Sprintf("  %s %s cred=%s grant=%s suppressed=%v", f.RuleID, f.IdentityID, f.CredentialID, f.GrantID, f.Suppressed))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestPure checks the analyzer's promises: it leaves its input unchanged and
// never reads the clock (the evaluation time is an input).
func TestPure(t *testing.T) {
	for _, c := range loadCases(t) {
		before := c.in.Inventory.Hash()
		var prev string
		if c.in.Previous != nil {
			prev = c.in.Previous.Hash()
		}
		analyzer.Analyze(c.in)
		if c.in.Inventory.Hash() != before || (c.in.Previous != nil && c.in.Previous.Hash() != prev) {
			t.Errorf("%s: Analyze changed its input", c.name)
		}
	}
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
		for _, banned := range []string{"time.Now(", "time.Since(", "time.Until(", "rand."} {
			if bytes.Contains(src, []byte(banned)) {
				t.Errorf("%s calls %s: the analyzer must take the time as input and be deterministic", f, banned)
			}
		}
	}
}
