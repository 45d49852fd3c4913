package analyzer_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nhiscan/nhiscan/analyzer"
	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
	"github.com/nhiscan/nhiscan/rules"
)

// goldenInventory reads a collector's golden inventory.
func goldenInventory(t *testing.T, p nhi.Provider) nhi.Inventory {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "collectors", string(p), "testdata", "golden-inventory.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := nhi.Decode(f)
	if err != nil {
		t.Fatalf("%s golden inventory: %v", p, err)
	}
	return inv
}

// TestCollectorVerdictsStand runs the analyzer over each collector's
// golden inventory with an empty catalog (no role allows anything, so
// every privileged grant is reported) and checks that the analyzer never
// overrides a collector's judgement: a privileged-grant finding only on a
// grant the collector judged privileged (or left unjudged and
// privilege.Classify calls privileged), none on a grant judged not
// privileged, and one on every grant judged privileged where the grants
// were observed.
func TestCollectorVerdictsStand(t *testing.T) {
	for _, p := range nhi.Providers {
		t.Run(string(p), func(t *testing.T) {
			inv := goldenInventory(t, p)
			res := analyzer.Analyze(analyzer.Input{Inventory: inv, Now: inv.CollectedAt})
			reported := map[[2]string]bool{}
			for _, fd := range res.Findings {
				if fd.RuleID == rules.RulePrivilegedGrant {
					reported[[2]string{fd.IdentityID, fd.GrantID}] = true
				}
			}
			cov := inv.Coverage()
			judged := 0
			for i := range inv.Identities {
				id := &inv.Identities[i]
				for j := range id.Grants {
					g := &id.Grants[j]
					got := reported[[2]string{id.ID, g.ID}]
					want, _ := privilege.Effective(id.Provider, g)
					if g.Privileged.Judged() {
						judged++
					}
					switch {
					case got && !want:
						t.Errorf("%s grant %s (%s): reported privileged, but the verdict is %s", id.Name, g.ID, g.Entitlement, g.Privileged)
					case !got && want && !id.ProviderManaged && cov.Observed(id.Provider, id.Scope, nhi.GrantsFacet(g.Kind)):
						t.Errorf("%s grant %s (%s): judged %s, but not reported", id.Name, g.ID, g.Entitlement, g.Privileged)
					}
				}
			}
			if judged == 0 {
				t.Errorf("the golden inventory judges no grant")
			}
		})
	}
}

// TestServiceAccountUserOnOneAccount: the GCP collector judges
// roles/iam.serviceAccountUser on one service account not privileged (it
// is on the project); the analyzer does not report it.
func TestServiceAccountUserOnOneAccount(t *testing.T) {
	inv := goldenInventory(t, nhi.GCP)
	found := false
	for _, id := range inv.Identities {
		for _, g := range id.Grants {
			if g.Entitlement == "roles/iam.serviceAccountUser" && g.Privileged == nhi.JudgedNotPrivileged {
				found = true
			}
		}
	}
	if !found {
		t.Fatal("the GCP golden inventory no longer has roles/iam.serviceAccountUser judged not privileged")
	}
	for _, fd := range analyzer.Analyze(analyzer.Input{Inventory: inv, Now: inv.CollectedAt}).Findings {
		if fd.RuleID != rules.RulePrivilegedGrant {
			continue
		}
		id, _ := inv.Identity(fd.IdentityID)
		for _, g := range id.Grants {
			if g.ID == fd.GrantID && g.Entitlement == "roles/iam.serviceAccountUser" && g.Privileged == nhi.JudgedNotPrivileged {
				t.Errorf("%s: privileged-grant on %s, which the collector judged not privileged", id.Name, g.ID)
			}
		}
	}
}

// TestVerdicts: the three verdicts on synthetic grants. A judged grant
// keeps its verdict whatever its entitlement; an unjudged one is
// classified.
func TestVerdicts(t *testing.T) {
	const admin, readOnly = "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"
	for _, tc := range []struct {
		name        string
		entitlement string
		privilege   nhi.Privilege
		verdict     nhi.Verdict
		want        bool
	}{
		{"judged privileged", readOnly, nhi.PrivRead, nhi.JudgedPrivileged, true},
		{"judged not privileged", admin, nhi.PrivAdmin, nhi.JudgedNotPrivileged, false},
		{"not judged, classified privileged", admin, nhi.PrivAdmin, nhi.NotJudged, true},
		{"not judged, classified not privileged", readOnly, nhi.PrivRead, nhi.NotJudged, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
			g := nhi.Grant{ID: "managed-policy:" + tc.entitlement, Kind: "managed-policy", Entitlement: tc.entitlement,
				Scope: "123456789012", Privilege: tc.privilege, Privileged: tc.verdict}
			inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now,
				Scopes: []nhi.Scope{{Provider: nhi.AWS, ID: "123456789012"}},
				Identities: []nhi.Identity{{ID: "aws:AIDA1", Provider: nhi.AWS, Kind: nhi.KindAWSUser, NativeID: "AIDA1", Name: "bot",
					Scope: "123456789012", Status: nhi.StatusActive, Usage: nhi.Usage{State: nhi.UsageNotReported}, Grants: []nhi.Grant{g}}}}
			got := false
			for _, f := range analyzer.Analyze(analyzer.Input{Inventory: inv, Now: now}).Findings {
				if f.RuleID == rules.RulePrivilegedGrant && f.GrantID == g.ID {
					got = true
				}
			}
			if got != tc.want {
				t.Errorf("privileged-grant reported = %v, want %v", got, tc.want)
			}
		})
	}
}
