package privilege_test

import (
	"testing"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

func TestGCPRole(t *testing.T) {
	type want struct {
		priv       nhi.Privilege
		privileged bool
	}
	for _, tc := range []struct {
		role, scope string
		want        want
	}{
		{"roles/owner", "projects/p", want{nhi.PrivAdmin, true}},
		{"roles/editor", "folders/1", want{nhi.PrivWrite, true}},
		{"roles/viewer", "organizations/1", want{nhi.PrivRead, false}},
		{"roles/browser", "organizations/1", want{nhi.PrivRead, false}},
		{"roles/bigquery.dataViewer", "projects/p", want{nhi.PrivRead, false}},
		{"roles/storage.admin", "storage.googleapis.com/bucket", want{nhi.PrivAdmin, true}},
		{"roles/compute.storageAdmin", "projects/p", want{nhi.PrivAdmin, true}},
		{"roles/resourcemanager.folderAdmin", "folders/1", want{nhi.PrivAdmin, true}},
		{"roles/run.developer", "projects/p", want{nhi.PrivWrite, false}},
		// The four impersonation roles: privileged on a project or wider,
		// not on one service account.
		{"roles/iam.serviceAccountTokenCreator", "projects/p", want{nhi.PrivWrite, true}},
		{"roles/iam.serviceAccountUser", "folders/1", want{nhi.PrivWrite, true}},
		{"roles/iam.workloadIdentityUser", "organizations/1", want{nhi.PrivWrite, true}},
		{"roles/iam.serviceAccountOpenIdTokenCreator", "projects/p", want{nhi.PrivWrite, true}},
		{"roles/iam.serviceAccountUser", "iam.googleapis.com/projects/p/serviceAccounts/104", want{nhi.PrivWrite, false}},
		{"roles/iam.workloadIdentityUser", "iam.googleapis.com/projects/p/serviceAccounts/104", want{nhi.PrivWrite, false}},
		// An import that does not say where the role is bound: assume the
		// wide case rather than call an impersonation path harmless.
		{"roles/iam.serviceAccountTokenCreator", "", want{nhi.PrivWrite, true}},
		// A custom role is not judged by its name.
		{"organizations/1/roles/customAdmin", "projects/p", want{nhi.PrivWrite, false}},
		{"projects/p/roles/deployer", "projects/p", want{nhi.PrivWrite, false}},
	} {
		priv, privileged, why := privilege.GCPRole(tc.role, privilege.GCPScopeLevel(tc.scope))
		if priv != tc.want.priv || privileged != tc.want.privileged || privileged != (why != "") {
			t.Errorf("GCPRole(%s at %q) = %s %v %q, want %s %v", tc.role, tc.scope, priv, privileged, why, tc.want.priv, tc.want.privileged)
		}
		g := nhi.Grant{Kind: "role-binding", Entitlement: tc.role, Scope: tc.scope, Privilege: priv}
		if p, _ := privilege.Classify(nhi.GCP, &g); p != tc.want.privileged {
			t.Errorf("Classify(%s at %q) = %v, want %v", tc.role, tc.scope, p, tc.want.privileged)
		}
	}
}

func TestGCPScopeLevel(t *testing.T) {
	for scope, want := range map[string]string{
		"organizations/123":                               privilege.GCPOrganization,
		"folders/456":                                     privilege.GCPFolder,
		"projects/acme-data-prod":                         privilege.GCPProject,
		"storage.googleapis.com/acme-hr-exports":          privilege.GCPResource,
		"iam.googleapis.com/projects/p/serviceAccounts/1": privilege.GCPResource,
		"projects/p/topics/t":                             privilege.GCPResource,
		"":                                                "",
	} {
		if got := privilege.GCPScopeLevel(scope); got != want {
			t.Errorf("GCPScopeLevel(%q) = %q, want %q", scope, got, want)
		}
	}
}

// TestGCPJudgedGrantIsNeverOverridden: the collector judged a one-account
// serviceAccountUser binding not privileged; the analyzer's Effective keeps
// that verdict, even for a grant whose normalised form it would judge
// otherwise.
func TestGCPJudgedGrantIsNeverOverridden(t *testing.T) {
	g := nhi.Grant{Kind: "role-binding", Entitlement: "roles/iam.serviceAccountUser", Scope: "", Privileged: nhi.JudgedNotPrivileged}
	if p, _ := privilege.Effective(nhi.GCP, &g); p {
		t.Error("Effective overrode a collector's not-privileged verdict")
	}
	g.Privileged = nhi.NotJudged
	if p, _ := privilege.Effective(nhi.GCP, &g); !p {
		t.Error("an unjudged impersonation role with no scope should be judged privileged")
	}
}

// TestGCPPermissions judges custom roles by what they include, never by
// their name.
func TestGCPPermissions(t *testing.T) {
	for _, tc := range []struct {
		name       string
		perms      []string
		scope      string
		priv       nhi.Privilege
		privileged bool
		why        string
	}{
		{"reads only, whatever it is called", []string{"bigquery.tables.getData", "bigquery.tables.list"}, "projects/p", nhi.PrivRead, false, ""},
		{"writes", []string{"run.services.update", "run.services.get"}, "projects/p", nhi.PrivWrite, false, ""},
		{"sets IAM policies", []string{"storage.buckets.get", "storage.buckets.setIamPolicy"}, "storage.googleapis.com/b", nhi.PrivAdmin, true, "custom role with storage.buckets.setIamPolicy"},
		{"changes roles", []string{"iam.roles.update"}, "organizations/1", nhi.PrivAdmin, true, "custom role with iam.roles.update"},
		{"adds a federation trust", []string{"iam.workloadIdentityPoolProviders.create"}, "projects/p", nhi.PrivAdmin, true, "custom role with iam.workloadIdentityPoolProviders.create"},
		{"acts as every account of a project", []string{"run.services.update", "iam.serviceAccounts.actAs"}, "projects/p", nhi.PrivAdmin, true,
			"custom role with iam.serviceAccounts.actAs: can act as every service account in the project"},
		{"mints tokens of one account", []string{"iam.serviceAccounts.getAccessToken"}, "iam.googleapis.com/projects/p/serviceAccounts/1", nhi.PrivWrite, false, ""},
		{"creates keys in a folder", []string{"iam.serviceAccountKeys.create"}, "folders/1", nhi.PrivAdmin, true,
			"custom role with iam.serviceAccountKeys.create: can act as every service account in the folder"},
		{"creates HMAC keys", []string{"storage.hmacKeys.create"}, "projects/p", nhi.PrivAdmin, true,
			"custom role with storage.hmacKeys.create: can act as every service account in the project"},
		{"no permission left (a deleted role)", nil, "projects/p", nhi.PrivRead, false, ""},
	} {
		priv, privileged, why := privilege.GCPPermissions(tc.perms, privilege.GCPScopeLevel(tc.scope))
		if priv != tc.priv || privileged != tc.privileged || why != tc.why {
			t.Errorf("%s: %s %v %q, want %s %v %q", tc.name, priv, privileged, why, tc.priv, tc.privileged, tc.why)
		}
		// An import of the collector's grant is judged alike from its level.
		g := nhi.Grant{Kind: "role-binding", Entitlement: "organizations/1/roles/x", Scope: tc.scope, Privilege: priv}
		if p, _ := privilege.Classify(nhi.GCP, &g); p != privileged {
			t.Errorf("%s: Classify = %v, want %v", tc.name, p, privileged)
		}
	}
}

// TestGCPCanImpersonate: which roles held on a service account let their
// member act as it.
func TestGCPCanImpersonate(t *testing.T) {
	for _, tc := range []struct {
		role  string
		perms []string
		want  bool
	}{
		{"roles/iam.serviceAccountTokenCreator", nil, true},
		{"roles/iam.workloadIdentityUser", nil, true},
		{"roles/editor", nil, true},
		{"roles/iam.serviceAccountAdmin", nil, true},
		{"roles/iam.serviceAccountViewer", nil, false},
		{"projects/p/roles/signer", []string{"iam.serviceAccounts.signBlob"}, true},
		{"projects/p/roles/policy", []string{"iam.serviceAccounts.setIamPolicy"}, true},
		{"organizations/1/roles/tokenAdmin", []string{"iam.serviceAccounts.get"}, false},
	} {
		if got := privilege.GCPCanImpersonate(tc.role, tc.perms); got != tc.want {
			t.Errorf("GCPCanImpersonate(%s, %v) = %v, want %v", tc.role, tc.perms, got, tc.want)
		}
	}
}
