package revoke

import (
	"fmt"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// operation is one provider call the workflow may make on a class of
// target, and the call that undoes it ("" when irreversible).
type operation struct {
	call, undo string
}

// reversible reports whether the operation can be rolled back.
func (o operation) reversible() bool { return o.undo != "" }

// class is what decides the operations of a target: its credential type,
// or its identity kind when it is the identity itself. A GitHub deploy key
// or token is an identity whose one credential has the same id and a type
// spelled like its kind, so both name the same operations.
func class(t *Target) string {
	if t.CredentialID != "" {
		return string(t.CredentialType)
	}
	return string(t.IdentityKind)
}

// contain is the reversible operation of each class: a disable (undone by
// an enable) or a restorable removal (undone by a restore). A class
// missing here has no reversible step. The calls are those each provider's
// Controls.Act makes (collectors/<p>/controls.go).
var contain = map[string]operation{
	string(nhi.CredAWSAccessKey):       {"iam:UpdateAccessKey Status=Inactive", "iam:UpdateAccessKey Status=Active"},
	string(nhi.CredAWSServiceSpecific): {"iam:UpdateServiceSpecificCredential Status=Inactive", "iam:UpdateServiceSpecificCredential Status=Active"},
	string(nhi.KindAWSUser):            {"iam:PutUserPolicy nhiscan-quarantine (deny all)", "iam:DeleteUserPolicy nhiscan-quarantine"},
	string(nhi.KindAWSRole): {"iam:PutRolePolicy nhiscan-quarantine (deny all) and AWSRevokeOlderSessions",
		"iam:DeleteRolePolicy nhiscan-quarantine (AWSRevokeOlderSessions stays)"},
	string(nhi.CredGCPUserManagedKey):     {"iam.serviceAccountKeys.disable", "iam.serviceAccountKeys.enable"},
	string(nhi.KindGCPServiceAccount):     {"iam.serviceAccounts.disable", "iam.serviceAccounts.enable"},
	string(nhi.KindEntraServicePrincipal): {"PATCH servicePrincipal accountEnabled=false", "PATCH servicePrincipal accountEnabled=true"},
	string(nhi.KindEntraApplication):      {"PATCH servicePrincipal accountEnabled=false (the application's)", "PATCH servicePrincipal accountEnabled=true"},
	string(nhi.CredEntraCertificate):      {"PATCH keyCredentials without the certificate (kept for restore)", "PATCH keyCredentials with the certificate again"},
	string(nhi.CredEntraFederated):        {"DELETE federatedIdentityCredential (kept for restore)", "POST federatedIdentityCredential again (new id)"},
	string(nhi.CredGitHubDeployKey):       {"DELETE /repos/{repo}/keys/{id} (public key kept for restore)", "POST /repos/{repo}/keys again (new id)"},
}

// removeOps are the irreversible removals of each class.
var removeOps = map[string]string{
	string(nhi.CredAWSAccessKey):         "iam:DeleteAccessKey",
	string(nhi.CredAWSServiceSpecific):   "iam:DeleteServiceSpecificCredential",
	string(nhi.CredGCPUserManagedKey):    "iam.serviceAccountKeys.delete",
	string(nhi.CredEntraClientSecret):    "POST removePassword",
	string(nhi.CredGitHubFineGrainedPAT): "POST /orgs/{org}/personal-access-tokens/{pat_id} action=revoke",
	string(nhi.CredGitHubClassicPAT):     "DELETE /orgs/{org}/credential-authorizations/{id}",
	string(nhi.CredGitHubSSHKey):         "DELETE /orgs/{org}/credential-authorizations/{id}",
}

// containOp is the reversible step of a target: the op (disable, or a
// restorable delete) and its calls; ok is false when it has none.
func containOp(t *Target) (Op, operation, bool) {
	o, ok := contain[class(t)]
	if !ok {
		return "", operation{}, false
	}
	if restorable(t) {
		return OpDelete, o, true
	}
	return OpDisable, o, true
}

// restorable reports whether the target's reversible step is a removal
// that Restore undoes, rather than a disable.
func restorable(t *Target) bool {
	switch class(t) {
	case string(nhi.CredEntraCertificate), string(nhi.CredEntraFederated), string(nhi.CredGitHubDeployKey):
		return true
	}
	return false
}

// removeOp is the irreversible removal of a target; ok is false when
// nhiscan offers none (identities are never deleted).
func removeOp(t *Target) (string, bool) {
	call, ok := removeOps[class(t)]
	return call, ok
}

// reduceOps are the removals of one grant, by provider and grant kind, and
// the calls that put it back. The calls are those each provider's
// Controls.Act makes for collectors.RemoveGrant and RestoreGrant.
var reduceOps = map[string]operation{
	"aws/managed-policy": {"iam:DetachRolePolicy or iam:DetachUserPolicy", "iam:AttachRolePolicy or iam:AttachUserPolicy"},
	"aws/inline-policy":  {"iam:DeleteRolePolicy or iam:DeleteUserPolicy (the document kept for restore)", "iam:PutRolePolicy or iam:PutUserPolicy of the saved document"},
	"gcp/role-binding":   {"setIamPolicy without the member in the binding (etag-checked)", "setIamPolicy with the member added back (etag-checked)"},
}

// reduceOp is the removal of the target's grant, or why nhiscan has none.
func reduceOp(t *Target) (operation, string) {
	if o, ok := reduceOps[string(t.Provider)+"/"+t.GrantKind]; ok {
		return o, ""
	}
	switch {
	case t.GrantKind == "group-policy":
		return operation{}, "the grant comes through an IAM group: change the group's policies, or remove the user from the group, by hand"
	case t.Provider == nhi.GitHub:
		return operation{}, "GitHub permissions are changed on the repository, App installation or token by its owner: act by hand"
	}
	return operation{}, fmt.Sprintf("nhiscan does not remove %s %s grants yet: remove the grant by hand, and the next scan shows it gone", t.Provider, t.GrantKind)
}
