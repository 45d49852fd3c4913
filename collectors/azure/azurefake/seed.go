package azurefake

import "time"

// Seed is the state a Server starts from: one Entra tenant and the Azure
// subscriptions visible to the scanner. Field names follow the Graph and ARM
// wire formats; the fake renders them as those APIs do.
type Seed struct {
	TenantID   string
	TenantName string

	Users             []User
	Applications      []Application
	ServicePrincipals []ServicePrincipal
	// DirectoryRoles are unifiedRoleDefinitions; assignments refer to them.
	DirectoryRoles           []DirectoryRole
	DirectoryRoleAssignments []DirectoryRoleAssignment
	// DirectoryRoleEligibilities are PIM eligibilities for directory
	// roles (roleEligibilityScheduleInstances).
	DirectoryRoleEligibilities []DirectoryRoleEligibility
	// Groups are security groups; role-assignable ones can hold
	// directory roles, and their members then hold the roles.
	Groups []Group
	// AppRoleAssignments are application permissions granted to service
	// principals (principalId) on a resource service principal (resourceId).
	AppRoleAssignments []AppRoleAssignment
	// OAuth2PermissionGrants are delegated permission grants: scopes a
	// client service principal may use on a resource for all users or for
	// one user.
	OAuth2PermissionGrants []OAuth2PermissionGrant

	// SignIns holds the last client sign-ins per appId for the beta
	// servicePrincipalSignInActivities report; an appId without an entry has
	// no recorded activity.
	SignIns map[string]SignIn
	// CredentialSignIns holds the last successful sign-in per credential
	// keyId for the beta appCredentialSignInActivities report.
	CredentialSignIns map[string]time.Time
	// CredentialFailedSignIns holds a later failed sign-in attempt per
	// credential keyId.
	CredentialFailedSignIns map[string]time.Time
	// CredentialReportOmits lists credential keyIds the
	// appCredentialSignInActivities report has no record of.
	CredentialReportOmits []string
	// ReportsOmitSuccess makes both reports leave out
	// lastSuccessfulSignInDateTime, giving only the last attempt
	// (lastSignInDateTime), as Microsoft's examples of the reports show.
	ReportsOmitSuccess bool
	// ReportsUnavailable makes both beta reports answer 403 with the error
	// Graph returns for tenants without an Entra ID P1/P2 licence.
	ReportsUnavailable bool

	Subscriptions   []Subscription
	RoleDefinitions []RoleDefinition
	RoleAssignments []RoleAssignment
	// ManagedIdentities are user-assigned managed identities; each also has
	// a ManagedIdentity service principal (created by New when missing).
	ManagedIdentities []ManagedIdentity
}

// User is an Entra user account (an owner of apps).
type User struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	Mail              string `json:"mail,omitempty"`
	AccountEnabled    bool   `json:"accountEnabled"`
}

// PasswordCredential is a client secret. SecretText is held by the fake only
// to prove that it never leaks: Graph never returns it after creation.
type PasswordCredential struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName,omitempty"`
	Hint          string    `json:"hint,omitempty"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	SecretText    string    `json:"-"`
}

// KeyCredential is a certificate. Key is the public certificate (base64);
// Graph returns it only on a single-object read that selects keyCredentials.
// CustomKeyIdentifier is Edm.Binary, base64 on the wire: for a certificate
// the portal uploaded, its SHA-1 thumbprint (see Thumbprint).
type KeyCredential struct {
	KeyID               string    `json:"keyId"`
	DisplayName         string    `json:"displayName,omitempty"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
	StartDateTime       time.Time `json:"startDateTime"`
	EndDateTime         time.Time `json:"endDateTime"`
	CustomKeyIdentifier string    `json:"customKeyIdentifier,omitempty"`
	Key                 string    `json:"key,omitempty"`
}

// FederatedIdentityCredential is a workload identity federation trust.
type FederatedIdentityCredential struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Issuer      string   `json:"issuer"`
	Subject     string   `json:"subject"`
	Audiences   []string `json:"audiences"`
	Description string   `json:"description,omitempty"`
}

// Application is an app registration.
type Application struct {
	ID                           string                        `json:"id"`
	AppID                        string                        `json:"appId"`
	DisplayName                  string                        `json:"displayName"`
	CreatedDateTime              time.Time                     `json:"createdDateTime"`
	SignInAudience               string                        `json:"signInAudience,omitempty"`
	DisabledByMicrosoftStatus    *string                       `json:"disabledByMicrosoftStatus"`
	Tags                         []string                      `json:"tags"`
	Notes                        string                        `json:"notes,omitempty"`
	PasswordCredentials          []PasswordCredential          `json:"passwordCredentials"`
	KeyCredentials               []KeyCredential               `json:"keyCredentials"`
	FederatedIdentityCredentials []FederatedIdentityCredential `json:"-"`
	// Owners are directory object ids (users or service principals).
	Owners []string `json:"-"`
}

// AppRole is a role an API service principal defines.
type AppRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	DisplayName        string   `json:"displayName,omitempty"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
	IsEnabled          bool     `json:"isEnabled"`
}

// ServicePrincipal is an enterprise application, managed identity or
// first- or third-party service principal.
type ServicePrincipal struct {
	ID                        string               `json:"id"`
	AppID                     string               `json:"appId"`
	DisplayName               string               `json:"displayName"`
	ServicePrincipalType      string               `json:"servicePrincipalType"`
	AccountEnabled            bool                 `json:"accountEnabled"`
	DisabledByMicrosoftStatus *string              `json:"disabledByMicrosoftStatus"`
	AppOwnerOrganizationID    string               `json:"appOwnerOrganizationId,omitempty"`
	AlternativeNames          []string             `json:"alternativeNames"`
	Tags                      []string             `json:"tags"`
	PasswordCredentials       []PasswordCredential `json:"passwordCredentials"`
	KeyCredentials            []KeyCredential      `json:"keyCredentials"`
	AppRoles                  []AppRole            `json:"appRoles"`
	Owners                    []string             `json:"-"`
}

// DirectoryRole is an Entra directory role definition.
type DirectoryRole struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	TemplateID   string `json:"templateId"`
	IsBuiltIn    bool   `json:"isBuiltIn"`
	IsPrivileged bool   `json:"isPrivileged"`
}

// DirectoryRoleAssignment assigns a directory role to a principal.
type DirectoryRoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// DirectoryRoleEligibility makes a principal eligible to activate a
// directory role (unifiedRoleEligibilityScheduleInstance).
type DirectoryRoleEligibility struct {
	ID                        string     `json:"id"`
	PrincipalID               string     `json:"principalId"`
	RoleDefinitionID          string     `json:"roleDefinitionId"`
	DirectoryScopeID          string     `json:"directoryScopeId"`
	AppScopeID                *string    `json:"appScopeId"`
	StartDateTime             time.Time  `json:"startDateTime"`
	EndDateTime               *time.Time `json:"endDateTime"`
	MemberType                string     `json:"memberType"`
	RoleEligibilityScheduleID string     `json:"roleEligibilityScheduleId"`
}

// Group is a security group. Members are directory object ids (users or
// service principals).
type Group struct {
	ID                 string   `json:"id"`
	DisplayName        string   `json:"displayName"`
	IsAssignableToRole bool     `json:"isAssignableToRole"`
	SecurityEnabled    bool     `json:"securityEnabled"`
	MailEnabled        bool     `json:"mailEnabled"`
	GroupTypes         []string `json:"groupTypes"`
	Members            []string `json:"-"`
}

// AppRoleAssignment grants an app role of a resource to a principal.
type AppRoleAssignment struct {
	ID                   string    `json:"id"`
	AppRoleID            string    `json:"appRoleId"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
	PrincipalID          string    `json:"principalId"`
	PrincipalType        string    `json:"principalType"`
	PrincipalDisplayName string    `json:"principalDisplayName,omitempty"`
	ResourceID           string    `json:"resourceId"`
	ResourceDisplayName  string    `json:"resourceDisplayName,omitempty"`
}

// OAuth2PermissionGrant is a delegated permission grant. ConsentType is
// AllPrincipals (admin consent; PrincipalID nil) or Principal (one user).
type OAuth2PermissionGrant struct {
	ID          string  `json:"id"`
	ClientID    string  `json:"clientId"`
	ConsentType string  `json:"consentType"`
	PrincipalID *string `json:"principalId"`
	ResourceID  string  `json:"resourceId"`
	// Scope is the space-separated list of delegated permissions.
	Scope string `json:"scope"`
}

// SignIn is what the servicePrincipalSignInActivities report knows of one
// app: its last sign-ins as a client (with its own credentials, and on
// behalf of users) and as a resource others called.
type SignIn struct {
	AppOnlyClient   time.Time
	DelegatedClient time.Time
	Resource        time.Time
	// FailedClient is a failed app-only sign-in attempt; when it is later
	// than AppOnlyClient, it is the report's lastSignInDateTime.
	FailedClient time.Time
}

// Subscription is an Azure subscription.
type Subscription struct {
	ID          string
	DisplayName string
	State       string // Enabled (default), Disabled, Warned...
}

// RoleDefinition is an Azure RBAC role definition.
type RoleDefinition struct {
	// ID is the role definition GUID.
	ID       string
	RoleName string
	RoleType string // BuiltInRole or CustomRole
}

// RoleAssignment is an Azure RBAC role assignment.
type RoleAssignment struct {
	// Name is the assignment GUID.
	Name string
	// Scope is where it applies: "/subscriptions/<id>",
	// "/subscriptions/<id>/resourceGroups/<rg>", a resource id or
	// "/providers/Microsoft.Management/managementGroups/<mg>" (then
	// Subscriptions lists the subscriptions under that group).
	Scope            string
	Subscriptions    []string
	RoleDefinitionID string // GUID
	PrincipalID      string
	PrincipalType    string // ServicePrincipal, User, Group
	CreatedOn        time.Time
}

// ManagedIdentity is a user-assigned managed identity.
type ManagedIdentity struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	Location       string
	PrincipalID    string
	ClientID       string
	Tags           map[string]string
	// FederatedCredentials are its federated identity credentials (ARM
	// Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials;
	// ID is unused: ARM names them by Name). Graph shows them too, as the
	// federatedIdentityCredentials of its service principal.
	FederatedCredentials []FederatedIdentityCredential
	// Created is when the identity and its credentials were created.
	Created time.Time
}

// ResourceID is the identity's ARM resource id.
func (m ManagedIdentity) ResourceID() string {
	return "/subscriptions/" + m.SubscriptionID + "/resourcegroups/" + m.ResourceGroup +
		"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + m.Name
}
