package privilege_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

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
