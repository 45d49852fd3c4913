package azure

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nhiscan/nhiscan/internal/nhi"
	"github.com/nhiscan/nhiscan/internal/privilege"
)

// Microsoft's own tenants: their applications are first-party.
var microsoftTenants = map[string]bool{
	"f8cdef31-a31e-4b4a-93e4-5f571e91255a": true, // Microsoft Services
	"72f988bf-86f1-41af-91ab-2d7cd011db47": true, // Microsoft
	"33e01921-4d64-4f8c-a055-5bdaffd5e33d": true, // Microsoft (AME)
	"cdc5aeea-15c5-4db6-b079-fcadd2505dc2": true, // Microsoft (US Government first party)
}

// SignalSPCredential marks a secret or certificate held by a service
// principal rather than its app registration: the Entra admin centre does
// not show it, so it is easily forgotten. Not yet a shared nhi signal code.
const SignalSPCredential = "entra-sp-credential"

// mapper turns what Graph and ARM returned into identities.
type mapper struct {
	c      *Collector
	now    time.Time
	ed     *entraData
	ad     *armData
	subs   map[string]bool        // scanned subscriptions
	grants map[string][]nhi.Grant // by principal (service principal object id), lower case
	known  map[string]bool        // principal ids already mapped
	// where maps every mapped object id (application, service principal,
	// managed identity principal), lower case, to its identity's scope.
	where map[string]string
}

// build assembles the inventory from what Graph and ARM returned, and says
// in which scope each object's identity landed.
//
// An identity's id is its own immutable object id, whatever else was read:
// an application is keyed by the application's object id and carries its
// home service principal; any other service principal or managed identity
// by its own object id. A service principal of an application of this
// tenant is never mapped on its own when the application list failed (its
// application would be keyed otherwise): it is left out, and the gap says
// so.
func (c *Collector) build(now time.Time, ed *entraData, ad *armData) (nhi.Inventory, map[string]string) {
	inv := nhi.Inventory{Version: nhi.SchemaVersion, CollectedAt: now}
	tenant := nhi.Scope{Provider: nhi.Azure, ID: c.cfg.TenantID, Name: c.cfg.TenantName, Facets: c.facets(tenantFacets)}
	inv.Scopes = append(inv.Scopes, tenant)
	m := &mapper{c: c, now: now, ed: ed, ad: ad, subs: map[string]bool{}, grants: c.grantsByPrincipal(ed, ad),
		known: map[string]bool{}, where: map[string]string{}}
	for _, s := range ad.subs {
		s.Facets = c.facets(subscriptionFacets)
		inv.Scopes = append(inv.Scopes, s)
		m.subs[s.ID] = true
	}
	homeSP := map[string]*servicePrincipal{} // appId -> service principal of this tenant's app
	for i := range ed.sps {
		if c.homeSP(&ed.sps[i]) {
			homeSP[strings.ToLower(ed.sps[i].AppID)] = &ed.sps[i]
		}
	}
	for _, a := range ed.apps {
		inv.Identities = append(inv.Identities, m.application(a, homeSP[strings.ToLower(a.AppID)]))
	}
	for i := range ed.sps {
		if id, ok := m.servicePrincipal(&ed.sps[i]); ok {
			inv.Identities = append(inv.Identities, id)
		}
	}
	inv.Identities = append(inv.Identities, m.armOnlyManagedIdentities()...)
	return inv, m.where
}

// facets returns the facets of a scope the configuration lets the
// collector read: the usage reports may be turned off.
func (c *Collector) facets(all []nhi.Facet) []nhi.Facet {
	if off, _ := c.reportsOff(); !off {
		return slices.Clone(all)
	}
	return slices.DeleteFunc(slices.Clone(all), func(f nhi.Facet) bool { return f.Class() == nhi.FacetUsage })
}

// homeSP reports whether a service principal is that of an application
// registered in this tenant, to be merged into the application's identity.
func (c *Collector) homeSP(sp *servicePrincipal) bool {
	return sp.ServicePrincipalType != spTypeManagedIdentity && strings.EqualFold(sp.AppOwnerOrganizationID, c.cfg.TenantID)
}

// application maps an app registration, merged with its service principal
// in this tenant (sp, nil when it has none).
func (m *mapper) application(a application, sp *servicePrincipal) nhi.Identity {
	c, ed, now := m.c, m.ed, m.now
	id := nhi.Identity{
		ID: nhi.MakeID(nhi.Azure, strings.ToLower(a.ID)), Provider: nhi.Azure, Kind: nhi.KindEntraApplication,
		NativeID: a.ID, Name: a.DisplayName, ARN: a.AppID, Scope: c.cfg.TenantID, Created: a.CreatedDateTime.t,
		Status: nhi.StatusActive, Tags: parseTags(a.Tags),
		Attributes: map[string]string{"app_id": a.AppID, "sign_in_audience": a.SignInAudience},
	}
	disabledByMicrosoft(&id, a.DisabledByMicrosoft)
	c.ownerHints(&id, ed, a.Owners)
	for _, pc := range a.PasswordCredentials {
		id.Credentials = append(id.Credentials, c.secret(now, ed, pc, originApp))
	}
	for _, kc := range a.KeyCredentials {
		id.Credentials = append(id.Credentials, c.certificate(now, ed, kc, originApp))
	}
	for _, f := range ed.fics[a.ID] {
		id.Credentials = append(id.Credentials, federated(now, f))
		if weak := weakTrust(f.Name, f.Issuer, f.Subject); weak != "" {
			id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: weak})
		}
	}
	id.Usage = c.identityUsage(now, ed, a.AppID, false)
	id.Attributes["service_principal_id"] = ""
	m.where[strings.ToLower(a.ID)] = id.Scope
	if sp != nil {
		m.known[strings.ToLower(sp.ID)] = true
		m.where[strings.ToLower(sp.ID)] = id.Scope
		id.Attributes["service_principal_id"] = sp.ID
		spStatus(&id, sp)
		for k, v := range parseTags(sp.Tags) {
			if _, ok := id.Tags[k]; !ok {
				id.Tags = setTag(id.Tags, k, v)
			}
		}
		c.ownerHints(&id, ed, sp.Owners)
		c.spCredentials(now, ed, &id, sp)
		id.Grants = m.grants[strings.ToLower(sp.ID)]
	}
	c.tagOwnerHints(&id)
	return id
}

// servicePrincipal maps a service principal not merged into an
// application: a managed identity, a third-party or Microsoft app, or the
// service principal of an application of this tenant that the application
// list did not return. Microsoft's own service principals without
// credentials or grants are noise and not mapped.
func (m *mapper) servicePrincipal(sp *servicePrincipal) (nhi.Identity, bool) {
	c, ed, now, t := m.c, m.ed, m.now, m.c.cfg.TenantID
	pid := strings.ToLower(sp.ID)
	if m.known[pid] || (c.homeSP(sp) && !ed.appsOK) {
		return nhi.Identity{}, false
	}
	mi := sp.ServicePrincipalType == spTypeManagedIdentity
	g := m.grants[pid]
	firstParty := microsoftTenants[strings.ToLower(sp.AppOwnerOrganizationID)]
	if !mi && firstParty && len(g) == 0 && len(sp.PasswordCredentials) == 0 && len(sp.KeyCredentials) == 0 {
		return nhi.Identity{}, false
	}
	id := nhi.Identity{
		ID: nhi.MakeID(nhi.Azure, pid), Provider: nhi.Azure, Kind: nhi.KindEntraServicePrincipal,
		NativeID: sp.ID, Name: sp.DisplayName, ARN: sp.AppID, Scope: t, Status: nhi.StatusActive,
		Tags: parseTags(sp.Tags), Grants: g,
		Attributes: map[string]string{"app_id": sp.AppID, "service_principal_type": sp.ServicePrincipalType,
			"app_owner_organization_id": sp.AppOwnerOrganizationID},
	}
	spStatus(&id, sp)
	switch {
	case mi:
		id.Kind = nhi.KindEntraManagedIdentity
		if !m.placeManagedIdentity(&id, sp, m.ad.mis[pid]) {
			return nhi.Identity{}, false
		}
	case firstParty:
		id.ProviderManaged = true
	case !strings.EqualFold(sp.AppOwnerOrganizationID, t) && sp.AppOwnerOrganizationID != "":
		id.ThirdParty = true
	}
	m.known[pid], m.where[pid] = true, id.Scope
	c.ownerHints(&id, ed, sp.Owners)
	c.spCredentials(now, ed, &id, sp)
	id.Usage = c.identityUsage(now, ed, sp.AppID, mi)
	c.tagOwnerHints(&id)
	return id, true
}

// armOnlyManagedIdentities maps the user-assigned managed identities ARM
// listed but Graph did not return (the service-principal list failed, or
// the identity is newer than the list). Their key is the same principal
// id Graph would give.
func (m *mapper) armOnlyManagedIdentities() []nhi.Identity {
	var out []nhi.Identity
	for _, pid := range slices.Sorted(maps.Keys(m.ad.mis)) {
		mi := m.ad.mis[pid]
		if m.known[pid] {
			continue
		}
		id := nhi.Identity{
			ID: nhi.MakeID(nhi.Azure, pid), Provider: nhi.Azure, Kind: nhi.KindEntraManagedIdentity,
			NativeID: mi.principalID, Name: mi.name, ARN: mi.clientID, Scope: m.c.cfg.TenantID, Status: nhi.StatusActive,
			Grants: m.grants[pid], Usage: m.c.identityUsage(m.now, m.ed, mi.clientID, true),
			Attributes: map[string]string{"app_id": mi.clientID, "service_principal_type": spTypeManagedIdentity},
		}
		if !m.placeManagedIdentity(&id, nil, mi) {
			continue
		}
		m.c.tagOwnerHints(&id)
		m.known[pid], m.where[pid] = true, id.Scope
		out = append(out, id)
	}
	return out
}

// placeManagedIdentity sets the scope, path, tags and attributes of a
// managed identity from its ARM resource id and tags: it lives in its
// subscription when that subscription is scanned, in the tenant scope
// otherwise. It reports false when the identity cannot be placed because
// the subscription list failed (its subscription may be one that is
// scanned): the identity is then left out, and the gap says so.
func (m *mapper) placeManagedIdentity(id *nhi.Identity, sp *servicePrincipal, mi managedIdentity) bool {
	resID, kind := mi.resourceID, "user-assigned"
	if sp != nil {
		for _, n := range sp.AlternativeNames {
			switch {
			case strings.EqualFold(n, "isExplicit=False"):
				kind = "system-assigned"
			case strings.HasPrefix(n, "/"):
				if resID == "" {
					resID = n
				}
			}
		}
	}
	if resID != "" {
		sub := subscriptionOf(resID)
		if sub != "" && !m.ad.subsKnown {
			return false
		}
		id.Attributes["resource_id"] = resID
		if m.subs[sub] {
			id.Scope = sub
		} else if sub != "" {
			id.Attributes["subscription_id"] = sub
		}
		id.Path = resourceGroup(resID)
	}
	id.Attributes["managed_identity_type"] = kind
	for k, v := range mi.tags {
		id.Tags = setTag(id.Tags, k, v)
	}
	miFederatedCredentials(m.now, id, mi)
	return true
}

// miFederatedCredentials adds the federated identity credentials ARM
// listed for a user-assigned managed identity, flagging broad trusts.
func miFederatedCredentials(now time.Time, id *nhi.Identity, mi managedIdentity) {
	for _, f := range mi.fics {
		cr := federated(now, ficWire{ID: strings.ToLower(f.name), Name: f.name, Issuer: f.issuer, Subject: f.subject, Audiences: f.audiences})
		cr.Created = f.created
		cr.Attributes["origin"] = originMI
		cr.Attributes["resource_id"] = f.resourceID
		id.Credentials = append(id.Credentials, cr)
		if weak := weakTrust(f.name, f.issuer, f.subject); weak != "" {
			id.Signals = append(id.Signals, nhi.Signal{Code: nhi.SignalWeakTrust, Detail: weak})
		}
	}
}

// spStatus marks an identity disabled when its service principal cannot
// sign in: accountEnabled false, or disabled by Microsoft.
func spStatus(id *nhi.Identity, sp *servicePrincipal) {
	if sp.AccountEnabled != nil && !*sp.AccountEnabled {
		id.Status = nhi.StatusDisabled
		id.Attributes["account_enabled"] = "false"
	}
	disabledByMicrosoft(id, sp.DisabledByMicrosoft)
}

// disabledByMicrosoft marks an identity whose application or service
// principal Microsoft disabled (disabledByMicrosoftStatus, for example
// DisabledDueToViolationOfServicesAgreement): nothing signs in as it.
func disabledByMicrosoft(id *nhi.Identity, status string) {
	if status == "" || strings.EqualFold(status, "NotDisabled") {
		return
	}
	id.Status = nhi.StatusDisabled
	id.Attributes["disabled_by_microsoft"] = status
}

func setTag(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// parseTags reads "key:value" and "key=value" Entra tags; other tags (such
// as WindowsAzureActiveDirectoryIntegratedApp) are markers, not owners.
func parseTags(tags []string) map[string]string {
	var out map[string]string
	for _, t := range tags {
		i := strings.IndexAny(t, ":=")
		if i <= 0 {
			continue
		}
		out = setTag(out, strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+1:]))
	}
	return out
}

// ownerHints adds the Entra owner users of an object.
func (c *Collector) ownerHints(id *nhi.Identity, ed *entraData, owners []directoryObject) {
	for _, o := range owners {
		if !isUser(o) {
			if id.Attributes != nil {
				id.Attributes["owner_service_principals"] = strings.TrimPrefix(id.Attributes["owner_service_principals"]+","+o.ID, ",")
			}
			continue
		}
		if u, ok := ed.users[o.ID]; ok {
			o = u
		}
		v := strings.ToLower(o.Mail)
		if v == "" {
			v = strings.ToLower(o.UserPrincipalName)
		}
		if v == "" {
			v = o.ID
		}
		h := nhi.OwnerHint{Source: "entra-owner", Value: v}
		if o.AccountEnabled != nil {
			active := *o.AccountEnabled
			h.Active = &active
		}
		if !hasHint(id.OwnerHints, h) {
			id.OwnerHints = append(id.OwnerHints, h)
		}
	}
}

// tagOwnerHints adds owner hints from the configured tag keys.
func (c *Collector) tagOwnerHints(id *nhi.Identity) {
	keys := make([]string, 0, len(id.Tags))
	for k := range id.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, want := range c.cfg.OwnerTagKeys {
			if strings.EqualFold(k, want) && id.Tags[k] != "" {
				h := nhi.OwnerHint{Source: "tag", Value: strings.ToLower(id.Tags[k])}
				if !hasHint(id.OwnerHints, h) {
					id.OwnerHints = append(id.OwnerHints, h)
				}
			}
		}
	}
}

func hasHint(hs []nhi.OwnerHint, h nhi.OwnerHint) bool {
	for _, x := range hs {
		if x.Source == h.Source && x.Value == h.Value {
			return true
		}
	}
	return false
}

// spCredentials adds the secrets and certificates held by a service
// principal itself.
func (c *Collector) spCredentials(now time.Time, ed *entraData, id *nhi.Identity, sp *servicePrincipal) {
	add := func(cr nhi.Credential) {
		cr.Signals = append(cr.Signals, nhi.Signal{Code: SignalSPCredential,
			Detail: "held by the service principal, not the app registration"})
		id.Credentials = append(id.Credentials, cr)
	}
	for _, pc := range sp.PasswordCredentials {
		add(c.secret(now, ed, pc, originSP))
	}
	for _, kc := range sp.KeyCredentials {
		if id.Kind == nhi.KindEntraServicePrincipal && !strings.EqualFold(kc.Usage, "Verify") {
			// SAML token-signing keys of enterprise apps are not
			// credentials the app signs in with.
			continue
		}
		add(c.certificate(now, ed, kc, originSP))
	}
}

func credStatus(now, expires time.Time) nhi.Status {
	if !expires.IsZero() && expires.Before(now) {
		return nhi.StatusExpired
	}
	return nhi.StatusActive
}

func (c *Collector) secret(now time.Time, ed *entraData, pc passwordCredential, origin string) nhi.Credential {
	return nhi.Credential{
		ID: strings.ToLower(pc.KeyID), Type: nhi.CredEntraClientSecret, Name: pc.DisplayName,
		Created: pc.StartDateTime.t, Expires: pc.EndDateTime.t, Status: credStatus(now, pc.EndDateTime.t),
		Usage:      credUsage(now, ed, pc.KeyID),
		Attributes: map[string]string{"origin": origin, "created_from": "startDateTime"},
	}
}

func (c *Collector) certificate(now time.Time, ed *entraData, kc keyCredential, origin string) nhi.Credential {
	cr := nhi.Credential{
		ID: strings.ToLower(kc.KeyID), Type: nhi.CredEntraCertificate, Name: kc.DisplayName,
		Created: kc.StartDateTime.t, Expires: kc.EndDateTime.t, Status: credStatus(now, kc.EndDateTime.t),
		Usage:      credUsage(now, ed, kc.KeyID),
		Attributes: map[string]string{"origin": origin, "created_from": "startDateTime", "usage": kc.Usage},
	}
	if tp, ok := thumbprint(kc.CustomKeyIdentifier); ok {
		cr.Attributes["thumbprint"] = tp
	} else if kc.CustomKeyIdentifier != "" {
		cr.Attributes["custom_key_identifier"] = kc.CustomKeyIdentifier
	}
	return cr
}

// thumbprint decodes a certificate's customKeyIdentifier (Edm.Binary,
// base64 on the wire) into the SHA-1 thumbprint the Entra admin centre
// shows: 40 upper-case hex digits. A value that is not 20 bytes of base64
// was set by hand and is kept as it is, under another name.
func thumbprint(cki string) (string, bool) {
	b, err := base64.StdEncoding.DecodeString(cki)
	if err != nil || len(b) != sha1.Size {
		return "", false
	}
	return strings.ToUpper(hex.EncodeToString(b)), true
}

func federated(now time.Time, f ficWire) nhi.Credential {
	return nhi.Credential{
		ID: strings.ToLower(f.ID), Type: nhi.CredEntraFederated, Name: f.Name, Status: nhi.StatusActive,
		Usage: nhi.Usage{State: nhi.UsageNotReported, Source: sourceCredSignIns, AsOf: now,
			Reason: "Entra does not report use per federated credential; see the identity's sign-ins"},
		Attributes: map[string]string{"origin": originApp, "issuer": f.Issuer, "subject": f.Subject,
			"audiences": strings.Join(f.Audiences, ",")},
	}
}

// weakTrust explains a federated credential whose subject lets too many
// workloads in, or returns "". Entra matches the subject exactly, so a
// subject is broad when the value itself is shared by many workloads:
//   - GitHub Actions: every pull request of a repository (":pull_request"),
//     a customised subject that names no repository (only the owner, so
//     every repository of the owner), or one that names a repository and
//     nothing else (every workflow, branch and tag of it);
//   - Kubernetes (AKS workload identity): a namespace's "default" service
//     account, which every pod of the namespace runs as unless told
//     otherwise.
func weakTrust(name, issuer, subject string) string {
	switch {
	case strings.Contains(issuer, "token.actions.githubusercontent.com"):
		return weakGitHubSubject(name, subject)
	case strings.HasPrefix(subject, "system:serviceaccount:"):
		parts := strings.Split(subject, ":")
		if len(parts) == 4 && parts[3] == "default" {
			return fmt.Sprintf("federated credential %q trusts the default service account of namespace %s: every pod there without its own service account", name, parts[2])
		}
	}
	return ""
}

// weakGitHubSubject judges a GitHub Actions subject: "repo:<owner>/<repo>:<context>"
// by default, or the claims of a customised template ("repository_owner:acme:...").
func weakGitHubSubject(name, subject string) string {
	if strings.HasSuffix(subject, ":pull_request") {
		return fmt.Sprintf("federated credential %q trusts every pull request of %s", name,
			strings.TrimSuffix(strings.TrimPrefix(subject, "repo:"), ":pull_request"))
	}
	parts := strings.Split(subject, ":")
	names := map[string]string{}
	for i := 0; i+1 < len(parts); i += 2 {
		names[parts[i]] = parts[i+1]
	}
	repo, hasRepo := names["repo"]
	_, hasRepoID := names["repository_id"]
	switch {
	case !hasRepo && !hasRepoID:
		return fmt.Sprintf("federated credential %q names no repository (subject %q): every repository of the owner can use it", name, subject)
	case hasRepo && len(parts) == 2:
		return fmt.Sprintf("federated credential %q trusts every workflow, branch and tag of %s", name, repo)
	}
	return ""
}

// grantsByPrincipal maps service principal object ids (lower case) to
// their directory roles, application permissions and Azure roles, each
// judged privileged or not.
func (c *Collector) grantsByPrincipal(ed *entraData, ad *armData) map[string][]nhi.Grant {
	out := map[string][]nhi.Grant{}
	add := func(principal string, g nhi.Grant) {
		p := strings.ToLower(principal)
		out[p] = appendGrant(out[p], g)
	}
	for p, list := range c.directoryRoleGrants(ed) {
		for _, g := range list {
			add(p, g)
		}
	}
	for _, a := range ed.appPerm {
		if g, ok := appPermissionGrant(ed, a); ok {
			add(a.PrincipalID, g)
		}
	}
	for p, list := range ad.assignments {
		for _, a := range list {
			add(p, rbacGrant(a))
		}
	}
	for p, list := range delegatedGrants(ed) {
		for _, g := range list {
			add(p, g)
		}
	}
	return out
}

// judge sets a grant's verdict; a privileged directory role or
// application permission is also admin-level.
func judge(g *nhi.Grant, priv bool, why string, admin bool) {
	g.Privileged = nhi.VerdictOf(priv)
	if priv {
		g.Reason = why
		if admin {
			g.Privilege = nhi.PrivAdmin
		}
	}
}

// appPermissionGrant maps an application permission; the default access
// role carries none.
func appPermissionGrant(ed *entraData, a appRoleAssignment) (nhi.Grant, bool) {
	value := ed.roles[a.ResourceID][a.AppRoleID]
	if value == "" {
		if a.AppRoleID == "00000000-0000-0000-0000-000000000000" {
			return nhi.Grant{}, false
		}
		value = a.AppRoleID
	}
	res := ed.resApp[a.ResourceID]
	g := nhi.Grant{ID: kindAppPermission + ":" + res + "/" + value, Kind: kindAppPermission, Entitlement: value,
		Scope: res, Privilege: permissionPrivilege(value), Created: a.CreatedDateTime.t}
	priv, why := privilege.AzureAppPermission(value)
	judge(&g, priv, why, true)
	return g, true
}

// rbacGrant maps an Azure role assignment; one made above the
// subscription says where it is inherited from.
func rbacGrant(a rbacAssignment) nhi.Grant {
	g := nhi.Grant{ID: "rbac:" + a.roleGUID + "@" + strings.ToLower(a.scope), Kind: kindRBACRole, Entitlement: a.roleName,
		Scope: a.scope, Privilege: azurePrivilege(a.roleName), Created: a.created}
	switch level := privilege.AzureScopeLevel(a.scope); level {
	case privilege.AzureLevelRoot, privilege.AzureLevelManagementGroup:
		g.Via = "inherited from " + level
	}
	priv, why := privilege.AzureRBACRole(a.roleName, a.scope)
	judge(&g, priv, why, false)
	return g
}

func appendGrant(gs []nhi.Grant, g nhi.Grant) []nhi.Grant {
	for _, x := range gs {
		if x.ID == g.ID {
			return gs
		}
	}
	return append(gs, g)
}

func directoryPrivilege(name string) nhi.Privilege {
	switch {
	case strings.HasSuffix(name, "Reader") || strings.HasSuffix(name, "Readers"):
		return nhi.PrivRead
	case strings.HasSuffix(name, "Administrator"):
		return nhi.PrivAdmin
	}
	return nhi.PrivWrite
}

func permissionPrivilege(v string) nhi.Privilege {
	switch v {
	case "openid", "profile", "email", "offline_access":
		return nhi.PrivRead // OpenID Connect scopes: sign-in and refresh only
	}
	if strings.Contains(v, ".Read.") || strings.HasSuffix(v, ".Read") || strings.Contains(v, "ReadBasic") {
		return nhi.PrivRead
	}
	return nhi.PrivWrite
}

func azurePrivilege(role string) nhi.Privilege {
	switch {
	case role == "Owner" || role == "User Access Administrator" || role == "Role Based Access Control Administrator":
		return nhi.PrivAdmin
	case role == "Reader" || strings.HasSuffix(role, " Reader"):
		return nhi.PrivRead
	}
	return nhi.PrivWrite
}
