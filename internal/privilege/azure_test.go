package privilege_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// TestAzureGoldenAgrees: every grant of the azure collector's golden
// inventory is judged, and Classify, given the grant without its verdict
// (as an imported inventory gives it), reaches the collector's verdict.
// The one judgement Classify cannot make is a custom directory role the
// role definition marks isPrivileged; the demo tenant has none.
func TestAzureGoldenAgrees(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "collectors", "azure", "testdata", "golden-inventory.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	inv, err := nhi.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range inv.Identities {
		for _, g := range id.Grants {
			n++
			if !g.Privileged.Judged() {
				t.Errorf("%s %s: the collector did not judge the grant", id.Name, g.ID)
				continue
			}
			bare := g
			bare.Privileged, bare.Reason = nhi.NotJudged, ""
			priv, why := privilege.Classify(nhi.Azure, &bare)
			if priv != g.Privileged.Privileged() {
				t.Errorf("%s %s: Classify says %t (%s), the collector %s", id.Name, g.ID, priv, why, g.Privileged)
			}
			if priv && why != g.Reason {
				t.Errorf("%s %s: Classify's reason %q, the collector's %q", id.Name, g.ID, why, g.Reason)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d grants in the golden inventory", n)
	}
}

func TestAzureTables(t *testing.T) {
	cases := []struct {
		kind, entitlement, scope string
		want                     bool
	}{
		{"app-permission", "Directory.ReadWrite.All", "00000003-0000-0000-c000-000000000000", true},
		{"app-permission", "Mail.Send", "00000003-0000-0000-c000-000000000000", true},
		{"app-permission", "Sites.FullControl.All", "00000003-0000-0ff1-ce00-000000000000", true},
		{"app-permission", "User.Read.All", "00000003-0000-0000-c000-000000000000", false},
		{"directory-role", "Global Administrator", "t1", true},
		{"directory-role", "Groups Administrator", "t1", true},
		{"directory-role", "Directory Readers", "t1", false},
		{"rbac-role", "Owner", "/subscriptions/s1", true},
		{"rbac-role", "Owner", "/subscriptions/s1/", true},
		{"rbac-role", "Contributor", "/providers/Microsoft.Management/managementGroups/mg1", true},
		{"rbac-role", "User Access Administrator", "/", true},
		{"rbac-role", "Contributor", "/subscriptions/s1/resourceGroups/rg", false},
		{"rbac-role", "Reader", "/subscriptions/s1", false},
		{"delegated-permission", "Mail.ReadWrite", "00000003-0000-0000-c000-000000000000", true},
		{"delegated-permission", "Directory.AccessAsUser.All", "00000003-0000-0000-c000-000000000000", true},
		{"delegated-permission", "user_impersonation", "797f4846-ba00-4fd7-ba43-dac1f8f63013", true},
		{"delegated-permission", "user_impersonation", "c1000000-0000-4000-a000-000000000001", false},
		{"delegated-permission", "User.Read", "00000003-0000-0000-c000-000000000000", false},
		{"delegated-permission", "offline_access", "00000003-0000-0000-c000-000000000000", false},
		{"eligible-directory-role", "Privileged Role Administrator", "t1", true},
		{"eligible-directory-role", "Directory Readers", "t1", false},
		// A kind the collector does not emit (an imported inventory) is
		// checked against every table.
		{"app-role", "RoleManagement.ReadWrite.Directory", "x", true},
		{"role", "Owner", "/subscriptions/s1", true},
		{"role", "Privileged Role Administrator", "t1", true},
		{"role", "Storage Blob Data Reader", "/subscriptions/s1", false},
	}
	for _, tc := range cases {
		g := nhi.Grant{Kind: tc.kind, Entitlement: tc.entitlement, Scope: tc.scope, Privilege: nhi.PrivWrite}
		if got, why := privilege.Classify(nhi.Azure, &g); got != tc.want {
			t.Errorf("%s %s at %s: %t (%s), want %t", tc.kind, tc.entitlement, tc.scope, got, why, tc.want)
		}
	}
	if got := privilege.AzureDirectoryRoleName("62E90394-69F5-4237-9190-012177145E10"); got != "Global Administrator" {
		t.Errorf("directory role by template id: %q", got)
	}
	if got := privilege.AzureRoleName("8E3AF657-A8FF-443C-A75C-2FE8C4BCB635"); got != "Owner" {
		t.Errorf("Azure role by GUID: %q", got)
	}
	levels := map[string]string{
		"": "root", "/": "root", "/subscriptions/S1": "subscription",
		"/subscriptions/s1/resourceGroups/rg":                                  "resource-group",
		"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/v/x": "resource",
		"/providers/Microsoft.Management/managementGroups/mg":                  "management-group",
	}
	for scope, want := range levels {
		if got := privilege.AzureScopeLevel(scope); got != want {
			t.Errorf("AzureScopeLevel(%q) = %q, want %q", scope, got, want)
		}
	}
}
