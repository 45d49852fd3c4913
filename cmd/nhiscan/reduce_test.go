package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// unusedInventory is one AWS role holding S3 (never used), a deploy policy
// (ECS used, SQS not) and a billing policy used once a quarter.
func unusedInventory(t *testing.T, dir string, now time.Time) string {
	t.Helper()
	d := func(n int) time.Time { return now.AddDate(0, 0, -n).Truncate(time.Second) }
	use := func(svcs ...nhi.ServiceUse) *nhi.GrantUse {
		u := &nhi.GrantUse{State: nhi.UsageNeverUsed, Source: nhi.SourceAccessAdvisor, WindowStart: d(400), WindowEnd: d(0), Services: svcs}
		for _, s := range svcs {
			if s.LastUsed.After(u.LastUsed) {
				u.State, u.LastUsed = nhi.UsageUsed, s.LastUsed
			}
		}
		return u
	}
	grant := func(arn string, u *nhi.GrantUse) nhi.Grant {
		return nhi.Grant{ID: "managed-policy:" + arn, Kind: "managed-policy", Entitlement: arn, Scope: "111111111111", Privilege: nhi.PrivWrite,
			Privileged: nhi.JudgedNotPrivileged, Created: d(500), Use: u}
	}
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now.Truncate(time.Second), Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "111111111111"}}}
	inv.Identities = []nhi.Identity{{ID: "aws:AROADEPLOY", Provider: nhi.AWS, Kind: nhi.KindAWSRole, NativeID: "AROADEPLOY", Name: "deployer",
		Scope: "111111111111", Status: nhi.StatusActive, Created: d(600), Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: d(1), Source: "role-last-used", AsOf: d(0)},
		Grants: []nhi.Grant{
			grant("arn:aws:iam::aws:policy/AmazonS3FullAccess", use(nhi.ServiceUse{Service: "s3"})),
			grant("arn:aws:iam::111111111111:policy/deploy", use(nhi.ServiceUse{Service: "ecs", LastUsed: d(2), Actions: []string{"ecs:UpdateService"}}, nhi.ServiceUse{Service: "sqs"})),
			grant("arn:aws:iam::111111111111:policy/billing", use(nhi.ServiceUse{Service: "ce", LastUsed: d(80)})),
		}}}
	return writeInventory(t, filepath.Join(dir, "unused.json"), inv)
}

// writeInventory writes inv, normalised, to path in the JSON form.
func writeInventory(t *testing.T, path string, inv nhi.Inventory) string {
	t.Helper()
	inv.Normalize()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := nhi.Encode(f, inv); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestReduceSuggest: the scan flags the unused grant and service, and
// reduce suggest names them, builds the least-privilege policy from what
// was used (the quarterly permission kept), in text and JSON.
func TestReduceSuggest(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	cat := "--catalog=" + testdata("catalog.yaml")
	if code, out, errs := c.run("scan", db, cat, "--inventory", unusedInventory(t, c.dir, c.now)); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	out := c.ok("findings", db, "--rule", "unused-entitlement")
	if !strings.Contains(out, "AmazonS3FullAccess") || strings.Contains(out, "billing") {
		t.Errorf("findings:\n%s", out)
	}
	out = c.ok("reduce", "suggest", db, testdata("catalog.yaml"))
	for _, want := range []string{"remove  managed-policy:arn:aws:iam::aws:policy/AmazonS3FullAccess", "narrow  managed-policy:arn:aws:iam::111111111111:policy/deploy  drop sqs, keep ecs",
		`"ce:*"`, `"ecs:UpdateService"`} {
		if !strings.Contains(out, want) {
			t.Errorf("suggest lacks %q:\n%s", want, out)
		}
	}
	if out := c.ok("reduce", "suggest", db, "--format", "json", testdata("catalog.yaml")); !strings.Contains(out, `"remove"`) {
		t.Errorf("json:\n%s", out)
	}
	if code, _, _ := c.run("reduce", "suggest", db, "--format", "xml"); code != exitUsage {
		t.Errorf("--format xml = %d, want usage", code)
	}
	// Without a catalog: the default window, the same grants.
	if out := c.ok("reduce", "suggest", db); !strings.Contains(out, "remove  managed-policy:arn:aws:iam::aws:policy/AmazonS3FullAccess") {
		t.Errorf("suggest without a catalog:\n%s", out)
	}
}

// recommendedInventory is one GCP service account whose dataEditor binding
// the IAM recommender recommends replacing with dataViewer.
func recommendedInventory(t *testing.T, dir string, now time.Time) string {
	t.Helper()
	d := func(n int) time.Time { return now.AddDate(0, 0, -n).Truncate(time.Second) }
	const proj = "projects/acme-data-prod"
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now.Truncate(time.Second), Scopes: []nhi.Scope{{Provider: nhi.GCP, ID: "acme-data-prod"}}}
	inv.Identities = []nhi.Identity{{ID: "gcp:1001", Provider: nhi.GCP, Kind: nhi.KindGCPServiceAccount, NativeID: "1001",
		Name: "etl@acme-data-prod.iam.gserviceaccount.com", Scope: "acme-data-prod", Status: nhi.StatusActive, Created: d(600),
		Usage: nhi.Usage{State: nhi.UsageUsed, LastUsed: d(1), Source: "activity-analyzer", AsOf: d(0)},
		Grants: []nhi.Grant{{ID: "role-binding:" + proj + ":roles/bigquery.dataEditor", Kind: "role-binding", Entitlement: "roles/bigquery.dataEditor",
			Scope: proj, Privilege: nhi.PrivWrite, Privileged: nhi.JudgedNotPrivileged, FirstSeen: d(400),
			Use: &nhi.GrantUse{State: nhi.UsageUsed, Source: nhi.SourceGCPRecommender, WindowStart: d(90), WindowEnd: d(0), LastUsed: d(0),
				Used: []string{"bigquery.tables.getData"}},
			Recommendation: &nhi.GrantRecommendation{Source: nhi.SourceGCPRecommender, Action: nhi.RecommendReplace,
				Replace: []string{"roles/bigquery.dataViewer"}, Name: "projects/1/locations/global/recommenders/google.iam.policy.Recommender/recommendations/r1",
				Subtype: "REPLACE_ROLE\x1b]0;owned\x07", AsOf: d(0)}}}}}
	return writeInventory(t, filepath.Join(dir, "recommended.json"), inv)
}

// TestReduceSuggestReplace: a GCP role recommendation shows as "replace X
// with Y", naming the recommendation, in text and JSON; its collected
// strings are escaped for the terminal.
func TestReduceSuggestReplace(t *testing.T) {
	c := newCLI(t)
	db := "--db=" + c.db()
	if code, out, errs := c.run("scan", db, "--catalog="+testdata("catalog.yaml"), "--inventory", recommendedInventory(t, c.dir, c.now)); code != exitOK {
		t.Fatalf("scan = %d\n%s%s", code, out, errs)
	}
	out := c.ok("reduce", "suggest", db, testdata("catalog.yaml"))
	for _, want := range []string{"replace role-binding:projects/acme-data-prod:roles/bigquery.dataEditor  with roles/bigquery.dataViewer",
		"recommended by gcp-recommender REPLACE_ROLE", "projects/1/locations/global/recommenders/google.iam.policy.Recommender/recommendations/r1"} {
		if !strings.Contains(out, want) {
			t.Errorf("suggest lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Errorf("a collected string reached the terminal unescaped:\n%q", out)
	}
	out = c.ok("reduce", "suggest", db, "--format", "json", testdata("catalog.yaml"))
	for _, want := range []string{`"replace": [`, `"replace_with": [`, `"recommendation_subtype": "REPLACE_ROLE\u001b]0;owned\u0007"`} {
		if !strings.Contains(out, want) {
			t.Errorf("json lacks %s:\n%s", want, out)
		}
	}
}
