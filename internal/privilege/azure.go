package privilege

import (
	"strings"

	"github.com/nhiscan/nhiscan/internal/nhi"
)

// Azure and Entra grant kinds, as the azure collector emits them.
const (
	azureKindDirectoryRole = "directory-role"
	azureKindAppPermission = "app-permission"
	azureKindRBACRole      = "rbac-role"
	azureKindDelegated     = "delegated-permission"
	azureKindEligibleRole  = "eligible-directory-role"
)

// classifyAzure judges an Azure grant from its normalised form. A grant of
// a kind the azure collector does not emit (an imported inventory) is
// checked against every Azure table.
func classifyAzure(g *nhi.Grant) (bool, string) {
	switch g.Kind {
	case azureKindDirectoryRole:
		return AzureDirectoryRole(g.Entitlement)
	case azureKindAppPermission:
		return AzureAppPermission(g.Entitlement)
	case azureKindDelegated:
		return AzureDelegatedPermission(g.Entitlement, g.Scope)
	case azureKindEligibleRole:
		return AzureEligibleDirectoryRole(g.Entitlement)
	case azureKindRBACRole:
		return AzureRBACRole(g.Entitlement, g.Scope)
	}
	for _, judge := range []func() (bool, string){
		func() (bool, string) { return AzureRBACRole(g.Entitlement, g.Scope) },
		func() (bool, string) { return AzureAppPermission(g.Entitlement) },
		func() (bool, string) { return AzureDirectoryRole(g.Entitlement) },
	} {
		if priv, why := judge(); priv {
			return true, why
		}
	}
	return false, ""
}

// azureAppPermissions are the high-impact Microsoft Graph (and Exchange)
// application permissions: control-plane (Tier-0) and tenant-wide write to
// data or identities, with what each lets the holder do.
var azureAppPermissions = map[string]string{
	"Directory.ReadWrite.All":                     "can change any directory object",
	"RoleManagement.ReadWrite.Directory":          "can grant itself any directory role (Tier-0)",
	"Application.ReadWrite.All":                   "can add credentials to any application (Tier-0)",
	"AppRoleAssignment.ReadWrite.All":             "can grant itself any application permission (Tier-0)",
	"User.ReadWrite.All":                          "can change any user",
	"Group.ReadWrite.All":                         "can change any group, including role-assignable ones",
	"GroupMember.ReadWrite.All":                   "can change group membership",
	"UserAuthenticationMethod.ReadWrite.All":      "can change users' authentication methods",
	"Policy.ReadWrite.ConditionalAccess":          "can change Conditional Access",
	"PrivilegedAccess.ReadWrite.AzureAD":          "can change PIM assignments",
	"Domain.ReadWrite.All":                        "can add federated domains",
	"Mail.ReadWrite":                              "can read and change every mailbox",
	"Mail.Send":                                   "can send mail as any user",
	"Files.ReadWrite.All":                         "can read and change every file",
	"Sites.ReadWrite.All":                         "can read and change every site",
	"Sites.FullControl.All":                       "has full control of every site",
	"full_access_as_app":                          "has full access to every mailbox",
	"DeviceManagementConfiguration.ReadWrite.All": "can push configuration to managed devices",
}

// AzureAppPermission judges an application permission (an app role value
// such as "Directory.ReadWrite.All").
func AzureAppPermission(value string) (bool, string) {
	if why, ok := azureAppPermissions[value]; ok {
		return true, "high-impact application permission: " + why
	}
	return false, ""
}

// azureDelegatedPermissions are the delegated permissions (OAuth2 scopes)
// that let an app act with all of a signed-in user's rights, beyond the
// high-impact permissions that exist both as application and delegated
// permissions (azureAppPermissions).
var azureDelegatedPermissions = map[string]string{
	"Directory.AccessAsUser.All": "acts in the directory with every right of the signed-in user",
	"full_access_as_user":        "has full access to the signed-in user's mailboxes",
	"EWS.AccessAsUser.All":       "has full access to the signed-in user's mailboxes",
}

// azureServiceManagementAppID is the Windows Azure Service Management
// API: its user_impersonation scope manages Azure resources as the user.
const azureServiceManagementAppID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"

// AzureDelegatedPermission judges a delegated permission (an OAuth2 scope
// such as "Mail.ReadWrite") granted on a resource (its appId): the
// high-impact permissions of AzureAppPermission, acting with every right
// of the signed-in user, and managing Azure as the user.
func AzureDelegatedPermission(value, resourceAppID string) (bool, string) {
	if why, ok := azureAppPermissions[value]; ok {
		return true, "high-impact delegated permission: " + why + " the signed-in user can reach"
	}
	if why, ok := azureDelegatedPermissions[value]; ok {
		return true, "high-impact delegated permission: " + why
	}
	if value == "user_impersonation" && strings.EqualFold(resourceAppID, azureServiceManagementAppID) {
		return true, "high-impact delegated permission: manages Azure resources as the signed-in user"
	}
	return false, ""
}

// AzureEligibleDirectoryRole judges a directory role that can be activated
// through Privileged Identity Management as the active role would be: an
// activation is one request away.
func AzureEligibleDirectoryRole(name string) (bool, string) {
	if priv, _ := AzureDirectoryRole(name); priv {
		return true, "eligible (PIM) for a privileged Entra directory role"
	}
	return false, ""
}

// azureDirectoryRoles are the built-in Entra directory roles by template
// id (the same in every tenant), so that a role stays named and judged when
// its definition cannot be read. Privileged: the roles Microsoft marks
// isPrivileged.
var azureDirectoryRoles = map[string]struct {
	name       string
	privileged bool
}{
	"62e90394-69f5-4237-9190-012177145e10": {"Global Administrator", true},
	"e8611ab8-c189-46e8-94e1-60213ab1f814": {"Privileged Role Administrator", true},
	"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": {"Privileged Authentication Administrator", true},
	"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": {"Application Administrator", true},
	"158c047a-c907-4556-b7ef-446551a6b5f7": {"Cloud Application Administrator", true},
	"c4e39bd9-1100-46d3-8c65-fb160da0071f": {"Authentication Administrator", true},
	"fe930be7-5e62-47db-91af-98c3a49a38b1": {"User Administrator", true},
	"194ae4cb-b126-40b2-bd5b-6091b380977d": {"Security Administrator", true},
	"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": {"Hybrid Identity Administrator", true},
	"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9": {"Conditional Access Administrator", true},
	"29232cdf-9323-42fd-ade2-1d097af3e4de": {"Exchange Administrator", true},
	"3a2c62db-5318-420d-8d74-23affee5d9d5": {"Intune Administrator", true},
	"e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8": {"Partner Tier2 Support", true},
	"9360feb5-f418-4baa-8175-e2a00bac4301": {"Directory Writers", true},
	"fdd7a751-b60b-444a-984c-02652fe8fa1c": {"Groups Administrator", true},
	"88d8e3e3-8f55-4a1e-953a-9b9898b8876b": {"Directory Readers", false},
}

// azurePrivilegedDirectoryRoles indexes the privileged built-in directory
// roles by display name.
var azurePrivilegedDirectoryRoles = func() map[string]bool {
	out := map[string]bool{}
	for _, r := range azureDirectoryRoles {
		if r.privileged {
			out[r.name] = true
		}
	}
	return out
}()

// AzureDirectoryRoleName returns the display name of a built-in Entra
// directory role by its template id (any case), or "".
func AzureDirectoryRoleName(templateID string) string {
	return azureDirectoryRoles[strings.ToLower(templateID)].name
}

// AzureDirectoryRole judges an Entra directory role by its display name.
// A custom role is judged not privileged here; a collector that reads the
// role definition's isPrivileged may judge it privileged (the normalised
// grant does not carry that flag).
func AzureDirectoryRole(name string) (bool, string) {
	if azurePrivilegedDirectoryRoles[name] {
		return true, "privileged Entra directory role"
	}
	return false, ""
}

// azureRoles are built-in Azure roles by definition GUID (the same in
// every tenant), so that the privileged ones stay named and judged when a
// role definition cannot be read.
var azureRoles = map[string]string{
	"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
	"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
	"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
	"f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
	"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
}

// AzureRoleName returns the name of a built-in Azure role by its
// definition GUID (any case), or "".
func AzureRoleName(guid string) string {
	return azureRoles[strings.ToLower(guid)]
}

// azurePrivilegedRoles are privileged at subscription, management-group
// or root scope.
var azurePrivilegedRoles = map[string]bool{
	"Owner": true, "Contributor": true, "User Access Administrator": true,
	"Role Based Access Control Administrator": true,
}

// AzureRBACRole judges an Azure role assignment: Owner, Contributor, User
// Access Administrator and Role Based Access Control Administrator are
// privileged at subscription, management-group or root scope.
func AzureRBACRole(role, scope string) (bool, string) {
	if !azurePrivilegedRoles[role] {
		return false, ""
	}
	switch AzureScopeLevel(scope) {
	case AzureLevelSubscription, AzureLevelManagementGroup, AzureLevelRoot:
		if scope == "" {
			scope = "/"
		}
		return true, role + " at " + scope
	}
	return false, ""
}

// Azure RBAC scope levels.
const (
	AzureLevelRoot            = "root"
	AzureLevelManagementGroup = "management-group"
	AzureLevelSubscription    = "subscription"
	AzureLevelResourceGroup   = "resource-group"
	AzureLevelResource        = "resource"
)

// AzureScopeLevel returns the level of an Azure RBAC scope: root ("/" or
// anything not under a subscription or management group),
// management-group, subscription, resource-group or resource.
func AzureScopeLevel(scope string) string {
	s := strings.ToLower(strings.TrimSuffix(scope, "/"))
	switch {
	case strings.HasPrefix(s, "/providers/microsoft.management/managementgroups/"):
		return AzureLevelManagementGroup
	case strings.HasPrefix(s, "/subscriptions/"):
		switch n := strings.Count(s, "/"); {
		case n == 2:
			return AzureLevelSubscription
		case n == 4 && strings.Contains(s, "/resourcegroups/"):
			return AzureLevelResourceGroup
		}
		return AzureLevelResource
	}
	return AzureLevelRoot
}
