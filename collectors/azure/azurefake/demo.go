package azurefake

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Well-known ids used by the demo and tests.
const (
	// DemoTenantID is the demo organisation's Entra tenant.
	DemoTenantID = "7c5f9a2e-1b3d-4e8f-9a6c-2d4b8e1f3a5c"
	// DemoSubProd and DemoSubData are its two subscriptions.
	DemoSubProd = "1d2c3b4a-0000-4000-8000-00000000a001"
	DemoSubData = "1d2c3b4a-0000-4000-8000-00000000a002"

	// MicrosoftServicesTenantID owns Microsoft's first-party applications.
	MicrosoftServicesTenantID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
	// GraphAppID is the appId of Microsoft Graph.
	GraphAppID = "00000003-0000-0000-c000-000000000000"
	// DemoGraphSPID is the Microsoft Graph service principal in the demo tenant.
	DemoGraphSPID = "5a000000-0000-4000-a000-00000000ffff"
)

// Built-in Azure role definition GUIDs (the same in every tenant).
const (
	RoleOwner                   = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	RoleContributor             = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	RoleReader                  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	RoleUserAccessAdmin         = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	RoleRBACAdmin               = "f58310d9-a9f6-439a-9e8d-f62e7b41a168"
	RoleKeyVaultSecretsUser     = "4633458b-17de-408a-b874-0445c86b69e6"
	RoleStorageBlobContributor  = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	RoleStorageQueueContributor = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
)

// Built-in Entra directory role template ids.
const (
	DirRoleGlobalAdmin         = "62e90394-69f5-4237-9190-012177145e10"
	DirRolePrivilegedRoleAdmin = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	DirRoleApplicationAdmin    = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	DirRoleDirectoryReaders    = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

// Microsoft Graph application permission (app role) ids.
var graphAppRoles = []AppRole{
	{ID: "7ab1d382-f21e-4acd-a863-ba3e13f7da61", Value: "Directory.Read.All"},
	{ID: "19dbc75e-c2e2-444c-a770-ec69d8559fc7", Value: "Directory.ReadWrite.All"},
	{ID: "df021288-bdef-4463-88db-98f22de89214", Value: "User.Read.All"},
	{ID: "741f803b-c850-494e-b5df-cde7c675a1ca", Value: "User.ReadWrite.All"},
	{ID: "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8", Value: "RoleManagement.ReadWrite.Directory"},
	{ID: "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", Value: "Application.ReadWrite.All"},
	{ID: "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", Value: "Application.Read.All"},
	{ID: "06b708a9-e830-4db3-a914-8e69da51d44f", Value: "AppRoleAssignment.ReadWrite.All"},
	{ID: "75359482-378d-4052-8f01-80520e7db3cd", Value: "Files.ReadWrite.All"},
	{ID: "b633e1c5-b582-4048-a93e-9f11b44c7e96", Value: "Mail.Send"},
	{ID: "b0afded3-3588-46d8-8b3d-9842eff778da", Value: "AuditLog.Read.All"},
}

// GraphAppRoleID returns the id of a Microsoft Graph application
// permission by its value, e.g. "Directory.ReadWrite.All".
func GraphAppRoleID(value string) string {
	for _, r := range graphAppRoles {
		if r.Value == value {
			return r.ID
		}
	}
	panic("azurefake: unknown Graph app role " + value)
}

// GraphServicePrincipal returns the Microsoft Graph service principal with
// its application permissions, as every tenant has it.
func GraphServicePrincipal(id string) ServicePrincipal {
	roles := make([]AppRole, len(graphAppRoles))
	for i, r := range graphAppRoles {
		r.AllowedMemberTypes = []string{"Application"}
		r.IsEnabled = true
		r.DisplayName = r.Value
		roles[i] = r
	}
	return ServicePrincipal{
		ID: id, AppID: GraphAppID, DisplayName: "Microsoft Graph",
		ServicePrincipalType: "Application", AccountEnabled: true,
		AppOwnerOrganizationID: MicrosoftServicesTenantID, AppRoles: roles,
	}
}

// BuiltInRoleDefinitions returns the Azure built-in roles the fake knows.
func BuiltInRoleDefinitions() []RoleDefinition {
	return []RoleDefinition{
		{ID: RoleOwner, RoleName: "Owner"},
		{ID: RoleContributor, RoleName: "Contributor"},
		{ID: RoleReader, RoleName: "Reader"},
		{ID: RoleUserAccessAdmin, RoleName: "User Access Administrator"},
		{ID: RoleRBACAdmin, RoleName: "Role Based Access Control Administrator"},
		{ID: RoleKeyVaultSecretsUser, RoleName: "Key Vault Secrets User"},
		{ID: RoleStorageBlobContributor, RoleName: "Storage Blob Data Contributor"},
		{ID: RoleStorageQueueContributor, RoleName: "Storage Queue Data Contributor"},
	}
}

// BuiltInDirectoryRoles returns the directory roles the fake knows.
func BuiltInDirectoryRoles() []DirectoryRole {
	return []DirectoryRole{
		{ID: DirRoleGlobalAdmin, TemplateID: DirRoleGlobalAdmin, DisplayName: "Global Administrator", IsBuiltIn: true, IsPrivileged: true},
		{ID: DirRolePrivilegedRoleAdmin, TemplateID: DirRolePrivilegedRoleAdmin, DisplayName: "Privileged Role Administrator", IsBuiltIn: true, IsPrivileged: true},
		{ID: DirRoleApplicationAdmin, TemplateID: DirRoleApplicationAdmin, DisplayName: "Application Administrator", IsBuiltIn: true, IsPrivileged: true},
		{ID: DirRoleDirectoryReaders, TemplateID: DirRoleDirectoryReaders, DisplayName: "Directory Readers", IsBuiltIn: true},
	}
}

// GUID builds a deterministic, well-formed id for seeds: kind is a short
// hex prefix naming the object type, n its number.
func GUID(kind string, n int) string {
	return fmt.Sprintf("%s-0000-4000-a000-%012d", (kind + "00000000")[:8], n)
}

// FakeCertificate returns a deterministic stand-in for a base64 public
// certificate.
func FakeCertificate(name string) string {
	return base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\n" + name + " (azurefake public certificate)\n-----END CERTIFICATE-----"))
}

// Thumbprint returns the customKeyIdentifier Graph gives a certificate
// (base64 public certificate cert): its SHA-1 thumbprint, base64-encoded.
func Thumbprint(cert string) string {
	der, _ := base64.StdEncoding.DecodeString(cert)
	sum := sha1.Sum(der)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// DemoUsers are the people of the demo organisation as Entra users. Leavers
// dan and kate have disabled accounts; frank's account is still enabled
// (the HR export is ahead of Entra); zoe is not in the people list.
func DemoUsers() []User {
	people := []struct {
		local, name string
		enabled     bool
	}{
		{"alice.nguyen", "Alice Nguyen", true}, {"bob.martins", "Bob Martins", true},
		{"carol.diaz", "Carol Diaz", true}, {"dan.okafor", "Dan Okafor", false},
		{"erin.walsh", "Erin Walsh", true}, {"frank.li", "Frank Li", true},
		{"grace.kim", "Grace Kim", true}, {"henry.adams", "Henry Adams", true},
		{"irene.rossi", "Irene Rossi", true}, {"jack.brown", "Jack Brown", true},
		{"kate.jones", "Kate Jones", false}, {"liam.wilson", "Liam Wilson", true},
		{"maya.patel", "Maya Patel", true}, {"noah.smith", "Noah Smith", true},
		{"olivia.chen", "Olivia Chen", true}, {"zoe.former", "Zoe Former", true},
	}
	out := make([]User, len(people))
	for i, p := range people {
		upn := p.local + "@acme.example"
		out[i] = User{ID: GUID("e5", i+1), DisplayName: p.name, UserPrincipalName: upn, Mail: upn, AccountEnabled: p.enabled}
	}
	return out
}

// DemoUserID returns the object id of a demo user by email local part.
func DemoUserID(local string) string {
	for _, u := range DemoUsers() {
		if strings.HasPrefix(u.UserPrincipalName, local+"@") {
			return u.ID
		}
	}
	panic("azurefake: no demo user " + local)
}

// Demo returns the demo organisation's Entra tenant and subscriptions,
// with ages relative to now. See the package README for what each identity
// exercises.
func Demo(now time.Time) Seed {
	now = now.UTC().Truncate(time.Second)
	day := func(n int) time.Time { return now.AddDate(0, 0, n) }
	hoursAgo := func(n int) time.Time { return now.Add(-time.Duration(n) * time.Hour) }

	s := Seed{
		TenantID: DemoTenantID, TenantName: "acme.example",
		Users:             DemoUsers(),
		DirectoryRoles:    BuiltInDirectoryRoles(),
		RoleDefinitions:   BuiltInRoleDefinitions(),
		SignIns:           map[string]SignIn{},
		CredentialSignIns: map[string]time.Time{},
		Subscriptions: []Subscription{
			{ID: DemoSubProd, DisplayName: "acme-prod"},
			{ID: DemoSubData, DisplayName: "acme-data"},
		},
	}
	graph := GraphServicePrincipal(DemoGraphSPID)
	s.ServicePrincipals = append(s.ServicePrincipals, graph)
	s.SignIns[GraphAppID] = SignIn{Resource: hoursAgo(0)}

	key := 0
	secret := func(name string, created, expires, lastUsed time.Time) PasswordCredential {
		key++
		id := GUID("b0", key)
		if !lastUsed.IsZero() {
			s.CredentialSignIns[id] = lastUsed
		}
		return PasswordCredential{KeyID: id, DisplayName: name, Hint: "Qx" + fmt.Sprint(key%10),
			StartDateTime: created, EndDateTime: expires,
			SecretText: fmt.Sprintf("Qx%d~azurefakeSECRET%04d.do-not-leak", key%10, key)}
	}
	cert := func(name string, created, expires, lastUsed time.Time) KeyCredential {
		key++
		id := GUID("b0", key)
		if !lastUsed.IsZero() {
			s.CredentialSignIns[id] = lastUsed
		}
		return KeyCredential{KeyID: id, DisplayName: "CN=" + name, Type: "AsymmetricX509Cert", Usage: "Verify",
			StartDateTime: created, EndDateTime: expires,
			CustomKeyIdentifier: Thumbprint(FakeCertificate(name)), Key: FakeCertificate(name)}
	}
	n := 0
	// app registers an application and its service principal in the tenant.
	app := func(name string, created time.Time, tags []string, owners []string, lastUsed time.Time) (*Application, *ServicePrincipal) {
		n++
		a := Application{ID: GUID("a1", n), AppID: GUID("c1", n), DisplayName: name, CreatedDateTime: created,
			SignInAudience: "AzureADMyOrg", Tags: tags, Owners: owners}
		sp := ServicePrincipal{ID: GUID("5a", n), AppID: a.AppID, DisplayName: name, ServicePrincipalType: "Application",
			AccountEnabled: true, AppOwnerOrganizationID: DemoTenantID, Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"}}
		if !lastUsed.IsZero() {
			s.SignIns[a.AppID] = SignIn{AppOnlyClient: lastUsed}
		}
		s.Applications = append(s.Applications, a)
		s.ServicePrincipals = append(s.ServicePrincipals, sp)
		return &s.Applications[len(s.Applications)-1], &s.ServicePrincipals[len(s.ServicePrincipals)-1]
	}
	u := DemoUserID
	ra := 0
	rbac := func(principal, role, scope string, created time.Time, subs ...string) {
		ra++
		s.RoleAssignments = append(s.RoleAssignments, RoleAssignment{Name: GUID("7a", ra), Scope: scope, Subscriptions: subs,
			RoleDefinitionID: role, PrincipalID: principal, PrincipalType: "ServicePrincipal", CreatedOn: created})
	}
	ara := 0
	graphPerm := func(principal, principalName, value string, created time.Time) {
		ara++
		s.AppRoleAssignments = append(s.AppRoleAssignments, AppRoleAssignment{ID: GUID("ae", ara), AppRoleID: GraphAppRoleID(value),
			CreatedDateTime: created, PrincipalID: principal, PrincipalType: "ServicePrincipal", PrincipalDisplayName: principalName,
			ResourceID: DemoGraphSPID, ResourceDisplayName: "Microsoft Graph"})
	}
	prod, data := "/subscriptions/"+DemoSubProd, "/subscriptions/"+DemoSubData

	// 1. payments-api: well behaved. One secret, used an hour ago.
	a, sp := app("payments-api", day(-400), []string{"team:payments", "env:prod"}, []string{u("bob.martins")}, hoursAgo(1))
	a.PasswordCredentials = []PasswordCredential{secret("payments-api-2026", day(-30), day(150), hoursAgo(1))}
	rbac(sp.ID, RoleKeyVaultSecretsUser, prod+"/resourceGroups/rg-payments/providers/Microsoft.KeyVault/vaults/kv-payments", day(-400))

	// 2. payments-ci-deployer: GitHub Actions federation, no secrets; one
	// trust accepts any pull request (weak trust).
	a, sp = app("payments-ci-deployer", day(-300), []string{"team:payments"}, []string{u("liam.wilson")}, hoursAgo(3))
	a.FederatedIdentityCredentials = []FederatedIdentityCredential{
		{ID: GUID("f1", 1), Name: "github-prod-environment", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:acme/payments:environment:production", Audiences: []string{"api://AzureADTokenExchange"}},
		{ID: GUID("f1", 2), Name: "github-pull-requests", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:acme/payments:pull_request", Audiences: []string{"api://AzureADTokenExchange"}},
	}
	rbac(sp.ID, RoleContributor, prod+"/resourceGroups/rg-payments", day(-300))

	// 3. data-etl-runner: secret older than 90 days; owner frank departed
	// (his Entra account is still enabled).
	a, sp = app("data-etl-runner", day(-500), []string{"team:data"}, []string{u("frank.li")}, hoursAgo(72))
	a.PasswordCredentials = []PasswordCredential{secret("etl-secret", day(-200), day(165), hoursAgo(72))}
	rbac(sp.ID, RoleStorageBlobContributor, data, day(-500))

	// 4. legacy-reporting-sync: dormant for 200 days (a sign-in attempt
	// with its secret failed yesterday: not use); owner dan departed and
	// disabled in Entra.
	a, sp = app("legacy-reporting-sync", day(-900), []string{"team:data"}, []string{u("dan.okafor")}, day(-200))
	a.PasswordCredentials = []PasswordCredential{secret("reporting", day(-400), day(330), day(-200))}
	s.SignIns[a.AppID] = SignIn{AppOnlyClient: day(-200), FailedClient: hoursAgo(30)}
	s.CredentialFailedSignIns = map[string]time.Time{a.PasswordCredentials[0].KeyID: hoursAgo(30)}
	graphPerm(sp.ID, a.DisplayName, "User.Read.All", day(-900))

	// 5. hr-directory-sync: privileged Graph permissions; certificate in use;
	// a forgotten secret on the service principal, never used.
	a, sp = app("hr-directory-sync", day(-700), []string{"team:identity"}, []string{u("irene.rossi")}, hoursAgo(2))
	a.KeyCredentials = []KeyCredential{cert("hr-directory-sync", day(-60), day(300), hoursAgo(2))}
	sp.PasswordCredentials = []PasswordCredential{secret("temp-debug", day(-150), day(580), time.Time{})}
	graphPerm(sp.ID, a.DisplayName, "Directory.ReadWrite.All", day(-700))
	graphPerm(sp.ID, a.DisplayName, "User.ReadWrite.All", day(-700))

	// 6. identity-governance-automation: Tier-0 (Privileged Role
	// Administrator and RoleManagement.ReadWrite.Directory) with no owner
	// objects, as Microsoft advises; its owner lives in the catalog.
	a, sp = app("identity-governance-automation", day(-250), []string{"team:security", "tier:0"}, nil, hoursAgo(5))
	a.KeyCredentials = []KeyCredential{cert("identity-governance-automation", day(-45), day(320), hoursAgo(5))}
	s.DirectoryRoleAssignments = append(s.DirectoryRoleAssignments, DirectoryRoleAssignment{ID: "dra-1",
		PrincipalID: sp.ID, RoleDefinitionID: DirRolePrivilegedRoleAdmin, DirectoryScopeID: "/"})
	graphPerm(sp.ID, a.DisplayName, "RoleManagement.ReadWrite.Directory", day(-250))

	// 6b. The role-assignable group sg-entra-app-admins holds Application
	// Administrator and is eligible (PIM) for Privileged Role
	// Administrator; data-etl-runner's service principal is a member, with
	// a person. identity-governance-automation is also eligible for Global
	// Administrator itself, for 90 more days.
	s.Groups = append(s.Groups, Group{ID: GUID("9a", 1), DisplayName: "sg-entra-app-admins", IsAssignableToRole: true,
		SecurityEnabled: true, GroupTypes: []string{}, Members: []string{GUID("5a", 3), u("carol.diaz")}})
	s.DirectoryRoleAssignments = append(s.DirectoryRoleAssignments, DirectoryRoleAssignment{ID: "dra-2",
		PrincipalID: GUID("9a", 1), RoleDefinitionID: DirRoleApplicationAdmin, DirectoryScopeID: "/"})
	end := day(90)
	s.DirectoryRoleEligibilities = append(s.DirectoryRoleEligibilities,
		DirectoryRoleEligibility{ID: "dre-1", PrincipalID: GUID("9a", 1), RoleDefinitionID: DirRolePrivilegedRoleAdmin,
			DirectoryScopeID: "/", StartDateTime: day(-30), MemberType: "Direct", RoleEligibilityScheduleID: "res-1"},
		DirectoryRoleEligibility{ID: "dre-2", PrincipalID: sp.ID, RoleDefinitionID: DirRoleGlobalAdmin,
			DirectoryScopeID: "/", StartDateTime: day(-10), EndDateTime: &end, MemberType: "Direct", RoleEligibilityScheduleID: "res-2"})

	// 7. marketing-analytics-export: never used, secret created 120 days
	// ago; owner tag names zoe (not a known person).
	a, _ = app("marketing-analytics-export", day(-120), []string{"team:data", "owner:zoe.former@acme.example"}, nil, time.Time{})
	a.PasswordCredentials = []PasswordCredential{secret("export", day(-120), day(245), time.Time{})}

	// 8. billing-webhook-relay: two active secrets; the new one (2 days)
	// is unused and within grace. Owner henry moved from payments to data.
	a, _ = app("billing-webhook-relay", day(-350), []string{"team:payments"}, []string{u("henry.adams")}, hoursAgo(6))
	a.PasswordCredentials = []PasswordCredential{
		secret("relay-2026a", day(-80), day(100), hoursAgo(6)),
		secret("relay-2026b", day(-2), day(363), time.Time{}),
	}

	// 9. devex-build-cache: secret expiring in 10 days; owner kate departed.
	a, _ = app("devex-build-cache", day(-380), []string{"team:devex"}, []string{u("kate.jones")}, hoursAgo(48))
	a.PasswordCredentials = []PasswordCredential{secret("cache-2026", day(-355), day(10), hoursAgo(48))}

	// 10. ops-scratch-app: disabled service principal, no owner at all.
	a, sp = app("ops-scratch-app", day(-600), nil, nil, day(-250))
	a.PasswordCredentials = []PasswordCredential{secret("scratch", day(-300), day(65), day(-250))}
	sp.AccountEnabled = false

	// 11. Contoso Backup Cloud: third-party multi-tenant app with a
	// privileged Graph permission.
	s.ServicePrincipals = append(s.ServicePrincipals, ServicePrincipal{ID: GUID("5b", 1), AppID: GUID("c2", 1),
		DisplayName: "Contoso Backup Cloud", ServicePrincipalType: "Application", AccountEnabled: true,
		AppOwnerOrganizationID: "0c0c0c0c-0000-4000-a000-00000000c0c0", Tags: []string{"WindowsAzureActiveDirectoryIntegratedApp"}})
	s.SignIns[GUID("c2", 1)] = SignIn{AppOnlyClient: hoursAgo(120)}
	graphPerm(GUID("5b", 1), "Contoso Backup Cloud", "Files.ReadWrite.All", day(-210))
	// It also holds admin consent to read and write every user's mail
	// (delegated), and two users consented to it reading their profile.
	s.OAuth2PermissionGrants = append(s.OAuth2PermissionGrants,
		OAuth2PermissionGrant{ID: "grant-contoso-admin", ClientID: GUID("5b", 1), ConsentType: "AllPrincipals",
			ResourceID: DemoGraphSPID, Scope: "Mail.ReadWrite offline_access"},
		OAuth2PermissionGrant{ID: "grant-contoso-alice", ClientID: GUID("5b", 1), ConsentType: "Principal",
			PrincipalID: ptr(u("alice.nguyen")), ResourceID: DemoGraphSPID, Scope: "User.Read"},
		OAuth2PermissionGrant{ID: "grant-contoso-bob", ClientID: GUID("5b", 1), ConsentType: "Principal",
			PrincipalID: ptr(u("bob.martins")), ResourceID: DemoGraphSPID, Scope: "User.Read"})

	// 12-13. User-assigned managed identities with owner and team tags,
	// each trusted by an AKS cluster (workload identity): the payments
	// worker's service account, and the default service account of the
	// data namespace (weak trust: every pod there).
	aks := "https://westeurope.oic.prod-aks.azure.com/" + DemoTenantID + "/5e1f0c2a-aks0-4000-a000-000000000001/"
	s.ManagedIdentities = []ManagedIdentity{
		{SubscriptionID: DemoSubProd, ResourceGroup: "rg-payments", Name: "mi-payments-worker",
			PrincipalID: GUID("3a", 1), ClientID: GUID("3c", 1), Created: day(-200),
			Tags: map[string]string{"owner": "bob.martins@acme.example", "team": "payments"},
			FederatedCredentials: []FederatedIdentityCredential{{ID: GUID("f2", 1), Name: "aks-payments-worker", Issuer: aks,
				Subject: "system:serviceaccount:payments:payments-worker", Audiences: []string{"api://AzureADTokenExchange"}}}},
		{SubscriptionID: DemoSubData, ResourceGroup: "rg-data", Name: "mi-data-lake-loader",
			PrincipalID: GUID("3a", 2), ClientID: GUID("3c", 2), Created: day(-180),
			Tags: map[string]string{"owner": "kate.jones@acme.example", "team": "data"},
			FederatedCredentials: []FederatedIdentityCredential{{ID: GUID("f2", 2), Name: "aks-data-default", Issuer: aks,
				Subject: "system:serviceaccount:data:default", Audiences: []string{"api://AzureADTokenExchange"}}}},
	}
	s.SignIns[GUID("3c", 1)] = SignIn{AppOnlyClient: hoursAgo(1)}
	rbac(GUID("3a", 1), RoleStorageQueueContributor, prod+"/resourceGroups/rg-payments", day(-200))
	rbac(GUID("3a", 2), RoleOwner, data, day(-180))

	// 14. func-invoice-render: a system-assigned managed identity, no tags.
	s.ServicePrincipals = append(s.ServicePrincipals, ServicePrincipal{ID: GUID("3a", 3), AppID: GUID("3c", 3),
		DisplayName: "func-invoice-render", ServicePrincipalType: "ManagedIdentity", AccountEnabled: true,
		AlternativeNames: []string{"isExplicit=False",
			prod + "/resourcegroups/rg-invoices/providers/Microsoft.Web/sites/func-invoice-render"}})
	s.SignIns[GUID("3c", 3)] = SignIn{AppOnlyClient: hoursAgo(9)}
	rbac(GUID("3a", 3), RoleReader, prod, day(-90))

	// A user's role assignment, which the collector skips.
	s.RoleAssignments = append(s.RoleAssignments, RoleAssignment{Name: GUID("7a", 99), Scope: prod,
		RoleDefinitionID: RoleOwner, PrincipalID: u("carol.diaz"), PrincipalType: "User", CreatedOn: day(-1000)})
	return s
}
